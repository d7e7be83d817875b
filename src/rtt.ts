/**
 * RttProbe: the connection's round-trip time, measured every few seconds with a cheap
 * acknowledged event (`rooms`), for the status line.
 */
import type { Socket } from 'socket.io-client';

/** How often (and how long at most) a measurement runs, in milliseconds. */
export const RTT_INTERVAL = 5000;

export class RttProbe {
  /**
   * @param socket the tab's socket.
   * @param changed called when a new measurement arrives.
   */
  constructor(socket: Socket, changed: () => void) {
    this._socket = socket;
    this._changed = changed;
    this._timer = window.setInterval(() => this.measure(), RTT_INTERVAL);
  }

  /** The latest round trip in milliseconds, or null before one (or after a disconnect). */
  get value(): number | null {
    return this._value;
  }

  /** Forget the last value (the connection went). */
  reset(): void {
    this._value = null;
  }

  /** Measure now, unless a measurement is in flight or the socket is not connected. */
  measure(): void {
    if (!this._socket.connected || this._inFlight || this._disposed) {
      return;
    }
    this._inFlight = true;
    const started = performance.now();
    this._socket.timeout(RTT_INTERVAL).emit('rooms', {}, (err: Error | null) => {
      this._inFlight = false;
      if (err || this._disposed) {
        return;
      }
      this._value = Math.round(performance.now() - started);
      this._changed();
    });
  }

  dispose(): void {
    this._disposed = true;
    window.clearInterval(this._timer);
  }

  private _socket: Socket;
  private _changed: () => void;
  private _timer: number;
  private _value: number | null = null;
  private _inFlight = false;
  private _disposed = false;
}
