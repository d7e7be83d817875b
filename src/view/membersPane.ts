/**
 * The members list of the Room view: one row per person, with where they are (notebook,
 * cell, line, idle/away); a click on a location goes there.
 */
import type { IMember } from '../protocol';
import type { ICollabPresence, IRoomSession } from '../tokens';
import { displayName } from '../util';
import { avatar, h, section } from './dom';
import { describeLocation, latestByUser } from './locations';

export class MembersPane {
  /** @param presence cursor presence, when the app has it (else no locations). */
  constructor(presence: ICollabPresence | null) {
    this._presence = presence;
    this._list = h('ul', {
      className: 'jp-CollabRoom-memberList',
      testid: 'members',
      attrs: { 'aria-label': 'Members' }
    });
    this.node = section('jp-CollabRoom-members', 'People', this._list);
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
  }

  /** Update each row's "where" line (only the rows whose line changed). */
  renderLocations(): void {
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
            text: line.activity,
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

  private _presence: ICollabPresence | null;
  private _session: IRoomSession | null = null;
  private _list: HTMLElement;
}

function memberRow(m: IMember, isYou: boolean): HTMLElement {
  const row = h('li', { className: 'jp-CollabRoom-member', testid: 'member' });
  row.dataset.username = m.username;
  const name = h('span', { className: 'jp-CollabRoom-memberName', text: displayName(m) });
  const line = h('div', { className: 'jp-CollabRoom-memberLine' }, name);
  const where = h('div', { className: 'jp-CollabRoom-where', testid: 'member-location' });
  where.hidden = true;
  row.append(avatar(m), h('div', { className: 'jp-CollabRoom-memberMain' }, line, where));
  if (isYou) {
    row.classList.add('jp-mod-you');
    line.appendChild(h('span', { className: 'jp-CollabRoom-you', text: '(you)' }));
  }
  if (m.sessions > 1) {
    line.appendChild(
      h('span', {
        className: 'jp-CollabRoom-sessions',
        text: `×${m.sessions}`,
        attrs: { title: `${m.sessions} tabs`, 'aria-label': `${m.sessions} tabs` }
      })
    );
  }
  row.title = displayName(m) + (isYou ? ' (you)' : '');
  return row;
}
