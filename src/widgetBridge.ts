/**
 * The Room widget's bridge between the kernel and a room session, its pure parts: the custom
 * messages the kernel sends (and their queue until a view can act on them), the JSON the
 * traitlets carry, the events reported to the kernel with their keys, and the default room
 * name of `Room()`. No JupyterLab or widget dependencies: unit-tested on its own.
 */
import { newClientId } from './util';
import { ROOM_NAME_RE } from './limits';
import type { IHand, IHandEvent, IMember, IMessage, IPoll, IUser } from './protocol';
import { toRoomName } from './protocol';

// ---- kernel -> view requests ----

/** `room.send(text)`. */
export interface ISendRequest {
  type: 'send';
  text: string;
  client_id: string;
}

/** `room.raise_hand()` / `room.lower_hand(user=None)`. */
export interface IHandRequest {
  type: 'hand';
  raised: boolean;
  /** A teacher lowering someone else's hand. */
  user?: string;
  request_id: string;
}

/** `room.share_code(code, language)`. */
export interface ISnippetRequest {
  type: 'snippet';
  code: string;
  language: string;
  client_id: string;
}

/** `room.poll(question, options)`. */
export interface IPollRequest {
  type: 'poll';
  question: string;
  options: string[];
  client_id: string;
}

/**
 * `Poll.close()`: by `poll_id`, or (null) by the `client_id` the poll was asked with, when
 * Python did not know its id yet (asked and closed in one cell): it waits for the id here.
 */
export interface IPollCloseRequest {
  type: 'poll_close';
  poll_id: number | null;
  client_id?: string;
  request_id: string;
}

export type KernelRequest =
  ISendRequest | IHandRequest | ISnippetRequest | IPollRequest | IPollCloseRequest;

/** The classroom requests (all but `send`): they wait until the room is joined. */
export type ClassroomRequest = Exclude<KernelRequest, ISendRequest>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** A custom message from the kernel as a request, or null when it is none (or malformed). */
/**
 * The kernel client session id of the browser tab that ran the code behind a kernel request
 * (its `origin`), or null when the kernel did not say (an older collab-widget).
 */
export function requestOrigin(content: unknown): string | null {
  return isRecord(content) && typeof content.origin === 'string' && content.origin
    ? content.origin
    : null;
}

/**
 * Whether this tab acts on a kernel request: the tab that ran the code does; on a kernel
 * shared by several people's tabs, the others must not (they would act in their own name).
 * Without an origin (or not knowing our own client id) every tab acts, as before.
 *
 * @param clientId this tab's kernel client session id (`IKernelConnection.clientId`).
 */
/**
 * This browser tab's id, kept across page reloads (sessionStorage): a Room widget's owner tab
 * names itself with it, and takes its ownership back after a reload (a new kernel client id).
 */
export function stableTabId(storage: Pick<Storage, 'getItem' | 'setItem'> | null): string {
  const key = 'collab-widget:tab-id';
  let id: string | null = null;
  try {
    id = storage?.getItem(key) ?? null;
    if (!id) {
      id = newClientId();
      storage?.setItem(key, id);
    }
  } catch {
    id = id ?? newClientId(); // storage refused (privacy mode): an id for this page only
  }
  return id;
}

export function actsHere(origin: string | null, clientId: string | null): boolean {
  return origin === null || clientId === null || origin === clientId;
}

export function parseKernelRequest(content: unknown): KernelRequest | null {
  if (!isRecord(content)) {
    return null;
  }
  const c = content;
  switch (c.type) {
    case 'send':
      return typeof c.text === 'string' && isId(c.client_id)
        ? { type: 'send', text: c.text, client_id: c.client_id }
        : null;
    case 'hand': {
      if (typeof c.raised !== 'boolean' || !isId(c.request_id)) {
        return null;
      }
      const request: IHandRequest = { type: 'hand', raised: c.raised, request_id: c.request_id };
      if (c.user !== undefined && c.user !== null) {
        if (!isId(c.user)) {
          return null;
        }
        request.user = c.user;
      }
      return request;
    }
    case 'snippet':
      return typeof c.code === 'string' && isId(c.language) && isId(c.client_id)
        ? { type: 'snippet', code: c.code, language: c.language, client_id: c.client_id }
        : null;
    case 'poll':
      return typeof c.question === 'string' &&
        Array.isArray(c.options) &&
        c.options.every(o => typeof o === 'string') &&
        isId(c.client_id)
        ? {
            type: 'poll',
            question: c.question,
            options: c.options as string[],
            client_id: c.client_id
          }
        : null;
    case 'poll_close': {
      if (!isId(c.request_id)) {
        return null;
      }
      if (typeof c.poll_id === 'number' && Number.isInteger(c.poll_id) && c.poll_id > 0) {
        return { type: 'poll_close', poll_id: c.poll_id, request_id: c.request_id };
      }
      return (c.poll_id === null || c.poll_id === undefined) && isId(c.client_id)
        ? { type: 'poll_close', poll_id: null, client_id: c.client_id, request_id: c.request_id }
        : null;
    }
    default:
      return null;
  }
}

