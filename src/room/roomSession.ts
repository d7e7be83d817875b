/**
 * RoomSession: one room over the tab's socket, and the only thing that talks to the socket
 * for that room: join (and re-join with `since`), leave, chat sends with their outbox,
 * history pages, presence, classroom mode's requests. The state it keeps is RoomState's.
 */
import type { Socket } from 'socket.io-client';

import { trans } from '../i18n';
import { HISTORY_PAGE_SIZE } from '../limits';
import {
  Ack,
  IClientToServerEvents,
  IFollowOk,
  IHandOk,
  IHistoryOk,
  IJoinOk,
  IOk,
  IPollCreatedOk,
  IPollOk,
  IPresenceState,
  IProtocolError,
  IRoleOk,
  ISendOk,
  IServerToClientEvents,
  isAckError,
  PRESENCE_PROTOCOL,
  Role
} from '../protocol';
import { newClientId } from '../util';
import { pollError, snippetError } from './classroom';
import { RoomState } from './roomState';

type CollabSocket = Socket<IServerToClientEvents, IClientToServerEvents>;

/** How long to wait for an acknowledgement. */
const ACK_TIMEOUT = 15000;

/** The answer to a request that got none in ACK_TIMEOUT. */
function timeoutError(): IProtocolError {
  return { code: 'timeout', message: trans.__('no answer from the server') };
}

/** The answer to a request made while the room is not joined on a live connection. */
function notConnectedError(): IProtocolError {
  return { code: 'not_connected', message: trans.__('not connected to the room') };
}

/** The socket with an acknowledgement timeout: acks get an error first. */
type TimedSocket = ReturnType<CollabSocket['timeout']>;

/** An acknowledgement callback as `socket.timeout()` calls it: error first. */
type TimedAck<T> = (err: Error | null, res: Ack<T>) => void;

/**
 * Created and driven by CollabConnection, which routes the room's server events here and
 * calls join() on every (re)connect and onDisconnected() on every disconnect.
 */
export class RoomSession extends RoomState {
  /**
   * @param name the room's (valid) name.
   * @param socketGetter the tab's current socket (the connection owns it).
   */
  constructor(name: string, socketGetter: () => CollabSocket) {
    super(name);
    this._socket = socketGetter;
  }

  get ready(): boolean {
    return this._joined && this._socket().connected;
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
    // Every join asks for protocol 1.2's compact presence; a 1.1 server ignores it.
    const payload: { room: string; since?: number; protocol: string } = {
      room: this.name,
      protocol: PRESENCE_PROTOCOL
    };
    if (rejoin) {
      payload.since = this.lastSeq;
    }
    const sid = socket.id;
    socket.timeout(ACK_TIMEOUT).emit('join', payload, (err: Error | null, res: Ack<IJoinOk>) => {
      this._joining = false;
      if (this._disposed) {
        return;
      }
      if (err) {
        // Disconnected or no answer: try again if still connected on the same socket.
        if (socket.connected && socket.id === sid) {
          this.addLog('error', trans.__('join timed out, retrying'));
          this._retryJoin(2000);
        }
        return;
      }
      if (isAckError(res)) {
        this._joinError = res.error;
        this.addLog(
          'error',
          trans.__('could not join %1: %2: %3', this.name, res.error.code, res.error.message)
        );
        this._changed.emit('state');
        if (res.error.code === 'rate_limited' || res.error.code === 'unavailable') {
          this._retryJoin(1000 * (res.error.retry_after ?? 2));
        }
        return;
      }
      this._applyJoin(res, rejoin);
      if (rejoin && res.has_more) {
        // Away for longer than a page: page forward from the join's last message.
        const last = res.history[res.history.length - 1];
        void this._catchUp(last ? last.seq : (payload.since ?? 0));
      }
      // Messages written while offline go now, oldest first.
      for (const clientId of this._outbox.queued()) {
        this._emitSend(clientId);
      }
      this._changed.emit('pending');
    });
  }

  /** The connection went away: nothing is joined any more. */
  onDisconnected(): void {
    this._joined = false;
    this._joining = false;
    // Others' presence is unknown until the re-join's snapshot.
    this._clearPresence();
    this._clearRetry();
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
    this._clearRetry();
    super.dispose();
  }

