/**
 * The send budget of presence updates: at most `maxPerSecond` rounds a second, the latest
 * state always going out last. No DOM, no JupyterLab: timers only.
 */

export class Throttle {
  /**
   * @param flush reads the latest state and sends it; called at most once per budget.
   * @param maxPerSecond the budget, read at every schedule (tests change it live).
   * @param now the clock (milliseconds).
   */
  constructor(flush: () => void, maxPerSecond: () => number, now: () => number = () => Date.now()) {
    this._flush = flush;
    this._maxPerSecond = maxPerSecond;
    this._now = now;
  }

  /**
   * Flush soon: at once when the budget allows, otherwise when it does. One flush is
   * pending at a time and reads the state when it runs, so the latest state wins and the
   * trailing update is always sent. While the user types fast the browser runs input before
   * timers; a timer that is already late is replaced by an immediate flush.
   */
  schedule(): void {
    if (this._disposed) {
      return;
    }
    const now = this._now();
    if (this._pending) {
      if (this._timer !== null && now >= this._timerDue) {
        clearTimeout(this._timer);
        this._timer = null;
        this._flushSoon();
      }
      return;
    }
    const due = this._lastEmitAt + (this._lastRound * 1000) / this._maxPerSecond();
    if (now >= due) {
      this._flushSoon();
      return;
    }
    this._pending = true;
    this._timerDue = due;
    this._timer = setTimeout(() => {
      this._timer = null;
      this._pending = false;
      this._run();
    }, due - now);
  }

  /** An update went out at `now` (the budget counts from the last one). */
  noteEmit(now: number): void {
    this._lastEmitAt = now;
  }

  /** A flush sent `count` updates (one per room): the next one waits `count` budgets. */
  noteRound(count: number): void {
    if (count) {
      this._lastRound = count;
    }
  }

  dispose(): void {
    this._disposed = true;
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  /** Flush at the end of the current task (after the signal or editor update that asked). */
  private _flushSoon(): void {
    this._pending = true;
    void Promise.resolve().then(() => {
      if (this._timer === null) {
        this._pending = false;
        this._run();
      }
    });
  }

  private _run(): void {
    if (!this._disposed) {
      this._flush();
    }
  }

  private _flush: () => void;
  private _maxPerSecond: () => number;
  private _now: () => number;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _timerDue = 0;
  private _pending = false;
  private _lastEmitAt = 0;
  private _lastRound = 1;
  private _disposed = false;
}
