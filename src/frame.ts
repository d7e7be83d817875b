/**
 * FrameScheduler: the tab's presence rendering, once per animation frame.
 *
 * Presence batches arrive up to 20 times a second per room, often several within one frame;
 * whatever they invalidate is scheduled here and done once, in the next frame. A task
 * scheduled many times before the frame runs once. A frame runs its tasks in three phases,
 * so that layout is never read after the DOM was written in the same pass (no layout thrash):
 * `update` (state only, no DOM), then `read` (layout reads), then `write` (DOM writes). A task
 * scheduled while the frame runs (a render scheduled by an update) still runs in this frame;
 * one scheduled for the phase that is running runs in that phase, before the next phase.
 */

/** When in the frame a task runs. */
export type FramePhase = 'update' | 'read' | 'write';

const PHASES: ReadonlyArray<FramePhase> = ['update', 'read', 'write'];

/** Passes over the phases in one frame, at most (tasks that keep rescheduling each other). */
const MAX_PASSES = 4;
/** Rounds of one phase in one pass, at most (tasks of a phase scheduling the same phase). */
const MAX_ROUNDS = 8;

export class FrameScheduler {
  /**
   * @param request asks for a frame (window.requestAnimationFrame by default).
   * @param cancel cancels a requested frame.
   */
  constructor(
    request: (callback: () => void) => number = callback =>
      window.requestAnimationFrame(() => callback()),
    cancel: (handle: number) => void = handle => window.cancelAnimationFrame(handle)
  ) {
    this._request = request;
    this._cancel = cancel;
  }

  /** Whether a frame is requested (some task waits for it). */
  get pending(): boolean {
    return this._handle !== null;
  }

  /** Frames run so far (tests and diagnostics). */
  get frames(): number {
    return this._frames;
  }

  /** Run `task` in the next frame, in `phase` (once, however often it is scheduled). */
  schedule(task: () => void, phase: FramePhase = 'write'): void {
    this._queues[phase].add(task);
    if (this._handle === null && !this._running) {
      this._handle = this._request(this._run);
    }
  }

  /**
   * Call `rider` at the start of every frame this scheduler runs (before its phases), until
   * `unride`: a task that may wait for a while can join a frame that runs anyway instead of
   * asking for one of its own (each frame costs the page a paint).
   */
  ride(rider: () => void): void {
    this._riders.add(rider);
  }

  unride(rider: () => void): void {
    this._riders.delete(rider);
  }

  /** Do not run `task` (disposed); the frame is cancelled when nothing else waits. */
  cancel(task: () => void): void {
    for (const phase of PHASES) {
      this._queues[phase].delete(task);
    }
    if (this._handle !== null && this._empty()) {
      this._cancel(this._handle);
      this._handle = null;
    }
  }

  /** Run the waiting tasks now (tests; the requested frame then does nothing). */
  flush(): void {
    if (this._handle !== null) {
      this._cancel(this._handle);
      this._handle = null;
    }
    this._run();
  }

  private _run = (): void => {
    this._handle = null;
    if (this._running) {
      return;
    }
    this._running = true;
    this._frames++;
    try {
      for (const rider of Array.from(this._riders)) {
        try {
          rider();
        } catch (error) {
          console.error('collab-widget: a frame rider failed', error);
        }
      }
      for (let pass = 0; pass < MAX_PASSES && !this._empty(); pass++) {
        for (const phase of PHASES) {
          // A task scheduled for the phase that is running (a read that asks for another
          // read) runs in this phase, before the next one: reads stay ahead of writes.
          const queue = this._queues[phase];
          for (let round = 0; round < MAX_ROUNDS && queue.size; round++) {
            const tasks = Array.from(queue);
            queue.clear();
            for (const task of tasks) {
              try {
                task();
              } catch (error) {
                console.error('collab-widget: a frame task failed', error);
              }
            }
          }
        }
      }
    } finally {
      this._running = false;
      if (!this._empty() && this._handle === null) {
        this._handle = this._request(this._run); // still rescheduling: the next frame
      }
    }
  };

  private _empty(): boolean {
    return PHASES.every(phase => this._queues[phase].size === 0);
  }

  private _request: (callback: () => void) => number;
  private _cancel: (handle: number) => void;
  private _queues: Record<FramePhase, Set<() => void>> = {
    update: new Set(),
    read: new Set(),
    write: new Set()
  };
  private _riders = new Set<() => void>();
  private _handle: number | null = null;
  private _running = false;
  private _frames = 0;
}

/**
 * A frame task that runs at most once per `interval` milliseconds, for views that need not
 * follow every frame (the members list's locations: a few times a second is as fast as
 * anyone reads them). The first schedule after a quiet spell runs in the next frame; later
 * ones wait for the interval, then for a frame: the first frame the scheduler runs anyway
 * once the interval has passed, or, when none comes within `slack` more milliseconds, one of
 * its own (a timer asks for it). However often it is scheduled meanwhile, the task runs once,
 * and reads the state when it runs: the latest state wins and the last change is always
 * drawn.
 */
export class ThrottledTask {
  /**
   * @param task the frame task.
   * @param interval at least this many milliseconds from one run to the next.
   * @param frames the frame scheduler.
   * @param phase the task's phase.
   * @param slack how long past the interval the task may wait for a frame that runs anyway
   *   (0: a frame of its own as soon as the interval has passed).
   * @param now the clock (milliseconds).
   */
  constructor(
    task: () => void,
    interval: number,
    frames: FrameScheduler,
    phase: FramePhase = 'write',
    slack = 0,
    now: () => number = () => performance.now()
  ) {
    this._task = task;
    this._interval = interval;
    this._frames = frames;
    this._phase = phase;
    this._slack = slack;
    this._now = now;
  }

  /** Whether a run is waiting (for its timer or its frame). */
  get pending(): boolean {
    return this._pending;
  }

  /** Runs so far (tests and diagnostics). */
  get runs(): number {
    return this._runs;
  }

  /** Run the task soon: in the next frame, or once `interval` has passed since the last run. */
  schedule(): void {
    if (this._pending) {
      return; // the waiting run reads the state when it runs
    }
    this._pending = true;
    const wait = this._last + this._interval - this._now();
    if (wait <= 0) {
      this._frames.schedule(this._run, this._phase);
      return;
    }
    if (this._slack > 0) {
      this._frames.ride(this._ride);
    }
    this._timer = setTimeout(this._due, wait + this._slack);
  }

  /** Drop a waiting run (disposed). */
  cancel(): void {
    this._stopWaiting();
    this._frames.cancel(this._run);
    this._pending = false;
  }

  /** No frame came in time: ask for one. */
  private _due = (): void => {
    this._timer = null;
    this._stopWaiting();
    this._frames.schedule(this._run, this._phase);
  };

  /** A frame starts: join it once the interval has passed. */
  private _ride = (): void => {
    if (this._now() >= this._last + this._interval) {
      this._stopWaiting();
      this._frames.schedule(this._run, this._phase);
    }
  };

  private _stopWaiting(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    this._frames.unride(this._ride);
  }

  private _run = (): void => {
    this._pending = false;
    this._last = this._now();
    this._runs++;
    this._task();
  };

  private _task: () => void;
  private _interval: number;
  private _frames: FrameScheduler;
  private _phase: FramePhase;
  private _slack: number;
  private _now: () => number;
  private _pending = false;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _last = -Infinity;
  private _runs = 0;
}

/** The tab's scheduler (one frame for every presence view of the tab). */
export const frames = new FrameScheduler();
