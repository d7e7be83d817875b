/**
 * The "share my cursor" switches of a tab: on by default, off per room, kept in
 * sessionStorage (per tab, for as long as it lives).
 */

/** sessionStorage key of the rooms this tab does not share its cursor with. */
export const STORAGE_KEY = 'collab-widget:presence-off';

export class SharingSwitches {
  /** @param storage where the switches are kept (null: only while the page lives). */
  constructor(storage: Storage | null) {
    this._storage = storage;
    this._off = load(storage);
  }

  isSharing(room: string): boolean {
    return !this._off.has(room);
  }

  /** Switch sharing for `room`; false when it already was so. */
  set(room: string, on: boolean): boolean {
    if (this.isSharing(room) === on) {
      return false;
    }
    if (on) {
      this._off.delete(room);
    } else {
      this._off.add(room);
    }
    try {
      this._storage?.setItem(STORAGE_KEY, JSON.stringify(Array.from(this._off)));
    } catch {
      // storage full or disabled: the switch still holds while the page lives
    }
    return true;
  }

  private _storage: Storage | null;
  private _off: Set<string>;
}

function load(storage: Storage | null): Set<string> {
  try {
    const raw = storage?.getItem(STORAGE_KEY);
    const list: unknown = raw ? JSON.parse(raw) : [];
    return new Set(Array.isArray(list) ? list.filter(x => typeof x === 'string') : []);
  } catch {
    return new Set();
  }
}
