/**
 * The header of the Room view: room name, connection state, "share my cursor", member count.
 */
import { trans } from '../i18n';
import type { ICollabConnection, IRoomSession } from '../tokens';
import { h } from './dom';

/** What the headers' "pop out" button does with its room (none: the button is hidden). */
let popOutHandler: ((room: string) => void) | null = null;

/**
 * Show a "pop out" button in every Room view's header that calls `handler` with the view's
 * room (JupyterLab's commands plugin: open the room in the right side panel); null hides it.
 * Headers rendered from then on show it.
 */
export function setPopOutHandler(handler: ((room: string) => void) | null): void {
  popOutHandler = handler;
}

export class HeaderPane {
  /**
   * @param canShare whether cursor presence exists in this app (else no share switch).
   * @param onShare called with the switch's new value when the user flips it.
   */
  constructor(canShare: boolean, onShare: (on: boolean) => void) {
    this._onShare = onShare;
    this._title = h('span', { className: 'jp-CollabRoom-title', testid: 'room-name' });
    this._status = h('span', {
      className: 'jp-CollabRoom-status',
      testid: 'connection-state',
      attrs: { role: 'status', 'aria-live': 'polite' }
    });
    this._count = h('span', { className: 'jp-CollabRoom-count', testid: 'member-count' });
    // "share my cursor": on by default, per room and tab (ICollabPresence keeps it).
    this._share = h('input', {
      className: 'jp-CollabRoom-shareInput',
      testid: 'share-cursor',
      attrs: { type: 'checkbox', role: 'switch', 'data-lm-suppress-shortcuts': 'true' }
    });
    this._share.checked = true;
    const shareLabel = h(
      'label',
      {
        className: 'jp-CollabRoom-share',
        attrs: {
          title: trans.__(
            'Show the people in this room which notebook, cell and line you are at. Off: they stop seeing your cursor at once.'
          )
        }
      },
      this._share,
      h('span', { text: trans.__('share my cursor') })
    );
    shareLabel.hidden = !canShare;
    this._popOut = h('button', {
      className: 'jp-CollabRoom-popout',
      testid: 'collab-popout',
      text: '⇱',
      attrs: {
        type: 'button',
        title: trans.__(
          'Pop this room out into the side panel (it stays visible while the notebook scrolls)'
        ),
        'aria-label': trans.__('Pop this room out into the side panel')
      }
    });
    this._popOut.hidden = true;
    this.node = h(
      'div',
      { className: 'jp-CollabRoom-header' },
      this._title,
      this._status,
      shareLabel,
      this._count,
      this._popOut
    );
    this._share.addEventListener('change', this._onChange);
    this._popOut.addEventListener('click', this._onPopOut);
  }

  readonly node: HTMLElement;

  /**
   * Show the room's name, the connection's state and the member count.
   * @param sharing the share switch's state for this room (null: leave it as it is).
   */
  render(
    connection: ICollabConnection,
    session: IRoomSession | null,
    sharing: boolean | null
  ): void {
    const name = session?.name ?? '…';
    this._title.textContent = name;
    this._title.title = name;
    // Which room this view shows (the commands and the mention notifications look for it).
    this._room = session?.name ?? '';
    this.node.dataset.room = this._room;
    this._popOut.hidden = !this._room || popOutHandler === null;
    const { state, text } = statusOf(connection, session);
    this._status.dataset.state = state;
    this._status.dataset.transport = connection.transport;
    this._status.textContent = text;
    this._status.title = text;
    if (sharing !== null) {
      this._share.checked = sharing;
    }
    const n = session?.members.length ?? 0;
    this._count.textContent = trans._n('%1 member', '%1 members', n);
    this._count.dataset.count = String(n);
  }

  /** Shown before a room is known. */
  setWaiting(text: string): void {
    this._title.textContent = '…';
    this._status.textContent = text;
  }

  setSharing(on: boolean): void {
    this._share.checked = on;
  }

  dispose(): void {
    this._share.removeEventListener('change', this._onChange);
    this._popOut.removeEventListener('click', this._onPopOut);
  }

  private _onChange = (): void => {
    this._onShare(this._share.checked);
  };

  private _onPopOut = (): void => {
    if (this._room && popOutHandler) {
      popOutHandler(this._room);
    }
  };

  private _onShare: (on: boolean) => void;
  private _title: HTMLElement;
  private _status: HTMLElement;
  private _count: HTMLElement;
  private _share: HTMLInputElement;
  private _popOut: HTMLButtonElement;
  private _room = '';
}

/** The status line: `state` is the connection state, or `error` when the join was refused. */
export function statusOf(
  c: Pick<ICollabConnection, 'state' | 'transport' | 'rtt'> &
    Partial<Pick<ICollabConnection, 'serviceState'>>,
  session: Pick<IRoomSession, 'joined' | 'joinError'> | null
): { state: string; text: string } {
  if (session?.joinError) {
    return { state: 'error', text: `${session.joinError.code}: ${session.joinError.message}` };
  }
  if (c.state === 'connected' && c.serviceState === 'reconnecting') {
    // This tab's connection is fine; the server lost the JupyterHub class service.
    return {
      state: 'service-reconnecting',
      text: trans.__('class service unreachable · reconnecting…')
    };
  }
  if (c.state === 'connected') {
    if (session && !session.joined) {
      return { state: c.state, text: trans.__('joining · %1', c.transport) };
    }
    const rtt = c.rtt !== null ? ` · ${trans.__('%1 ms', c.rtt)}` : '';
    return { state: c.state, text: trans.__('connected · %1', c.transport) + rtt };
  }
  const words: Record<string, string> = {
    offline: trans.__('offline'),
    connecting: trans.__('connecting…'),
    reconnecting: trans.__('reconnecting…')
  };
  return { state: c.state, text: words[c.state] ?? `${c.state}…` };
}
