/**
 * The event log of a room: connects, disconnects, joins, leaves, errors; newest last, capped.
 * The cap is the `eventLogLength` setting (collab-widget:settings), shared by every room.
 */
import type { ILogEntry } from '../tokens';

/** How many log lines a room keeps by default (the setting's default). */
export const LOG_CAP = 200;
/** The bounds of the `eventLogLength` setting (schema/settings.json). */
export const LOG_CAP_MIN = 10;
export const LOG_CAP_MAX = 5000;

let logCap = LOG_CAP;

/** How many lines each room's log keeps now. */
export function getLogCap(): number {
  return logCap;
}

/**
 * Set how many lines each room's log keeps (clamped to the setting's bounds; a value that is
 * not a number restores the default). Logs longer than that drop their oldest lines the next
 * time they are read or added to.
 */
export function setLogCap(n: number): void {
  logCap = Number.isFinite(n)
    ? Math.min(LOG_CAP_MAX, Math.max(LOG_CAP_MIN, Math.floor(n)))
    : LOG_CAP;
}

export class RoomLog {
  /** The lines, oldest first (ids increase); at most the current cap. */
  get entries(): ReadonlyArray<ILogEntry> {
    this._trim();
    return this._entries;
  }

  /** Append a line; the oldest go once there are more than the cap. */
  add(kind: string, text: string, ts: number = Date.now(), username?: string): void {
    this._entries.push({ id: ++this._lastId, ts, kind, text, username });
    this._trim();
  }

  private _trim(): void {
    const cap = logCap;
    if (this._entries.length > cap) {
      this._entries.splice(0, this._entries.length - cap);
    }
  }

  private _entries: ILogEntry[] = [];
  private _lastId = 0;
}
