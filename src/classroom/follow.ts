/**
 * Follower: follows one member of a room. Opens the notebook the leader is in (when this
 * server has it), keeps the leader's active cell in view as it moves, pauses on the user's
 * own input until "Resume", and never lets two people lock each other into following.
 *
 * JupyterLab is reached only through IFollowHost (followHost.ts), so that the logic can be
 * tested with fakes.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { trans } from '../i18n';
import type { IPresenceState, IUser } from '../protocol';
import type { IFollowing, IRoomSession } from '../tokens';
import { cellKey, followsUser, leaderEntry, memberName } from './leader';

/** What the follower needs from JupyterLab. */
export interface IFollowHost {
  /** Whether a notebook with this path is open here. */
  isOpen(path: string): boolean;
  /** Whether the file exists on this server (false when it cannot be read). */
  exists(path: string): Promise<boolean>;
  /**
   * Open the notebook at `path` (or bring it to the front when open) and wait until its
   * cells can be scrolled to; false when it could not be opened.
   */
  open(path: string): Promise<boolean>;
  /**
   * Scroll the cell `state` points at (`cell_id`, else `cell_index`) into view in the open
   * notebook at `path`, leaving the user's active cell, mode and text alone; false when there
   * is no such notebook or cell, or it is not visible (another tab is in front).
   */
  reveal(path: string, state: IPresenceState): boolean;
  /**
   * Watch the open notebook at `path`: `onInput` on the user's own scroll, click or typing
   * in it, `onClosed` when it closes. Null when it is not open.
   */
  watch(path: string, handlers: IWatchHandlers): IDisposable | null;
  /** Carry `following: username` in this tab's presence (null: clear it). */
  setFollowing(username: string | null): void;
}

/** Callbacks of IFollowHost.watch. */
export interface IWatchHandlers {
  onInput(): void;
  onClosed(): void;
}

/** The tab's rooms (ICollabConnection's part): following stops when its room goes. */
export interface IRoomSource {
  readonly sessions: ReadonlyArray<IRoomSession>;
  readonly sessionsChanged: ISignal<unknown, void>;
}

export interface IFollowerOptions {
  host: IFollowHost;
  rooms?: IRoomSource | null;
}

/** Who to follow. */
export interface IFollowTarget {
  session: IRoomSession;
  username: string;
}

/** The leader's notebook as this tab shows it. */
interface IPlace {
  path: string;
  /** opening: checking and opening; open: shown; missing: not on this server (or unopenable). */
  status: 'opening' | 'open' | 'missing';
  /** The cell last scrolled to (cellKey), so that only moves scroll. */
  revealed: string | null;
}

interface ICurrent {
  session: IRoomSession;
  username: string;
  name: string;
  paused: boolean;
}

export class Follower implements IDisposable {
  constructor(options: IFollowerOptions) {
    this._host = options.host;
    this._rooms = options.rooms ?? null;
    this._rooms?.sessionsChanged.connect(this._onSessionsChanged, this);
  }

  /** Who this tab follows, or null. */
  get following(): IFollowing | null {
    const c = this._current;
    if (!c) {
      return null;
    }
    return { room: c.session.name, username: c.username, name: c.name, paused: c.paused };
  }

  /**
   * A sentence for the user, or null: why following was refused or stopped, or that the
   * leader's notebook is not on this server.
   */
  get notice(): string | null {
    return this._notice;
  }

  /** The path of the leader's notebook while it is open here (where the bar goes), or null. */
  get path(): string | null {
    return this._place?.status === 'open' ? this._place.path : null;
  }

