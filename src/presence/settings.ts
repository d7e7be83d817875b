/**
 * The presence part of the user's settings (schema/settings.json, plugin `collab-widget:settings`,
 * editable in JupyterLab's Settings Editor): whether a room shares my cursor by default, whether
 * to draw the others' cursors and their labels, and who draws carets in a notebook shared in real
 * time. Without a settings registry (or before it answered) the schema's defaults hold.
 */
import type { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

/** The settings plugin id (the schema is schema/settings.json). */
export const SETTINGS_PLUGIN = 'collab-widget:settings';

/**
 * Carets in a notebook shared by real-time collaboration: `auto` and `rtc` let it draw them (we
 * keep the cell markers), `ours` draws collab-widget's carets too.
 */
export type RtcCursors = 'auto' | 'rtc' | 'ours';

export interface IPresenceSettings {
  shareCursorByDefault: boolean;
  showRemoteCursors: boolean;
  showRemoteLabels: boolean;
  rtcCursors: RtcCursors;
}

/** The schema's defaults. */
export const DEFAULT_PRESENCE_SETTINGS: Readonly<IPresenceSettings> = Object.freeze({
  shareCursorByDefault: true,
  showRemoteCursors: true,
  showRemoteLabels: true,
  rtcCursors: 'auto'
});

function isRtcCursors(value: unknown): value is RtcCursors {
  return value === 'auto' || value === 'rtc' || value === 'ours';
}

/** The presence keys of a composite settings object; a missing or wrong value: its default. */
export function readPresenceSettings(raw: unknown): IPresenceSettings {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const flag = (key: keyof IPresenceSettings): boolean => {
    const value = r[key];
    return typeof value === 'boolean' ? value : (DEFAULT_PRESENCE_SETTINGS[key] as boolean);
  };
  return {
    shareCursorByDefault: flag('shareCursorByDefault'),
    showRemoteCursors: flag('showRemoteCursors'),
    showRemoteLabels: flag('showRemoteLabels'),
    rtcCursors: isRtcCursors(r.rtcCursors) ? r.rtcCursors : DEFAULT_PRESENCE_SETTINGS.rtcCursors
  };
}

function same(a: IPresenceSettings, b: IPresenceSettings): boolean {
  return (
    a.shareCursorByDefault === b.shareCursorByDefault &&
    a.showRemoteCursors === b.showRemoteCursors &&
    a.showRemoteLabels === b.showRemoteLabels &&
    a.rtcCursors === b.rtcCursors
  );
}

/** The current presence settings, following the settings registry's changes. */
export class PresenceSettings implements IDisposable {
  get value(): Readonly<IPresenceSettings> {
    return this._value;
  }
  /** Emitted with the new value when one of the presence keys changed. */
  get changed(): ISignal<this, Readonly<IPresenceSettings>> {
    return this._changed;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Load `collab-widget:settings` and follow it; failures keep the defaults (one warning). */
  async load(registry: ISettingRegistry): Promise<void> {
    try {
      const settings = await registry.load(SETTINGS_PLUGIN);
      if (this._disposed) {
        return;
      }
      this._settings = settings;
      settings.changed.connect(this._onChanged, this);
      this._onChanged(settings);
    } catch (reason) {
      console.warn(`collab-widget: could not load ${SETTINGS_PLUGIN}; using the defaults`, reason);
    }
  }

  /** Set the value (what the registry's changes do). */
  update(value: IPresenceSettings): void {
    if (this._disposed || same(value, this._value)) {
      return;
    }
    this._value = Object.freeze({ ...value });
    this._changed.emit(this._value);
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._settings?.changed.disconnect(this._onChanged, this);
    this._settings = null;
    Signal.clearData(this);
  }

  private _onChanged(settings: ISettingRegistry.ISettings): void {
    this.update(readPresenceSettings(settings.composite));
  }

  private _value: Readonly<IPresenceSettings> = DEFAULT_PRESENCE_SETTINGS;
  private _settings: ISettingRegistry.ISettings | null = null;
  private _disposed = false;
  private _changed = new Signal<this, Readonly<IPresenceSettings>>(this);
}
