/**
 * ClassroomState: a room's classroom mode as this tab knows it (protocol 1.1): roles, raised
 * hands, the teacher's follow request, polls and the room's settings. Pure: RoomState feeds it
 * the join acknowledgement, the server events and the acks, and writes the log lines it
 * returns.
 */
import type {
  IClassroom,
  IClassroomEvent,
  IFollowEvent,
  IFollowRequest,
  IHand,
  IHandEvent,
  IMember,
  IMessage,
  IPoll,
  IRoleEvent,
  Role
} from '../protocol';
import { trans } from '../i18n';
import {
  LANGUAGE_RE,
  MAX_POLL_OPTION,
  MAX_POLL_OPTIONS,
  MAX_POLL_QUESTION,
  MAX_TEXT_LENGTH,
  MIN_POLL_OPTIONS
} from '../limits';
import type { IProtocolError } from '../protocol';
import type { IClassroomState } from '../tokens';
import { displayName } from '../util';
import { textError } from './outbox';

/** How many closed polls a room keeps in the tab (open ones are always kept). */
export const MAX_CLOSED_POLLS = 50;

/** A line for the room's event log. */
export interface IClassroomLogLine {
  readonly kind: string;
  readonly text: string;
  /** The member the line is about. */
  readonly username?: string;
}

/** Looks a member of the room up by username (RoomState's members). */
export type MemberLookup = (username: string) => IMember | undefined;

export class ClassroomState implements IClassroomState {
  /** @param lookup the room's members (roles and display names come from them). */
  constructor(lookup: MemberLookup) {
    this._lookup = lookup;
  }

  get available(): boolean {
    return this._available;
  }
  get teachersConfigured(): boolean {
    return this._teachersConfigured;
  }
  get studentSnippets(): boolean {
    return this._studentSnippets;
  }
  get hands(): ReadonlyArray<IHand> {
    return this._hands;
  }
  get follow(): IFollowRequest | null {
    return this._follow;
  }
  get polls(): ReadonlyArray<IPoll> {
    if (this._sortedPolls === null) {
      this._sortedPolls = Array.from(this._polls.values()).sort((a, b) => a.id - b.id);
    }
    return this._sortedPolls;
  }

  roleOf(username: string): Role {
    return this._lookup(username)?.role === 'teacher' ? 'teacher' : 'student';
  }

  /** A poll's view by id (its message's seq). */
  poll(id: number): IPoll | undefined {
    return this._polls.get(id);
  }

  /** The raised hand of a user, if any. */
  hand(username: string): IHand | undefined {
    return this._hands.find(h => h.user === username);
  }

  /**
   * A (re-)join's acknowledgement: replaces everything. Without `classroom` the server
   * speaks protocol 1.0: classroom mode is unavailable.
   */
  applyJoin(classroom: IClassroom | undefined | null): void {
    this._polls.clear();
    this._answerRevisions.clear();
    this._sortedPolls = null;
    if (!classroom || typeof classroom !== 'object') {
      this._available = false;
      this._teachersConfigured = false;
      this._studentSnippets = false;
      this._hands = [];
      this._follow = null;
      return;
    }
    this._available = true;
    this._teachersConfigured = classroom.teachers_configured === true;
    this._studentSnippets = classroom.student_snippets === true;
    this._hands = sortHands(Array.isArray(classroom.hands) ? classroom.hands.filter(isHand) : []);
    this._follow = isFollow(classroom.follow) ? classroom.follow : null;
    for (const poll of Array.isArray(classroom.polls) ? classroom.polls : []) {
      if (isPoll(poll)) {
        this.setPoll(poll);
      }
    }
  }

  /** The hands of a `hand` ack (the complete list). Returns whether anything changed. */
  setHands(hands: ReadonlyArray<IHand>): boolean {
    const next = sortHands(Array.isArray(hands) ? hands.filter(isHand) : []);
    if (sameJson(next, this._hands)) {
      return false;
    }
    this._hands = next;
    return true;
  }

  /** A `hand` event: a hand raised or lowered. Returns its log line, null if malformed. */
  applyHand(event: IHandEvent): IClassroomLogLine | null {
    if (!event || !isHand(event.hand)) {
      return null;
    }
    const hand = event.hand;
    const rest = this._hands.filter(h => h.user !== hand.user);
    this._hands = event.raised ? sortHands([...rest, hand]) : rest;
    const name = hand.display_name || this._nameOf(hand.user);
    let text: string;
    if (event.raised) {
      text = trans.__('%1 raised a hand', name);
    } else if (!event.by || event.by === hand.user) {
      text = trans.__('%1 lowered their hand', name);
    } else {
      text = trans.__("%1 lowered %2's hand", this._nameOf(event.by), name);
    }
    return { kind: 'hand', text, username: hand.user };
  }

