/**
 * The members list of the Room view: one row per person, with where they are (notebook,
 * cell, line, idle/away); a click on a location goes there. In classroom mode: a teacher
 * badge, raised hands, "Follow", and for teachers "Make teacher/student" and "Lower hand".
 */
import { trans } from '../i18n';
import type { IMember, IProtocolError, Role } from '../protocol';
import type { IClassroomLab, ICollabPresence, IRoomSession } from '../tokens';
import { displayName } from '../util';
import { errorText, followingOf } from './classroomInfo';
import { avatar, h, section, smallButton } from './dom';
import { describeLocation, latestByUser } from './locations';

export class MembersPane {
  /**
   * @param presence cursor presence, when the app has it (else no locations).
   * @param classroom classroom mode's JupyterLab side (else no "Follow").
   * @param onError shows a refused classroom request.
   */
  constructor(
    presence: ICollabPresence | null,
    classroom: IClassroomLab | null = null,
    onError: (text: string) => void = () => undefined
  ) {
    this._presence = presence;
    this._classroom = classroom;
    this._onError = onError;
    this._list = h('ul', {
      className: 'jp-CollabRoom-memberList',
      testid: 'members',
      attrs: { 'aria-label': trans.__('Members') }
    });
    this.node = section('jp-CollabRoom-members', trans.__('People'), this._list);
    this._list.addEventListener('click', this._onClick);
  }

  readonly node: HTMLElement;

  /** Rebuild the rows (you first, then by name) and their locations. */
  render(session: IRoomSession | null): void {
    this._session = session;
    this._list.textContent = '';
    if (!session) {
      return;
    }
    const you = session.you?.username;
    const members = [...session.members].sort((a, b) => {
      if (a.username === you) {
        return -1;
      }
      if (b.username === you) {
        return 1;
      }
      return displayName(a).localeCompare(displayName(b));
    });
    for (const m of members) {
      this._list.appendChild(memberRow(m, m.username === you));
    }
    this.renderLocations();
    this.renderClassroom();
  }

  /**
   * Update each row's classroom parts (role badge, raised hand, buttons): only the rows whose
   * parts changed. Depends on the classroom state, the presence (who follows whom) and whom
   * this tab follows.
   */
  renderClassroom(): void {
    const session = this._session;
    if (!session) {
      return;
    }
    const classroom = session.classroom;
    const you = session.you?.username ?? null;
    const viewerTeacher = session.role === 'teacher';
    const following = this._classroom?.following ?? null;
    const presence = Array.from(session.presence.values());
    for (const row of Array.from(this._list.children) as HTMLElement[]) {
      const username = row.dataset.username ?? '';
      const m = session.members.find(x => x.username === username);
      if (!m) {
        continue;
      }
      const parts: IRowClassroom = {
        available: classroom.available,
        isYou: username === you,
        role: classroom.roleOf(username),
        hand: classroom.hands.some(x => x.user === username),
        viewerTeacher,
        canFollow: this._classroom !== null,
        following: following?.room === session.name && following.username === username,
        followsYou: you !== null && followingOf(presence, username) === you
      };
      const key = JSON.stringify(parts);
      if (row.dataset.classroomKey !== key) {
        row.dataset.classroomKey = key;
        renderRowClassroom(row, m, parts);
      }
    }
  }

