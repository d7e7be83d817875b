import { Token } from '@lumino/coreutils';
import { IDisposable } from '@lumino/disposable';
import { ISignal } from '@lumino/signaling';

import type {
  Ack,
  IFollowRequest,
  IHand,
  IHandEvent,
  IMember,
  IMessage,
  IOk,
  IPresenceEntry,
  IPoll,
  IPresenceState,
  IProtocolError,
  IUser,
  IYou,
  Role
} from './protocol';

/** The state of the tab's connection. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline';

/**
 * Where the rooms live: '' in this Jupyter server; on a JupyterHub, the state of the
 * server's link to the class service (see IServiceEvent).
 */
export type ServiceState = '' | 'connected' | 'reconnecting' | 'refused';

/** One line of an event log. */
export interface ILogEntry {
  /** Increasing id, unique within one log. */
  readonly id: number;
  /** Local time in milliseconds since the epoch. */
  readonly ts: number;
  /** What kind of event: connect, disconnect, reconnect, upgrade, restore, join, leave, error, ... */
  readonly kind: string;
  readonly text: string;
  /** The member the line is about (join/leave lines). */
  readonly username?: string;
}

/** A message of our own that the server has not confirmed (yet). */
export interface IPendingMessage {
  readonly client_id: string;
  readonly text: string;
  readonly ts: number;
  /** queued: waiting for the room to be joined; sending: waiting for the ack; failed: refused. */
  readonly status: 'queued' | 'sending' | 'failed';
  readonly error: IProtocolError | null;
}

/** What changed in a room session. */
export type RoomChange =
  'state' | 'members' | 'messages' | 'pending' | 'log' | 'history' | 'classroom';

/**
 * A room's classroom state as this tab knows it (protocol 1.1): set from the join
 * acknowledgement, changed by the `role`, `hand`, `follow`, `poll` and `classroom` events.
 */
export interface IClassroomState {
  /** False against a 1.0 server (no classroom mode: hide its controls). */
  readonly available: boolean;
  readonly teachersConfigured: boolean;
  readonly studentSnippets: boolean;
  /** Raised hands, oldest first. */
  readonly hands: ReadonlyArray<IHand>;
  /** A teacher's "follow me" request, or null. */
  readonly follow: IFollowRequest | null;
  /** Polls (open ones and recently closed), oldest first, as this user sees them. */
  readonly polls: ReadonlyArray<IPoll>;
  /** A member's role ('student' for an unknown user). */
  roleOf(username: string): Role;
}

/** The tab's view of one room: shared by every widget view of that room in the tab. */
export interface IRoomSession {
  readonly name: string;
  /** True while the current connection is in the room. */
  readonly joined: boolean;
  /** True while this tab can send to the room: joined, on a live connection. */
  readonly ready: boolean;
  /** The latest join error, if the server refused the join. */
  readonly joinError: IProtocolError | null;
  /** The caller's own identity in this room, once joined. */
  readonly you: IYou | null;
  /** One member per user, the caller included. */
  readonly members: ReadonlyArray<IMember>;
  /** Confirmed messages, oldest first, each seq once. */
  readonly messages: ReadonlyArray<IMessage>;
  /** Own messages not confirmed by the server. */
  readonly pending: ReadonlyArray<IPendingMessage>;
  /** Whether older messages can be loaded with loadOlder(). */
  readonly hasMore: boolean;
  readonly loadingOlder: boolean;
  /** The room's event log, newest last, capped. */
  readonly log: ReadonlyArray<ILogEntry>;
  /** The highest seq seen. */
  readonly lastSeq: number;

