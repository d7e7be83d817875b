/**
 * LocalPresence: where this tab's user is (notebook, cell, caret, mode, activity), sent to
 * every room this tab joined through a widget, change-only, throttled, with a heartbeat.
 * Updates go out through each room's RoomSession.
 */
import type { Cell } from '@jupyterlab/cells';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { Ack, IOk, IPresenceState, isAckError } from '../protocol';
import { ICollabConnection, IRoomSession } from '../tokens';
import { ActivityMonitor } from './activity';
import { readLocalState } from './editorState';
import { SharingSwitches } from './sharingSwitches';
import { PRESENCE_RATES, sameState } from './state';
import { Throttle } from './throttle';

/** The state without `following` (for a room on a 1.0 server). */
function withoutFollowing(state: IPresenceState): IPresenceState {
  if (state.following === undefined) {
    return state;
  }
  const copy = { ...state };
  delete copy.following;
  return copy;
}

/** Whether the room's server knows protocol 1.1's `following` (not a 1.0 server). */
function supportsFollowing(session: IRoomSession): boolean {
  // `classroom` may be missing on a session built before classroom mode: assume 1.1.
  return session.classroom?.available !== false;
}

/** How often activity (idle) and the heartbeat are checked while in a room. */
const TICK_MS = 1000;

export interface ILocalPresenceOptions {
  connection: ICollabConnection;
  notebooks: INotebookTracker | null;
  /** Where the share switches are kept (sessionStorage: per tab, while it lives). */
  storage?: Storage | null;
  /** Whether a room nobody switched shares the cursor (the `shareCursorByDefault` setting). */
  shareByDefault?: boolean;
}

/** Per-room sending state. */
interface IRoomState {
  session: IRoomSession;
  /** The public session id the last state was sent under (a re-join gets a new one). */
  sentAs: string | null;
  /** JSON of the last state sent (null: nothing the server holds for us). */
  sent: string | null;
  sentAt: number;
  /** Do not send before this time (the server refused an update). */
  retryAt: number;
}

/** Counters, for tests and debugging. */
export interface IPresenceStats {
  /** `presence` events emitted (updates, heartbeats and clears). */
  sent: number;
  /** Refused acknowledgements, by error code. */
  errors: Record<string, number>;
}

export class LocalPresence implements IDisposable {
  constructor(options: ILocalPresenceOptions) {
    this._connection = options.connection;
    this._notebooks = options.notebooks;
    this._switches = new SharingSwitches(options.storage ?? null, options.shareByDefault ?? true);
    this._throttle = new Throttle(
      () => this._flush(),
      () => this.config.maxPerSecond
    );
    this._activity = new ActivityMonitor(
      () => this.config.idleAfterMs,
      () => this.schedule()
    );
    this._connection.sessionsChanged.connect(this._syncRooms, this);
    this._connection.pinged.connect(this._onPing, this);
    if (this._notebooks) {
      this._notebooks.currentChanged.connect(this._onCurrentChanged, this);
      this._notebooks.activeCellChanged.connect(this._onActiveCellChanged, this);
      this._onCurrentChanged();
    }
    this._syncRooms();
  }

  /** Timings; tests may shorten them (window.collabPresence.local.config). */
  readonly config = { ...PRESENCE_RATES };
  readonly stats: IPresenceStats = { sent: 0, errors: {} };

  get localState(): IPresenceState {
    return this._state;
  }
  get localChanged(): ISignal<this, IPresenceState> {
    return this._localChanged;
  }
  get sharingChanged(): ISignal<this, string> {
    return this._sharingChanged;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }

  isSharing(room: string): boolean {
    return this._switches.isSharing(room);
  }

  setSharing(room: string, on: boolean): void {
    if (!this._switches.set(room, on)) {
      return;
    }
    this._applySharing(room, on);
  }

  /** Whether a room nobody switched shares the cursor (the `shareCursorByDefault` setting). */
  get shareByDefault(): boolean {
    return this._switches.byDefault;
  }

