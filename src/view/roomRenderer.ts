/**
 * DOM rendering of a room: header, members, chat and event log.
 *
 * User-provided text is only ever set with textContent, never as HTML.
 */
import { IMember, IMessage, IPresenceState, IUser } from './protocol';
import { formatLocation } from './presence';
import {
  ICollabConnection,
  ICollabPresence,
  ILogEntry,
  IPendingMessage,
  IRoomSession,
  RoomChange
} from './tokens';
import {
  displayName,
  formatClock,
  formatMessageTime,
  initialsOf,
  safeAvatarUrl,
  safeColor
} from './util';

/** Pixels from the bottom that still count as "at the bottom". */
const BOTTOM_SLACK = 32;
/** Pixels from the top that trigger loading older messages. */
const TOP_SLACK = 48;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; testid?: string; text?: string; attrs?: Record<string, string> } = {},
  ...children: (Node | null)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.className) {
    el.className = props.className;
  }
  if (props.testid) {
    el.dataset.testid = props.testid;
  }
  if (props.text !== undefined) {
    el.textContent = props.text;
  }
  if (props.attrs) {
    for (const [k, v] of Object.entries(props.attrs)) {
      el.setAttribute(k, v);
    }
  }
  for (const child of children) {
    if (child) {
      el.appendChild(child);
    }
  }
  return el;
}

/** A coloured initials badge or an avatar image. */
function avatar(user: IUser, size: 'small' | 'normal' = 'normal'): HTMLElement {
  const badge = h('span', {
    className: `jp-CollabRoom-avatar jp-CollabRoom-avatar-${size}`,
    attrs: { 'aria-hidden': 'true' }
  });
  const color = safeColor(user.color);
  if (color) {
    badge.style.backgroundColor = color;
  }
  const url = safeAvatarUrl(user.avatar_url);
  if (url) {
    const img = h('img', { attrs: { alt: '', src: url } });
    badge.appendChild(img);
  } else {
    badge.textContent = initialsOf(user);
  }
  return badge;
}

/**
 * Renders one view of a room into `host`.
 */