  /** Fires on every change of `following`, `notice` or `path`. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Fires when `following` changed (started, paused, resumed, stopped). */
  get followingChanged(): ISignal<this, IFollowing | null> {
    return this._followingChanged;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /**
   * Follow `target` (replacing whoever was followed), or stop (null). Returns null, or the
   * sentence saying why not (also shown as the notice); a refusal keeps the current state.
   */
  follow(target: IFollowTarget | null): string | null {
    if (this._disposed) {
      return null;
    }
    if (!target) {
      this.stop();
      return null;
    }
    const { session, username } = target;
    const name = memberName(session.members, username);
    const me = session.you?.username ?? null;
    let refusal: string | null = null;
    if (me === null) {
      refusal = trans.__(
        'You are not in the room %1 yet, so you cannot follow %2.',
        session.name,
        name
      );
    } else if (username === me) {
      refusal = trans.__('You cannot follow yourself.');
    } else if (!session.members.some(m => m.username === username)) {
      refusal = trans.__('%1 is not in the room %2.', name, session.name);
    } else if (followsUser(session.presence, username, me)) {
      refusal = trans.__('%1 is following you, so you cannot follow them.', name);
    }
    if (refusal !== null) {
      this._setNotice(refusal);
      return refusal;
    }
    const c = this._current;
    if (c && c.session === session && c.username === username) {
      this._setNotice(null);
      this.resume();
      return null;
    }
    this._end(null, false);
    this._current = { session, username, name, paused: false };
    session.presenceChanged.connect(this._onPresence, this);
    session.memberLeft.connect(this._onMemberLeft, this);
    this._host.setFollowing(username);
    this._notice = null;
    this._update(true);
    this._emitFollowing();
    return null;
  }

  /** Stop following (the bar's "Stop"); also clears the notice. */
  stop(): void {
    this._end(null, true);
  }

  /** Pause following (the user's own scroll, click or typing): the view stays where it is. */
  pause(): void {
    const c = this._current;
    if (!c || c.paused) {
      return;
    }
    c.paused = true;
    this._emitFollowing();
  }

  /** Resume after a pause: jump to the leader's current place (reopening their notebook). */
  resume(): void {
    const c = this._current;
    if (!c) {
      return;
    }
    c.paused = false;
    this._leavePlace();
    this._update(true);
    this._emitFollowing();
  }

  /** Forget the notice (the bar's "Dismiss"). */
  dismissNotice(): void {
    this._setNotice(null);
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._end(null, false);
    this._disposed = true;
    this._rooms?.sessionsChanged.disconnect(this._onSessionsChanged, this);
    Signal.clearData(this);
  }

  /**
   * Bring the view to the leader's place. `force`: scroll to their cell even when it did not
   * move (start, resume, a notebook just opened).
   */
  private _update(force: boolean): void {
    const c = this._current;
    if (!c) {
      return;
    }
    const me = c.session.you?.username ?? null;
    if (me !== null && followsUser(c.session.presence, c.username, me)) {
      this._end(trans.__('%1 started following you; you stopped following them.', c.name), true);
      return;
    }
    if (c.paused) {
      return;
    }
    const entry = leaderEntry(c.session.presence, c.username);
    const path = entry?.state.path;
    if (!entry || !path) {
      // They are in no notebook (or do not share where they are): wait where we are.
      if (!this._place) {
        this._setNotice(trans.__('Waiting for %1 to open a notebook.', c.name));
      }
      return;
    }
    if (!this._place || this._place.path !== path) {
      void this._goTo(path);
      return;
    }
    if (this._place.status !== 'open') {
      return; // opening (it scrolls once open), or missing (retried when the path changes)
    }
    const key = cellKey(entry.state);
    if (key !== null && (force || key !== this._place.revealed)) {
      // Not revealed (a hidden tab, a cell this copy lacks): tried again on the next move.
      this._place.revealed = this._host.reveal(path, entry.state) ? key : null;
    }
  }

  /** Show the leader's notebook: check it exists here, open it, watch it, scroll. */
  private async _goTo(path: string): Promise<void> {
    const c = this._current;
    if (!c) {
      return;
    }
    this._leavePlace();
    const token = this._token;
    const place: IPlace = { path, status: 'opening', revealed: null };
    this._place = place;
    this._setNotice(null, false);
    let opened = false;
    let exists = this._host.isOpen(path);
    if (!exists) {
      exists = await this._host.exists(path).catch(() => false);
    }
    if (token !== this._token) {
      return; // stopped, resumed or moved on meanwhile
    }
    if (exists) {
      opened = await this._host.open(path).catch(() => false);
      if (token !== this._token) {
        return;
      }
    }
    if (!opened) {
      place.status = 'missing';
      this._setNotice(
        exists
          ? trans.__('%1 is in %2, which could not be opened here.', c.name, path)
          : trans.__('%1 is in %2, which you do not have on your server.', c.name, path)
      );
      return;
    }
    place.status = 'open';
    this._watch = this._host.watch(path, {
      onInput: () => this.pause(),
      onClosed: () => this._onClosed(token)
    });
    this._changed.emit(undefined);
    this._update(true);
  }

  /** The user closed the followed notebook: pause (Resume opens it again). */
  private _onClosed(token: number): void {
    if (token !== this._token) {
      return;
    }
    this._leavePlace();
    this.pause();
    this._changed.emit(undefined);
  }

  /** Forget the shown place: stop watching, cancel a pending open. */
  private _leavePlace(): void {
    this._token++;
    this._watch?.dispose();
    this._watch = null;
    this._place = null;
  }

  /** Stop following, with a notice (or none); `announce` emits the change. */
  private _end(notice: string | null, announce: boolean): void {
    const c = this._current;
    this._leavePlace();
    if (c) {
      c.session.presenceChanged.disconnect(this._onPresence, this);
      c.session.memberLeft.disconnect(this._onMemberLeft, this);
      this._current = null;
      this._host.setFollowing(null);
    }
    this._notice = notice;
    if (announce && (c || notice !== null)) {
      this._emitFollowing();
    }
  }

  private _onPresence(): void {
    this._update(false);
  }

  private _onMemberLeft(_: IRoomSession, event: { user: IUser }): void {
    const c = this._current;
    if (c && event.user.username === c.username) {
      this._end(trans.__('%1 left the room; you stopped following them.', c.name), true);
    }
  }

  private _onSessionsChanged(): void {
    const c = this._current;
    const disposed = (c?.session as { isDisposed?: boolean } | undefined)?.isDisposed === true;
    if (c && this._rooms && (disposed || !this._rooms.sessions.includes(c.session))) {
      const notice = trans.__(
        'You left the room %1; you stopped following %2.',
        c.session.name,
        c.name
      );
      this._end(notice, true);
    }
  }

  private _setNotice(notice: string | null, emit = true): void {
    if (notice === this._notice) {
      return;
    }
    this._notice = notice;
    if (emit) {
      this._changed.emit(undefined);
    }
  }

  private _emitFollowing(): void {
    this._changed.emit(undefined);
    this._followingChanged.emit(this.following);
  }

  private _host: IFollowHost;
  private _rooms: IRoomSource | null;
  private _current: ICurrent | null = null;
  private _place: IPlace | null = null;
  private _watch: IDisposable | null = null;
  /** Bumped whenever the shown place is given up: late answers of an old open are ignored. */
  private _token = 0;
  private _notice: string | null = null;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
  private _followingChanged = new Signal<this, IFollowing | null>(this);
}
