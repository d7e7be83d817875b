/**
 * Types of the collab-widget Socket.IO protocol v1 (see docs/protocol.md).
 */
import { MAX_ROOM_NAME } from './limits';

/** A user, as the server's IdentityProvider describes it (colour filled in by the server). */
export interface IUser {
  username: string;
  name: string;
  display_name: string;
  initials: string | null;
  avatar_url: string | null;
  color: string | null;
}

/** A member's role in a room (protocol 1.1; decided by the server). */
export type Role = 'teacher' | 'student';

/** A user plus the number of their connections in the room. */
export interface IMember extends IUser {
  sessions: number;
  /** Protocol 1.1; absent from a 1.0 server (treat as 'student'). */
  role?: Role;
}

/** The caller's own user plus its public session id. */
export interface IYou extends IUser {
  session: string;
  /** Protocol 1.2: this session's member number in the room (compact presence batches). */
  n?: number;
}

/** A stored chat message. */
export interface IMessage {
  room: string;
  seq: number;
  client_id: string;
  user: IUser;
  text: string;
  ts: number;
  /** Protocol 1.1: absent for a chat message; `text` is the code / the question. */
  kind?: 'snippet' | 'poll';
  /** `kind: 'snippet'`: the code's language (`python` by default). */
  language?: string;
  /** `kind: 'poll'`: the answers offered. */
  options?: string[];
}

/** A raised hand (protocol 1.1). */
export interface IHand {
  user: string;
  display_name: string;
  /** When it was raised, server time in ms. */
  ts: number;
}

/** A teacher's "follow me" request (protocol 1.1). */
export interface IFollowRequest {
  user: string;
  ts: number;
}

/** A quick poll as this user sees it (protocol 1.1); `id` is its message's `seq`. */
export interface IPoll {
  id: number;
  question: string;
  options: string[];
  by: string;
  ts: number;
  closed: boolean;
  /** Counts the poll's changes (each answer, the close): a newer view has a greater one. */
  revision: number;
  /** Absent from `poll` events (several recipients share one): keep your own. */
  your_answer?: number | null;
  answered: number;
  /** Per option: teachers always, students once the poll is closed. */
  counts: number[] | null;
  /** username -> option: teachers only. */
  answers: Record<string, number> | null;
}

/** The classroom part of the join acknowledgement (protocol 1.1). */
export interface IClassroom {
  teachers_configured: boolean;
  student_snippets: boolean;
  hands: IHand[];
  follow: IFollowRequest | null;
  polls: IPoll[];
}

/** An error as carried by a refused acknowledgement. */
export interface IProtocolError {
  code: string;
  message: string;
  retry_after?: number;
}

/** A caret or selection end: 0-based line and column. */
export interface IPosition {
  line: number;
  column: number;
}

/** One selection range (`head` is where the caret is). */
export interface ISelectionRange {
  anchor: IPosition;
  head: IPosition;
}

/** Where a session is and what it does; every field optional (see docs/protocol.md). */
export interface IPresenceState {
  /** Notebook path relative to the server root (at most 1,024 characters). */
  path?: string;
  /** The active cell's nbformat id (at most 64 characters). */
  cell_id?: string;
  /** The active cell's index in the notebook. */
  cell_index?: number;
  /** The caret, 0-based. */
  line?: number;
  column?: number;
  /** Non-empty selections in the active cell (at most 16). */
  selections?: ISelectionRange[];
  mode?: 'edit' | 'command';
  activity?: 'active' | 'idle' | 'away';
  /** Protocol 1.1: the username whose location this tab follows. */
  following?: string;
}

/** One session's presence in a room. */
export interface IPresenceEntry {
  /** The public id of the session (one browser tab / connection). */
  session: string;
  /** Its user's `username`. */
  user: string;
  state: IPresenceState;
  /** Server time of the update, in milliseconds since the epoch. */
  ts: number;
  /** Protocol 1.2: the session's member number in the room (join snapshots). */
  n?: number;
}

/** `presence` server event: one coalesced batch (protocol 1.0 / 1.1 format). */
export interface IPresenceEvent {
  room: string;
  updates: IPresenceEntry[];
  removed: string[];
  /** True: `updates` is the complete state of the room; forget everything else. */
  reset?: boolean;
}

/** The presence protocol this client speaks (sent with every `join`). */
export const PRESENCE_PROTOCOL = '1.2';

/** Protocol 1.2: changed fields of a member's state; `null` removes the field. */
export type IPresencePatch = { [K in keyof IPresenceState]?: IPresenceState[K] | null };

/** Protocol 1.2: `[n, fields]`, member `n`'s changed fields (its `ts` becomes the batch's). */
export type CompactDiffItem = [number, IPresencePatch];

/** Protocol 1.2: `[n, state, session, user, ts]`, member `n`'s whole entry. */
export type CompactFullItem = [number, IPresenceState, string, string, number];

/**
 * `presence` server event in protocol 1.2 (to sessions that joined with `protocol` "1.2"):
 * one frame for every member of the room, keyed by member number; each client skips its own.
 */
export interface ICompactPresenceEvent {
  room: string;
  /** Server time of the batch, in ms since the epoch. */
  ts: number;
  /** In order: diffs and whole entries. */
  set: Array<CompactDiffItem | CompactFullItem>;
  /** Member numbers whose presence went away. */
  gone?: number[];
  /** True: `set` is the room's whole presence (whole entries); forget everything else. */
  reset?: boolean;
}

/** A `presence` event in either format. */
export type PresenceEvent = IPresenceEvent | ICompactPresenceEvent;

/** Whether a protocol version ("major.minor") is 1.2 or a later 1.x. */
export function speaksCompactPresence(version: unknown): boolean {
  if (typeof version !== 'string') {
    return false;
  }
  const m = /^1\.(\d+)$/.exec(version.trim());
  return m !== null && Number(m[1]) >= 2;
}

