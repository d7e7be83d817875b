/**
 * The chat of the Room view: messages (older ones load on scrolling up), our pending ones,
 * the unread counter, and the compose box. Snippets and polls (classroom mode) show as cards.
 */
import { trans } from '../i18n';
import { MAX_TEXT_LENGTH } from '../limits';
import type { IMessage } from '../protocol';
import type { IClassroomLab, IPendingMessage, IRoomSession } from '../tokens';
import { studentsOf } from './classroomInfo';
import { atBottom, h } from './dom';
import { messageItem, pendingItem, updatePendingItem } from './messageItem';
import { IPollCardContext, pollAction, pollCard, updatePollCard } from './pollCard';
import { snippetAction, snippetCard } from './snippetCard';

/** Pixels from the top that trigger loading older messages. */
const TOP_SLACK = 48;

export class ChatPane {
  /** @param classroom classroom mode's JupyterLab side (a snippet's buttons), when present. */
  constructor(classroom: IClassroomLab | null = null) {
    this._classroom = classroom;
    this._older = h('div', { className: 'jp-CollabRoom-older', testid: 'older' });
    this._list = h('ol', {
      className: 'jp-CollabRoom-messageList',
      testid: 'messages',
      attrs: { 'aria-label': trans.__('Chat messages') }
    });
    this._scroller = h(
      'div',
      {
        className: 'jp-CollabRoom-scroll',
        attrs: { role: 'log', 'aria-live': 'polite', tabindex: '0', 'aria-label': trans.__('Chat') }
      },
      this._older,
      this._list
    );
    this._unread = h('button', {
      className: 'jp-CollabRoom-unread',
      testid: 'unread',
      attrs: { type: 'button', 'aria-label': 'Scroll to the newest messages' }
    });
    this._unread.hidden = true;
    this._input = h('textarea', {
      className: 'jp-CollabRoom-input',
      testid: 'chat-input',
      attrs: {
        rows: '2',
        placeholder: trans.__('Message (Enter to send, Shift+Enter for a new line)'),
        'aria-label': trans.__('Message'),
        'data-lm-suppress-shortcuts': 'true',
        maxlength: String(MAX_TEXT_LENGTH)
      }
    });
    this._sendButton = h('button', {
      className: 'jp-CollabRoom-send jp-mod-styled jp-mod-accept',
      testid: 'send',
      text: trans.__('Send'),
      attrs: { type: 'button', 'aria-label': 'Send message' }
    });
    this.node = h(
      'div',
      { className: 'jp-CollabRoom-chat' },
      h('div', { className: 'jp-CollabRoom-scrollWrap' }, this._scroller, this._unread),
      h('div', { className: 'jp-CollabRoom-compose' }, this._input, this._sendButton)
    );
    this._input.addEventListener('keydown', this._onKeyDown);
    this._sendButton.addEventListener('click', this._onSendClick);
    this._scroller.addEventListener('scroll', this._onScroll);
    this._unread.addEventListener('click', this._onUnreadClick);
    this._list.addEventListener('click', this._onListClick);
  }

  readonly node: HTMLElement;

  /** Show another room: forget the messages shown. */
  setSession(session: IRoomSession | null): void {
    this._session = session;
    this._items.clear();
    this._polls.clear();
    this._list.textContent = '';
    this._unreadCount = 0;
    this._maxSeq = 0;
  }

  /**
   * Bring the list in line with the session's messages and pending ones.
   * @param prepended older messages were added at the top: keep the view where it is.
   */
  render(prepended: boolean): void {
    const session = this._session;
    if (!session) {
      return;
    }
    const scroller = this._scroller;
    const follow = atBottom(scroller);
    const prevHeight = scroller.scrollHeight;
    const prevTop = scroller.scrollTop;
    const { newFromOthers, newOwn } = this._reconcile(session, prepended);
    if (prepended) {
      scroller.scrollTop = prevTop + (scroller.scrollHeight - prevHeight);
    } else if (follow || newOwn) {
      scroller.scrollTop = scroller.scrollHeight;
    } else if (newFromOthers) {
      this._setUnread(this._unreadCount + newFromOthers);
    }
    this.renderOlder();
  }

  /** The line above the messages: loading, more above, empty room, or the start. */
  renderOlder(): void {
    const session = this._session;
    const el = this._older;
    if (!session) {
      el.textContent = '';
    } else if (session.loadingOlder) {
      el.textContent = trans.__('loading older messages…');
    } else if (session.hasMore) {
      el.textContent = trans.__('scroll up for older messages');
    } else if (session.messages.length === 0 && session.joined) {
      el.textContent = trans.__('No messages yet. Say hello!');
    } else {
      el.textContent = session.joined ? trans.__('start of the conversation') : '';
    }
  }

  scrollToBottom(): void {
    this._scroller.scrollTop = this._scroller.scrollHeight;
    this._setUnread(0);
  }

  /** Bring the poll cards in line with the polls' views (only the cards that changed). */
  renderCards(): void {
    const session = this._session;
    if (!session || this._polls.size === 0) {
      return;
    }
    const polls = new Map(session.classroom.polls.map(p => [p.id, p]));
    const ctx = this._cardContext(session);
    for (const [seq, { el, message }] of this._polls) {
      updatePollCard(el, message, polls.get(seq), ctx);
    }
  }

  dispose(): void {
    this._input.removeEventListener('keydown', this._onKeyDown);
    this._sendButton.removeEventListener('click', this._onSendClick);
    this._scroller.removeEventListener('scroll', this._onScroll);
    this._unread.removeEventListener('click', this._onUnreadClick);
    this._list.removeEventListener('click', this._onListClick);
    this._session = null;
  }

