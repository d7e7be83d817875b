/**
 * The teacher's hand queue: raised hands oldest first, each with the name, how long ago
 * (refreshed every 15 s), where they are (a click goes there) and "Lower".
 */
import { trans } from '../i18n';
import type { IHand, IProtocolError } from '../protocol';
import type { ICollabPresence, IRoomSession } from '../tokens';
import { errorText, timeAgo } from './classroomInfo';
import { h, smallButton } from './dom';
import { describeLocation, latestByUser } from './locations';

/** How often "2 min ago" is refreshed. */
export const AGO_REFRESH_MS = 15000;

export class HandsPane {
  /**
   * @param presence cursor presence, when the app has it (a click on a location goes there).
   * @param now the clock (tests).
   */
  constructor(presence: ICollabPresence | null, now: () => number = Date.now) {
    this._presence = presence;
    this._now = now;
    this._list = h('ol', {
      className: 'jp-CollabClass-handList',
      testid: 'collab-hand-queue',
      attrs: { 'aria-label': trans.__('Raised hands, oldest first') }
    });
    this._title = h('div', {
      className: 'jp-CollabRoom-sectionTitle',
      text: trans.__('Raised hands')
    });
    this._error = h('div', {
      className: 'jp-CollabClass-error',
      testid: 'collab-hand-error',
      attrs: { role: 'alert' }
    });
    this.node = h(
      'div',
      { className: 'jp-CollabClass-hands' },
      this._title,
      this._list,
      this._error
    );
    this._list.addEventListener('click', this._onClick);
  }

  readonly node: HTMLElement;

  /** Rebuild the queue when the hands changed; refresh the locations. */
  render(session: IRoomSession | null): void {
    this._session = session;
    const hands = session?.classroom.hands ?? [];
    const key = JSON.stringify(hands);
    if (key !== this._key) {
      this._key = key;
      this._list.textContent = '';
      for (const hand of hands) {
        this._list.appendChild(handItem(hand));
      }
      if (!hands.length) {
        this._list.appendChild(
          h('li', { className: 'jp-CollabClass-empty', text: trans.__('No raised hands') })
        );
      }
      this._title.textContent = hands.length
        ? trans.__('Raised hands (%1)', hands.length)
        : trans.__('Raised hands');
      this.renderTimes();
      this._setTimer(hands.length > 0);
    }
    this.renderLocations();
  }

  /** "2 min ago" of each hand. */
  renderTimes(): void {
    const now = this._now();
    for (const el of Array.from(this._list.querySelectorAll<HTMLElement>('.jp-CollabClass-ago'))) {
      const text = timeAgo(Number(el.dataset.ts), now);
      if (el.textContent !== text) {
        el.textContent = text;
      }
    }
  }

  /** Where each hand's owner is (only the lines that changed). */
  renderLocations(): void {
    const session = this._session;
    if (!session) {
      return;
    }
    const latest = latestByUser(session.presence.values());
    const presence = this._presence;
    const canJumpTo = presence ? presence.canJumpTo.bind(presence) : () => false;
    for (const item of Array.from(this._list.children) as HTMLElement[]) {
      const where = item.querySelector<HTMLButtonElement>('.jp-CollabClass-where');
      if (!where) {
        continue;
      }
      const state = latest.get(item.dataset.username ?? '')?.state ?? null;
      const line = describeLocation(false, true, state, canJumpTo);
      if (where.dataset.key === line.key) {
        continue;
      }
      where.dataset.key = line.key;
      where.textContent = [line.text || trans.__('not sharing where they are'), line.activityText]
        .filter(Boolean)
        .join(' · ');
      where.disabled = !line.canJump;
      where.title = line.title;
    }
  }

  dispose(): void {
    this._setTimer(false);
    this._list.removeEventListener('click', this._onClick);
    this._session = null;
  }

  private _setTimer(on: boolean): void {
    if (on && this._timer === null) {
      this._timer = window.setInterval(() => this.renderTimes(), AGO_REFRESH_MS);
    } else if (!on && this._timer !== null) {
      window.clearInterval(this._timer);
      this._timer = null;
    }
  }

  private _onClick = (event: MouseEvent): void => {
    const button = (event.target as HTMLElement | null)?.closest<HTMLButtonElement>(
      '[data-action]'
    );
    const username = button?.closest<HTMLElement>('.jp-CollabClass-handItem')?.dataset.username;
    const session = this._session;
    if (!button || button.disabled || !username || !session) {
      return;
    }
    if (button.dataset.action === 'lower') {
      void this._lower(button, session.raiseHand(false, username));
    } else if (button.dataset.action === 'jump' && this._presence) {
      const best = latestByUser(session.presence.values()).get(username);
      if (best) {
        void this._presence.jumpTo(best.state);
      }
    }
  };

  private async _lower(
    button: HTMLButtonElement,
    request: Promise<IProtocolError | null>
  ): Promise<void> {
    button.disabled = true;
    this._error.textContent = '';
    const error = await request;
    button.disabled = false;
    if (error) {
      this._error.textContent = errorText(error);
    }
  }

  private _presence: ICollabPresence | null;
  private _now: () => number;
  private _session: IRoomSession | null = null;
  private _list: HTMLElement;
  private _title: HTMLElement;
  private _error: HTMLElement;
  private _key = '';
  private _timer: number | null = null;
}

function handItem(hand: IHand): HTMLElement {
  const li = h('li', { className: 'jp-CollabClass-handItem', testid: 'collab-hand-item' });
  li.dataset.username = hand.user;
  const ago = h('span', { className: 'jp-CollabClass-ago', testid: 'collab-hand-ago' });
  ago.dataset.ts = String(hand.ts);
  li.append(
    h('span', {
      className: 'jp-CollabClass-handName',
      text: `✋ ${hand.display_name || hand.user}`
    }),
    ago,
    h('button', {
      className: 'jp-CollabRoom-whereText jp-CollabClass-where',
      testid: 'collab-hand-where',
      attrs: { type: 'button', 'data-action': 'jump' }
    }),
    smallButton('collab-hand-lower', trans.__('Lower'), {
      action: 'lower',
      title: trans.__("Lower %1's hand", hand.display_name || hand.user)
    })
  );
  return li;
}
