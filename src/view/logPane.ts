/**
 * The event log of the Room view: every connect, disconnect, join and leave, timestamped.
 */
import { trans } from '../i18n';
import type { ILogEntry, IRoomSession } from '../tokens';
import { formatClock } from '../util';
import { atBottom, h, section } from './dom';

export class LogPane {
  constructor() {
    this._list = h('ol', {
      className: 'jp-CollabRoom-logList',
      testid: 'event-log',
      attrs: {
        role: 'log',
        'aria-label': trans.__('Event log'),
        'aria-live': 'polite',
        tabindex: '0'
      }
    });
    this.node = section('jp-CollabRoom-log', trans.__('Event log'), this._list);
  }

  readonly node: HTMLElement;

  /** Forget what was shown (another room). */
  clear(): void {
    this._list.textContent = '';
    this._lastId = 0;
  }

  /** Append the new lines, drop the ones the session no longer keeps. */
  render(session: IRoomSession | null): void {
    if (!session) {
      return;
    }
    const list = this._list;
    const follow = atBottom(list);
    const entries = session.log;
    const firstId = entries.length ? entries[0].id : 0;
    let first = list.firstElementChild as HTMLElement | null;
    while (first && Number(first.dataset.id) < firstId) {
      first.remove();
      first = list.firstElementChild as HTMLElement | null;
    }
    for (const e of entries) {
      if (e.id > this._lastId) {
        list.appendChild(logLine(e));
        this._lastId = e.id;
      }
    }
    if (follow) {
      list.scrollTop = list.scrollHeight;
    }
  }

  scrollToBottom(): void {
    this._list.scrollTop = this._list.scrollHeight;
  }

  private _list: HTMLElement;
  private _lastId = 0;
}

function logLine(e: ILogEntry): HTMLElement {
  const li = h('li', { className: `jp-CollabRoom-logLine jp-mod-${e.kind}`, testid: 'log-line' });
  li.dataset.id = String(e.id);
  li.dataset.kind = e.kind;
  if (e.username) {
    li.dataset.username = e.username;
  }
  li.append(
    h('time', { className: 'jp-CollabRoom-logTime', text: formatClock(e.ts) }),
    document.createTextNode(' '),
    h('span', { className: 'jp-CollabRoom-logText', text: e.text })
  );
  return li;
}