/** The id the kernel gave a request: what a refusal is reported with. */
export function requestIdOf(request: KernelRequest): string {
  return 'request_id' in request ? request.request_id : request.client_id;
}

/**
 * Kernel requests waiting for this tab to act: chat sends until a view (a session) is there,
 * classroom requests until its room is joined too (the session refuses them before), a poll
 * closed by client id until the poll's id is known. Each waits at most `ttl` ms: another tab
 * showing the widget may have acted on it meanwhile.
 */
export class RequestQueue {
  constructor(
    readonly ttl: number,
    readonly capacity = 50
  ) {}

  get length(): number {
    return this._items.length;
  }

  /** Queue a request; false when full. */
  push(request: KernelRequest, now: number): boolean {
    if (this._items.length >= this.capacity) {
      return false;
    }
    this._items.push({ request, at: now });
    return true;
  }

  /**
   * The requests to act on now, oldest first (they leave the queue); expired ones are
   * dropped. `canRun` says which can go now (see `canRunNow`).
   */
  take(canRun: (request: KernelRequest) => boolean, now: number): KernelRequest[] {
    const out: KernelRequest[] = [];
    const keep: { request: KernelRequest; at: number }[] = [];
    for (const item of this._items) {
      if (now - item.at >= this.ttl) {
        continue;
      }
      if (canRun(item.request)) {
        out.push(item.request);
      } else {
        keep.push(item);
      }
    }
    this._items = keep;
    return out;
  }

  private _items: { request: KernelRequest; at: number }[] = [];
}

/**
 * Whether a request can be made now: a send as soon as there is a session; the others once
 * its room is joined (`ready`); a close by client id once that poll's id is known.
 */
export function canRunNow(
  request: KernelRequest,
  ready: boolean,
  pollIdOf: (clientId: string) => number | null
): boolean {
  if (request.type === 'send') {
    return true;
  }
  if (request.type === 'poll_close' && request.poll_id === null) {
    return ready && request.client_id !== undefined && pollIdOf(request.client_id) !== null;
  }
  return ready;
}

/** The id of the poll asked with `clientId`, from the notes of `notePollClientIds`. */
export function pollIdByClientId(
  known: ReadonlyMap<number, string>,
  clientId: string
): number | null {
  for (const [id, cid] of known) {
    if (cid === clientId) {
      return id;
    }
  }
  return null;
}

// ---- JSON for the traitlets ----

/** Plain JSON copies of protocol objects, for the traitlets. */
export function userJson(u: IUser): Record<string, string | null> {
  return {
    username: u.username,
    name: u.name,
    display_name: u.display_name,
    initials: u.initials,
    avatar_url: u.avatar_url,
    color: u.color
  };
}

/** A member, with `role` (null from a server without classroom mode). */
export function memberJson(m: IMember): Record<string, string | number | null> {
  return { ...userJson(m), sessions: m.sessions, role: m.role ?? null };
}

/** A message; snippets and polls also carry `kind` and `language` / `options`. */
export function messageJson(m: IMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {
    room: m.room,
    seq: m.seq,
    client_id: m.client_id,
    user: userJson(m.user),
    text: m.text,
    ts: m.ts
  };
  if (m.kind !== undefined) {
    out.kind = m.kind;
  }
  if (m.language !== undefined) {
    out.language = m.language;
  }
  if (Array.isArray(m.options)) {
    out.options = [...m.options];
  }
  return out;
}

export function handJson(h: IHand): Record<string, unknown> {
  return { user: h.user, display_name: h.display_name, ts: h.ts };
}

/** A poll as this user sees it, plus the `client_id` it was asked with (null if unknown). */
export function pollJson(p: IPoll, clientId: string | null): Record<string, unknown> {
  return {
    id: p.id,
    question: p.question,
    options: [...p.options],
    by: p.by,
    ts: p.ts,
    closed: p.closed,
    your_answer: p.your_answer,
    answered: p.answered,
    counts: p.counts ? [...p.counts] : null,
    answers: p.answers ? { ...p.answers } : null,
    client_id: clientId
  };
}

