/**
 * RemotePresence: other tabs' presence from every room of this tab, one entry per remote
 * session, resolved against the room's members (name, initials, colour).
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { memberColor, textColorOn } from './state';
import { ICollabConnection, IRemoteCursor, IRoomSession, RoomChange } from '../tokens';
import { displayName, initialsOf } from '../util';

export class RemotePresence implements IDisposable {
  constructor(connection: ICollabConnection) {
    this._connection = connection;
    connection.sessionsChanged.connect(this._syncSessions, this);
    this._syncSessions();
  }

  /** Newest entry per remote session, own user's other tabs excluded. */
  get cursors(): ReadonlyArray<IRemoteCursor> {
    return this._cursors;
  }
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
        session.presenceChanged.connect(this._recompute, this);
        session.changed.connect(this._onSessionChanged, this);
      }
    }
    this._recompute();
  }

  private _unwatch(session: IRoomSession): void {
    session.presenceChanged.disconnect(this._recompute, this);
    session.changed.disconnect(this._onSessionChanged, this);
  }

  private _onSessionChanged(_: IRoomSession, change: RoomChange): void {
    if (change === 'members') {
      this._recompute();
    }
  }

  private _recompute(): void {
    const bySession = new Map<string, IRemoteCursor>();
    for (const session of this._sessions) {
      const own = session.you?.username;
      const members = new Map(session.members.map(m => [m.username, m]));
      for (const entry of session.presence.values()) {
        if (entry.user === own) {
          continue; // this user's other tabs: not a collaborator
        }
        const known = bySession.get(entry.session);
        if (known && known.ts >= entry.ts) {
          continue;
        }
        const member = members.get(entry.user);
        const color = memberColor(member?.color);
        const user = member ?? { username: entry.user };
        bySession.set(entry.session, {
          session: entry.session,
          room: session.name,
          username: entry.user,
          name: displayName(user),
          initials: initialsOf(user),
          color,
          textColor: textColorOn(color),
          state: entry.state,
          ts: entry.ts
        });
      }
    }
    const cursors = Array.from(bySession.values()).sort((a, b) =>
      a.session < b.session ? -1 : a.session > b.session ? 1 : 0
    );
    const key = JSON.stringify(cursors);
    if (key === this._key) {
      return;
    }
    this._key = key;
    this._cursors = cursors;
    this._changed.emit(undefined);
  }

  private _connection: ICollabConnection;
  private _sessions = new Set<IRoomSession>();
  private _cursors: IRemoteCursor[] = [];
  private _key = '[]';
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}