export interface IAckError {
  ok: false;
  error: IProtocolError;
}

export interface IJoinOk {
  ok: true;
  room: string;
  you: IYou;
  members: IMember[];
  history: IMessage[];
  has_more: boolean;
  last_seq: number;
  presence: IPresenceEntry[];
  /** Protocol 1.1 ("1.1") or 1.2 ("1.2"); absent from a 1.0 server. */
  protocol?: string;
  /** Protocol 1.1; absent from a 1.0 server. */
  classroom?: IClassroom;
}

export interface IHandOk {
  ok: true;
  hands: IHand[];
}

export interface IRoleOk {
  ok: true;
  user: IMember;
}

export interface IFollowOk {
  ok: true;
  follow: IFollowRequest | null;
}

export interface IPollCreatedOk {
  ok: true;
  message: IMessage;
  poll: IPoll;
}

export interface IPollOk {
  ok: true;
  poll: IPoll;
}

export interface ISendOk {
  ok: true;
  message: IMessage;
}

export interface IHistoryOk {
  ok: true;
  messages: IMessage[];
  has_more: boolean;
}

export interface IRoomsOk {
  ok: true;
  rooms: { room: string; members: number; last_seq: number; joined: boolean }[];
}

export interface IOk {
  ok: true;
}

export type Ack<T> = T | IAckError;

/** `joined` server event. */
export interface IJoinedEvent {
  room: string;
  user: IMember;
  ts: number;
}

/** `left` server event. */
export interface ILeftEvent {
  room: string;
  user: IUser;
  ts: number;
}

/** `role` server event. */
export interface IRoleEvent {
  room: string;
  user: IMember;
  by: string;
  ts: number;
}

/** `hand` server event. */
export interface IHandEvent {
  room: string;
  hand: IHand;
  raised: boolean;
  by: string;
  ts: number;
}

/** `follow` server event. */
export interface IFollowEvent {
  room: string;
  follow: IFollowRequest | null;
  by: string;
  ts: number;
}

/** `poll` server event: this recipient's view of a poll. */
export interface IPollEvent {
  room: string;
  poll: IPoll;
}

/** `classroom` server event: the room's classroom settings changed. */
export interface IClassroomEvent {
  room: string;
  student_snippets: boolean;
  by: string;
  ts: number;
}

/**
 * On a JupyterHub with the class service: the server's link to it. `reconnecting`: the
 * rooms are gone there until it is back; `connected` (again): re-join them with `since`;
 * `refused`: this session cannot join class rooms (`message` says why).
 */
export interface IServiceEvent {
  state: 'connected' | 'reconnecting' | 'refused';
  message?: string;
}

export interface IServerToClientEvents {
  message: (msg: IMessage) => void;
  joined: (event: IJoinedEvent) => void;
  left: (event: ILeftEvent) => void;
  presence: (event: PresenceEvent) => void;
  service: (event: IServiceEvent) => void;
  role: (event: IRoleEvent) => void;
  hand: (event: IHandEvent) => void;
  follow: (event: IFollowEvent) => void;
  poll: (event: IPollEvent) => void;
  classroom: (event: IClassroomEvent) => void;
}

/** The events a client sends to the server (each with an acknowledgement). */
export interface IClientToServerEvents {
  join: (
    payload: { room: string; since?: number; protocol?: string },
    ack: (res: Ack<IJoinOk>) => void
  ) => void;
  leave: (payload: { room: string }, ack: (res: Ack<IOk>) => void) => void;
  send: (
    payload: { room: string; text: string; client_id: string },
    ack: (res: Ack<ISendOk>) => void
  ) => void;
  history: (
    payload: { room: string; before?: number; after?: number; limit?: number },
    ack: (res: Ack<IHistoryOk>) => void
  ) => void;
  rooms: (payload: Record<string, never>, ack: (res: Ack<IRoomsOk>) => void) => void;
  presence: (
    payload: { room: string; state: IPresenceState | null },
    ack: (res: Ack<IOk>) => void
  ) => void;
  hand: (
    payload: { room: string; raised: boolean; user?: string },
    ack: (res: Ack<IHandOk>) => void
  ) => void;
  role: (
    payload: { room: string; user: string; role: Role },
    ack: (res: Ack<IRoleOk>) => void
  ) => void;
  follow: (payload: { room: string; on: boolean }, ack: (res: Ack<IFollowOk>) => void) => void;
  snippet: (
    payload: { room: string; code: string; language?: string; client_id: string },
    ack: (res: Ack<ISendOk>) => void
  ) => void;
  poll: (
    payload: { room: string; question: string; options: string[]; client_id: string },
    ack: (res: Ack<IPollCreatedOk>) => void
  ) => void;
  poll_answer: (
    payload: { room: string; poll_id: number; option: number },
    ack: (res: Ack<IPollOk>) => void
  ) => void;
  poll_close: (
    payload: { room: string; poll_id: number },
    ack: (res: Ack<IPollOk>) => void
  ) => void;
  classroom: (
    payload: { room: string; student_snippets: boolean },
    ack: (res: Ack<IOk>) => void
  ) => void;
}

/** Turn any string (e.g. a notebook path) into a valid room name. */
export function toRoomName(raw: string): string {
  let name = raw.replace(/[^A-Za-z0-9 _.\-/:]/g, '-').trim();
  if (name.length > MAX_ROOM_NAME) {
    name = name.slice(name.length - MAX_ROOM_NAME);
  }
  return name || 'notebook';
}

/** A type guard for refused acknowledgements. */
export function isAckError(value: unknown): value is IAckError {
  return typeof value === 'object' && value !== null && (value as { ok?: unknown }).ok === false;
}
