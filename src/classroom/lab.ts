/**
 * ClassroomLab: classroom mode's JupyterLab side (IClassroomLab), asked for by the Room
 * widget's views: insert a snippet below the active cell, copy, highlight code, follow a
 * member (Follower + FollowBar), make an own copy of a shared notebook.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import type { Cell } from '@jupyterlab/cells';
import type { INotebookTracker, Notebook, NotebookPanel } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import type { Panel } from '@lumino/widgets';

import type { IClassroomLab, ICollabConnection, IFollowing, IRoomSession } from '../tokens';
import { copyText } from './clipboard';
import { Follower } from './follow';
import { FollowBar } from './followBar';
import { LabFollowHost } from './followHost';
import { highlightCode } from './highlight';
import { insertCodeBelow, showsRoom } from './insert';
import { makeOwnCopy } from './ownCopy';

export interface IClassroomLabOptions {
  app: JupyterFrontEnd;
  connection: ICollabConnection;
  notebooks: INotebookTracker | null;
  languages: IEditorLanguageRegistry | null;
  /** Puts `following` into the tab's presence (LocalPresence.setFollowing), if present. */
  setFollowing?: (username: string | null) => void;
}

export class ClassroomLab implements IClassroomLab, IDisposable {
  constructor(options: IClassroomLabOptions) {
    this._app = options.app;
    this._connection = options.connection;
    this._notebooks = options.notebooks;
    this._languages = options.languages;
    this.host = new LabFollowHost({
      app: options.app,
      notebooks: options.notebooks,
      setFollowing: options.setFollowing ?? (() => undefined)
    });
    this.follower = new Follower({ host: this.host, rooms: options.connection });
    this.follower.followingChanged.connect((_, following) =>
      this._followingChanged.emit(following)
    );
    this._bar = this._newBar();
    // The bar lives in the followed notebook's header: closing that notebook disposes it
    // with the panel. The next change of the follower brings a new one.
    this.follower.changed.connect(() => {
      if (this._bar.isDisposed && !this._disposed) {
        this._bar = this._newBar();
      }
    });
    // "My cell": the last active cell of each notebook that is not a Room widget's cell.
    this._notebooks?.activeCellChanged.connect((_, cell) => {
      const panel = this._notebooks?.currentWidget;
      if (cell && panel && !showsRoom(cell.node)) {
        this._workCells.set(panel.content, cell);
      }
    });
  }

  /** The parts, for tests (window.collabClassroom). */
  readonly host: LabFollowHost;
  readonly follower: Follower;
  get bar(): FollowBar {
    return this._bar;
  }

  get following(): IFollowing | null {
    return this.follower.following;
  }
  get followingChanged(): ISignal<IClassroomLab, IFollowing | null> {
    return this._followingChanged;
  }
  get currentPath(): string | null {
    const panel = this._notebooks?.currentWidget;
    return panel && !panel.isDisposed ? panel.context.path : null;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }

  async insertBelow(code: string): Promise<string | null> {
    const notebook = this._notebooks?.currentWidget?.content ?? null;
    const work = notebook ? this._workCells.get(notebook) : undefined;
    const index = work && notebook ? notebook.widgets.indexOf(work) : -1;
    return insertCodeBelow(notebook, code, index >= 0 ? index : null);
  }

  copy(text: string): Promise<boolean> {
    return copyText(text);
  }

  highlight(code: string, language: string, el: HTMLElement): Promise<void> {
    return highlightCode(this._languages, code, language, el);
  }

  follow(target: { session: IRoomSession; username: string } | null): void {
    this.follower.follow(target);
  }

  resume(): void {
    this.follower.resume();
  }

  makeOwnCopy(path: string): Promise<string> {
    return makeOwnCopy(path, {
      contents: this._app.serviceManager.contents,
      userName: this._userName(),
      openContent: p => {
        const panel = this.host.panelFor(p);
        return panel?.context.model.toJSON() ?? null;
      },
      open: async p => {
        await this._app.commands.execute('docmanager:open', { path: p });
      }
    });
  }

  isRealTime(path: string): boolean {
    const panel: NotebookPanel | null = this.host.panelFor(path);
    if (panel) {
      return panel.context.model.collaborative === true;
    }
    // Not open here: whether the drive would open it collaboratively.
    try {
      const factory = this._app.serviceManager.contents.getSharedModelFactory(path);
      return factory?.collaborative === true;
    } catch {
      return false;
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._bar.dispose();
    this.follower.dispose();
    Signal.clearData(this);
  }

  /** The user's display name: from a joined room, else from the server's identity. */
  private _userName(): string | null {
    for (const session of this._connection.sessions) {
      if (session.you?.display_name) {
        return session.you.display_name;
      }
    }
    const identity = this._app.serviceManager.user?.identity;
    return identity?.display_name || identity?.name || null;
  }

  /** The bar's place: the followed notebook's content header, else the current one's. */
  private _newBar(): FollowBar {
    return new FollowBar(this.follower, { slotFor: path => this._slotFor(path) });
  }

  /** The followed notebook's header; none (a floating bar) without a followed notebook. */
  private _slotFor(path: string | null): Panel | null {
    const panel = path ? this.host.panelFor(path) : null;
    return panel && !panel.isDisposed ? panel.contentHeader : null;
  }

  private _app: JupyterFrontEnd;
  private _connection: ICollabConnection;
  private _notebooks: INotebookTracker | null;
  private _languages: IEditorLanguageRegistry | null;
  private _disposed = false;
  private _bar: FollowBar;
  private _workCells = new WeakMap<Notebook, Cell>();
  private _followingChanged = new Signal<IClassroomLab, IFollowing | null>(this);
}
