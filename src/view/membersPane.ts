/**
 * The members list of the Room view: one row per person, with where they are (notebook,
 * cell, line, idle/away); a click on a location goes there. In classroom mode: a teacher
 * badge, raised hands, "Follow", and for teachers "Make teacher/student" and "Lower hand".
 *
 * Presence changes (many a second in a big room) only update the rows whose "where" line or
 * classroom parts changed, in one pass over the rows (no DOM queries); the rows are rebuilt
 * only when the members change. The "where" lines are updated only in the rows in view of
 * the list (with a margin), found in the frame's read phase (`measure`, a few layout reads
 * before any write); the others are brought up to date as the list scrolls to them. With 300
 * members, that is some 10 rows laid out again instead of 300.
 */
import { FrameScheduler, frames as tabFrames } from '../frame';
import { trans } from '../i18n';
import type { IMember, IPresenceState, IProtocolError, Role } from '../protocol';
import type { IClassroomLab, ICollabPresence, IRoomSession } from '../tokens';
import { displayName } from '../util';
import { errorText } from './classroomInfo';
import { avatar, h, section, smallButton } from './dom';
import { describeLocation, ILocationLine, latestByUser, locationInputs } from './locations';

/** Rows beyond the list's visible part that are kept up to date too (px each side). */
const ROWS_MARGIN = 200;

export class MembersPane {
  /**
   * @param presence cursor presence, when the app has it (else no locations).
   * @param classroom classroom mode's JupyterLab side (else no "Follow").
   * @param onError shows a refused classroom request.
   * @param frames the frame scheduler (the tab's by default).
   */
  constructor(
    presence: ICollabPresence | null,
    classroom: IClassroomLab | null = null,
    onError: (text: string) => void = () => undefined,
    frames: FrameScheduler = tabFrames
  ) {
    this._presence = presence;
    this._classroom = classroom;
    this._onError = onError;
    this._frames = frames;
    this._list = h('ul', {
      className: 'jp-CollabRoom-memberList',
      testid: 'members',
      attrs: { 'aria-label': trans.__('Members') }
    });
    this.node = section('jp-CollabRoom-members', trans.__('People'), this._list);
    this._list.addEventListener('click', this._onClick);
    this._list.addEventListener('scroll', this._onScroll, { passive: true });
  }

  readonly node: HTMLElement;

  /** Rebuild the rows (you first, then by name) and their locations. */
  render(session: IRoomSession | null): void {
    this._session = session;
    this._list.textContent = '';
    this._rows = [];
    this._range = null;
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
      const row = memberRow(m, m.username === you);
      this._rows.push(row);
      this._list.appendChild(row.node);
    }
    this.renderLocations(); // and the classroom parts
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
    this._renderClassroom(session, latestByUser(session.presence.values()));
  }

  /** renderClassroom with the newest state of each user worked out (one pass each). */
  private _renderClassroom(
    session: IRoomSession,
    latest: ReadonlyMap<string, { state: IPresenceState }>
  ): void {
    const classroom = session.classroom;
    const you = session.you?.username ?? null;
    const viewerTeacher = session.role === 'teacher';
    const following = this._classroom?.following ?? null;
    const hands = new Set(classroom.hands.map(x => x.user));
    const members = new Map(session.members.map(m => [m.username, m]));
    for (const row of this._rows) {
      const username = row.username;
      const m = members.get(username);
      if (!m) {
        continue;
      }
      const parts: IRowClassroom = {
        available: classroom.available,
        isYou: username === you,
        role: classroom.roleOf(username),
        hand: hands.has(username),
        viewerTeacher,
        canFollow: this._classroom !== null,
        following: following?.room === session.name && following.username === username,
        followsYou: you !== null && (latest.get(username)?.state.following ?? null) === you
      };
      const key = classroomKey(parts);
      if (row.classroomKey !== key) {
        row.classroomKey = key;
        renderRowClassroom(row, m, parts);
      }
    }
  }

  /**
   * Read phase: which rows are in view of the list (or near it), from a few layout reads (a
   * binary search on the rows' offsets). Until it is called, and when the list has no layout
   * (hidden, or no browser), `renderLocations` updates every row.
   *
   * @param onScreen false: the view is off screen (scrolled away in its notebook, whose cell
   *   the browser then does not lay out, or in a hidden panel): no layout read (it would lay
   *   the view out), every row is updated (no layout either until it shows).
   */
  measure(onScreen = true): void {
    this._range = onScreen ? rowsInView(this._list, this._rows, ROWS_MARGIN) : null;
  }

  /**
   * Update the "where" line of the rows in view as `measure` found them (only the rows whose
   * line changed), and every row's classroom parts.
   */
  renderLocations(): void {
    const session = this._session;
    if (!session) {
      return;
    }
    const latest = latestByUser(session.presence.values());
    this._renderClassroom(session, latest); // who follows whom comes with the presence
    const presence = this._presence;
    if (!presence) {
      return;
    }
    const you = session.you?.username;
    const sharing = presence.isSharing(session.name);
    // Whether a notebook is open here depends on its path: asked once per path.
    const jumpable = new Map<string, boolean>();
    const canJumpTo = (state: IPresenceState): boolean => {
      if (state.path === undefined) {
        return presence.canJumpTo(state);
      }
      let can = jumpable.get(state.path);
      if (can === undefined) {
        can = presence.canJumpTo(state);
        jumpable.set(state.path, can);
      }
      return can;
    };
    const [first, end] = this._range ?? [0, this._rows.length];
    for (let i = first; i < end && i < this._rows.length; i++) {
      const row = this._rows[i];
      const isYou = row.username === you;
      const state = isYou ? presence.localState : (latest.get(row.username)?.state ?? null);
      const inputs = locationInputs(state);
      const canJump = !isYou && state !== null && canJumpTo(state);
      if (inputs === row.inputs && sharing === row.sharing && canJump === row.canJump) {
        continue; // e.g. only the column moved: the line does not show it
      }
      row.inputs = inputs;
      row.sharing = sharing;
      row.canJump = canJump;
      renderWhere(row, describeLocation(isYou, sharing, state, canJumpTo));
    }
  }

  dispose(): void {
    this._list.removeEventListener('click', this._onClick);
    this._list.removeEventListener('scroll', this._onScroll);
    this._frames.cancel(this._measureScrolled);
    this._frames.cancel(this._renderScrolled);
    this._session = null;
  }

  /** The list scrolled: bring the rows that came into view up to date in the next frame. */
  private _onScroll = (): void => {
    this._frames.schedule(this._measureScrolled, 'read');
  };

  private _measureScrolled = (): void => {
    if (this._session) {
      this.measure();
      this._frames.schedule(this._renderScrolled, 'write');
    }
  };

  private _renderScrolled = (): void => {
    this.renderLocations();
  };

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
  private _frames: FrameScheduler;
  private _list: HTMLElement;
  private _rows: IMemberRow[] = [];
  /** The rows [first, end) in view as last measured; null: every row. */
  private _range: [number, number] | null = null;
}