  readonly changed: ISignal<IRoomSession, RoomChange>;
  /** A message arrived live (or was restored after a reconnect); not for history pages. */
  readonly messageReceived: ISignal<IRoomSession, IMessage>;
  readonly memberJoined: ISignal<IRoomSession, { user: IMember; ts: number }>;
  readonly memberLeft: ISignal<IRoomSession, { user: IUser; ts: number }>;
  /**
   * Other sessions' presence in this room, by public session id (never this tab's own),
   * whatever the protocol (1.1 batches by session, 1.2 compact batches by member number).
   * Entries are never changed in place: a change replaces the entry (and its state) object.
   */
  readonly presence: ReadonlyMap<string, IPresenceEntry>;
  /** Fires once per batch that changed `presence` (a batch, a join snapshot, a disconnect). */
  readonly presenceChanged: ISignal<IRoomSession, void>;

  /** Send a chat message; returns its client id. */
  send(text: string, clientId?: string): string;
  /** Send a failed message again (same client id: the server dedups). */
  retry(clientId: string): void;
  /** Forget a failed message. */
  discard(clientId: string): void;
  /** Load the page of messages before the oldest one shown. */
  loadOlder(): Promise<void>;
  /**
   * Send this tab's presence state to the room (null clears it for the others).
   * Returns false, sending nothing, when the room is not `ready`; `onAck` gets the answer.
   */
  sendPresence(state: IPresenceState | null, onAck?: (res: Ack<IOk>) => void): boolean;

  // -- classroom mode (protocol 1.1); each resolves to null or the refusal ---------------
  readonly classroom: IClassroomState;
  /** This tab's user's role in the room. */
  readonly role: Role;
  /** A hand raised or lowered (by anyone): for the event log and Python's `on_hand`. */
  readonly handChanged: ISignal<IRoomSession, IHandEvent>;
  /** A poll's view changed (created, answered, closed): for Python's `on_poll_answer`. */
  readonly pollChanged: ISignal<IRoomSession, IPoll>;
  /** Raise or lower our hand; a teacher may lower another's (`user`). */
  raiseHand(raised: boolean, user?: string): Promise<IProtocolError | null>;
  setRole(user: string, role: Role): Promise<IProtocolError | null>;
  /** A teacher asks everyone to follow them (or withdraws the request). */
  askToFollow(on: boolean): Promise<IProtocolError | null>;
  shareSnippet(code: string, language?: string, clientId?: string): Promise<IProtocolError | null>;
  createPoll(
    question: string,
    options: string[],
    clientId?: string
  ): Promise<IProtocolError | null>;
  answerPoll(pollId: number, option: number): Promise<IProtocolError | null>;
  closePoll(pollId: number): Promise<IProtocolError | null>;
  setStudentSnippets(on: boolean): Promise<IProtocolError | null>;
}

/** Who this tab follows (see IClassroomLab.follow). */
export interface IFollowing {
  readonly room: string;
  readonly username: string;
  readonly name: string;
  /** Paused by the user's own scroll, click or typing until "Resume". */
  readonly paused: boolean;
}

/**
 * Classroom mode's JupyterLab side: notebook actions the widget's views ask for. Provided by
 * the `collab-widget:classroom` plugin; optional for the views (null in unit tests).
 */
export interface IClassroomLab {
  /** Insert `code` as a new code cell below the active cell of the notebook in use (never
   * run). Resolves to null, or a sentence saying why not (no notebook open). */
  insertBelow(code: string): Promise<string | null>;
  /** Copy text to the clipboard; false when the browser refused. */
  copy(text: string): Promise<boolean>;
  /** Render `code` into `el`, highlighted with JupyterLab's CodeMirror highlighter (the
   * editor theme's colours); plain text for an unknown language. */
  highlight(code: string, language: string, el: HTMLElement): Promise<void>;
  /** Follow a member of a room (open their notebook, keep their active cell in view), or
   * stop following (null). Never follows someone who follows us. */
  follow(target: { session: IRoomSession; username: string } | null): void;
  readonly following: IFollowing | null;
  readonly followingChanged: ISignal<IClassroomLab, IFollowing | null>;
  resume(): void;
  /** Duplicate the notebook at `path` into a copy named with the user's name, open it;
   * resolves to the copy's path (throws with a readable message). */
  makeOwnCopy(path: string): Promise<string>;
  /** Whether the open notebook at `path` is shared in real time (jupyter-collaboration). */
  isRealTime(path: string): boolean;
  /** The path of the notebook the user works in (the current one), or null. */
  readonly currentPath: string | null;
}

