/**
 * Whether the user is active, idle (no input for a while) or away (the tab is hidden).
 */
import { IDisposable } from '@lumino/disposable';

/** Input events that make a user active again. */
const INPUT_EVENTS = ['keydown', 'pointerdown', 'pointermove', 'wheel', 'touchstart', 'focusin'];

export type Activity = 'active' | 'idle' | 'away';

export class ActivityMonitor implements IDisposable {
  /**
   * @param idleAfterMs no input for this long counts as idle (read at every use).
   * @param onChange called when the user comes back from idle, or the tab is shown or hidden.
   */
  constructor(idleAfterMs: () => number, onChange: () => void) {
    this._idleAfterMs = idleAfterMs;
    this._onChange = onChange;
    for (const name of INPUT_EVENTS) {
      document.addEventListener(name, this._onInput, { capture: true, passive: true });
    }
    document.addEventListener('visibilitychange', this._onChange);
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** The activity at `now`. */
  activity(now: number = Date.now()): Activity {
    if (document.hidden) {
      return 'away';
    }
    return now - this._lastInput >= this._idleAfterMs() ? 'idle' : 'active';
  }

  /** Input that the document does not see as an event (e.g. an editor transaction). */
  noteInput(now: number = Date.now()): void {
    this._lastInput = now;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    for (const name of INPUT_EVENTS) {
      document.removeEventListener(name, this._onInput, { capture: true });
    }
    document.removeEventListener('visibilitychange', this._onChange);
  }

  private _onInput = (): void => {
    const now = Date.now();
    const wasIdle = now - this._lastInput >= this._idleAfterMs();
    this._lastInput = now;
    if (wasIdle) {
      this._onChange();
    }
  };

  private _idleAfterMs: () => number;
  private _onChange: () => void;
  private _lastInput = Date.now();
  private _disposed = false;
}
