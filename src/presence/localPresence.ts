/**
 * LocalPresence: where this tab's user is (notebook, cell, caret, mode, activity), sent to
 * every room this tab joined through a widget, change-only, throttled, with a heartbeat.
 */
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { Cell } from '@jupyterlab/cells';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  Ack,
  IOk,
  IPresenceState,
  ISelectionRange,
  isAckError,
  MAX_PRESENCE_CELL_ID,
  MAX_PRESENCE_PATH,
  MAX_PRESENCE_SELECTIONS
} from './protocol';
import { PRESENCE_RATES, sameState } from './presence';
import { ICollabConnection, IRoomSession } from './tokens';

/** sessionStorage key of the rooms this tab does not share its cursor with. */
const STORAGE_KEY = 'collab-widget:presence-off';
/** How often activity (idle) and the heartbeat are checked while in a room. */
const TICK_MS = 1000;
/** Input events that make a user active again. */
const INPUT_EVENTS = ['keydown', 'pointerdown', 'pointermove', 'wheel', 'touchstart', 'focusin'];

export interface ILocalPresenceOptions {
  connection: ICollabConnection;
  notebooks: INotebookTracker | null;
  /** Where the share switches are kept (sessionStorage: per tab, while it lives). */
  storage?: Storage | null;
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
    this._storage = options.storage ?? null;
    this._off = this._loadOff();
    this._connection.sessionsChanged.connect(this._syncRooms, this);
    this._connection.socket.io.on('ping', this._onPing);
    if (this._notebooks) {
      this._notebooks.currentChanged.connect(this._onCurrentChanged, this);
      this._notebooks.activeCellChanged.connect(this._onActiveCellChanged, this);
      this._onCurrentChanged();
    }
    for (const name of INPUT_EVENTS) {
      document.addEventListener(name, this._onInput, { capture: true, passive: true });
    }
    document.addEventListener('visibilitychange', this._onVisibility);
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
    return !this._off.has(room);
  }

  setSharing(room: string, on: boolean): void {
    if (this.isSharing(room) === on) {
      return;
    }
    if (on) {
      this._off.delete(room);
    } else {
      this._off.add(room);
    }
    this._saveOff();
    const entry = this._rooms.get(room);
    if (entry) {
      if (!on) {
        // Clear at once (a privacy switch does not wait for the throttle).
        if (entry.sent !== null && this._canSend(entry.session)) {
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

  /** A focused editor's caret, selection or text changed (the CodeMirror extension calls this). */
  noteEditorActivity(): void {
    this._lastInput = Date.now();
    this.schedule();
  }

  /**
   * Send the latest state soon: at once when the budget allows, otherwise when it does.
   * One flush is pending at a time and reads the state when it runs, so the latest state
   * wins and the trailing update is always sent. While the user types fast the browser runs
   * input before timers; a timer that is already late is replaced by an immediate flush.
   */
  schedule(): void {
    if (this._disposed) {
      return;
    }
    const now = Date.now();
    if (this._pending) {
      if (this._timer !== null && now >= this._timerDue) {
        window.clearTimeout(this._timer);
        this._timer = null;
        this._flushSoon();
      }
      return;
    }
    const due = this._lastEmitAt + (this._lastRound * 1000) / this.config.maxPerSecond;
    if (now >= due) {
      this._flushSoon();
      return;
    }
    this._pending = true;
    this._timerDue = due;
    this._timer = window.setTimeout(() => {
      this._timer = null;
      this._pending = false;
      this._flush();
    }, due - now);
  }

  /** Flush at the end of the current task (after the signal or editor update that asked). */
  private _flushSoon(): void {
    this._pending = true;
    void Promise.resolve().then(() => {
      if (this._timer === null) {
        this._pending = false;
        this._flush();
      }
    });
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
    }
    this._stopTicker();
    this._connection.socket.io.off('ping', this._onPing);
    for (const name of INPUT_EVENTS) {
      document.removeEventListener(name, this._onInput, { capture: true });
    }
    document.removeEventListener('visibilitychange', this._onVisibility);
    this._unwatchPanel();
    Signal.clearData(this);
  }

  // ---- state ----

  /** The state now, with a fixed key order (so that JSON compares states). */
  computeState(now: number = Date.now()): IPresenceState {
    const state: IPresenceState = {};
    const panel = this._panel;
    if (panel && !panel.isDisposed) {
      const notebook = panel.content;
      const path = panel.context.path;
      if (path && path.length <= MAX_PRESENCE_PATH) {
        state.path = path;
      }
      const cell = notebook.activeCell;
      if (cell && !cell.isDisposed) {
        const id = cell.model.id;
        if (id && id.length <= MAX_PRESENCE_CELL_ID) {
          state.cell_id = id;
        }
        if (notebook.activeCellIndex >= 0) {
          state.cell_index = notebook.activeCellIndex;
        }
        if (notebook.mode === 'edit') {
          Object.assign(state, caretOf(cell));
        }
      }
      state.mode = notebook.mode;
    }
    state.activity = this._activity(now);
    return state;
  }

  private _activity(now: number): 'active' | 'idle' | 'away' {
    if (document.hidden) {
      return 'away';
    }
    return now - this._lastInput >= this.config.idleAfterMs ? 'idle' : 'active';
  }

  private _flush(): void {
    if (this._disposed) {
      return;
    }
    const now = Date.now();
    const state = this.computeState(now);
    if (!sameState(state, this._state)) {
      this._state = state;
      this._localChanged.emit(state);
    }
    const json = JSON.stringify(state);
    let round = 0;
    for (const [name, entry] of this._rooms) {
      if (!this.isSharing(name) || !this._canSend(entry.session)) {
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
      if (entry.sent === json && now - entry.sentAt < this.config.heartbeatMs) {
        continue; // nothing new, heartbeat not due
      }
      this._emit(entry, state, now);
      entry.sent = json;
      round++;
    }
    if (round) {
      this._lastRound = round;
    }
  }

  private _emit(entry: IRoomState, state: IPresenceState | null, now: number): void {
    const room = entry.session.name;
    const socket = this._connection.socket;
    this.stats.sent++;
    this._lastEmitAt = now;
    entry.sentAt = now;
    socket.emit('presence', { room, state }, (res: Ack<IOk>) => {
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

  private _canSend(session: IRoomSession): boolean {
    return session.joined && this._connection.socket.connected;
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

  // ---- activity ----

  private _onInput = (): void => {
    const now = Date.now();
    const wasIdle = now - this._lastInput >= this.config.idleAfterMs;
    this._lastInput = now;
    if (wasIdle) {
      this.schedule();
    }
  };

  private _onVisibility = (): void => {
    this.schedule();
  };

  /** Engine.IO pings arrive even in a background tab whose timers are throttled. */
  private _onPing = (): void => {
    this.schedule();
  };

  // ---- share switches ----

  private _loadOff(): Set<string> {
    try {
      const raw = this._storage?.getItem(STORAGE_KEY);
      const list: unknown = raw ? JSON.parse(raw) : [];
      return new Set(Array.isArray(list) ? list.filter(x => typeof x === 'string') : []);
    } catch {
      return new Set();
    }
  }

  private _saveOff(): void {
    try {
      this._storage?.setItem(STORAGE_KEY, JSON.stringify(Array.from(this._off)));
    } catch {
      // storage full or disabled: the switch still holds while the page lives
    }
  }

  private _connection: ICollabConnection;
  private _notebooks: INotebookTracker | null;
  private _storage: Storage | null;
  private _off: Set<string>;
  private _rooms = new Map<string, IRoomState>();
  private _panel: NotebookPanel | null = null;
  private _state: IPresenceState = {};
  private _timer: number | null = null;
  private _timerDue = 0;
  private _pending = false;
  private _ticker: number | null = null;
  private _lastEmitAt = 0;
  private _lastRound = 1;
  private _lastInput = Date.now();
  private _disposed = false;
  private _localChanged = new Signal<this, IPresenceState>(this);
  private _sharingChanged = new Signal<this, string>(this);
}

/** The caret and non-empty selections of a cell's editor (edit mode). */
function caretOf(cell: Cell): IPresenceState {
  const editor = cell.editor;
  if (!editor) {
    return {};
  }
  const pos = editor.getCursorPosition();
  const out: IPresenceState = { line: pos.line, column: pos.column };
  const selections: ISelectionRange[] = [];
  for (const s of editor.getSelections()) {
    if (s.start.line === s.end.line && s.start.column === s.end.column) {
      continue;
    }
    selections.push({
      anchor: { line: s.start.line, column: s.start.column },
      head: { line: s.end.line, column: s.end.column }
    });
    if (selections.length >= MAX_PRESENCE_SELECTIONS) {
      break;
    }
  }
  if (selections.length) {
    out.selections = selections;
  }
  return out;
}