  // ---- chat ----

  send(text: string, clientId?: string): string {
    const id = clientId || newClientId();
    if (this._outbox.add(text, id) && this._outbox.get(id)?.status === 'queued') {
      this._emitSend(id);
    }
    return id;
  }

  retry(clientId: string): void {
    if (this._outbox.retry(clientId)) {
      this._emitSend(clientId);
    }
  }

  discard(clientId: string): void {
    this._outbox.discard(clientId);
  }

  async loadOlder(): Promise<void> {
    const socket = this._socket();
    if (!this._hasMore || this._loadingOlder || !this._joined || !socket.connected) {
      return;
    }
    const oldest = this._messages.oldestSeq;
    const payload: { room: string; before?: number; limit: number } = {
      room: this.name,
      limit: HISTORY_PAGE_SIZE
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
        this.addLog(
          'error',
          trans.__('history refused: %1: %2', res.error.code, res.error.message)
        );
        return;
      }
      for (const m of res.messages) {
        this._addMessage(m);
      }
      this._scrollback = Math.max(this._scrollback, this.messages.length);
      this._hasMore = res.has_more;
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

  /** Page forward through what was missed (history `after`), reporting it as live. */
  private async _catchUp(after: number): Promise<void> {
    const socket = this._socket();
    let restored = 0;
    for (let more = true; more && socket.connected && !this._disposed;) {
      let res: Ack<IHistoryOk>;
      try {
        res = await socket
          .timeout(ACK_TIMEOUT)
          .emitWithAck('history', { room: this.name, after, limit: HISTORY_PAGE_SIZE });
      } catch {
        return; // disconnected or no answer: the next re-join starts from lastSeq
      }
      if (this._disposed || isAckError(res) || !res.messages.length) {
        break;
      }
      restored += this._mergeMissed(res.messages).length;
      after = res.messages[res.messages.length - 1].seq;
      more = res.has_more;
      this._changed.emit('messages');
    }
    this.addLog(
      'restore',
      trans._n('restored %1 more message', 'restored %1 more messages', restored)
    );
  }

  // ---- presence ----

  sendPresence(state: IPresenceState | null, onAck?: (res: Ack<IOk>) => void): boolean {
    if (!this.ready) {
      return false;
    }
    // No timeout: a lost update is superseded by the next one (or the heartbeat).
    this._socket().emit('presence', { room: this.name, state }, onAck ?? (() => undefined));
    return true;
  }

  // ---- classroom mode (protocol 1.1) ----

  raiseHand(raised: boolean, user?: string): Promise<IProtocolError | null> {
    const payload: { room: string; raised: boolean; user?: string } = { room: this.name, raised };
    if (user !== undefined && user !== this._you?.username) {
      payload.user = user;
    }
    return this._request<IHandOk>(
      (socket, ack) => socket.emit('hand', payload, ack),
      res => this._applyHands(res.hands)
    );
  }

  setRole(user: string, role: Role): Promise<IProtocolError | null> {
    return this._request<IRoleOk>(
      (socket, ack) => socket.emit('role', { room: this.name, user, role }, ack),
      res => this._applyMember(res.user)
    );
  }

  askToFollow(on: boolean): Promise<IProtocolError | null> {
    return this._request<IFollowOk>(
      (socket, ack) => socket.emit('follow', { room: this.name, on }, ack),
      res => this._applyFollow(res.follow ?? null)
    );
  }

  shareSnippet(code: string, language?: string, clientId?: string): Promise<IProtocolError | null> {
    const invalid = snippetError(code, language);
    if (invalid) {
      return Promise.resolve(invalid);
    }
    const id = clientId || newClientId();
    const payload: { room: string; code: string; language?: string; client_id: string } = {
      room: this.name,
      code,
      client_id: id
    };
    if (language) {
      payload.language = language;
    }
    return this._once(id, () =>
      this._request<ISendOk>(
        (socket, ack) => socket.emit('snippet', payload, ack),
        res => this.onMessageEvent(res.message)
      )
    );
  }

  createPoll(
    question: string,
    options: string[],
    clientId?: string
  ): Promise<IProtocolError | null> {
    const invalid = pollError(question, options);
    if (invalid) {
      return Promise.resolve(invalid);
    }
    const id = clientId || newClientId();
    const payload = { room: this.name, question, options: [...options], client_id: id };
    return this._once(id, () =>
      this._request<IPollCreatedOk>(
        (socket, ack) => socket.emit('poll', payload, ack),
        res => {
          // The message first: it logs the new poll; the ack's view then replaces its own.
          this.onMessageEvent(res.message);
          this._applyPoll(res.poll);
        }
      )
    );
  }

  answerPoll(pollId: number, option: number): Promise<IProtocolError | null> {
    return this._request<IPollOk>(
      (socket, ack) =>
        socket.emit('poll_answer', { room: this.name, poll_id: pollId, option }, ack),
      res => this._applyPoll(res.poll)
    );
  }

  closePoll(pollId: number): Promise<IProtocolError | null> {
    return this._request<IPollOk>(
      (socket, ack) => socket.emit('poll_close', { room: this.name, poll_id: pollId }, ack),
      res => this._applyPoll(res.poll)
    );
  }

  setStudentSnippets(on: boolean): Promise<IProtocolError | null> {
    return this._request<IOk>(
      (socket, ack) => socket.emit('classroom', { room: this.name, student_snippets: on }, ack),
      () => this._applySettings(on)
    );
  }

  // ---- private ----

  /**
   * Emit a request with the acknowledgement timeout; resolves to null once `onOk` applied
   * the answer, or to the refusal (a `timeout` error when no answer came, `not_connected`
   * when the room is not joined on a live connection: nothing is sent then).
   */
  private _request<T>(
    emit: (socket: TimedSocket, ack: TimedAck<T>) => void,
    onOk: (res: T) => void
  ): Promise<IProtocolError | null> {
    const socket = this._socket();
    if (this._disposed || !this._joined || !socket.connected) {
      return Promise.resolve(notConnectedError());
    }
    return new Promise(resolve => {
      emit(socket.timeout(ACK_TIMEOUT), (err, res) => {
        if (err) {
          resolve(timeoutError());
        } else if (isAckError(res)) {
          resolve(res.error);
        } else {
          if (!this._disposed) {
            onOk(res);
          }
          resolve(null);
        }
      });
    });
  }

  /**
   * One request per client id at a time: several views of one widget forwarding the same
   * Python request share the first one's answer (the server would dedupe them anyway).
   */
  private _once(
    clientId: string,
    start: () => Promise<IProtocolError | null>
  ): Promise<IProtocolError | null> {
    const running = this._inFlight.get(clientId);
    if (running) {
      return running;
    }
    const request = start().finally(() => this._inFlight.delete(clientId));
    this._inFlight.set(clientId, request);
    return request;
  }

  private _emitSend(clientId: string): void {
    const socket = this._socket();
    const entry = this._outbox.get(clientId);
    if (!entry || !this._joined || !socket.connected) {
      return; // stays queued; sent after the (re)join
    }
    this._outbox.sending(clientId);
    const payload = { room: this.name, text: entry.text, client_id: clientId };
    socket.timeout(ACK_TIMEOUT).emit('send', payload, (err: Error | null, res: Ack<ISendOk>) => {
      if (this._disposed || !this._outbox.has(clientId)) {
        return;
      }
      if (err) {
        if (!socket.connected) {
          this._outbox.requeue(clientId); // lost with the connection: after the re-join
        } else {
          this._outbox.failed(clientId, timeoutError());
        }
        return;
      }
      if (isAckError(res)) {
        this._outbox.failed(clientId, res.error);
        return;
      }
      this.onMessageEvent(res.message);
    });
  }

  private _retryJoin(delay: number): void {
    this._clearRetry();
    this._retryTimer = window.setTimeout(() => {
      this._retryTimer = null;
      if (!this._joined) {
        this.join();
      }
    }, delay);
  }

  private _clearRetry(): void {
    if (this._retryTimer !== null) {
      window.clearTimeout(this._retryTimer);
      this._retryTimer = null;
    }
  }

  private _socket: () => CollabSocket;
  private _joining = false;
  private _retryTimer: number | null = null;
  private _inFlight = new Map<string, Promise<IProtocolError | null>>();
}