export const IClassroomLab = new Token<IClassroomLab>(
  'collab-widget:IClassroomLab',
  "Classroom mode's JupyterLab side: insert a snippet, follow a member, make an own copy."
);

/** A reference to a room held by one view; dispose it when the view goes. */
export interface IRoomLease extends IDisposable {
  readonly session: IRoomSession;
}

/**
 * Which transports the tab's connection may use: `websocket` (the default: WebSocket first,
 * long-polling as the fallback) or `polling` (HTTP long-polling only, for a demo).
 */
export type TransportMode = 'websocket' | 'polling';

/** One Engine.IO packet as socket.io-client's engine reported it (the Network pane). */
export interface IRawPacket {
  readonly dir: 'in' | 'out';
  /** The Engine.IO type: open, close, ping, pong, message, upgrade, noop. */
  readonly type: string;
  /** A string, or binary data (an attachment). */
  readonly data: unknown;
  /** Milliseconds since the epoch, with a fraction. */
  readonly ts: number;
  /** The transport it went over. */
  readonly transport: string;
  /** e.g. `probe`: a packet of the upgrade probe, reported by the engine's upgrade events. */
  readonly note?: string;
}

/** A step of the transport upgrade (or of the handshake), with its time. */
export interface IHandshakeStep {
  readonly ts: number;
  readonly kind: 'open' | 'probe' | 'upgrading' | 'upgrade' | 'upgrade-error';
  readonly transport: string;
  readonly text: string;
}

/** The last Engine.IO handshake of the connection: its `open` packet and what followed. */
export interface IHandshakeInfo {
  /** When the `open` packet arrived. */
  readonly ts: number;
  readonly sid: string;
  /** The transports the server offers to upgrade to. */
  readonly upgrades: ReadonlyArray<string>;
  readonly pingInterval: number;
  readonly pingTimeout: number;
  readonly maxPayload: number | null;
  /** The transport the handshake went over. */
  readonly transport: string;
  /** The open and the upgrade steps, oldest first (a few entries). */
  readonly steps: ReadonlyArray<IHandshakeStep>;
}

/**
 * socket.io-client's engine, watched for the Network pane. The handshake is always remembered
 * (a few fields); packets are only reported while someone captures.
 */
export interface INetworkTap {
  /** The last handshake, or null before the first. */
  readonly handshake: IHandshakeInfo | null;
  /** Fires when a handshake happened or an upgrade step was taken. */
  readonly handshakeChanged: ISignal<INetworkTap, IHandshakeInfo | null>;
  /** Every packet in and out, while at least one capture is held. */
  readonly packet: ISignal<INetworkTap, IRawPacket>;
  /** How many captures are held (0: nothing listens to the engine's packets). */
  readonly capturing: number;
  /** Start reporting packets; dispose to stop (the last one detaches the listeners). */
  capture(): IDisposable;
}