  /** Add, move and remove list items (keyed by seq, or client id while pending). */
  private _reconcile(
    session: IRoomSession,
    prepended: boolean
  ): { newFromOthers: number; newOwn: boolean } {
    const you = session.you?.username;
    const wanted: { key: string; message?: IMessage; pending?: IPendingMessage }[] = [];
    for (const m of session.messages) {
      wanted.push({ key: `s${m.seq}`, message: m });
    }
    for (const p of session.pending) {
      wanted.push({ key: `p${p.client_id}`, pending: p });
    }
    const keys = new Set(wanted.map(w => w.key));
    for (const [key, el] of this._items) {
      if (!keys.has(key)) {
        el.remove();
        this._items.delete(key);
        this._polls.delete(Number(key.slice(1)));
      }
    }
    let newFromOthers = 0;
    let newOwn = false;
    let cursor: ChildNode | null = this._list.firstChild;
    for (const w of wanted) {
      let el = this._items.get(w.key);
      if (w.message) {
        const own = w.message.user.username === you;
        if (!el) {
          el = this._item(session, w.message, own);
          this._items.set(w.key, el);
          if (w.message.seq > this._maxSeq && !prepended) {
            newOwn = newOwn || own;
            newFromOthers += own ? 0 : 1;
          }
        }
        this._maxSeq = Math.max(this._maxSeq, w.message.seq);
      } else if (w.pending) {
        if (!el) {
          el = pendingItem(w.pending, session.you);
          this._items.set(w.key, el);
          newOwn = true;
        }
        updatePendingItem(el, w.pending);
      }
      if (!el) {
        continue;
      }
      if (el !== cursor) {
        this._list.insertBefore(el, cursor);
      } else {
        cursor = cursor.nextSibling;
      }
    }
    return { newFromOthers, newOwn };
  }

  /** A message's list item: a chat message, or a snippet or poll card. */
  private _item(session: IRoomSession, m: IMessage, own: boolean): HTMLElement {
    if (m.kind === 'snippet') {
      return snippetCard(m, own, this._classroom);
    }
    if (m.kind === 'poll') {
      const el = pollCard(m, own);
      this._polls.set(m.seq, { el, message: m });
      const poll = session.classroom.polls.find(p => p.id === m.seq);
      updatePollCard(el, m, poll, this._cardContext(session));
      return el;
    }
    return messageItem(m, own, session.you);
  }

  private _cardContext(session: IRoomSession): IPollCardContext {
    const teacher = session.role === 'teacher';
    return { teacher, students: teacher ? studentsOf(session) : [] };
  }

  /** A click on a snippet's or a poll's button. */
  private _onCardAction(action: string, target: HTMLElement, li: HTMLElement): void {
    const session = this._session;
    const message = session?.messages.find(m => m.seq === Number(li.dataset.seq));
    if (!session || !message) {
      return;
    }
    if (action.startsWith('snippet-')) {
      void snippetAction(action, li, message, this._classroom);
    } else if (action.startsWith('poll-')) {
      void pollAction(action, target, li, session);
    }
  }

  private _setUnread(n: number): void {
    this._unreadCount = n;
    this._unread.hidden = n === 0;
    this._unread.textContent =
      n === 0 ? '' : `${trans._n('%1 new message', '%1 new messages', n)} ↓`;
  }

  private _send(): void {
    const session = this._session;
    const text = this._input.value;
    if (!session || !text.trim()) {
      return;
    }
    session.send(text);
    this._input.value = '';
    this.scrollToBottom();
  }

  private _onKeyDown = (event: KeyboardEvent): void => {
    // Keep notebook shortcuts (Shift+Enter runs a cell, 'a' inserts one, ...) out of the chat.
    event.stopPropagation();
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this._send();
    }
  };

  private _onSendClick = (): void => {
    this._send();
    this._input.focus();
  };

  private _onScroll = (): void => {
    if (atBottom(this._scroller)) {
      this._setUnread(0);
    }
    const session = this._session;
    if (this._scroller.scrollTop < TOP_SLACK && session?.hasMore && !session.loadingOlder) {
      void session.loadOlder();
    }
  };

  private _onUnreadClick = (): void => {
    this._scroller.scrollTop = this._scroller.scrollHeight;
    this._setUnread(0);
  };

  private _onListClick = (event: MouseEvent): void => {
    const target = (event.target as HTMLElement | null)?.closest<HTMLElement>('[data-action]');
    const action = target?.dataset.action;
    const li = target?.closest<HTMLElement>('.jp-CollabRoom-message');
    const clientId = li?.dataset.clientId;
    if (!target || !action || !li || !clientId || !this._session) {
      return;
    }
    if (action.startsWith('snippet-') || action.startsWith('poll-')) {
      if (!(target as HTMLButtonElement).disabled) {
        this._onCardAction(action, target, li);
      }
      return;
    }
    if (action === 'retry') {
      this._session.retry(clientId);
    } else if (action === 'discard') {
      this._session.discard(clientId);
    }
  };

  private _session: IRoomSession | null = null;
  private _older: HTMLElement;
  private _list: HTMLElement;
  private _scroller: HTMLElement;
  private _unread: HTMLButtonElement;
  private _input: HTMLTextAreaElement;
  private _sendButton: HTMLButtonElement;
  private _items = new Map<string, HTMLElement>();
  /** The poll cards shown, by seq. */
  private _polls = new Map<number, { el: HTMLElement; message: IMessage }>();
  private _classroom: IClassroomLab | null;
  private _unreadCount = 0;
  private _maxSeq = 0;
}