export class RoomRenderer {
  constructor(
    host: HTMLElement,
    connection: ICollabConnection,
    presence: ICollabPresence | null = null
  ) {
    this._host = host;
    this._connection = connection;
    this._presence = presence;
    host.classList.add('jp-CollabRoom');
    host.dataset.testid = 'collab-room';
    host.setAttribute('role', 'region');

    // header
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
      attrs: {
        type: 'checkbox',
        role: 'switch',
        'data-lm-suppress-shortcuts': 'true'
      }
    });
    this._share.checked = true;
    const shareLabel = h(
      'label',
      {
        className: 'jp-CollabRoom-share',
        attrs: {
          title:
            'Show the people in this room which notebook, cell and line you are at. ' +
            'Off: they stop seeing your cursor at once.'
        }
      },
      this._share,
      h('span', { text: 'share my cursor' })
    );
    shareLabel.hidden = presence === null;
    const header = h(
      'div',
      { className: 'jp-CollabRoom-header' },
      this._title,
      this._status,
      shareLabel,
      this._count
    );

    // members
    this._memberList = h('ul', {
      className: 'jp-CollabRoom-memberList',
      testid: 'members',
      attrs: { 'aria-label': 'Members' }
    });
    const members = h(
      'div',
      { className: 'jp-CollabRoom-members' },
      h('div', { className: 'jp-CollabRoom-sectionTitle', text: 'People' }),
      this._memberList
    );

    // chat
    this._older = h('div', { className: 'jp-CollabRoom-older', testid: 'older' });
    this._messageList = h('ol', {
      className: 'jp-CollabRoom-messageList',
      testid: 'messages',
      attrs: { 'aria-label': 'Chat messages' }
    });
    this._scroller = h(
      'div',
      {
        className: 'jp-CollabRoom-scroll',
        attrs: { role: 'log', 'aria-live': 'polite', tabindex: '0', 'aria-label': 'Chat' }
      },
      this._older,
      this._messageList
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
        placeholder: 'Message (Enter to send, Shift+Enter for a new line)',
        'aria-label': 'Message',
        'data-lm-suppress-shortcuts': 'true',
        maxlength: '4000'
      }
    });
    this._sendButton = h('button', {
      className: 'jp-CollabRoom-send jp-mod-styled jp-mod-accept',
      testid: 'send',
      text: 'Send',
      attrs: { type: 'button', 'aria-label': 'Send message' }
    });
    const compose = h(
      'div',
      { className: 'jp-CollabRoom-compose' },
      this._input,
      this._sendButton
    );
    const chat = h(
      'div',
      { className: 'jp-CollabRoom-chat' },
      h('div', { className: 'jp-CollabRoom-scrollWrap' }, this._scroller, this._unread),
      compose
    );

    // log
    this._logList = h('ol', {
      className: 'jp-CollabRoom-logList',
      testid: 'event-log',
      attrs: { role: 'log', 'aria-label': 'Event log', 'aria-live': 'polite', tabindex: '0' }
    });
    const log = h(
      'div',
      { className: 'jp-CollabRoom-log' },
      h('div', { className: 'jp-CollabRoom-sectionTitle', text: 'Event log' }),
      this._logList
    );

    host.append(header, h('div', { className: 'jp-CollabRoom-body' }, members, chat), log);

    // behaviour
    this._input.addEventListener('keydown', this._onKeyDown);
    this._sendButton.addEventListener('click', this._onSendClick);
    this._scroller.addEventListener('scroll', this._onScroll);
    this._unread.addEventListener('click', this._onUnreadClick);
    this._messageList.addEventListener('click', this._onListClick);
    this._memberList.addEventListener('click', this._onMemberClick);
    this._share.addEventListener('change', this._onShareChange);
    connection.statusChanged.connect(this._renderHeader, this);
    if (presence) {
      presence.localChanged.connect(this._renderLocations, this);
      presence.sharingChanged.connect(this._onSharingChanged, this);
      presence.notebooksChanged.connect(this._renderLocations, this);
    }
    this._renderHeader();
  }

  /** Show a room session (or switch to another). */
  setSession(session: IRoomSession): void {
    if (this._session) {
      this._session.changed.disconnect(this._onChanged, this);
      this._session.presenceChanged.disconnect(this._renderLocations, this);
    }
    this._session = session;
    this._messageEls.clear();
    this._messageList.textContent = '';
    this._logList.textContent = '';
    this._lastLogId = 0;
    this._unreadCount = 0;
    this._maxSeq = 0;
    session.changed.connect(this._onChanged, this);
    session.presenceChanged.connect(this._renderLocations, this);
    this._renderAll();
    this.scrollToBottom();
  }

  /** Shown before a room is known. */
  setWaiting(text: string): void {
    this._title.textContent = '…';
    this._status.textContent = text;
  }

  scrollToBottom(): void {
    this._scroller.scrollTop = this._scroller.scrollHeight;
    this._logList.scrollTop = this._logList.scrollHeight;
    this._setUnread(0);
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._session?.changed.disconnect(this._onChanged, this);
    this._session?.presenceChanged.disconnect(this._renderLocations, this);
    this._connection.statusChanged.disconnect(this._renderHeader, this);
    if (this._presence) {
      this._presence.localChanged.disconnect(this._renderLocations, this);
      this._presence.sharingChanged.disconnect(this._onSharingChanged, this);
      this._presence.notebooksChanged.disconnect(this._renderLocations, this);
    }
    this._memberList.removeEventListener('click', this._onMemberClick);
    this._share.removeEventListener('change', this._onShareChange);
    this._input.removeEventListener('keydown', this._onKeyDown);
    this._sendButton.removeEventListener('click', this._onSendClick);
    this._scroller.removeEventListener('scroll', this._onScroll);
    this._unread.removeEventListener('click', this._onUnreadClick);
    this._messageList.removeEventListener('click', this._onListClick);
    this._session = null;
  }

  // ---- rendering ----

  private _onChanged(_: IRoomSession, change: RoomChange): void {
    switch (change) {
      case 'log':
        this._renderLog();
        break;
      case 'members':
        this._renderMembers();
        this._renderHeader();
        break;
      case 'state':
        this._renderHeader();
        this._renderOlder();
        break;
      case 'history':
        this._renderMessages(true);
        this._renderOlder();
        break;
      default:
        this._renderMessages(false);
    }
  }

  private _renderAll(): void {
    this._renderHeader();
    this._renderMembers();
    this._renderMessages(false);
    this._renderOlder();
    this._renderLog();
  }

  private _renderHeader(): void {
    const c = this._connection;
    const session = this._session;
    const name = session?.name ?? '…';
    this._title.textContent = name;
    this._title.title = name;
    this._host.setAttribute('aria-label', `Collaboration room ${name}`);

    let state: string = c.state;
    let text: string;
    if (session?.joinError) {
      state = 'error';
      text = `${session.joinError.code}: ${session.joinError.message}`;
    } else if (c.state === 'connected') {
      text = `connected · ${c.transport}`;
      if (c.rtt !== null) {
        text += ` · ${c.rtt} ms`;
      }
      if (session && !session.joined) {
        text = `joining · ${c.transport}`;
      }
    } else {
      text = c.state === 'offline' ? 'offline' : `${c.state}…`;
    }
    this._status.dataset.state = state;
    this._status.dataset.transport = c.transport;
    this._status.textContent = text;
    this._status.title = text;

    if (session && this._presence) {
      this._share.checked = this._presence.isSharing(session.name);
    }

    const n = session?.members.length ?? 0;
    this._count.textContent = `${n} ${n === 1 ? 'member' : 'members'}`;
    this._count.dataset.count = String(n);
  }

  private _renderMembers(): void {
    const session = this._session;
    const list = this._memberList;
    list.textContent = '';
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
      list.appendChild(this._memberRow(m, m.username === you));
    }
    this._renderLocations();
  }

  private _memberRow(m: IMember, isYou: boolean): HTMLElement {
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

  /** The "where" line of each member: notebook · cell · line, idle/away; click to go there. */
  private _renderLocations(): void {
    const session = this._session;
    const presence = this._presence;
    if (!session || !presence) {
      return;
    }
    const you = session.you?.username;
    // The newest state per user (a user may have several tabs).
    const latest = new Map<string, { state: IPresenceState; ts: number }>();
    for (const e of session.presence.values()) {
      const known = latest.get(e.user);
      if (!known || known.ts < e.ts) {
        latest.set(e.user, { state: e.state, ts: e.ts });
      }
    }
    for (const row of Array.from(this._memberList.children) as HTMLElement[]) {
      const username = row.dataset.username ?? '';
      const where = row.querySelector<HTMLElement>('.jp-CollabRoom-where');
      if (!where) {
        continue;
      }
      let state: IPresenceState | null = null;
      let text = '';
      const isYou = username === you;
      if (isYou) {
        if (presence.isSharing(session.name)) {
          state = presence.localState;
          text = formatLocation(state);
        } else {
          text = 'not sharing your cursor';
        }
      } else {
        state = latest.get(username)?.state ?? null;
        text = state ? formatLocation(state) : '';
      }
      const activity = state?.activity && state.activity !== 'active' ? state.activity : '';
      const canJump = !isYou && state !== null && presence.canJumpTo(state);
      const key = `${text}\u0000${activity}\u0000${canJump}`;
      if (where.dataset.key === key) {
        continue;
      }
      where.dataset.key = key;
      where.textContent = '';
      where.hidden = !text && !activity;
      where.dataset.activity = activity || 'active';
      if (text) {
        const button = h('button', {
          className: 'jp-CollabRoom-whereText',
          text,
          attrs: { type: 'button', 'data-action': 'jump' }
        });
        button.disabled = !canJump;
        button.title = canJump
          ? `Go to ${text}`
          : isYou
            ? text
            : state?.path
              ? `${text} (open ${state.path} to go there)`
              : text;
        where.appendChild(button);
      }
      if (activity) {
        where.appendChild(
          h('span', {
            className: 'jp-CollabRoom-activity',
            testid: 'member-activity',
            text: activity,
            attrs: { 'data-activity': activity }
          })
        );
      }
    }
  }

  private _onSharingChanged(_: ICollabPresence, room: string): void {
    if (this._session?.name === room) {
      this._share.checked = this._presence?.isSharing(room) ?? true;
      this._renderLocations();
    }
  }

  private _onShareChange = (): void => {
    const session = this._session;
    if (session && this._presence) {
      this._presence.setSharing(session.name, this._share.checked);
    }
  };

  private _onMemberClick = (event: MouseEvent): void => {
    const target = event.target as HTMLElement | null;
    const button = target?.closest<HTMLButtonElement>('[data-action=jump]');
    const row = button?.closest<HTMLElement>('.jp-CollabRoom-member');
    const session = this._session;
    if (!button || button.disabled || !row || !session || !this._presence) {
      return;
    }
    let best: { state: IPresenceState; ts: number } | null = null;
    for (const e of session.presence.values()) {
      if (e.user === row.dataset.username && (!best || best.ts < e.ts)) {
        best = { state: e.state, ts: e.ts };
      }
    }
    if (best) {
      void this._presence.jumpTo(best.state);
    }
  };

  private _renderOlder(): void {
    const session = this._session;
    const el = this._older;
    if (!session) {
      el.textContent = '';
      return;
    }
    if (session.loadingOlder) {
      el.textContent = 'loading older messages…';
    } else if (session.hasMore) {
      el.textContent = 'scroll up for older messages';
    } else if (session.messages.length === 0 && session.joined) {
      el.textContent = 'No messages yet. Say hello!';
    } else {
      el.textContent = session.joined ? 'start of the conversation' : '';
    }
  }

  private _renderMessages(prepended: boolean): void {
    const session = this._session;
    if (!session) {
      return;
    }
    const scroller = this._scroller;
    const atBottom =
      scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < BOTTOM_SLACK;
    const prevHeight = scroller.scrollHeight;
    const prevTop = scroller.scrollTop;

    const you = session.you?.username;
    const wanted: { key: string; message?: IMessage; pending?: IPendingMessage }[] = [];
    for (const m of session.messages) {
      wanted.push({ key: `s${m.seq}`, message: m });
    }
    for (const p of session.pending) {
      wanted.push({ key: `p${p.client_id}`, pending: p });
    }
    const keys = new Set(wanted.map(w => w.key));
    for (const [key, el] of this._messageEls) {
      if (!keys.has(key)) {
        el.remove();
        this._messageEls.delete(key);
      }
    }
    let newFromOthers = 0;
    let newOwn = false;
    const list = this._messageList;
    let cursor: ChildNode | null = list.firstChild;
    for (const w of wanted) {
      let el = this._messageEls.get(w.key);
      if (w.message) {
        if (!el) {
          el = this._messageEl(w.message, w.message.user.username === you);
          this._messageEls.set(w.key, el);
          if (w.message.seq > this._maxSeq && !prepended) {
            if (w.message.user.username === you) {
              newOwn = true;
            } else {
              newFromOthers++;
            }
          }
        }
        if (w.message.seq > this._maxSeq) {
          this._maxSeq = w.message.seq;
        }
      } else if (w.pending) {
        if (!el) {
          el = this._pendingEl(w.pending);
          this._messageEls.set(w.key, el);
          newOwn = true;
        }
        this._updatePendingEl(el, w.pending);
      }
      if (!el) {
        continue;
      }
      if (el !== cursor) {
        list.insertBefore(el, cursor);
      } else {
        cursor = cursor.nextSibling;
      }
    }

    if (prepended) {
      scroller.scrollTop = prevTop + (scroller.scrollHeight - prevHeight);
    } else if (atBottom || newOwn) {
      scroller.scrollTop = scroller.scrollHeight;
    } else if (newFromOthers) {
      this._setUnread(this._unreadCount + newFromOthers);
    }
    this._renderOlder();
  }

  private _messageEl(m: IMessage, own: boolean): HTMLElement {
    const li = h('li', { className: 'jp-CollabRoom-message', testid: 'message' });
    li.dataset.seq = String(m.seq);
    li.dataset.clientId = m.client_id;
    if (own) {
      li.classList.add('jp-mod-own');
    }
    const author = h('span', { className: 'jp-CollabRoom-author', text: displayName(m.user) });
    const color = safeColor(m.user.color);
    if (color) {
      author.style.setProperty('--jp-collab-user-color', color);
    }
    const time = h('time', {
      className: 'jp-CollabRoom-time',
      text: formatMessageTime(m.ts),
      attrs: { datetime: new Date(m.ts).toISOString(), title: new Date(m.ts).toLocaleString() }
    });
    const meta = h('div', { className: 'jp-CollabRoom-meta' }, avatar(m.user, 'small'), author, time);
    if (own) {
      meta.appendChild(h('span', { className: 'jp-CollabRoom-you', text: '(you)' }));
    }
    const text = h('div', { className: 'jp-CollabRoom-text', testid: 'message-text', text: m.text });
    li.append(meta, text);
    return li;
  }

  private _pendingEl(p: IPendingMessage): HTMLElement {
    const li = h('li', { className: 'jp-CollabRoom-message jp-mod-own jp-mod-pending', testid: 'message' });
    li.dataset.clientId = p.client_id;
    const you = this._session?.you;
    const meta = h('div', { className: 'jp-CollabRoom-meta' });
    if (you) {
      meta.appendChild(avatar(you, 'small'));
    }
    meta.append(
      h('span', { className: 'jp-CollabRoom-author', text: you ? displayName(you) : 'You' }),
      h('time', { className: 'jp-CollabRoom-time', text: formatMessageTime(p.ts) }),
      h('span', { className: 'jp-CollabRoom-pendingState', testid: 'pending-state' })
    );
    const text = h('div', { className: 'jp-CollabRoom-text', testid: 'message-text', text: p.text });
    li.append(meta, text);
    return li;
  }

  private _updatePendingEl(li: HTMLElement, p: IPendingMessage): void {
    li.dataset.status = p.status;
    li.classList.toggle('jp-mod-failed', p.status === 'failed');
    const state = li.querySelector('.jp-CollabRoom-pendingState');
    if (state) {
      state.textContent = p.status === 'failed' ? 'not sent' : p.status === 'queued' ? 'waiting for connection…' : 'sending…';
    }
    let error = li.querySelector<HTMLElement>('.jp-CollabRoom-error');
    if (p.status === 'failed' && p.error) {
      if (!error) {
        error = h('div', {
          className: 'jp-CollabRoom-error',
          testid: 'send-error',
          attrs: { role: 'alert' }
        });
        li.appendChild(error);
      }
      error.textContent = '';
      const retryAfter = p.error.retry_after ? ` (retry after ${p.error.retry_after}s)` : '';
      error.append(
        h('span', { text: `${p.error.code}: ${p.error.message}${retryAfter}` }),
        h('button', {
          className: 'jp-CollabRoom-retry',
          testid: 'retry',
          text: 'retry',
          attrs: { type: 'button', 'data-action': 'retry', 'aria-label': 'Send this message again' }
        }),
        h('button', {
          className: 'jp-CollabRoom-discard',
          testid: 'discard',
          text: 'discard',
          attrs: { type: 'button', 'data-action': 'discard', 'aria-label': 'Discard this message' }
        })
      );
    } else if (error) {
      error.remove();
    }
  }

  private _renderLog(): void {
    const session = this._session;
    if (!session) {
      return;
    }
    const list = this._logList;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < BOTTOM_SLACK;
    const entries = session.log;
    const firstId = entries.length ? entries[0].id : 0;
    while (list.firstElementChild && Number((list.firstElementChild as HTMLElement).dataset.id) < firstId) {
      list.firstElementChild.remove();
    }
    for (const e of entries) {
      if (e.id > this._lastLogId) {
        list.appendChild(this._logEl(e));
        this._lastLogId = e.id;
      }
    }
    if (atBottom) {
      list.scrollTop = list.scrollHeight;
    }
  }

  private _logEl(e: ILogEntry): HTMLElement {
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

  private _setUnread(n: number): void {
    this._unreadCount = n;
    this._unread.hidden = n === 0;
    this._unread.textContent = n === 0 ? '' : `${n} new message${n === 1 ? '' : 's'} ↓`;
  }

  // ---- events ----

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
    const s = this._scroller;
    if (s.scrollHeight - s.scrollTop - s.clientHeight < BOTTOM_SLACK) {
      this._setUnread(0);
    }
    if (s.scrollTop < TOP_SLACK && this._session?.hasMore && !this._session.loadingOlder) {
      void this._session.loadOlder();
    }
  };

  private _onUnreadClick = (): void => {
    this._scroller.scrollTop = this._scroller.scrollHeight;
    this._setUnread(0);
  };

  private _onListClick = (event: MouseEvent): void => {
    const target = event.target as HTMLElement | null;
    const action = target?.dataset.action;
    if (!action || !this._session) {
      return;
    }
    const li = target.closest<HTMLElement>('.jp-CollabRoom-message');
    const clientId = li?.dataset.clientId;
    if (!clientId) {
      return;
    }
    if (action === 'retry') {
      this._session.retry(clientId);
    } else if (action === 'discard') {
      this._session.discard(clientId);
    }
  };

  private _host: HTMLElement;
  private _connection: ICollabConnection;
  private _presence: ICollabPresence | null;
  private _share: HTMLInputElement;
  private _session: IRoomSession | null = null;
  private _title: HTMLElement;
  private _status: HTMLElement;
  private _count: HTMLElement;
  private _memberList: HTMLElement;
  private _older: HTMLElement;
  private _messageList: HTMLElement;
  private _scroller: HTMLElement;
  private _unread: HTMLButtonElement;
  private _input: HTMLTextAreaElement;
  private _sendButton: HTMLButtonElement;
  private _logList: HTMLElement;
  private _messageEls = new Map<string, HTMLElement>();
  private _lastLogId = 0;
  private _unreadCount = 0;
  private _maxSeq = 0;
  private _disposed = false;
}