/** The tab's single Socket.IO connection to the collab server. */
export interface ICollabConnection {
  readonly state: ConnectionState;
  /** `websocket`, `polling` or '' while not connected. */
  readonly transport: string;
  /** The server's link to the JupyterHub class service ('' without one). */
  readonly serviceState: ServiceState;
  /** Latest round-trip time in milliseconds, or null before the first measurement. */
  readonly rtt: number | null;
  /** The Socket.IO sid of the current connection (never shown to other users). */
  readonly sid: string | null;
  /** Which transports the connection may use (the same for every Room of the tab). */
  readonly transportMode: TransportMode;
  /**
   * Reconnect with long-polling only (`polling`), or with long-polling that may upgrade to
   * WebSocket (`websocket`). Applies to the whole tab; does nothing when already so.
   */
  setTransportMode(mode: TransportMode): void;
  /** The handshake and, while captured, every packet (the Network pane). */
  readonly network: INetworkTap;
  /** Fires when state, transport, transport mode or rtt changes. */
  readonly statusChanged: ISignal<ICollabConnection, void>;
  /** Fires when the connection state changes. */
  readonly stateChanged: ISignal<ICollabConnection, ConnectionState>;
  /** Connection-level log entries (connect, disconnect, reconnect attempts, upgrade). */
  readonly logged: ISignal<ICollabConnection, ILogEntry>;
  /**
   * Fires on every Engine.IO ping from the server: a heartbeat that arrives even in a
   * background tab whose timers the browser throttles.
   */
  readonly pinged: ISignal<ICollabConnection, void>;
  /** Open the connection (done by the first acquire()); idempotent. */
  connect(): void;
  /** Join a room (ref-counted per tab); dispose the lease to leave. */
  acquire(room: string): IRoomLease;
  /** The session of a room held by at least one lease, if any. */
  getSession(room: string): IRoomSession | undefined;
  /** Every room this tab is in (joined through a widget), by name. */
  readonly sessions: ReadonlyArray<IRoomSession>;
  /** Fires when a room session is added or removed. */
  readonly sessionsChanged: ISignal<ICollabConnection, void>;
}

export const ICollabConnection = new Token<ICollabConnection>(
  'collab-widget:ICollabConnection',
  'The tab-wide Socket.IO connection to the collab-widget server extension.'
);

/** A remote session's presence, resolved against its room's members. */
export interface IRemoteCursor {
  /** Public session id (one browser tab). */
  readonly session: string;
  /** The room it was received in (the first, when several rooms carry it). */
  readonly room: string;
  readonly username: string;
  readonly name: string;
  readonly initials: string;
  /** The member's colour, and the label text colour chosen by contrast. */
  readonly color: string;
  readonly textColor: string;
  readonly state: IPresenceState;
  readonly ts: number;
}

/** The tab's cursor presence: what this tab shares, and what others share with it. */
export interface ICollabPresence {
  /** This tab's current state (what is sent to rooms that share). */
  readonly localState: IPresenceState;
  /** Fires when the local state changed (it is read at most 20 times a second). */
  readonly localChanged: ISignal<ICollabPresence, IPresenceState>;
  /** Whether this tab shares its cursor with `room` (on by default, kept per tab). */
  isSharing(room: string): boolean;
  /** Switch sharing for `room`; off sends `state: null` so others stop seeing this tab. */
  setSharing(room: string, on: boolean): void;
  /** Fires with the room name when its share switch changed. */
  readonly sharingChanged: ISignal<ICollabPresence, string>;
  /** Other tabs' cursors in every room of this tab, own user excluded, newest per session. */
  readonly remote: ReadonlyArray<IRemoteCursor>;
  /**
   * Fires when `remote` changed: at most once per animation frame, however many presence
   * batches came (reading `remote` in between gives the current cursors all the same).
   */
  readonly remoteChanged: ISignal<ICollabPresence, void>;
  /** Fires when a notebook is opened, closed or renamed here (canJumpTo may change). */
  readonly notebooksChanged: ISignal<ICollabPresence, void>;
  /** Whether a notebook with this path is open here (so jumpTo can work). */
  canJumpTo(state: IPresenceState): boolean;
  /** Activate the open notebook with that path and scroll to that cell; false if not open. */
  jumpTo(state: IPresenceState): Promise<boolean>;
}

export const ICollabPresence = new Token<ICollabPresence>(
  'collab-widget:ICollabPresence',
  'Cursor presence: the local state sent to rooms, and remote cursors.'
);
