import { ISignal, Signal } from '@lumino/signaling';
import type { Socket } from 'socket.io-client';

import {
  Ack,
  IClientToServerEvents,
  IHistoryOk,
  IJoinedEvent,
  IJoinOk,
  ILeftEvent,
  IMember,
  IMessage,
  IPresenceEntry,
  IPresenceEvent,
  IProtocolError,
  ISendOk,
  IServerToClientEvents,
  IUser,
  IYou,
  isAckError,
  MAX_TEXT_LENGTH
} from './protocol';
import {
  ILogEntry,
  IPendingMessage,
  IRoomSession,
  RoomChange
} from './tokens';
import { sanitizeState } from './presence';
import { displayName, newClientId } from './util';

type CollabSocket = Socket<IServerToClientEvents, IClientToServerEvents>;

/** How many log lines a room keeps. */
export const LOG_CAP = 200;
/** How long to wait for an acknowledgement. */
const ACK_TIMEOUT = 15000;
/** Page size when loading older messages. */
const HISTORY_PAGE = 50;

/**
 * The tab's state of one room. Created and driven by CollabConnection.
 */
export class RoomSession implements IRoomSession {
  constructor(name: string, socketGetter: () => CollabSocket) {
    this.name = name;
    this._socket = socketGetter;
  }

  readonly name: string;

  get joined(): boolean {
    return this._joined;
  }
  get joinError(): IProtocolError | null {
    return this._joinError;
  }
  get you(): IYou | null {
    return this._you;
  }
  get members(): ReadonlyArray<IMember> {
    return Array.from(this._members.values());
  }
  get messages(): ReadonlyArray<IMessage> {
    if (this._sorted === null) {
      this._sorted = Array.from(this._messages.values()).sort(
        (a, b) => a.seq - b.seq
      );
    }
    return this._sorted;
  }
  get pending(): ReadonlyArray<IPendingMessage> {
    return Array.from(this._pending.values());
  }
  get hasMore(): boolean {
    return this._hasMore;
  }
  get loadingOlder(): boolean {
    return this._loadingOlder;
  }
  get log(): ReadonlyArray<ILogEntry> {
    return this._log;
  }
  get lastSeq(): number {
    return this._lastSeq;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }

  get changed(): ISignal<IRoomSession, RoomChange> {
    return this._changed;
  }
  get messageReceived(): ISignal<IRoomSession, IMessage> {
    return this._messageReceived;
  }
  get memberJoined(): ISignal<IRoomSession, { user: IMember; ts: number }> {
    return this._memberJoined;
  }
  get memberLeft(): ISignal<IRoomSession, { user: IUser; ts: number }> {
    return this._memberLeft;
  }
  get presence(): ReadonlyMap<string, IPresenceEntry> {
    return this._presence;
  }
  get presenceChanged(): ISignal<IRoomSession, void> {
    return this._presenceChanged;
  }

  /** Append a line to the room's log. */
  addLog(kind: string, text: string, ts: number = Date.now(), username?: string): void {
    this._log.push({ id: ++this._logId, ts, kind, text, username });
    if (this._log.length > LOG_CAP) {
      this._log.splice(0, this._log.length - LOG_CAP);
    }
    this._changed.emit('log');
  }

  /** Join (or re-join after a reconnect) on the current connection. */
  join(): void {
    if (this._disposed || this._joining) {
      return;
    }
    const socket = this._socket();
    if (!socket.connected) {
      return;
    }
    this._joining = true;
    const rejoin = this._joinedOnce;
    const payload: { room: string; since?: number } = { room: this.name };
    if (rejoin) {
      payload.since = this._lastSeq;
    }
    const sid = socket.id;
    socket
      .timeout(ACK_TIMEOUT)
      .emit('join', payload, (err: Error | null, res: Ack<IJoinOk>) => {
        this._joining = false;
        if (this._disposed) {
          return;
        }
        if (err) {
          // Disconnected or no answer: try again if still connected on the same socket.
          if (socket.connected && socket.id === sid) {
            this.addLog('error', `join timed out, retrying`);
            this._retryJoin(2000);
          }
          return;
        }
        if (isAckError(res)) {
          this._joinError = res.error;
          this.addLog(
            'error',
            `could not join ${this.name}: ${res.error.code}: ${res.error.message}`
          );
          this._changed.emit('state');
          if (res.error.code === 'rate_limited' || res.error.code === 'unavailable') {
            this._retryJoin(1000 * (res.error.retry_after ?? 2));
          }
          return;
        }
        this._onJoined(res, rejoin);
      });
  }