  /** The log line of a `role` event ("Ben is now a teacher"); null when malformed. */
  roleLine(event: IRoleEvent): IClassroomLogLine | null {
    const user = event?.user;
    if (!user || typeof user.username !== 'string') {
      return null;
    }
    const name = displayName(user);
    const text =
      user.role === 'teacher'
        ? trans.__('%1 is now a teacher', name)
        : trans.__('%1 is now a student', name);
    return { kind: 'role', text, username: user.username };
  }

  /** The follow request of a `follow` ack. Returns whether it changed. */
  setFollow(follow: IFollowRequest | null): boolean {
    const next = isFollow(follow) ? follow : null;
    if (sameJson(next, this._follow)) {
      return false;
    }
    this._follow = next;
    return true;
  }

  /** A `follow` event. Returns its log line. */
  applyFollow(event: IFollowEvent): IClassroomLogLine | null {
    if (!event) {
      return null;
    }
    this.setFollow(event.follow ?? null);
    const who = event.by || event.follow?.user || '';
    const name = this._nameOf(who);
    const text = this._follow
      ? trans.__('%1 asks everyone to follow', name)
      : trans.__('%1 stopped asking to follow', name);
    return { kind: 'follow', text, username: who || undefined };
  }

  /**
   * A poll's view (a `poll` event or an ack) replaces the one held, unless it is older (a
   * smaller `revision`). `your_answer` comes from the newest view that has one: a `poll`
   * event leaves it out (several recipients share it), and an answer's ack may arrive after
   * a newer event. Returns whether it changed, and the log line when it was just closed.
   */
  setPoll(view: IPoll): { changed: boolean; line: IClassroomLogLine | null } {
    if (!isPoll(view)) {
      return { changed: false, line: null };
    }
    const before = this._polls.get(view.id);
    const revision = revisionOf(view);
    // Our own answer: from the newest view that carried one.
    let mine = before?.your_answer ?? null;
    if (view.your_answer !== undefined && revision >= (this._answerRevisions.get(view.id) ?? -1)) {
      mine = view.your_answer;
      this._answerRevisions.set(view.id, revision);
    }
    const stale = before !== undefined && revision < revisionOf(before);
    const poll: IPoll =
      stale && before ? { ...before, your_answer: mine } : { ...view, your_answer: mine };
    if (before && sameJson(before, poll)) {
      return { changed: false, line: null };
    }
    this._polls.set(poll.id, poll);
    this._sortedPolls = null;
    this._trimPolls();
    const closedNow = poll.closed && (!before || !before.closed);
    const line = closedNow
      ? { kind: 'poll', text: trans.__('Poll: %1 (closed)', poll.question) }
      : null;
    return { changed: true, line };
  }

  /**
   * A live `message` of `kind: 'poll'`: a new poll. Its view is made from the message when
   * none is held yet (an existing view is kept). Returns the log line of a new poll.
   *
   * @param asTeacher whether this tab's user is a teacher (who sees the tally from the start).
   */
  addPollMessage(message: IMessage, asTeacher: boolean): IClassroomLogLine | null {
    if (message.kind !== 'poll' || this._polls.has(message.seq)) {
      return null;
    }
    const options = Array.isArray(message.options) ? message.options.map(String) : [];
    const poll: IPoll = {
      id: message.seq,
      question: message.text,
      options,
      by: message.user.username,
      ts: message.ts,
      closed: false,
      revision: 0,
      your_answer: null,
      answered: 0,
      counts: asTeacher ? options.map(() => 0) : null,
      answers: asTeacher ? {} : null
    };
    this._polls.set(poll.id, poll);
    this._sortedPolls = null;
    this._trimPolls();
    return {
      kind: 'poll',
      text: trans.__('Poll by %1: %2', displayName(message.user), message.text),
      username: message.user.username
    };
  }