/**
 * The rows [first, end) of `list` within `margin` px of its visible part, or null when the list
 * has no layout (hidden, or no browser). Layout reads only (offsets of ~2 log2(rows) rows).
 */
export function rowsInView(
  list: HTMLElement,
  rows: ReadonlyArray<{ node: HTMLElement }>,
  margin: number
): [number, number] | null {
  const height = list.clientHeight;
  if (!height || !rows.length) {
    return null;
  }
  const top = list.scrollTop - margin;
  const bottom = list.scrollTop + height + margin;
  // The first row that ends below `top`, then the first that starts below `bottom`.
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const node = rows[mid].node;
    if (node.offsetTop + node.offsetHeight <= top) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  const first = lo;
  hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid].node.offsetTop < bottom) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return [first, lo];
}

/** A member row and what it shows (to skip unchanged rows without touching the DOM). */
interface IMemberRow {
  username: string;
  node: HTMLElement;
  where: HTMLElement;
  tags: HTMLElement;
  actions: HTMLElement;
  classroomKey: string;
  /** The key (ILocationLine) of the "where" line shown. */
  whereKey?: string;
  /** What the "where" line was made from (locationInputs; undefined: not made yet). */
  inputs?: string;
  sharing?: boolean;
  canJump?: boolean;
  /** The "where" line's parts, made when first needed and then updated in place. */
  whereText?: HTMLButtonElement;
  activity?: HTMLElement;
}

/** Update a row's "where" line in place (text only ever as text). */
function renderWhere(row: IMemberRow, line: ILocationLine): void {
  if (row.whereKey === line.key) {
    return;
  }
  row.whereKey = line.key;
  // Each property written only when it changes (a line moving writes one text node).
  const where = row.where;
  const hidden = !line.text && !line.activity;
  if (where.hidden !== hidden) {
    where.hidden = hidden;
  }
  const activity = line.activity || 'active';
  if (where.dataset.activity !== activity) {
    where.dataset.activity = activity;
  }
  if (line.text) {
    let button = row.whereText;
    if (!button) {
      button = h('button', {
        className: 'jp-CollabRoom-whereText',
        attrs: { type: 'button', 'data-action': 'jump' }
      });
      where.insertBefore(button, where.firstChild);
      row.whereText = button;
    }
    if (button.textContent !== line.text) {
      button.textContent = line.text;
    }
    if (button.disabled !== !line.canJump) {
      button.disabled = !line.canJump;
    }
    if (button.title !== line.title) {
      button.title = line.title;
    }
  } else if (row.whereText) {
    row.whereText.remove();
    row.whereText = undefined;
  }
  if (line.activity) {
    let span = row.activity;
    if (!span) {
      span = h('span', { className: 'jp-CollabRoom-activity', testid: 'member-activity' });
      where.appendChild(span);
      row.activity = span;
    }
    if (span.textContent !== line.activityText) {
      span.textContent = line.activityText;
    }
    if (span.dataset.activity !== line.activity) {
      span.dataset.activity = line.activity;
    }
  } else if (row.activity) {
    row.activity.remove();
    row.activity = undefined;
  }
}

/** What a member row shows of classroom mode (classroomKey: the row's render key). */
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

/** Equal keys: the same classroom parts (cheaper than JSON, made for every row often). */
function classroomKey(p: IRowClassroom): string {
  const flags = [
    p.available,
    p.isYou,
    p.hand,
    p.viewerTeacher,
    p.canFollow,
    p.following,
    p.followsYou
  ];
  return `${p.role}:${flags.map(f => (f ? '1' : '0')).join('')}`;
}

/** Fill a row's badges and buttons. */
function renderRowClassroom(rowParts: IMemberRow, m: IMember, p: IRowClassroom): void {
  const { node: row, tags, actions } = rowParts;
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

function memberRow(m: IMember, isYou: boolean): IMemberRow {
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
  const tags = h('span', { className: 'jp-CollabClass-memberTags' });
  line.appendChild(tags);
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
  return { username: m.username, node: row, where, tags, actions, classroomKey: '' };
}
