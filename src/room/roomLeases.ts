/**
 * RoomLeases: the tab's room sessions, ref-counted by the views that show them. A room is
 * left a moment after its last view went away (re-running a cell keeps it joined).
 */
import type { IRoomLease } from '../tokens';
import type { RoomSession } from './roomSession';

/** How long a room stays joined after its last view went away (re-running a cell). */
export const LEAVE_GRACE = 1500;

interface IEntry {
  session: RoomSession;
  refs: number;
  leaveTimer: number | null;
}

export class RoomLeases {
  /**
   * @param create makes (and joins) the session of a room the first time it is acquired.
   * @param changed called when a session was added or removed.
   */
  constructor(create: (room: string) => RoomSession, changed: () => void) {
    this._create = create;
    this._changed = changed;
  }

  /** Hold `room` (making its session on first use); dispose the lease to let it go. */
  acquire(room: string): IRoomLease {
    let entry = this._entries.get(room);
    if (!entry) {
      entry = { session: this._create(room), refs: 0, leaveTimer: null };
      this._entries.set(room, entry);
      this._changed();
    }
    if (entry.leaveTimer !== null) {
      window.clearTimeout(entry.leaveTimer);
      entry.leaveTimer = null;
    }
    entry.refs++;
    const theEntry = entry;
    let disposed = false;
    return {
      session: theEntry.session,
      get isDisposed() {
        return disposed;
      },
      dispose: () => {
        if (!disposed) {
          disposed = true;
          this._release(room, theEntry);
        }
      }
    };
  }

  /** The session of a held room. */
  get(room: string): RoomSession | undefined {
    return this._entries.get(room)?.session;
  }

  /** Every held room's session. */
  all(): RoomSession[] {
    return Array.from(this._entries.values(), entry => entry.session);
  }

  /** Dispose every session (the connection goes away). */
  dispose(): void {
    for (const entry of this._entries.values()) {
      if (entry.leaveTimer !== null) {
        window.clearTimeout(entry.leaveTimer);
      }
      entry.session.dispose();
    }
    this._entries.clear();
  }

  private _release(room: string, entry: IEntry): void {
    if (this._entries.get(room) !== entry) {
      return;
    }
    entry.refs--;
    if (entry.refs > 0) {
      return;
    }
    entry.leaveTimer = window.setTimeout(() => {
      entry.leaveTimer = null;
      if (entry.refs > 0 || this._entries.get(room) !== entry) {
        return;
      }
      this._entries.delete(room);
      entry.session.leave();
      entry.session.dispose();
      this._changed();
    }, LEAVE_GRACE);
  }

  private _create: (room: string) => RoomSession;
  private _changed: () => void;
  private _entries = new Map<string, IEntry>();
}