  /** The connection went away: nothing is joined any more. */
  onDisconnected(): void {
    this._joined = false;
    this._joining = false;
    // Others' presence is unknown until the re-join's snapshot.
    this._setPresence([], true);
    if (this._retryTimer !== null) {
      window.clearTimeout(this._retryTimer);
      this._retryTimer = null;
    }
    this._changed.emit('state');
  }

  /** Leave the room on the server (the last lease went away). */
  leave(): void {
    const socket = this._socket();
    if (this._joined && socket.connected) {
      socket.timeout(ACK_TIMEOUT).emit('leave', { room: this.name }, () => {
        /* nothing to do */
      });
    }
    this._joined = false;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    if (this._retryTimer !== null) {
      window.clearTimeout(this._retryTimer);
    }
    Signal.clearData(this);
  }

  // ---- server events, routed by the connection ----

  onMessageEvent(message: IMessage): void {
    if (this._addMessage(message)) {
      this._sorted = null;
      this._changed.emit('messages');
      this._messageReceived.emit(message);
    }
    if (this._dropPendingFor(message)) {
      this._changed.emit('pending');
    }
  }

  onJoinedEvent(event: IJoinedEvent): void {
    const user = event.user;
    const known = this._members.has(user.username);
    this._members.set(user.username, user);
    this._changed.emit('members');
    if (!known) {
      this.addLog('join', `${displayName(user)} connected`, Date.now(), user.username);
      this._memberJoined.emit({ user, ts: event.ts });
    }
  }

  onLeftEvent(event: ILeftEvent): void {
    const user = event.user;
    if (this._you && user.username === this._you.username) {
      // Another of our own tabs cannot make us leave: we are still here.
      return;
    }
    const known = this._members.delete(user.username);
    this._changed.emit('members');
    if (known) {
      this.addLog(
        'leave',
        `${displayName(user)} disconnected`,
        Date.now(),
        user.username
      );
      this._memberLeft.emit({ user, ts: event.ts });
    }
  }

  onPresenceEvent(event: IPresenceEvent): void {
    if (!this._joined) {
      return;
    }
    const updates = Array.isArray(event.updates) ? event.updates : [];
    const removed = Array.isArray(event.removed) ? event.removed : [];
    if (event.reset) {
      this._setPresence(updates, true);
      return;
    }
    for (const session of removed) {
      this._presence.delete(session);
    }
    this._setPresence(updates, false);
  }

  // ---- chat ----

  send(text: string, clientId?: string): string {
    const id = clientId || newClientId();
    if (this._pending.has(id) || this._confirmedIds.has(id)) {
      // Already on its way or stored (e.g. two views forwarding one Python send).
      return id;
    }
    const entry: IPendingMessage = {
      client_id: id,
      text,
      ts: Date.now(),
      status: 'queued',
      error: null
    };
    this._pending.set(id, entry);
    if (!text.trim() || text.length > MAX_TEXT_LENGTH) {
      this._setPending(id, {
        status: 'failed',
        error: {
          code: 'invalid_text',
          message: text.trim()
            ? `the text is longer than ${MAX_TEXT_LENGTH} characters`
            : 'the text is empty'
        }
      });
      return id;
    }
    this._changed.emit('pending');
    this._emitSend(id);
    return id;
  }

  retry(clientId: string): void {
    const entry = this._pending.get(clientId);
    if (!entry || entry.status === 'sending') {
      return;
    }
    this._setPending(clientId, { status: 'queued', error: null });
    this._emitSend(clientId);
  }

