/**
 * Mentions: `@name` in a chat message, where name is the user's display name or username
 * (case-insensitive, word-bounded). `mentions()` finds them (pure, for the chat's highlight);
 * MentionNotifier raises a notification for a mention by someone else while no view of that
 * room is on screen.
 */
import type { IDisposable } from '@lumino/disposable';

import { trans } from './i18n';
import type { IMessage, IUser } from './protocol';
import type { ICollabConnection, IRoomSession } from './tokens';
import { displayName } from './util';

/** One `@name` in a text: `text.slice(start, end)` is the `@` and the name. */
export interface IMention {
  readonly start: number;
  readonly end: number;
}

/** Whom a mention is about: a user's names. */
export type MentionTarget = Pick<IUser, 'username'> & Partial<Pick<IUser, 'display_name' | 'name'>>;

/** A letter, digit, combining mark or underscore: what continues a word. */
const WORD_CHAR = /^[\p{L}\p{N}\p{M}_]$/u;

/** The names `you` answers to, longest first (so `@Ms Lee` wins over `@Ms`). */
export function mentionNames(you: MentionTarget): string[] {
  const seen = new Set<string>();
  const names: string[] = [];
  for (const name of [displayName(you), you.name ?? '', you.username]) {
    const trimmed = name.trim();
    const key = trimmed.toLowerCase();
    if (trimmed && !seen.has(key)) {
      seen.add(key);
      names.push(trimmed);
    }
  }
  return names.sort((a, b) => b.length - a.length);
}

/**
 * The mentions of `you` in `text`: `@` + one of its names, in any case, not preceded by a word
 * character (an e-mail address is no mention) nor followed by one (`@Leeann` is not `@Lee`).
 */
export function mentions(text: string, you: MentionTarget | null): IMention[] {
  if (!you || !text.includes('@')) {
    return [];
  }
  const names = mentionNames(you).map(name => ({ name, lower: name.toLowerCase() }));
  const found: IMention[] = [];
  let i = text.indexOf('@');
  while (i !== -1) {
    let next = i + 1;
    if (!isWordChar(charBefore(text, i))) {
      for (const { name, lower } of names) {
        const end = i + 1 + name.length;
        if (
          end <= text.length &&
          text.slice(i + 1, end).toLowerCase() === lower &&
          !isWordChar(charAt(text, end))
        ) {
          found.push({ start: i, end });
          next = end;
          break;
        }
      }
    }
    i = text.indexOf('@', next);
  }
  return found;
}

/** A text cut into plain parts and mentions, in order (for rendering with textContent). */
export function splitMentions(
  text: string,
  found: ReadonlyArray<IMention>
): { text: string; mention: boolean }[] {
  const parts: { text: string; mention: boolean }[] = [];
  let at = 0;
  for (const m of found) {
    if (m.start > at) {
      parts.push({ text: text.slice(at, m.start), mention: false });
    }
    parts.push({ text: text.slice(m.start, m.end), mention: true });
    at = m.end;
  }
  if (at < text.length) {
    parts.push({ text: text.slice(at), mention: false });
  }
  return parts;
}

/** The notification's text: "Ms Lee mentioned you in class-101: …" (one line, shortened). */
export function mentionText(message: IMessage, room: string, total = 140): string {
  const name = displayName(message.user);
  // JupyterLab cuts a notification's message at 140 characters: the excerpt gets what the
  // sentence around it leaves (at least 20).
  const max = Math.max(20, total - trans.__('%1 mentioned you in %2: %3', name, room, '').length);
  const line = message.text.replace(/\s+/g, ' ').trim();
  const excerpt = line.length > max ? `${line.slice(0, max - 1).replace(/\s+$/, '')}…` : line;
  return trans.__('%1 mentioned you in %2: %3', name, room, excerpt);
}

function charAt(text: string, i: number): string {
  const code = text.codePointAt(i);
  return code === undefined ? '' : String.fromCodePoint(code);
}

function charBefore(text: string, i: number): string {
  if (i <= 0) {
    return '';
  }
  const low = text.charCodeAt(i - 1);
  if (i >= 2 && low >= 0xdc00 && low <= 0xdfff) {
    return text.slice(i - 2, i);
  }
  return text[i - 1];
}

function isWordChar(ch: string): boolean {
  return ch !== '' && WORD_CHAR.test(ch);
}

// ---- what is on screen ------------------------------------------------------------------

/** How many rows and columns of points of a view are probed (see shownOnScreen). */
const PROBE_ROWS = 12;
const PROBE_COLUMNS = [0.5, 0.15, 0.85];

/**
 * Whether a view of `room` (a Room widget in a notebook, or its side panel) is on screen now:
 * the page is visible and some of the view is what the window shows (a notebook scrolled past
 * it, a collapsed side panel or a hidden tab do not count).
 */
