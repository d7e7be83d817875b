/**
 * Other sessions' presence in one room, as received: the one place that decodes presence off
 * the wire (join snapshots, protocol 1.1 batches keyed by session, protocol 1.2 compact
 * batches keyed by member number). The rest of the code reads per-session entries.
 *
 * Entries are immutable: a change replaces the entry object (and its state object), so a
 * reader can tell what changed by identity, without comparing contents.
 */
import type {
  ICompactPresenceEvent,
  IPresenceEntry,
  IPresenceEvent,
  IPresencePatch,
  IPresenceState,
  PresenceEvent
} from '../protocol';
import { sanitizeState } from '../presence/state';

/** The fields of a presence state (a compact diff may change these, and only these). */
const STATE_FIELDS: ReadonlyArray<keyof IPresenceState> = [
  'path',
  'cell_id',
  'cell_index',
  'line',
  'column',
  'selections',
  'mode',
  'activity',
  'following'
];

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/** A member number: a small non-negative integer. */
function isMemberNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A snapshot's or a 1.1 batch's entry, checked and sanitised; null when malformed. */
function toEntry(raw: unknown, now: number): IPresenceEntry | null {
  if (!isObject(raw) || typeof raw.session !== 'string' || typeof raw.user !== 'string') {
    return null;
  }
  const entry: IPresenceEntry = {
    session: raw.session,
    user: raw.user,
    state: sanitizeState(raw.state),
    ts: typeof raw.ts === 'number' ? raw.ts : now
  };
  if (isMemberNumber(raw.n)) {
    entry.n = raw.n;
  }
  return entry;
}

/** `state` with `patch` applied (null removes a field), sanitised like any received state. */
export function patchState(state: IPresenceState, patch: IPresencePatch): IPresenceState {
  const merged: Record<string, unknown> = { ...state };
  for (const key of STATE_FIELDS) {
    if (!hasOwn(patch, key)) {
      continue;
    }
    const value = patch[key];
    if (value === null) {
      delete merged[key];
    } else if (value !== undefined) {
      merged[key] = value;
    }
  }
  return sanitizeState(merged);
}

/** Whether an event is a protocol 1.2 compact batch (by its shape). */
export function isCompactEvent(event: PresenceEvent): event is ICompactPresenceEvent {
  return Array.isArray((event as Partial<ICompactPresenceEvent>).set);
}

/**
 * One room's presence: entries by public session id (what the rest of the code reads) and,
 * for protocol 1.2, the same entries by member number.
 */
export class PresenceMap {
  /** Other sessions' entries, by public session id (never this tab's own). */
  get entries(): ReadonlyMap<string, IPresenceEntry> {
    return this._bySession;
  }

  /** This session's member number in the room (protocol 1.2), or null. */
  get ownNumber(): number | null {
    return this._ownN;
  }

  /** The entry of member number `n`, if known. */
  member(n: number): IPresenceEntry | undefined {
    return this._byN.get(n);
  }

  /**
   * A join acknowledgement: its snapshot replaces everything.
   *
   * @param snapshot the ack's `presence` (with `n` from a 1.2 server).
   * @param ownSession our public session id (its entry is skipped).
   * @param ownNumber our member number (`you.n`), null from a 1.1 server.
   * @returns false only when nothing can have changed (empty before and after).
   */
  join(
    snapshot: ReadonlyArray<IPresenceEntry>,
    ownSession: string | null,
    ownNumber: number | null,
    now: number = Date.now()
  ): boolean {
    this._ownSession = ownSession;
    this._ownN = isMemberNumber(ownNumber) ? ownNumber : null;
    return this._reset(Array.isArray(snapshot) ? snapshot : [], now);
  }

  /** Forget everything (disconnected); false when there was nothing. */
  clear(): boolean {
    if (this._bySession.size === 0 && this._byN.size === 0) {
      return false;
    }
    this._bySession.clear();
    this._byN.clear();
    return true;
  }

  /**
   * Apply one `presence` event of either format, in one pass over its items.
   *
   * @returns whether anything changed.
   */
  apply(event: PresenceEvent, now: number = Date.now()): boolean {
    if (!isObject(event)) {
      return false;
    }
    return isCompactEvent(event) ? this._applyCompact(event, now) : this._applyLegacy(event, now);
  }

