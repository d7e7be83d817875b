/**
 * RoomState: what the tab knows of one room (members, messages, our pending sends,
 * others' presence, the event log, classroom mode) and how server events change it. No
 * transport here: RoomSession adds the socket (the abstract members below).
 */
import { ISignal, Signal } from '@lumino/signaling';

import type {
  IClassroomEvent,
  IFollowEvent,
  IFollowRequest,
  IHand,
  IHandEvent,
  IJoinedEvent,
  IJoinOk,
  ILeftEvent,
  IMember,
  IMessage,
  IPoll,
  IPollEvent,
  IPresenceEntry,
  IProtocolError,
  IRoleEvent,
  IUser,
  IYou,
  Role
} from '../protocol';
import type { Ack, IOk, IPresenceState, PresenceEvent } from '../protocol';
import { speaksCompactPresence } from '../protocol';
import type {
  IClassroomState,
  ILogEntry,
  IPendingMessage,
  IRoomSession,
  RoomChange
} from '../tokens';
import { trans } from '../i18n';
import { displayName } from '../util';
import { ClassroomState, IClassroomLogLine } from './classroom';
import { diffMembers } from './members';
import { MessageList } from './messageList';
import { Outbox } from './outbox';
import { PresenceMap } from './presenceMap';
import { RoomLog } from './roomLog';

/** Messages a room keeps in the tab, beyond what the user paged back to. */
export const MAX_SCROLLBACK = 500;