  /** Update each row's "where" line (only the rows whose line changed). */
  renderLocations(): void {
    this.renderClassroom(); // who follows whom comes with the presence
    const session = this._session;
    const presence = this._presence;
    if (!session || !presence) {
      return;
    }
    const you = session.you?.username;
    const latest = latestByUser(session.presence.values());
    const sharing = presence.isSharing(session.name);
    const canJumpTo = presence.canJumpTo.bind(presence);
    for (const row of Array.from(this._list.children) as HTMLElement[]) {
      const username = row.dataset.username ?? '';
      const where = row.querySelector<HTMLElement>('.jp-CollabRoom-where');
      if (!where) {
        continue;
      }
      const isYou = username === you;
      const state = isYou ? presence.localState : (latest.get(username)?.state ?? null);
      const line = describeLocation(isYou, sharing, state, canJumpTo);
      if (where.dataset.key === line.key) {
        continue;
      }
      where.dataset.key = line.key;
      where.textContent = '';
      where.hidden = !line.text && !line.activity;
      where.dataset.activity = line.activity || 'active';
      if (line.text) {
        const button = h('button', {
          className: 'jp-CollabRoom-whereText',
          text: line.text,
          attrs: { type: 'button', 'data-action': 'jump' }
        });
        button.disabled = !line.canJump;
        button.title = line.title;
        where.appendChild(button);
      }
      if (line.activity) {
        where.appendChild(
          h('span', {
            className: 'jp-CollabRoom-activity',
            testid: 'member-activity',
            text: line.activityText,
            attrs: { 'data-activity': line.activity }
          })
        );
      }
    }
  }

  dispose(): void {
    this._list.removeEventListener('click', this._onClick);
    this._session = null;
  }

  private _onClick = (event: MouseEvent): void => {
    const target = event.target as HTMLElement | null;
    const action = target?.closest<HTMLButtonElement>('[data-action]');
    if (action && action.dataset.action !== 'jump') {
      this._onAction(action);
      return;
    }
    const button = target?.closest<HTMLButtonElement>('[data-action=jump]');
    const row = button?.closest<HTMLElement>('.jp-CollabRoom-member');
    const session = this._session;
    if (!button || button.disabled || !row || !session || !this._presence) {
      return;
    }
    const best = latestByUser(session.presence.values()).get(row.dataset.username ?? '');
    if (best) {
      void this._presence.jumpTo(best.state);
    }
  };

  /** A classroom button of a row: follow, stop following, change a role, lower a hand. */
  private _onAction(button: HTMLButtonElement): void {
    const session = this._session;
    const username = button.closest<HTMLElement>('.jp-CollabRoom-member')?.dataset.username;
    if (!session || !username || button.disabled) {
      return;
    }
    switch (button.dataset.action) {
      case 'follow':
        this._classroom?.follow({ session, username });
        break;
      case 'unfollow':
        this._classroom?.follow(null);
        break;
      case 'make-teacher':
      case 'make-student': {
        const role: Role = button.dataset.action === 'make-teacher' ? 'teacher' : 'student';
        void this._request(button, session.setRole(username, role));
        break;
      }
      case 'lower-hand':
        void this._request(button, session.raiseHand(false, username));
        break;
    }
  }

  /** Wait for a request with its button disabled; show a refusal. */
  private async _request(
    button: HTMLButtonElement,
    request: Promise<IProtocolError | null>
  ): Promise<void> {
    button.disabled = true;
    const error = await request;
    button.disabled = false;
    if (error) {
      this._onError(errorText(error));
    }
  }

  private _presence: ICollabPresence | null;
  private _classroom: IClassroomLab | null;
  private _onError: (text: string) => void;
  private _session: IRoomSession | null = null;
  private _list: HTMLElement;
}

/** What a member row shows of classroom mode (its JSON is the row's render key). */
interface IRowClassroom {
  available: boolean;
  isYou: boolean;
  role: Role;
  hand: boolean;
  viewerTeacher: boolean;
  /** This tab can follow (JupyterLab's classroom side is there). */
  canFollow: boolean;
  /** This tab follows the member. */
  following: boolean;
  /** The member follows the viewer (so the viewer may not follow them). */
  followsYou: boolean;
}

