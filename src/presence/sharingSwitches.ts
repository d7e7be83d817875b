/**
 * The "share my cursor" switches of a tab: a default (the `shareCursorByDefault` setting, on
 * unless the user changed it) and the rooms switched against it, kept in sessionStorage (per
 * tab, for as long as it lives).
 */

/** sessionStorage key of the rooms this tab does not share its cursor with. */
export const STORAGE_KEY = 'collab-widget:presence-off';
/** sessionStorage key of the rooms switched on while the default is off. */
export const STORAGE_KEY_ON = 'collab-widget:presence-on';

export class SharingSwitches {
  /**
   * @param storage where the switches are kept (null: only while the page lives).
   * @param byDefault whether a room nobody switched shares the cursor.
   */
  constructor(storage: Storage | null, byDefault = true) {
    this._storage = storage;
    this._off = load(storage, STORAGE_KEY);
    this._on = load(storage, STORAGE_KEY_ON);
    this._byDefault = byDefault;
  }

  /** Whether a room nobody switched shares the cursor. */
  get byDefault(): boolean {
    return this._byDefault;
  }
  set byDefault(value: boolean) {
    this._byDefault = value;
  }

  isSharing(room: string): boolean {
    if (this._off.has(room)) {
      return false;
    }
    return this._on.has(room) || this._byDefault;
  }

  /** Switch sharing for `room`; false when it already was so. */
  set(room: string, on: boolean): boolean {
    if (this.isSharing(room) === on) {
      return false;
    }
    if (on) {
      this._off.delete(room);
      this._on.add(room);
    } else {
      this._on.delete(room);
      this._off.add(room);
    }
    try {
      this._storage?.setItem(STORAGE_KEY, JSON.stringify(Array.from(this._off)));
      this._storage?.setItem(STORAGE_KEY_ON, JSON.stringify(Array.from(this._on)));
    } catch {
      // storage full or disabled: the switch still holds while the page lives
    }
    return true;
  }

  private _storage: Storage | null;
  private _off: Set<string>;
  private _on: Set<string>;
  private _byDefault: boolean;
}

function load(storage: Storage | null, key: string): Set<string> {
  try {
    const raw = storage?.getItem(key);
    const list: unknown = raw ? JSON.parse(raw) : [];
    return new Set(Array.isArray(list) ? list.filter(x => typeof x === 'string') : []);
  } catch {
    return new Set();
  }
}