export function roomShownOnScreen(room: string, doc: Document = document): boolean {
  if (doc.visibilityState === 'hidden') {
    return false;
  }
  const headers = doc.querySelectorAll<HTMLElement>('.jp-CollabRoom-header[data-room]');
  for (const header of Array.from(headers)) {
    if (header.dataset.room !== room) {
      continue;
    }
    const view = header.closest<HTMLElement>('.jp-CollabRoom') ?? header;
    if (shownOnScreen(view)) {
      return true;
    }
  }
  return false;
}

/**
 * Whether some of `el` is visible: it is rendered, its box meets the window, and at one of a
 * grid of points over that part the topmost element is `el` or inside it (which takes the
 * clipping of scrolled ancestors, and whatever covers it, into account).
 */
export function shownOnScreen(el: HTMLElement): boolean {
  if (!el.isConnected) {
    return false;
  }
  const check = (el as { checkVisibility?: (options?: object) => boolean }).checkVisibility;
  if (
    typeof check === 'function' &&
    !check.call(el, { contentVisibilityAuto: true, visibilityProperty: true })
  ) {
    return false;
  }
  const rect = el.getBoundingClientRect();
  if (rect.width <= 0 || rect.height <= 0) {
    return false;
  }
  const doc = el.ownerDocument;
  const win = doc.defaultView;
  const top = Math.max(rect.top, 0);
  const left = Math.max(rect.left, 0);
  const bottom = Math.min(rect.bottom, win ? win.innerHeight : rect.bottom);
  const right = Math.min(rect.right, win ? win.innerWidth : rect.right);
  if (bottom <= top || right <= left) {
    return false;
  }
  if (typeof doc.elementFromPoint !== 'function') {
    return true; // no hit testing here: the box is in the window
  }
  for (let row = 0; row < PROBE_ROWS; row++) {
    const y = top + ((bottom - top) * (row + 0.5)) / PROBE_ROWS;
    for (const column of PROBE_COLUMNS) {
      const hit = doc.elementFromPoint(left + (right - left) * column, y);
      if (hit && el.contains(hit)) {
        return true;
      }
    }
  }
  return false;
}

// ---- notifications ----------------------------------------------------------------------

export interface IMentionNotifierOptions {
  /** The rooms this tab is in. */
  connection: Pick<ICollabConnection, 'sessions' | 'sessionsChanged'>;
  /** Show the notification for a mention in `room`. */
  notify: (text: string, room: string) => void;
  /** Whether a view of `room` is on screen (then nothing is shown). */
  isRoomVisible?: (room: string) => boolean;
}

/** How many notified messages are remembered (a message is notified once). */
const SEEN_LIMIT = 500;

/**
 * Watches the messages of every room this tab is in; a message by someone else that mentions
 * this tab's user raises a notification, unless turned off or a view of that room is on screen.
 */
export class MentionNotifier implements IDisposable {
  constructor(options: IMentionNotifierOptions) {
    this._connection = options.connection;
    this._notify = options.notify;
    this._isRoomVisible = options.isRoomVisible ?? (room => roomShownOnScreen(room));
    this._connection.sessionsChanged.connect(this._watch, this);
    this._watch();
  }

  /** The `notifications` setting. */
  enabled = true;

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._connection.sessionsChanged.disconnect(this._watch, this);
    for (const session of this._sessions) {
      session.messageReceived.disconnect(this._onMessage, this);
    }
    this._sessions.clear();
  }

  /** Follow the rooms that came, forget the ones that went. */
  private _watch(): void {
    const now = new Set(this._connection.sessions);
    for (const session of this._sessions) {
      if (!now.has(session)) {
        session.messageReceived.disconnect(this._onMessage, this);
        this._sessions.delete(session);
      }
    }
    for (const session of now) {
      if (!this._sessions.has(session)) {
        session.messageReceived.connect(this._onMessage, this);
        this._sessions.add(session);
      }
    }
  }

  private _onMessage(session: IRoomSession, message: IMessage): void {
    const you = session.you;
    if (!this.enabled || !you || message.kind || message.user.username === you.username) {
      return;
    }
    const key = `${session.name}\u0000${message.seq}`;
    if (this._seen.has(key) || mentions(message.text, you).length === 0) {
      return;
    }
    this._seen.add(key);
    if (this._seen.size > SEEN_LIMIT) {
      const oldest = this._seen.values().next();
      if (!oldest.done) {
        this._seen.delete(oldest.value);
      }
    }
    if (this._isRoomVisible(session.name)) {
      return;
    }
    this._notify(mentionText(message, session.name), session.name);
  }

  private _connection: IMentionNotifierOptions['connection'];
  private _notify: (text: string, room: string) => void;
  private _isRoomVisible: (room: string) => boolean;
  private _sessions = new Set<IRoomSession>();
  private _seen = new Set<string>();
  private _disposed = false;
}