  /** A `classroom` event (or ack): the room's settings. Returns the log line for an event. */
  applySettings(event: Pick<IClassroomEvent, 'student_snippets'> & { by?: string }): {
    changed: boolean;
    line: IClassroomLogLine | null;
  } {
    const on = event?.student_snippets === true;
    const changed = on !== this._studentSnippets;
    this._studentSnippets = on;
    if (!event?.by) {
      return { changed, line: null };
    }
    const name = this._nameOf(event.by);
    const text = on
      ? trans.__('%1 lets students share code', name)
      : trans.__('%1 stopped students sharing code', name);
    return { changed, line: { kind: 'classroom', text, username: event.by } };
  }

  private _nameOf(username: string): string {
    const member = this._lookup(username);
    return member ? displayName(member) : username;
  }

  /** Keep every open poll and the newest MAX_CLOSED_POLLS closed ones. */
  private _trimPolls(): void {
    const closed = this.polls.filter(p => p.closed);
    const excess = closed.length - MAX_CLOSED_POLLS;
    if (excess <= 0) {
      return;
    }
    for (const p of closed.slice(0, excess)) {
      this._polls.delete(p.id);
      this._answerRevisions.delete(p.id);
    }
    this._sortedPolls = null;
  }

  private _lookup: MemberLookup;
  private _available = false;
  private _teachersConfigured = false;
  private _studentSnippets = false;
  private _hands: IHand[] = [];
  private _follow: IFollowRequest | null = null;
  private _polls = new Map<number, IPoll>();
  private _sortedPolls: IPoll[] | null = null;
  /** Per poll, the revision of the view our `your_answer` came from. */
  private _answerRevisions = new Map<number, number>();
}

/** Hands oldest first (ties by username, so every tab shows the same order). */
export function sortHands(hands: IHand[]): IHand[] {
  return hands.sort((a, b) => a.ts - b.ts || (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
}

function isHand(value: unknown): value is IHand {
  const h = value as IHand | null;
  return (
    typeof h === 'object' && h !== null && typeof h.user === 'string' && typeof h.ts === 'number'
  );
}

function isFollow(value: unknown): value is IFollowRequest {
  const f = value as IFollowRequest | null;
  return typeof f === 'object' && f !== null && typeof f.user === 'string';
}

/** A view's revision (0 when a server leaves it out). */
function revisionOf(poll: IPoll): number {
  return typeof poll.revision === 'number' ? poll.revision : 0;
}

function isPoll(value: unknown): value is IPoll {
  const p = value as IPoll | null;
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.id === 'number' &&
    typeof p.question === 'string' &&
    Array.isArray(p.options)
  );
}

/** Same content (protocol objects are plain JSON). */
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Why the server would refuse this snippet (`invalid_text`, `invalid_value`), or null: checked
 * before sending, as the server checks it.
 */
export function snippetError(code: string, language?: string): IProtocolError | null {
  if (typeof code !== 'string') {
    return { code: 'invalid_text', message: trans.__('the code is not text') };
  }
  if (textError(code)) {
    // The checks of a chat message's text, said of the code.
    const message = code.trim()
      ? trans.__('the code is longer than %1 characters', MAX_TEXT_LENGTH)
      : trans.__('the code is empty');
    return { code: 'invalid_text', message };
  }
  if (language !== undefined && !LANGUAGE_RE.test(language)) {
    return {
      code: 'invalid_value',
      message: trans.__('language: 1-32 of a-z 0-9 + # . _ -')
    };
  }
  return null;
}

/** Why the server would refuse this poll (`invalid_text`, `invalid_value`), or null. */
export function pollError(question: string, options: ReadonlyArray<string>): IProtocolError | null {
  if (typeof question !== 'string' || !question.trim() || question.length > MAX_POLL_QUESTION) {
    return {
      code: 'invalid_text',
      message: trans.__('the question must have 1-%1 characters', MAX_POLL_QUESTION)
    };
  }
  if (
    !Array.isArray(options) ||
    options.length < MIN_POLL_OPTIONS ||
    options.length > MAX_POLL_OPTIONS
  ) {
    return {
      code: 'invalid_value',
      message: trans.__('a poll has %1-%2 options', MIN_POLL_OPTIONS, MAX_POLL_OPTIONS)
    };
  }
  for (const option of options) {
    if (typeof option !== 'string' || !option.trim() || option.length > MAX_POLL_OPTION) {
      return {
        code: 'invalid_value',
        message: trans.__('each option must have 1-%1 characters', MAX_POLL_OPTION)
      };
    }
  }
  if (new Set(options).size !== options.length) {
    return { code: 'invalid_value', message: trans.__('two options are the same') };
  }
  return null;
}
