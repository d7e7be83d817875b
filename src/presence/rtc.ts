/**
 * Real-time collaboration (RTC, jupyter-collaboration) beside collab-widget.
 *
 * A notebook shared by RTC (its model is `collaborative`: every tab edits one Yjs document) gets
 * RTC's carets, selections and name flags for the people in the document's awareness. There
 * collab-widget keeps what RTC lacks (the cell-edge marker, the location in the members list,
 * presence in command mode) and leaves the in-editor carets to RTC, unless the `rtcCursors`
 * setting says `ours` (drawDecision).
 *
 * RTC colours a person with their JupyterLab identity's colour (for an anonymous user, a random
 * `var(--jp-collaborator-colorN)` picked in each browser). RtcColorSync makes that colour the one
 * the room gave us: after a join it PATCHes `/api/me` with the room's `#rrggbb` colour and
 * refreshes the user, and RTC's awareness follows the identity (its providers listen to
 * `userChanged`). The server uses a user's own identity colour in a room when no other member has
 * it, so the next rooms agree too.
 */
import { URLExt } from '@jupyterlab/coreutils';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection, User } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { ICollabConnection, IRoomSession, RoomChange } from '../tokens';
import { IPresenceSettings } from './settings';

// ---- detection ---------------------------------------------------------------------------

/** The part of a Yjs awareness (y-protocols) this module reads. */
export interface IAwarenessLike {
  readonly clientID: number;
  getStates(): Map<number, Record<string, unknown>>;
  on(event: 'change', listener: () => void): void;
  off(event: 'change', listener: () => void): void;
}

/** The part of a document model this module reads (a NotebookModel). */
export interface IRtcModel {
  readonly collaborative?: boolean;
  readonly sharedModel?: unknown;
}

/** Whether the document is shared by RTC (jupyter-collaboration opened it collaboratively). */
export function isRtcShared(model: IRtcModel | null | undefined): boolean {
  return model?.collaborative === true;
}

/** The awareness of a document's shared model, when it has one. */
export function awarenessOf(model: IRtcModel | null | undefined): IAwarenessLike | null {
  const shared = model?.sharedModel;
  if (typeof shared !== 'object' || shared === null) {
    return null;
  }
  const awareness = (shared as { awareness?: unknown }).awareness;
  if (typeof awareness !== 'object' || awareness === null) {
    return null;
  }
  const a = awareness as Partial<Record<keyof IAwarenessLike, unknown>>;
  const ok =
    typeof a.clientID === 'number' &&
    typeof a.getStates === 'function' &&
    typeof a.on === 'function' &&
    typeof a.off === 'function';
  return ok ? (awareness as IAwarenessLike) : null;
}

/** The usernames of the other clients in an awareness (whose carets RTC draws). */
export function rtcUsernames(awareness: IAwarenessLike | null): Set<string> {
  const names = new Set<string>();
  if (!awareness) {
    return names;
  }
  for (const [client, state] of awareness.getStates()) {
    if (client === awareness.clientID) {
      continue;
    }
    const user = state?.user;
    if (typeof user === 'object' && user !== null) {
      const username = (user as { username?: unknown }).username;
      if (typeof username === 'string' && username) {
        names.add(username);
      }
    }
  }
  return names;
}

/** What collab-widget draws for one remote person in one notebook. */
export interface IDrawDecision {
  /** The marker at the edge of the cell the person is in. */
  marker: boolean;
  /** The caret and selections in the cell's editor. */
  caret: boolean;
  /** The caret's name label. */
  label: boolean;
}

/**
 * What to draw for a person, by the settings and whether RTC draws that person's caret in this
 * notebook (the notebook is shared by RTC and the person is in its awareness).
 */
export function drawDecision(settings: IPresenceSettings, rtcDraws: boolean): IDrawDecision {
  if (!settings.showRemoteCursors) {
    return { marker: false, caret: false, label: false };
  }
  if (rtcDraws && settings.rtcCursors !== 'ours') {
    return { marker: true, caret: false, label: false };
  }
  return { marker: true, caret: true, label: settings.showRemoteLabels };
}

/**
 * A notebook's RTC state: whether it is shared, and whom RTC draws there (followed through the
 * awareness; `changed` fires when that set changes).
 */
export class NotebookRtc implements IDisposable {
  constructor(model: IRtcModel | null) {
    this.shared = isRtcShared(model);
    this._awareness = this.shared ? awarenessOf(model) : null;
    this._awareness?.on('change', this._onChange);
    this._usernames = rtcUsernames(this._awareness);
  }

  /** Whether the notebook is shared by RTC. */
  readonly shared: boolean;