  discard(clientId: string): void {
    if (this._pending.delete(clientId)) {
      this._changed.emit('pending');
    }
  }

  async loadOlder(): Promise<void> {
    const socket = this._socket();
    if (!this._hasMore || this._loadingOlder || !this._joined || !socket.connected) {
      return;
    }
    const oldest = this.messages.length ? this.messages[0].seq : undefined;
    const payload: { room: string; before?: number; limit: number } = {
      room: this.name,
      limit: HISTORY_PAGE
    };
    if (oldest !== undefined) {
      payload.before = oldest;
    }
    this._loadingOlder = true;
    this._changed.emit('state');
    try {
      const res = (await socket
        .timeout(ACK_TIMEOUT)
        .emitWithAck('history', payload)) as Ack<IHistoryOk>;
      if (this._disposed) {
        return;
      }
      if (isAckError(res)) {
        this.addLog('error', `history refused: ${res.error.code}: ${res.error.message}`);
        return;
      }
      let added = 0;
      for (const m of res.messages) {
        if (this._addMessage(m)) {
          added++;
        }
      }
      this._hasMore = res.has_more;
      if (added) {
        this._sorted = null;
      }
      this._changed.emit('history');
    } catch (e) {
      // timeout or disconnect: the user can scroll up again
    } finally {
      this._loadingOlder = false;
      if (!this._disposed) {
        this._changed.emit('state');
      }
    }
  }

  // ---- private ----

  private _onJoined(res: IJoinOk, rejoin: boolean): void {
    this._joined = true;
    this._joinError = null;
    this._you = res.you;
    const before = new Map(this._members);
    this._members = new Map(res.members.map(m => [m.username, m]));

    // members
    if (!rejoin) {
      this.addLog('join', `joined ${this.name} as ${displayName(res.you)}`);
      for (const m of res.members) {
        if (m.username !== res.you.username) {
          this.addLog('here', `${displayName(m)} is here`, Date.now(), m.username);
        }
      }
    } else {
      for (const m of res.members) {
        if (m.username !== res.you.username && !before.has(m.username)) {
          this.addLog(
            'join',
            `${displayName(m)} connected (while we were away)`,
            Date.now(),
            m.username
          );
          this._memberJoined.emit({ user: m, ts: Date.now() });
        }
      }
      for (const [username, m] of before) {
        if (username !== res.you.username && !this._members.has(username)) {
          this.addLog(
            'leave',
            `${displayName(m)} disconnected (while we were away)`,
            Date.now(),
            username
          );
          this._memberLeft.emit({ user: m, ts: Date.now() });
        }
      }
    }
    this._changed.emit('members');
    this._setPresence(res.presence ?? [], true);

    // messages
    const fresh: IMessage[] = [];
    for (const m of res.history) {
      if (this._addMessage(m)) {
        fresh.push(m);
      }
      this._dropPendingFor(m);
    }
    if (!this._joinedOnce) {
      this._hasMore = res.has_more;
    }
    this._joinedOnce = true;
    this._sorted = null;
    if (rejoin) {
      this.addLog(
        'restore',
        `rejoined ${this.name}, restored ${fresh.length} message${fresh.length === 1 ? '' : 's'}`
      );
      for (const m of fresh) {
        this._messageReceived.emit(m);
      }
    }
    this._changed.emit('messages');
    this._changed.emit('state');

    // messages typed while offline
    for (const p of Array.from(this._pending.values())) {
      if (p.status === 'queued') {
        this._emitSend(p.client_id);
      }
    }
    this._changed.emit('pending');
  }

