/**
 * RemotePresence: other tabs' presence from every room of this tab, one entry per remote
 * session, resolved against the room's members (name, initials, colour).
 *
 * Presence batches only mark it stale: it is worked out again once per animation frame (or
 * when read), in one pass over the rooms' entries, and `changed` fires in that frame when
 * something changed. Those frames come at most PRESENCE_FPS times a second (the latest state
 * wins): a room of 300 people moving at 20 Hz sends a batch every 30-40 ms, and every frame
 * that moves carets costs the page a paint of its own whatever the script does. Entries are immutable (a change replaces the object), so a cursor whose
 * entry and member are the same objects as before is the same object as before: renderers
 * compare cursors by identity.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { FrameScheduler, frames as tabFrames, ThrottledTask } from '../frame';
import type { IMember, IPresenceEntry } from '../protocol';
import { memberColor, textColorOn } from './state';
import { ICollabConnection, IRemoteCursor, IRoomSession, RoomChange } from '../tokens';
import { displayName, initialsOf } from '../util';

/** What a cursor was made from (same objects: same cursor). */
interface ISource {
  entry: IPresenceEntry;
  member: IMember | undefined;
  room: string;
  cursor: IRemoteCursor;
}

/** Frames a second, at most, in which others' presence is worked out and drawn. */
export const PRESENCE_FPS = 20;

export class RemotePresence implements IDisposable {
  /**
   * @param connection the tab's connection (its room sessions).
   * @param frames the frame scheduler (the tab's by default).
   * @param interval at least this many milliseconds between two frames with presence work
   *   (the app gives 1000 / PRESENCE_FPS; 0: every frame).
   */
  constructor(connection: ICollabConnection, frames: FrameScheduler = tabFrames, interval = 0) {
    this._connection = connection;
    this._frame = new ThrottledTask(this._onFrame, interval, frames, 'update');
    connection.sessionsChanged.connect(this._syncSessions, this);
    this._syncSessions();
  }

  /** Newest entry per remote session, own user's other tabs excluded; sorted by session. */
  get cursors(): ReadonlyArray<IRemoteCursor> {
    this._ensure();
    return this._cursors;
  }
  /** Fires (at most once per frame) when `cursors` changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._frame.cancel();
    this._connection.sessionsChanged.disconnect(this._syncSessions, this);
    for (const session of this._sessions) {
      this._unwatch(session);
    }
    this._sessions.clear();
    Signal.clearData(this);
  }

  private _syncSessions(): void {
    const now = new Set(this._connection.sessions);
    for (const session of this._sessions) {
      if (!now.has(session)) {
        this._unwatch(session);
        this._sessions.delete(session);
      }
    }
    for (const session of now) {
      if (!this._sessions.has(session)) {
        this._sessions.add(session);
        session.presenceChanged.connect(this._invalidate, this);
        session.changed.connect(this._onSessionChanged, this);
      }
    }
    this._invalidate();
  }

  private _unwatch(session: IRoomSession): void {
    session.presenceChanged.disconnect(this._invalidate, this);
    session.changed.disconnect(this._onSessionChanged, this);
  }

  private _onSessionChanged(_: IRoomSession, change: RoomChange): void {
    if (change === 'members') {
      this._invalidate();
    }
  }

  /** Something changed: work it out in the next frame (however many batches come first). */
  private _invalidate(): void {
    if (this._disposed) {
      return;
    }
    this._dirty = true;
    this._frame.schedule();
  }

  private _onFrame = (): void => {
    if (this._disposed) {
      return;
    }
    this._ensure();
    if (this._unannounced) {
      this._unannounced = false;
      this._changed.emit(undefined);
    }
  };

  private _ensure(): void {
    if (this._dirty) {
      this._dirty = false;
      if (this._recompute()) {
        this._unannounced = true;
      }
    }
  }

  /** One pass over every room's entries; true when a cursor changed, came or went. */
  private _recompute(): boolean {
    const next = new Map<string, ISource>();
    for (const session of this._sessions) {
      const own = session.you?.username;
      const members = this._membersOf(session.members);
      for (const entry of session.presence.values()) {
        if (entry.user === own) {
          continue; // this user's other tabs: not a collaborator
        }
        const known = next.get(entry.session);
        if (known && known.entry.ts >= entry.ts) {
          continue;
        }
        const member = members.get(entry.user);
        const before = this._sources.get(entry.session);
        if (
          before &&
          before.entry === entry &&
          before.member === member &&
          before.room === session.name
        ) {
          next.set(entry.session, before);
        } else {
          next.set(entry.session, {
            entry,
            member,
            room: session.name,
            cursor: makeCursor(session.name, entry, member)
          });
        }
      }
    }
    const previous = this._sources;
    this._sources = next;
    let sameKeys = next.size === previous.size;
    let changed = !sameKeys;
    if (sameKeys) {
      for (const [key, source] of next) {
        const before = previous.get(key);
        if (before === undefined) {
          sameKeys = false;
          changed = true;
          break;
        }
        if (before !== source) {
          changed = true;
        }
      }
    }
    if (!changed) {
      return false;
    }
    if (sameKeys) {
      // Same sessions: same order, with the new cursors in place.
      this._cursors = this._cursors.map(c => next.get(c.session)?.cursor ?? c);
    } else {
      this._cursors = Array.from(next.values(), s => s.cursor).sort((a, b) =>
        a.session < b.session ? -1 : a.session > b.session ? 1 : 0
      );
    }
    return true;
  }

  /** A room's members by username (made once per members array). */
  private _membersOf(members: ReadonlyArray<IMember>): Map<string, IMember> {
    let byName = this._memberMaps.get(members);
    if (!byName) {
      byName = new Map(members.map(m => [m.username, m]));
      this._memberMaps.set(members, byName);
    }
    return byName;
  }

  private _connection: ICollabConnection;
  private _frame: ThrottledTask;
  private _sessions = new Set<IRoomSession>();
  private _sources = new Map<string, ISource>();
  private _memberMaps = new WeakMap<ReadonlyArray<IMember>, Map<string, IMember>>();
  private _cursors: IRemoteCursor[] = [];
  private _dirty = false;
  private _unannounced = false;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}

/** How a member is drawn (worked out once per member object, not per batch). */
interface ILook {
  name: string;
  initials: string;
  color: string;
  textColor: string;
}

const looks = new WeakMap<IMember, ILook>();

function lookOf(username: string, member: IMember | undefined): ILook {
  let look = member ? looks.get(member) : undefined;
  if (!look) {
    const color = memberColor(member?.color);
    const user = member ?? { username };
    look = {
      name: displayName(user),
      initials: initialsOf(user),
      color,
      textColor: textColorOn(color)
    };
    if (member) {
      looks.set(member, look);
    }
  }
  return look;
}

function makeCursor(
  room: string,
  entry: IPresenceEntry,
  member: IMember | undefined
): IRemoteCursor {
  const look = lookOf(entry.user, member);
  return {
    session: entry.session,
    room,
    username: entry.user,
    name: look.name,
    initials: look.initials,
    color: look.color,
    textColor: look.textColor,
    state: entry.state,
    ts: entry.ts
  };
}