  /** The people whose carets RTC draws here. */
  get usernames(): ReadonlySet<string> {
    return this._usernames;
  }
  get changed(): ISignal<this, void> {
    return this._changed;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Whether RTC draws this person's caret in this notebook. */
  drawsFor(username: string): boolean {
    return this.shared && this._usernames.has(username);
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._awareness?.off('change', this._onChange);
    this._awareness = null;
    Signal.clearData(this);
  }

  private _onChange = (): void => {
    const next = rtcUsernames(this._awareness);
    const same =
      next.size === this._usernames.size && Array.from(next).every(n => this._usernames.has(n));
    if (!same) {
      this._usernames = next;
      this._changed.emit(undefined);
    }
  };

  private _awareness: IAwarenessLike | null;
  private _usernames: Set<string>;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}

// ---- one colour per person ---------------------------------------------------------------

/** A `#rrggbb` colour (what the room assigns and jupyter_server keeps). */
export function isHexColor(value: unknown): value is string {
  return typeof value === 'string' && /^#[0-9a-f]{6}$/i.test(value);
}

/**
 * The colour to give the JupyterLab identity (null: nothing to do): the room's colour for us,
 * when the server lets us update `color` and the identity has none of its own yet (none, or
 * JupyterLab's random `var(--jp-collaborator-colorN)`). A `#rrggbb` identity colour (the
 * user's choice, or one given before) is kept: the server uses it in every room where it is
 * free, and two rooms never flip it back and forth.
 */
export function colorToSync(
  identityColor: string | null | undefined,
  updatableFields: unknown,
  roomColor: string | null | undefined
): string | null {
  if (!isHexColor(roomColor)) {
    return null;
  }
  if (!Array.isArray(updatableFields) || !updatableFields.includes('color')) {
    return null;
  }
  if (isHexColor(identityColor)) {
    return null;
  }
  return roomColor;
}

export interface IRtcColorSyncOptions {
  connection: ICollabConnection;
  notebooks: INotebookTracker | null;
  /** The app's user manager (`app.serviceManager.user`). */
  user: User.IManager | null;
  serverSettings: ServerConnection.ISettings;
}

/**
 * After the tab joins a room, while a notebook shared by RTC is open: the JupyterLab identity's
 * colour becomes the room's colour for us (once per join; a failure is logged once).
 */
export class RtcColorSync implements IDisposable {
  constructor(options: IRtcColorSyncOptions) {
    this._connection = options.connection;
    this._notebooks = options.notebooks;
    this._user = options.user;
    this._serverSettings = options.serverSettings;
    this._connection.sessionsChanged.connect(this._syncSessions, this);
    this._notebooks?.widgetAdded.connect(this._onNotebook, this);
    this._notebooks?.forEach(panel => this._onNotebook(null, panel));
    this._syncSessions();
  }

  /** The colour last given to the identity (null: none yet), for tests and debugging. */
  get synced(): string | null {
    return this._synced;
  }
  /** Whether an open notebook is shared by RTC. */
  get rtcPresent(): boolean {
    let found = false;
    this._notebooks?.forEach(panel => {
      found = found || (!panel.isDisposed && isRtcShared(panel.context.model));
    });
    return found;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._connection.sessionsChanged.disconnect(this._syncSessions, this);
    this._notebooks?.widgetAdded.disconnect(this._onNotebook, this);
    for (const session of this._joinedAs.keys()) {
      session.changed.disconnect(this._onSessionChanged, this);
    }
    this._joinedAs.clear();
  }

  private _syncSessions(): void {
    const now = new Set(this._connection.sessions);
    for (const session of Array.from(this._joinedAs.keys())) {
      if (!now.has(session)) {
        session.changed.disconnect(this._onSessionChanged, this);
        this._joinedAs.delete(session);
        if (this._latest === session) {
          this._latest = null;
        }
      }
    }
    for (const session of now) {
      if (!this._joinedAs.has(session)) {
        this._joinedAs.set(session, null);
        session.changed.connect(this._onSessionChanged, this);
        this._onSessionChanged(session, 'state');
      }
    }
  }

  private _onSessionChanged(session: IRoomSession, change: RoomChange): void {
    if (change !== 'state' && change !== 'members') {
      return;
    }
    const as = session.joined ? (session.you?.session ?? null) : null;
    if (as === this._joinedAs.get(session)) {
      return;
    }
    this._joinedAs.set(session, as);
    if (as !== null) {
      // A join (or a re-join): this room's colour for us is the one to show.
      this._latest = session;
      this._attempted = null;
      this._check();
    }
  }

  private _onNotebook(_: INotebookTracker | null, panel: NotebookPanel): void {
    void panel.context.ready.then(() => this._check());
    if (isRtcShared(panel.context.model)) {
      this._check();
    }
  }

  private _check(): void {
    const user = this._user;
    const session = this._latest;
    if (this._disposed || !user || !session || !this.rtcPresent) {
      return;
    }
    if (!user.isReady) {
      void user.ready.then(() => this._check());
      return;
    }
    const color = colorToSync(
      user.identity?.color,
      user.permissions?.updatable_fields,
      session.you?.color
    );
    if (!color || color === this._attempted) {
      return;
    }
    this._attempted = color;
    void this._patch(user, color);
  }

  private async _patch(user: User.IManager, color: string): Promise<void> {
    const settings = this._serverSettings;
    try {
      const response = await ServerConnection.makeRequest(
        URLExt.join(settings.baseUrl, 'api/me'),
        {
          method: 'PATCH',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ color })
        },
        settings
      );
      if (!response.ok) {
        throw new ServerConnection.ResponseError(response);
      }
      await user.refreshUser();
      this._synced = color;
    } catch (reason) {
      if (!this._warned) {
        this._warned = true;
        console.warn('collab-widget: could not give the JupyterLab user the room colour', reason);
      }
    }
  }

  private _connection: ICollabConnection;
  private _notebooks: INotebookTracker | null;
  private _user: User.IManager | null;
  private _serverSettings: ServerConnection.ISettings;
  /** Per session: the public session id it is joined as (null: not joined). */
  private _joinedAs = new Map<IRoomSession, string | null>();
  private _latest: IRoomSession | null = null;
  private _attempted: string | null = null;
  private _synced: string | null = null;
  private _warned = false;
  private _disposed = false;
}
