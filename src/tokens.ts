import { Token } from '@lumino/coreutils';
import { IDisposable } from '@lumino/disposable';
import { ISignal } from '@lumino/signaling';
import type { Socket } from 'socket.io-client';

import type {
  IClientToServerEvents,
  IMember,
  IMessage,
  IProtocolError,
  IServerToClientEvents,
  IUser,
  IYou
} from './protocol';

/** The state of the tab's connection. */
export type ConnectionState =
  | 'connecting'
  | 'connected'
  | 'reconnecting'
  | 'offline';

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
  | 'state'
  | 'members'
  | 'messages'
  | 'pending'
  | 'log'
  | 'history';

/** The tab's view of one room: shared by every widget view of that room in the tab. */
export interface IRoomSession {
  readonly name: string;
  /** True while the current connection is in the room. */
  readonly joined: boolean;
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

  /** Send a chat message; returns its client id. */
  send(text: string, clientId?: string): string;
  /** Send a failed message again (same client id: the server dedups). */
  retry(clientId: string): void;
  /** Forget a failed message. */
  discard(clientId: string): void;
  /** Load the page of messages before the oldest one shown. */
  loadOlder(): Promise<void>;
}

/** A reference to a room held by one view; dispose it when the view goes. */
export interface IRoomLease extends IDisposable {
  readonly session: IRoomSession;
}

/** The tab's single Socket.IO connection to the collab server. */
export interface ICollabConnection {
  readonly state: ConnectionState;
  /** `websocket`, `polling` or '' while not connected. */
  readonly transport: string;
  /** Latest round-trip time in milliseconds, or null before the first measurement. */
  readonly rtt: number | null;
  /** The Socket.IO sid of the current connection (never shown to other users). */
  readonly sid: string | null;
  /** Fires when state, transport or rtt changes. */
  readonly statusChanged: ISignal<ICollabConnection, void>;
  /** Fires when the connection state changes. */
  readonly stateChanged: ISignal<ICollabConnection, ConnectionState>;
  /** Connection-level log entries (connect, disconnect, reconnect attempts, upgrade). */
  readonly logged: ISignal<ICollabConnection, ILogEntry>;
  /** The underlying socket, for other features (e.g. cursor presence). */
  readonly socket: Socket<IServerToClientEvents, IClientToServerEvents>;
  /** Open the connection (done by the first acquire()); idempotent. */
  connect(): void;
  /** Join a room (ref-counted per tab); dispose the lease to leave. */
  acquire(room: string): IRoomLease;
  /** The session of a room held by at least one lease, if any. */
  getSession(room: string): IRoomSession | undefined;
}

export const ICollabConnection = new Token<ICollabConnection>(
  'collab-widget:ICollabConnection',
  'The tab-wide Socket.IO connection to the collab-widget server extension.'
);
