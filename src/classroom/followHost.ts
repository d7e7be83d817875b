/**
 * LabFollowHost: the follower's way into JupyterLab (IFollowHost): finds, opens and watches
 * notebook panels, scrolls a cell into view without touching the user's active cell.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';

import type { IPresenceState } from '../protocol';
import type { IFollowHost, IWatchHandlers } from './follow';
import { cellIndexOf } from './leader';
import { INPUT_EVENTS, isOwnInput } from './ownInput';

/**
 * A path without jupyter-collaboration 1-2's `RTC:` drive, also where that drive is not
 * registered (a leader with real-time collaboration, a follower without).
 */
export function stripRtcDrive(path: string): string {
  return path.startsWith('RTC:') ? path.slice(4).replace(/^\/+/, '') : path;
}

export interface ILabFollowHostOptions {
  app: JupyterFrontEnd;
  notebooks: INotebookTracker | null;
  /** Puts `following` into the tab's presence (LocalPresence.setFollowing), if present. */
  setFollowing: (username: string | null) => void;
}

export class LabFollowHost implements IFollowHost {
  constructor(options: ILabFollowHostOptions) {
    this._app = options.app;
    this._notebooks = options.notebooks;
    this.setFollowing = options.setFollowing;
  }

  readonly setFollowing: (username: string | null) => void;

  /** The open notebook panel of `path` (compared without a drive prefix such as `RTC:`). */
  panelFor(path: string): NotebookPanel | null {
    if (!this._notebooks) {
      return null;
    }
    const wanted = this._localPath(path);
    return (
      this._notebooks.find(p => !p.isDisposed && this._localPath(p.context.path) === wanted) ?? null
    );
  }

  isOpen(path: string): boolean {
    return this.panelFor(path) !== null;
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this._app.serviceManager.contents.get(this._localPath(path), { content: false });
      return true;
    } catch {
      return false;
    }
  }

  async open(path: string): Promise<boolean> {
    let panel = this.panelFor(path);
    if (panel) {
      this._app.shell.activateById(panel.id);
    } else {
      // Whom we follow says which file: only ever a notebook, opened as one.
      if (!this._localPath(path).endsWith('.ipynb')) {
        return false;
      }
      await this._app.commands.execute('docmanager:open', {
        path: this._localPath(path),
        factory: 'Notebook'
      });
      panel = this.panelFor(path);
    }
    if (!panel) {
      return false;
    }
    await panel.context.ready;
    await panel.revealed;
    return !panel.isDisposed;
  }

  reveal(path: string, state: IPresenceState): boolean {
    const panel = this.panelFor(path);
    const index = panel ? cellIndexOf(panel.content.widgets, state) : null;
    if (!panel || index === null || !panel.isVisible) {
      return false;
    }
    // scrollToItem works in a windowed notebook too (a cell out of view may have no node),
    // and unlike scrollToCell it neither activates nor selects the cell.
    panel.content.scrollToItem(index, 'center').catch(() => {
      // superseded by a newer scroll, or the notebook went away
    });
    return true;
  }

  watch(path: string, handlers: IWatchHandlers): IDisposable | null {
    const panel = this.panelFor(path);
    if (!panel) {
      return null;
    }
    // The notebook area only: the toolbar and the content header (the follow bar) are not.
    const node = panel.content.node;
    const onEvent = (event: Event): void => {
      const target = event.target;
      if (target instanceof Node && node.contains(target) && isOwnInput(event)) {
        handlers.onInput();
      }
    };
    const onDisposed = (): void => handlers.onClosed();
    // On the window, capturing: it sees events first, before JupyterLab's keyboard shortcuts
    // (handled on the document, capturing) stop them on their way to the notebook.
    for (const type of INPUT_EVENTS) {
      window.addEventListener(type, onEvent, { capture: true, passive: true });
    }
    panel.disposed.connect(onDisposed);
    let disposed = false;
    return {
      get isDisposed(): boolean {
        return disposed;
      },
      dispose(): void {
        if (disposed) {
          return;
        }
        disposed = true;
        for (const type of INPUT_EVENTS) {
          window.removeEventListener(type, onEvent, { capture: true });
        }
        panel.disposed.disconnect(onDisposed);
      }
    };
  }

  /** A path without its drive prefix (`RTC:a.ipynb` is `a.ipynb`). */
  private _localPath(path: string): string {
    const contents = this._app.serviceManager.contents;
    return stripRtcDrive(contents.localPath(contents.normalize(path)));
  }

  private _app: JupyterFrontEnd;
  private _notebooks: INotebookTracker | null;
}