  /**
   * Send nothing until `promise` settles (e.g. the settings, which may say "do not share by
   * default", are loading).
   */
  holdUntil(promise: Promise<unknown>): void {
    this._holds++;
    const release = (): void => {
      this._holds--;
      this.schedule();
    };
    promise.then(release, release);
  }

  /** Change the default; the rooms of this tab it switches are cleared or sent at once. */
  setShareByDefault(on: boolean): void {
    if (this._switches.byDefault === on) {
      return;
    }
    const before = new Map(Array.from(this._rooms.keys(), name => [name, this.isSharing(name)]));
    this._switches.byDefault = on;
    for (const [room, was] of before) {
      const now = this.isSharing(room);
      if (now !== was) {
        this._applySharing(room, now);
      }
    }
  }

  private _applySharing(room: string, on: boolean): void {
    const entry = this._rooms.get(room);
    if (entry) {
      if (!on) {
        // Clear at once (a privacy switch does not wait for the throttle).
        if (entry.sent !== null && entry.session.ready) {
          this._emit(entry, null, Date.now());
        }
        entry.sent = null;
      } else {
        entry.sent = null;
        this.schedule();
      }
    }
    this._sharingChanged.emit(room);
  }

  /** The username this tab follows (classroom mode), or null. */
  get following(): string | null {
    return this._following;
  }

  /**
   * Carry `following: username` in the state (null: not following). Rooms on a 1.0 server
   * (no classroom mode: it refuses unknown fields) get the state without it.
   */
  setFollowing(username: string | null): void {
    const value = username || null;
    if (value === this._following) {
      return;
    }
    this._following = value;
    this.schedule();
  }

  /** A focused editor's caret, selection or text changed (the CodeMirror extension calls this). */
  noteEditorActivity(): void {
    this._activity.noteInput();
    this.schedule();
  }

