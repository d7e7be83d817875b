/**
 * CollabPresence: the tab's cursor presence (ICollabPresence), made of the local tracker,
 * the remote aggregate, the in-notebook renderer and the CodeMirror extension, following the
 * presence settings (settings.ts); beside real-time collaboration, the colour sync (rtc.ts).
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { EditorExtensionRegistry, IEditorExtensionRegistry } from '@jupyterlab/codemirror';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { CellPresenceRenderer, findCell } from './cellPresenceRenderer';
import { frames as tabFrames } from '../frame';
import { remoteCursors } from './remoteCursors';
import { IPresenceState } from '../protocol';
import { PRESENCE_FPS, RemotePresence } from './remotePresence';
import { ICollabConnection, ICollabPresence, IRemoteCursor } from '../tokens';
import { LocalPresence } from './localPresence';
import { RtcColorSync } from './rtc';
import { IPresenceSettings, PresenceSettings } from './settings';

export interface ICollabPresenceOptions {
  app: JupyterFrontEnd;
  connection: ICollabConnection;
  notebooks: INotebookTracker | null;
  editorExtensions: IEditorExtensionRegistry | null;
  /** The settings registry (`collab-widget:settings`); without it, the defaults hold. */
  settings?: ISettingRegistry | null;
}

export class CollabPresence implements ICollabPresence, IDisposable {
  constructor(options: ICollabPresenceOptions) {
    this._app = options.app;
    this._notebooks = options.notebooks;
    let storage: Storage | null = null;
    try {
      storage = window.sessionStorage;
    } catch {
      storage = null;
    }
    this.local = new LocalPresence({
      connection: options.connection,
      notebooks: options.notebooks,
      storage
    });
    this.remoteSource = new RemotePresence(options.connection, tabFrames, 1000 / PRESENCE_FPS);
    this.renderer = options.notebooks
      ? new CellPresenceRenderer(options.notebooks, this.remoteSource, this.settings)
      : null;
    this.settings.changed.connect(this._onSettings, this);
    if (options.settings) {
      // The default share switch may be off: send no presence before the settings are known.
      this.local.holdUntil(this.settings.load(options.settings));
    }
    const services = options.app.serviceManager;
    this.rtcColors = new RtcColorSync({
      connection: options.connection,
      notebooks: options.notebooks,
      user: services.user ?? null,
      serverSettings: services.serverSettings
    });
    this.local.localChanged.connect((_, state) => this._localChanged.emit(state));
    this.local.sharingChanged.connect((_, room) => this._sharingChanged.emit(room));
    this.remoteSource.changed.connect(() => this._remoteChanged.emit(undefined));
    options.notebooks?.widgetAdded.connect((_, panel) => {
      this._notebooksChanged.emit(undefined);
      panel.context.pathChanged.connect(() => this._notebooksChanged.emit(undefined));
      panel.disposed.connect(() => this._notebooksChanged.emit(undefined));
    });
    options.editorExtensions?.addExtension({
      name: 'collab-widget:remote-cursors',
      factory: () =>
        EditorExtensionRegistry.createImmutableExtension(
          remoteCursors({
            created: () => this.renderer?.scheduleAll(),
            localActivity: () => this.local.noteEditorActivity()
          })
        )
    });
  }

  readonly local: LocalPresence;
  readonly remoteSource: RemotePresence;
  readonly renderer: CellPresenceRenderer | null;
  /** The presence settings (defaults until the registry answers). */
  readonly settings = new PresenceSettings();
  /** One colour per person beside real-time collaboration. */
  readonly rtcColors: RtcColorSync;

  get localState(): IPresenceState {
    return this.local.localState;
  }
  get localChanged(): ISignal<ICollabPresence, IPresenceState> {
    return this._localChanged;
  }
  get sharingChanged(): ISignal<ICollabPresence, string> {
    return this._sharingChanged;
  }
  get remote(): ReadonlyArray<IRemoteCursor> {
    return this.remoteSource.cursors;
  }
  get remoteChanged(): ISignal<ICollabPresence, void> {
    return this._remoteChanged;
  }
  get notebooksChanged(): ISignal<ICollabPresence, void> {
    return this._notebooksChanged;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }

  isSharing(room: string): boolean {
    return this.local.isSharing(room);
  }

  setSharing(room: string, on: boolean): void {
    this.local.setSharing(room, on);
  }

  canJumpTo(state: IPresenceState): boolean {
    return this._panelFor(state) !== null;
  }

  async jumpTo(state: IPresenceState): Promise<boolean> {
    const panel = this._panelFor(state);
    if (!panel) {
      return false;
    }
    const found = findCell(panel, state);
    this._app.shell.activateById(panel.id);
    if (!found) {
      return true;
    }
    const notebook = panel.content;
    notebook.activeCellIndex = found.index;
    await notebook.scrollToItem(found.index, 'center');
    return true;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this.rtcColors.dispose();
    this.settings.dispose();
    this.renderer?.dispose();
    this.remoteSource.dispose();
    this.local.dispose();
    Signal.clearData(this);
  }

  private _onSettings(_: PresenceSettings, value: Readonly<IPresenceSettings>): void {
    this.local.setShareByDefault(value.shareCursorByDefault);
  }

  private _panelFor(state: IPresenceState): NotebookPanel | null {
    if (!state.path || !this._notebooks) {
      return null;
    }
    return this._notebooks.find(p => !p.isDisposed && p.context.path === state.path) ?? null;
  }

  private _app: JupyterFrontEnd;
  private _notebooks: INotebookTracker | null;
  private _disposed = false;
  private _localChanged = new Signal<ICollabPresence, IPresenceState>(this);
  private _sharingChanged = new Signal<ICollabPresence, string>(this);
  private _remoteChanged = new Signal<ICollabPresence, void>(this);
  private _notebooksChanged = new Signal<ICollabPresence, void>(this);
}
