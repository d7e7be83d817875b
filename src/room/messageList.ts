/**
 * The confirmed messages of a room, keyed by `seq`: each message once, in order.
 */
import type { IMessage } from '../protocol';

export class MessageList {
  /** Messages, oldest first (sorted lazily, once per change). */
  get items(): ReadonlyArray<IMessage> {
    if (this._sorted === null) {
      this._sorted = Array.from(this._bySeq.values()).sort((a, b) => a.seq - b.seq);
    }
    return this._sorted;
  }

  /** The highest seq seen (0 before any). */
  get lastSeq(): number {
    return this._lastSeq;
  }

  /** The seq of the oldest message held, if any. */
  get oldestSeq(): number | undefined {
    return this.items.length ? this.items[0].seq : undefined;
  }

  /** Add a message; false when its seq was already there. */
  add(message: IMessage): boolean {
    if (this._bySeq.has(message.seq)) {
      return false;
    }
    this._bySeq.set(message.seq, message);
    this._sorted = null;
    if (message.seq > this._lastSeq) {
      this._lastSeq = message.seq;
    }
    return true;
  }

  /** Drop the oldest messages beyond `max`; returns how many went. */
  trimOldest(max: number): number {
    const excess = this._bySeq.size - max;
    if (excess <= 0) {
      return 0;
    }
    for (const m of this.items.slice(0, excess)) {
      this._bySeq.delete(m.seq);
    }
    this._sorted = null;
    return excess;
  }

  private _bySeq = new Map<number, IMessage>();
  private _sorted: IMessage[] | null = null;
  private _lastSeq = 0;
}