/**
 * Note the client id of each poll message in `messages` (a poll's id is its message's seq):
 * Python matches the polls it asked for by client id. The map keeps what scrolled away.
 */
export function notePollClientIds(
  messages: ReadonlyArray<IMessage>,
  known: Map<number, string>
): void {
  for (const m of messages) {
    if (m.kind === 'poll' && typeof m.client_id === 'string' && !known.has(m.seq)) {
      known.set(m.seq, m.client_id);
    }
  }
}

// ---- view -> kernel events ----

/** An event reported to the kernel; the kernel fires each key's callbacks once. */
export interface IKernelEvent {
  event: string;
  key: string;
  data: Record<string, unknown>;
}

/** A raised or lowered hand, for `on_hand`: the same key in every tab that saw it. */
export function handEvent(e: IHandEvent): IKernelEvent {
  return {
    event: 'hand',
    key: `h:${e.room}:${e.hand.user}:${e.raised ? 1 : 0}:${e.ts}`,
    data: {
      user: e.hand.user,
      display_name: e.hand.display_name,
      raised: e.raised,
      by: e.by,
      ts: e.ts
    }
  };
}

/**
 * The `poll_answer` events for `on_poll_answer` between a teacher's previous view of a poll's
 * answers and its new one: one per user who answered or changed their answer. The key holds
 * the poll's `revision` (the server counts every answer), so every tab that saw the same
 * server event reports the same key, and a changed-back answer is a new one.
 *
 * @param previous the answers as last seen (undefined: none seen, every answer is new).
 * @param nameOf a username's display name.
 */
export function pollAnswerEvents(
  room: string,
  previous: Readonly<Record<string, number>> | undefined,
  poll: IPoll,
  nameOf: (username: string) => string
): IKernelEvent[] {
  const answers = poll.answers;
  if (!answers) {
    return [];
  }
  const events: IKernelEvent[] = [];
  for (const user of Object.keys(answers).sort()) {
    const option = answers[user];
    if (previous && previous[user] === option) {
      continue;
    }
    events.push({
      event: 'poll_answer',
      key: `pa:${room}:${poll.id}:${user}:${option}:${poll.revision}`,
      data: {
        poll_id: poll.id,
        question: poll.question,
        user,
        display_name: nameOf(user),
        option,
        option_text: poll.options[option] ?? null
      }
    });
  }
  return events;
}

/**
 * Which answers each poll had when last seen, to tell new answers from known ones. Polls
 * first seen in the room's state (a join, a re-join) are noted without events; the session's
 * `pollChanged` gives the events.
 */
export class PollAnswerTracker {
  /** Forget everything (a new join: what it brings is the new baseline). */
  reset(): void {
    this._answers.clear();
  }

  /** Note the polls not seen yet (from the room's state), without events. */
  noteUnseen(polls: ReadonlyArray<IPoll>): void {
    for (const poll of polls) {
      if (!this._answers.has(poll.id)) {
        this._answers.set(poll.id, { ...(poll.answers ?? {}) });
      }
    }
  }

  /** A poll's view changed: the events for its new answers. */
  changed(room: string, poll: IPoll, nameOf: (username: string) => string): IKernelEvent[] {
    const events = pollAnswerEvents(room, this._answers.get(poll.id), poll, nameOf);
    if (poll.answers) {
      this._answers.set(poll.id, { ...poll.answers });
    }
    return events;
  }

  private _answers = new Map<number, Record<string, number>>();
}

// ---- Room() ----

/**
 * The room of a notebook's own copy: `{"collab_widget": {"room": name}}` in its metadata
 * (written by "Make my own copy"), so the copy stays in the original's room. Null if none.
 */
export function roomFromMetadata(value: unknown): string | null {
  if (!isRecord(value) || typeof value.room !== 'string' || !value.room.trim()) {
    return null;
  }
  return ROOM_NAME_RE.test(value.room) ? value.room : toRoomName(value.room);
}

/** A notebook model's `collab_widget` metadata (JupyterLab 4's `getMetadata`), if any. */
export function collabMetadataOf(model: unknown): unknown {
  const m = model as { getMetadata?: unknown } | null | undefined;
  if (!m || typeof m.getMetadata !== 'function') {
    return undefined;
  }
  try {
    return (m.getMetadata as (key: string) => unknown).call(m, 'collab_widget');
  } catch {
    return undefined;
  }
}

/** The room of `Room()` without a name: the copy's metadata first, else the notebook path. */
export function defaultRoomName(metadata: unknown, path: string | null): string | null {
  return roomFromMetadata(metadata) ?? (path ? toRoomName(path) : null);
}