  /** Protocol 1.0 / 1.1: entries by session, removals by session. */
  private _applyLegacy(event: IPresenceEvent, now: number): boolean {
    const updates: unknown[] = Array.isArray(event.updates) ? event.updates : [];
    if (event.reset) {
      return this._reset(updates, now);
    }
    let changed = false;
    if (Array.isArray(event.removed)) {
      for (const session of event.removed) {
        if (typeof session === 'string') {
          changed = this._deleteSession(session) || changed;
        }
      }
    }
    for (const raw of updates) {
      const entry = toEntry(raw, now);
      if (entry && !this._isOwn(entry)) {
        this._put(entry);
        changed = true;
      }
    }
    return changed;
  }

  /** Protocol 1.2: diffs and whole entries by member number, removals by member number. */
  private _applyCompact(event: ICompactPresenceEvent, now: number): boolean {
    const ts = typeof event.ts === 'number' ? event.ts : now;
    let changed = false;
    if (event.reset) {
      changed = this.clear();
    }
    for (const item of event.set) {
      if (!Array.isArray(item) || !isMemberNumber(item[0]) || item[0] === this._ownN) {
        continue; // malformed, or our own entry (every member gets the same batch)
      }
      const n = item[0];
      if (item.length >= 5) {
        const [, state, session, user, itemTs] = item as unknown[];
        if (typeof session !== 'string' || typeof user !== 'string') {
          continue;
        }
        const entry: IPresenceEntry = {
          session,
          user,
          state: sanitizeState(state),
          ts: typeof itemTs === 'number' ? itemTs : ts,
          n
        };
        if (!this._isOwn(entry)) {
          this._put(entry);
          changed = true;
        }
      } else if (item.length === 2 && isObject(item[1])) {
        const known = this._byN.get(n);
        if (!known) {
          continue; // a diff for a member we do not hold: nothing to apply it to
        }
        this._put({
          session: known.session,
          user: known.user,
          state: patchState(known.state, item[1]),
          ts,
          n
        });
        changed = true;
      }
    }
    if (Array.isArray(event.gone)) {
      for (const n of event.gone) {
        const known = isMemberNumber(n) && n !== this._ownN ? this._byN.get(n) : undefined;
        if (known) {
          this._delete(known);
          changed = true;
        }
      }
    }
    return changed;
  }

  /** Replace everything by `entries` (snapshot or 1.1 reset). */
  private _reset(entries: ReadonlyArray<unknown>, now: number): boolean {
    let changed = this.clear();
    for (const raw of entries) {
      const entry = toEntry(raw, now);
      if (entry && !this._isOwn(entry)) {
        this._put(entry);
        changed = true;
      }
    }
    return changed;
  }

  private _isOwn(entry: IPresenceEntry): boolean {
    return entry.session === this._ownSession || (entry.n !== undefined && entry.n === this._ownN);
  }

  /** Set an entry, keeping both indexes consistent (one session per number and back). */
  private _put(entry: IPresenceEntry): void {
    const before = this._bySession.get(entry.session);
    if (before?.n !== undefined && before.n !== entry.n) {
      this._byN.delete(before.n);
    }
    if (entry.n !== undefined) {
      const other = this._byN.get(entry.n);
      if (other && other.session !== entry.session) {
        this._bySession.delete(other.session);
      }
      this._byN.set(entry.n, entry);
    }
    this._bySession.set(entry.session, entry);
  }

  private _deleteSession(session: string): boolean {
    const known = this._bySession.get(session);
    if (!known) {
      return false;
    }
    this._delete(known);
    return true;
  }

  private _delete(entry: IPresenceEntry): void {
    this._bySession.delete(entry.session);
    if (entry.n !== undefined && this._byN.get(entry.n) === entry) {
      this._byN.delete(entry.n);
    }
  }

  private _bySession = new Map<string, IPresenceEntry>();
  private _byN = new Map<number, IPresenceEntry>();
  private _ownSession: string | null = null;
  private _ownN: number | null = null;
}