  /** Apply presence entries (replacing everything with `reset`) and tell the listeners. */
  private _setPresence(entries: ReadonlyArray<IPresenceEntry>, reset: boolean): void {
    if (reset) {
      if (this._presence.size === 0 && entries.length === 0) {
        return;
      }
      this._presence.clear();
    }
    const own = this._you?.session;
    for (const e of entries) {
      if (
        typeof e !== 'object' ||
        e === null ||
        typeof e.session !== 'string' ||
        typeof e.user !== 'string' ||
        e.session === own
      ) {
        continue;
      }
      this._presence.set(e.session, {
        session: e.session,
        user: e.user,
        state: sanitizeState(e.state),
        ts: typeof e.ts === 'number' ? e.ts : Date.now()
      });
    }
    this._presenceChanged.emit(undefined);
  }

  private _retryJoin(delay: number): void {
    if (this._retryTimer !== null) {
      window.clearTimeout(this._retryTimer);
    }
    this._retryTimer = window.setTimeout(() => {
      this._retryTimer = null;
      if (!this._joined) {
        this.join();
      }
    }, delay);
  }

  private _emitSend(clientId: string): void {
    const socket = this._socket();
    const entry = this._pending.get(clientId);
    if (!entry || !this._joined || !socket.connected) {
      return; // stays queued; sent after the (re)join
    }
    this._setPending(clientId, { status: 'sending', error: null });
    socket
      .timeout(ACK_TIMEOUT)
      .emit(
        'send',
        { room: this.name, text: entry.text, client_id: clientId },
        (err: Error | null, res: Ack<ISendOk>) => {
          if (this._disposed || !this._pending.has(clientId)) {
            return;
          }
          if (err) {
            if (!socket.connected) {
              // Lost with the connection: send again after the re-join (same client id).
              this._setPending(clientId, { status: 'queued', error: null });
            } else {
              this._setPending(clientId, {
                status: 'failed',
                error: { code: 'timeout', message: 'no answer from the server' }
              });
            }
            return;
          }
          if (isAckError(res)) {
            this._setPending(clientId, { status: 'failed', error: res.error });
            return;
          }
          this.onMessageEvent(res.message);
        }
      );
  }

  private _setPending(
    clientId: string,
    patch: Pick<IPendingMessage, 'status' | 'error'>
  ): void {
    const entry = this._pending.get(clientId);
    if (!entry) {
      return;
    }
    this._pending.set(clientId, { ...entry, ...patch });
    this._changed.emit('pending');
  }

  /** Add a message; false when its seq was already there. */
  private _addMessage(m: IMessage): boolean {
    if (this._you && m.user && m.user.username === this._you.username) {
      this._confirmedIds.add(m.client_id);
    }
    if (this._messages.has(m.seq)) {
      return false;
    }
    this._messages.set(m.seq, m);
    if (m.seq > this._lastSeq) {
      this._lastSeq = m.seq;
    }
    return true;
  }

  private _dropPendingFor(m: IMessage): boolean {
    if (!this._pending.has(m.client_id)) {
      return false;
    }
    if (this._you && m.user.username !== this._you.username) {
      return false;
    }
    this._pending.delete(m.client_id);
    this._confirmedIds.add(m.client_id);
    return true;
  }

  private _socket: () => CollabSocket;
  private _joined = false;
  private _joining = false;
  private _joinedOnce = false;
  private _joinError: IProtocolError | null = null;
  private _you: IYou | null = null;
  private _members = new Map<string, IMember>();
  private _messages = new Map<number, IMessage>();
  private _sorted: IMessage[] | null = null;
  private _pending = new Map<string, IPendingMessage>();
  private _confirmedIds = new Set<string>();
  private _hasMore = false;
  private _loadingOlder = false;
  private _lastSeq = 0;
  private _log: ILogEntry[] = [];
  private _logId = 0;
  private _retryTimer: number | null = null;
  private _disposed = false;
  private _changed = new Signal<IRoomSession, RoomChange>(this);
  private _messageReceived = new Signal<IRoomSession, IMessage>(this);
  private _memberJoined = new Signal<IRoomSession, { user: IMember; ts: number }>(this);
  private _memberLeft = new Signal<IRoomSession, { user: IUser; ts: number }>(this);
  private _presence = new Map<string, IPresenceEntry>();
  private _presenceChanged = new Signal<IRoomSession, void>(this);
}
