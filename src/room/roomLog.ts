/**
 * The event log of a room: connects, disconnects, joins, leaves, errors; newest last, capped.
 */
import type { ILogEntry } from '../tokens';

/** How many log lines a room keeps. */
export const LOG_CAP = 200;

export class RoomLog {
  /** The lines, oldest first (ids increase). */
  get entries(): ReadonlyArray<ILogEntry> {
    return this._entries;
  }

  /** Append a line; the oldest go once there are more than LOG_CAP. */
  add(kind: string, text: string, ts: number = Date.now(), username?: string): void {
    this._entries.push({ id: ++this._lastId, ts, kind, text, username });
    if (this._entries.length > LOG_CAP) {
      this._entries.splice(0, this._entries.length - LOG_CAP);
    }
  }

  private _entries: ILogEntry[] = [];
  private _lastId = 0;
}