export abstract class RoomState implements IRoomSession {
  /** @param name the room's (valid) name. */
  constructor(name: string) {
    this.name = name;
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
  /** The same array until the members change (readers may compare it by identity). */
  get members(): ReadonlyArray<IMember> {
    if (this._memberList === null) {
      this._memberList = Array.from(this._members.values());
    }
    return this._memberList;
  }
  get messages(): ReadonlyArray<IMessage> {
    return this._messages.items;
  }
  get pending(): ReadonlyArray<IPendingMessage> {
    return this._outbox.items;
  }
  get hasMore(): boolean {
    return this._hasMore;
  }
  get loadingOlder(): boolean {
    return this._loadingOlder;
  }
  get log(): ReadonlyArray<ILogEntry> {
    return this._log.entries;
  }
  get lastSeq(): number {
    return this._messages.lastSeq;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }
  get presence(): ReadonlyMap<string, IPresenceEntry> {
    return this._presence.entries;
  }
  /** Whether the server sends this room's presence in protocol 1.2's compact batches. */
  get compactPresence(): boolean {
    return this._presence.ownNumber !== null;
  }
  get classroom(): IClassroomState {
    return this._classroom;
  }
  get role(): Role {
    return this._you ? this._classroom.roleOf(this._you.username) : 'student';
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
  get presenceChanged(): ISignal<IRoomSession, void> {
    return this._presenceChanged;
  }
  get handChanged(): ISignal<IRoomSession, IHandEvent> {
    return this._handChanged;
  }
  get pollChanged(): ISignal<IRoomSession, IPoll> {
    return this._pollChanged;
  }

  // ---- the transport's part (RoomSession) ----

  abstract readonly ready: boolean;
  abstract send(text: string, clientId?: string): string;
  abstract retry(clientId: string): void;
  abstract discard(clientId: string): void;
  abstract loadOlder(): Promise<void>;
  abstract sendPresence(state: IPresenceState | null, onAck?: (res: Ack<IOk>) => void): boolean;
  abstract raiseHand(raised: boolean, user?: string): Promise<IProtocolError | null>;
  abstract setRole(user: string, role: Role): Promise<IProtocolError | null>;
  abstract askToFollow(on: boolean): Promise<IProtocolError | null>;
  abstract shareSnippet(
    code: string,
    language?: string,
    clientId?: string
  ): Promise<IProtocolError | null>;
  abstract createPoll(
    question: string,
    options: string[],
    clientId?: string
  ): Promise<IProtocolError | null>;
  abstract answerPoll(pollId: number, option: number): Promise<IProtocolError | null>;
  abstract closePoll(pollId: number): Promise<IProtocolError | null>;
  abstract setStudentSnippets(on: boolean): Promise<IProtocolError | null>;

  /** Append a line to the room's log. */
  addLog(kind: string, text: string, ts: number = Date.now(), username?: string): void {
    this._log.add(kind, text, ts, username);
    this._changed.emit('log');
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    Signal.clearData(this);
  }

  // ---- server events, routed by the connection ----

  onMessageEvent(message: IMessage): void {
    if (this._addMessage(message)) {
      this._notePoll(message);
      this._trimScrollback();
      this._changed.emit('messages');
      this._messageReceived.emit(message);
    }
    if (this._outbox.confirm(message, this._you?.username ?? null)) {
      this._changed.emit('pending');
    }
  }

  onJoinedEvent(event: IJoinedEvent): void {
    const user = event.user;
    const known = this._members.has(user.username);
    this._members.set(user.username, user);
    this._memberList = null;
    this._changed.emit('members');
    if (!known) {
      this.addLog('join', trans.__('%1 connected', displayName(user)), Date.now(), user.username);
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
    this._memberList = null;
    this._changed.emit('members');
    if (known) {
      const text = trans.__('%1 disconnected', displayName(user));
      this.addLog('leave', text, Date.now(), user.username);
      this._memberLeft.emit({ user, ts: event.ts });
    }
  }

  /**
   * A presence batch, either format (1.1: by session; 1.2: compact, by member number):
   * applied in one pass, then one `presenceChanged` (none when nothing changed, e.g. a
   * batch with only our own entry). Ignored before the join's acknowledgement.
   */
  onPresenceEvent(event: PresenceEvent): void {
    if (this._joined && this._presence.apply(event)) {
      this._presenceChanged.emit(undefined);
    }
  }

  // ---- classroom mode's server events (protocol 1.1) ----

  /** A member's role changed: their member object is replaced. */
  onRoleEvent(event: IRoleEvent): void {
    if (this._applyMember(event?.user)) {
      this._classroomLog(this._classroom.roleLine(event));
    }
  }

  /** A hand was raised or lowered. */
  onHandEvent(event: IHandEvent): void {
    const line = this._classroom.applyHand(event);
    if (!line) {
      return;
    }
    this._classroomLog(line);
    this._changed.emit('classroom');
    this._handChanged.emit(event);
  }

  /** A teacher asked everyone to follow them, or stopped asking. */
  onFollowEvent(event: IFollowEvent): void {
    const line = this._classroom.applyFollow(event);
    if (line) {
      this._classroomLog(line);
      this._changed.emit('classroom');
    }
  }

  /** A poll's view changed (an answer, for teachers; its close, for everyone). */
  onPollEvent(event: IPollEvent): void {
    if (event?.poll) {
      this._applyPoll(event.poll);
    }
  }

  /** The room's classroom settings changed. */
  onClassroomEvent(event: IClassroomEvent): void {
    const { changed, line } = this._classroom.applySettings(event);
    this._classroomLog(line);
    if (changed) {
      this._changed.emit('classroom');
    }
  }

  // ---- for RoomSession ----

  /** A (re-)join's answer: who is here (and who came and went meanwhile), presence, history. */
  protected _applyJoin(res: IJoinOk, rejoin: boolean): void {
    this._joined = true;
    this._joinError = null;
    this._you = res.you;
    const before = new Map(this._members);
    this._members = new Map(res.members.map(m => [m.username, m]));
    this._memberList = null;
    if (!rejoin) {
      this.addLog('join', trans.__('joined %1 as %2', this.name, displayName(res.you)));
      for (const m of res.members) {
        if (m.username !== res.you.username) {
          this.addLog('here', trans.__('%1 is here', displayName(m)), Date.now(), m.username);
        }
      }
    } else {
      const { joined, left } = diffMembers(before, res.members, res.you.username);
      for (const m of joined) {
        const text = trans.__('%1 connected (while we were away)', displayName(m));
        this.addLog('join', text, Date.now(), m.username);
        this._memberJoined.emit({ user: m, ts: Date.now() });
      }
      for (const m of left) {
        const text = trans.__('%1 disconnected (while we were away)', displayName(m));
        this.addLog('leave', text, Date.now(), m.username);
        this._memberLeft.emit({ user: m, ts: Date.now() });
      }
    }
    this._changed.emit('members');
    // Before the history: poll cards find their polls.
    this._classroom.applyJoin(res.classroom);
    this._changed.emit('classroom');
    // Protocol 1.2: batches are keyed by member number and carry our own entry (skipped).
    const ownNumber = speaksCompactPresence(res.protocol) ? (res.you.n ?? null) : null;
    if (this._presence.join(res.presence ?? [], res.you.session, ownNumber)) {
      this._presenceChanged.emit(undefined);
    }
    this._mergeHistory(res, rejoin);
  }

  /** A member object from a `role` event or ack; false when malformed. */
  protected _applyMember(user: IMember | undefined): boolean {
    if (!user || typeof user.username !== 'string') {
      return false;
    }
    const known = this._members.get(user.username);
    if (known) {
      this._members.set(user.username, { ...known, ...user });
      this._memberList = null;
      this._changed.emit('members');
    }
    this._changed.emit('classroom');
    return true;
  }

  /** The hands of a `hand` ack. */
  protected _applyHands(hands: ReadonlyArray<IHand>): void {
    if (this._classroom.setHands(hands)) {
      this._changed.emit('classroom');
    }
  }

  /** The follow request of a `follow` ack. */
  protected _applyFollow(follow: IFollowRequest | null): void {
    if (this._classroom.setFollow(follow)) {
      this._changed.emit('classroom');
    }
  }

  /** A poll's view from an event or an ack. */
  protected _applyPoll(poll: IPoll): void {
    const { changed, line } = this._classroom.setPoll(poll);
    const kept = this._classroom.poll(poll.id);
    if (changed && kept) {
      this._classroomLog(line);
      this._changed.emit('classroom');
      this._pollChanged.emit(kept);
    }
  }

  /** The settings of a `classroom` ack. */
  protected _applySettings(studentSnippets: boolean): void {
    if (this._classroom.applySettings({ student_snippets: studentSnippets }).changed) {
      this._changed.emit('classroom');
    }
  }

  /** A new live poll message: its poll gets a view (kept if an ack made one first). */
  private _notePoll(message: IMessage): void {
    if (message.kind !== 'poll') {
      return;
    }
    const line = this._classroom.addPollMessage(message, this.role === 'teacher');
    if (line) {
      this._classroomLog(line);
      this._changed.emit('classroom');
      const poll = this._classroom.poll(message.seq);
      if (poll) {
        this._pollChanged.emit(poll);
      }
    }
  }

  private _classroomLog(line: IClassroomLogLine | null): void {
    if (line) {
      this.addLog(line.kind, line.text, Date.now(), line.username);
    }
  }

  /** Forget others' presence (disconnected: unknown until the re-join's snapshot). */
  protected _clearPresence(): void {
    if (this._presence.clear()) {
      this._presenceChanged.emit(undefined);
    }
  }

  /** Add a message; false when its seq was already there. */
  protected _addMessage(m: IMessage): boolean {
    if (this._you && m.user && m.user.username === this._you.username) {
      this._outbox.noteConfirmed(m.client_id);
    }
    return this._messages.add(m);
  }

  /** The join's history: new messages are added (and reported live after a re-join). */
  private _mergeHistory(res: IJoinOk, rejoin: boolean): void {
    const fresh = rejoin ? this._mergeMissed(res.history) : this._mergePage(res.history);
    if (!this._joinedOnce) {
      this._hasMore = res.has_more;
    }
    this._joinedOnce = true;
    if (rejoin) {
      const n = fresh.length;
      const text = trans._n(
        'rejoined %2, restored %1 message',
        'rejoined %2, restored %1 messages',
        n,
        this.name
      );
      this.addLog('restore', text);
    }
    this._changed.emit('messages');
    this._changed.emit('state');
  }

  /** Add a page of messages; returns the ones that were new. */
  protected _mergePage(messages: ReadonlyArray<IMessage>): IMessage[] {
    const fresh: IMessage[] = [];
    const own = this._you?.username ?? null;
    for (const m of messages) {
      if (this._addMessage(m)) {
        fresh.push(m);
      }
      this._outbox.confirm(m, own);
    }
    return fresh;
  }

  /** Add messages missed while away: reported as live ones, the scrollback kept bounded. */
  protected _mergeMissed(messages: ReadonlyArray<IMessage>): IMessage[] {
    const fresh = this._mergePage(messages);
    for (const m of fresh) {
      this._messageReceived.emit(m);
    }
    this._trimScrollback();
    return fresh;
  }

  /**
   * Keep at most `_scrollback` messages: the oldest go (scrolling up pages them back in).
   * Only what arrives live is trimmed; what the user pages back raises the bound.
   */
  protected _trimScrollback(): void {
    if (this._messages.trimOldest(this._scrollback) > 0) {
      this._hasMore = true;
    }
  }

  protected _joined = false;
  protected _joinedOnce = false;
  protected _joinError: IProtocolError | null = null;
  protected _you: IYou | null = null;
  protected _members = new Map<string, IMember>();
  /** `members` as an array, made once per change of `_members` (null: to make). */
  private _memberList: IMember[] | null = null;
  protected _messages = new MessageList();
  protected _outbox = new Outbox(() => this._changed.emit('pending'));
  protected _hasMore = false;
  protected _loadingOlder = false;
  /** How many messages are kept (raised when the user pages back further). */
  protected _scrollback = MAX_SCROLLBACK;
  protected _log = new RoomLog();
  /** Others' presence: the only decoder of the wire's presence events. */
  protected _presence = new PresenceMap();
  protected _classroom = new ClassroomState(username => this._members.get(username));
  protected _disposed = false;
  protected _changed = new Signal<IRoomSession, RoomChange>(this);
  private _messageReceived = new Signal<IRoomSession, IMessage>(this);
  private _memberJoined = new Signal<IRoomSession, { user: IMember; ts: number }>(this);
  private _memberLeft = new Signal<IRoomSession, { user: IUser; ts: number }>(this);
  private _presenceChanged = new Signal<IRoomSession, void>(this);
  private _handChanged = new Signal<IRoomSession, IHandEvent>(this);
  private _pollChanged = new Signal<IRoomSession, IPoll>(this);
}