/** Fill a row's badges and buttons. */
function renderRowClassroom(row: HTMLElement, m: IMember, p: IRowClassroom): void {
  const tags = row.querySelector<HTMLElement>('.jp-CollabClass-memberTags');
  const actions = row.querySelector<HTMLElement>('.jp-CollabClass-memberActions');
  if (!tags || !actions) {
    return;
  }
  tags.textContent = '';
  actions.textContent = '';
  row.dataset.role = p.available ? p.role : '';
  row.classList.toggle('jp-mod-hand', p.available && p.hand);
  if (!p.available) {
    actions.hidden = true;
    return;
  }
  const name = displayName(m);
  if (p.role === 'teacher') {
    tags.appendChild(
      h('span', {
        className: 'jp-CollabClass-badge',
        testid: 'collab-member-teacher',
        text: trans.__('teacher')
      })
    );
  }
  if (p.hand) {
    tags.appendChild(
      h('span', {
        className: 'jp-CollabClass-hand',
        testid: 'collab-member-hand',
        text: '✋',
        attrs: {
          title: trans.__('%1 raised a hand', name),
          'aria-label': trans.__('raised a hand'),
          role: 'img'
        }
      })
    );
  }
  if (!p.isYou && p.canFollow) {
    actions.appendChild(followButton(name, p));
  }
  if (!p.isYou && p.viewerTeacher) {
    const makeTeacher = p.role !== 'teacher';
    actions.appendChild(
      smallButton(
        'collab-member-role',
        makeTeacher ? trans.__('Make teacher') : trans.__('Make student'),
        {
          action: makeTeacher ? 'make-teacher' : 'make-student',
          title: makeTeacher
            ? trans.__('Make %1 a teacher of this room', name)
            : trans.__('Make %1 a student', name)
        }
      )
    );
    if (p.hand) {
      actions.appendChild(
        smallButton('collab-member-lower-hand', trans.__('Lower hand'), {
          action: 'lower-hand',
          title: trans.__("Lower %1's hand", name)
        })
      );
    }
  }
  actions.hidden = actions.childElementCount === 0;
}

function followButton(name: string, p: IRowClassroom): HTMLButtonElement {
  if (p.following) {
    const b = smallButton('collab-member-follow', trans.__('Following'), {
      action: 'unfollow',
      title: trans.__('Stop following %1', name),
      className: 'jp-mod-active'
    });
    b.setAttribute('aria-pressed', 'true');
    return b;
  }
  const b = smallButton('collab-member-follow', trans.__('Follow'), {
    action: 'follow',
    title: p.followsYou
      ? trans.__('%1 follows you: two people cannot follow each other', name)
      : trans.__('Follow %1: open their notebook and keep their cell in view', name)
  });
  b.setAttribute('aria-pressed', 'false');
  b.disabled = p.followsYou;
  return b;
}

function memberRow(m: IMember, isYou: boolean): HTMLElement {
  const row = h('li', { className: 'jp-CollabRoom-member', testid: 'member' });
  row.dataset.username = m.username;
  const name = h('span', { className: 'jp-CollabRoom-memberName', text: displayName(m) });
  const line = h('div', { className: 'jp-CollabRoom-memberLine' }, name);
  const where = h('div', { className: 'jp-CollabRoom-where', testid: 'member-location' });
  where.hidden = true;
  const actions = h('div', { className: 'jp-CollabClass-memberActions' });
  actions.hidden = true;
  row.append(avatar(m), h('div', { className: 'jp-CollabRoom-memberMain' }, line, where, actions));
  if (isYou) {
    row.classList.add('jp-mod-you');
    line.appendChild(h('span', { className: 'jp-CollabRoom-you', text: trans.__('(you)') }));
  }
  line.appendChild(h('span', { className: 'jp-CollabClass-memberTags' }));
  if (m.sessions > 1) {
    line.appendChild(
      h('span', {
        className: 'jp-CollabRoom-sessions',
        text: `×${m.sessions}`,
        attrs: {
          title: trans._n('%1 tab', '%1 tabs', m.sessions),
          'aria-label': trans._n('%1 tab', '%1 tabs', m.sessions)
        }
      })
    );
  }
  row.title = isYou ? trans.__('%1 (you)', displayName(m)) : displayName(m);
  return row;
}