  /** Send the latest state soon, within the budget (see Throttle.schedule). */
  schedule(): void {
    if (!this._disposed) {
      this._throttle.schedule();
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._throttle.dispose();
    this._stopTicker();
    this._connection.pinged.disconnect(this._onPing, this);
    this._activity.dispose();
    this._unwatchPanel();
    Signal.clearData(this);
  }

  /** The state now, with a fixed key order (so that JSON compares states). */
  computeState(now: number = Date.now()): IPresenceState {
    const state = readLocalState(this._panel, this._activity.activity(now));
    if (this._following) {
      state.following = this._following;
    }
    return state;
  }

  private _flush(): void {
    if (this._disposed || this._holds > 0) {
      return;
    }
    const now = Date.now();
    const state = this.computeState(now);
    if (!sameState(state, this._state)) {
      this._state = state;
      this._localChanged.emit(state);
    }
    const json = JSON.stringify(state);
    const legacy = withoutFollowing(state);
    const legacyJson = JSON.stringify(legacy);
    let round = 0;
    for (const [name, entry] of this._rooms) {
      if (!this.isSharing(name) || !entry.session.ready) {
        continue;
      }
      const sentAs = entry.session.you?.session ?? null;
      if (entry.sentAs !== sentAs) {
        // A new session (first join or a re-join): the server holds nothing for it.
        entry.sentAs = sentAs;
        entry.sent = null;
      }
      if (now < entry.retryAt) {
        continue; // refused a moment ago: wait as the server asked
      }
      const classroom = supportsFollowing(entry.session);
      const out = classroom ? state : legacy;
      const outJson = classroom ? json : legacyJson;
      if (entry.sent === outJson && now - entry.sentAt < this.config.heartbeatMs) {
        continue; // nothing new, heartbeat not due
      }
      this._emit(entry, out, now);
      entry.sent = outJson;
      round++;
    }
    this._throttle.noteRound(round);
  }

  private _emit(entry: IRoomState, state: IPresenceState | null, now: number): void {
    const room = entry.session.name;
    this.stats.sent++;
    this._throttle.noteEmit(now);
    entry.sentAt = now;
    entry.session.sendPresence(state, (res: Ack<IOk>) => {
      if (this._disposed || !isAckError(res)) {
        return;
      }
      const code = res.error.code;
      this.stats.errors[code] = (this.stats.errors[code] ?? 0) + 1;
      const current = this._rooms.get(room);
      if (!current) {
        return;
      }
      // Not stored: send the latest state again (after the server's delay, if it gave one).
      current.sent = null;
      if (code === 'rate_limited' || code === 'not_joined') {
        const delay = Math.max(0.2, res.error.retry_after ?? 1) * 1000;
        current.retryAt = Date.now() + delay;
        window.setTimeout(() => this.schedule(), delay);
      } else if (this.stats.errors[code] === 1) {
        console.warn(`collab-widget: presence refused in ${room}: ${code}: ${res.error.message}`);
      }
    });
  }

  // ---- rooms ----

  private _syncRooms(): void {
    const sessions = new Map(this._connection.sessions.map(s => [s.name, s]));
    for (const [name, entry] of this._rooms) {
      if (sessions.get(name) !== entry.session) {
        entry.session.changed.disconnect(this._onSessionChanged, this);
        this._rooms.delete(name);
      }
    }
    for (const [name, session] of sessions) {
      if (!this._rooms.has(name)) {
        this._rooms.set(name, { session, sentAs: null, sent: null, sentAt: 0, retryAt: 0 });
        session.changed.connect(this._onSessionChanged, this);
      }
    }
    if (this._rooms.size) {
      this._startTicker();
      this.schedule();
    } else {
      this._stopTicker();
    }
  }

  private _onSessionChanged(session: IRoomSession, change: string): void {
    if (change === 'state' && session.joined) {
      this.schedule();
    }
  }

  private _startTicker(): void {
    if (this._ticker === null) {
      this._ticker = window.setInterval(() => this.schedule(), TICK_MS);
    }
  }

  private _stopTicker(): void {
    if (this._ticker !== null) {
      window.clearInterval(this._ticker);
      this._ticker = null;
    }
  }

  // ---- notebook signals ----

  private _onCurrentChanged(): void {
    const panel = this._notebooks?.currentWidget ?? null;
    if (panel !== this._panel) {
      this._unwatchPanel();
      this._panel = panel;
      if (panel) {
        panel.content.stateChanged.connect(this._onNotebookState, this);
        panel.context.pathChanged.connect(this._onNotebookState, this);
        panel.disposed.connect(this._onPanelDisposed, this);
      }
    }
    this.schedule();
  }

  private _unwatchPanel(): void {
    const panel = this._panel;
    if (panel) {
      panel.content.stateChanged.disconnect(this._onNotebookState, this);
      panel.context.pathChanged.disconnect(this._onNotebookState, this);
      panel.disposed.disconnect(this._onPanelDisposed, this);
    }
    this._panel = null;
  }

  private _onPanelDisposed(): void {
    this._unwatchPanel();
    this._onCurrentChanged();
  }

  private _onActiveCellChanged(_: INotebookTracker, cell: Cell | null): void {
    this.schedule();
    // The editor of a new cell may only exist once the cell is ready.
    if (cell && !cell.editor) {
      void cell.ready.then(() => this.schedule());
    }
  }

  private _onNotebookState(): void {
    this.schedule();
  }

  /** Engine.IO pings arrive even in a background tab whose timers are throttled. */
  private _onPing(): void {
    this.schedule();
  }

  private _connection: ICollabConnection;
  private _notebooks: INotebookTracker | null;
  private _switches: SharingSwitches;
  private _throttle: Throttle;
  private _activity: ActivityMonitor;
  private _rooms = new Map<string, IRoomState>();
  private _panel: NotebookPanel | null = null;
  private _state: IPresenceState = {};
  private _ticker: number | null = null;
  private _following: string | null = null;
  private _holds = 0;
  private _disposed = false;
  private _localChanged = new Signal<this, IPresenceState>(this);
  private _sharingChanged = new Signal<this, string>(this);
}
