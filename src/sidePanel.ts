/**
 * A room in JupyterLab's right side panel: a Lumino widget hosting a RoomRenderer over its
 * own lease of the room (the cell's widget keeps its own view), so the room stays in sight
 * while the notebook scrolls. SidePanels keeps one panel per room.
 */
import type { LabIcon } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { trans } from './i18n';
import type { IClassroomLab, ICollabConnection, ICollabPresence, IRoomLease } from './tokens';
import { h } from './view/dom';
import { RoomRenderer } from './view/roomRenderer';

export interface IRoomPanelOptions {
  room: string;
  connection: ICollabConnection;
  presence?: ICollabPresence | null;
  classroom?: IClassroomLab | null;
  /** The icon of the panel's tab (JupyterLab's `usersIcon`). */
  icon?: LabIcon;
}

/** One room in the side panel. Disposing it (closing it) lets go of its lease. */
export class RoomPanel extends Widget {
  constructor(options: IRoomPanelOptions) {
    super();
    const { room, connection } = options;
    this.room = room;
    this.addClass('jp-CollabSidePanel');
    this.node.dataset.testid = 'collab-side-panel';
    this.node.dataset.room = room;
    this.title.label = room;
    this.title.caption = trans.__('Collaboration room %1', room);
    if (options.icon) {
      this.title.icon = options.icon;
    }
    this.title.closable = true;

    const close = h('button', {
      className: 'jp-CollabSidePanel-close',
      testid: 'collab-side-panel-close',
      text: '×',
      attrs: {
        type: 'button',
        title: trans.__('Close this panel (the room stays in the notebook)'),
        'aria-label': trans.__('Close the side panel of %1', room)
      }
    });
    close.addEventListener('click', () => this.close());
    const bar = h(
      'div',
      { className: 'jp-CollabSidePanel-bar' },
      h('span', {
        className: 'jp-CollabSidePanel-heading',
        text: trans.__('Collaboration room')
      }),
      close
    );
    const host = h('div');
    this.node.append(bar, h('div', { className: 'jp-CollabSidePanel-body' }, host));

    this._lease = connection.acquire(room);
    this._renderer = new RoomRenderer(
      host,
      connection,
      options.presence ?? null,
      undefined,
      options.classroom ?? null
    );
    this._renderer.setSession(this._lease.session);
  }

  /** The room shown. */
  readonly room: string;

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._renderer.dispose();
    this._lease.dispose();
    super.dispose();
  }

  /** Closing the panel (its tab, its × button, a command) disposes it. */
  protected onCloseRequest(msg: Message): void {
    super.onCloseRequest(msg);
    this.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._renderer.scrollToBottom();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this._renderer.scrollToBottom();
  }

  private _lease: IRoomLease;
  private _renderer: RoomRenderer;
}

/** Where panels go: JupyterLab's shell (its right area). */
export interface IPanelShell {
  add(widget: Widget, area: 'right', options?: { rank?: number }): void;
  activateById(id: string): void;
}

export interface ISidePanelsOptions extends Omit<IRoomPanelOptions, 'room'> {
  shell: IPanelShell;
  /** Where in the right area the panels go (JupyterLab's ranks: lower first). */
  rank?: number;
  /** Called with each new panel (JupyterLab's widget tracker, which restores the open panels
   * after a reload). */
  added?: (panel: RoomPanel) => void;
}

/** The rooms shown in the right side panel, one panel per room. */
export class SidePanels {
  constructor(options: ISidePanelsOptions) {
    this._options = options;
  }

  /** Show `room` in the side panel (the existing panel if it is there) and bring it forward. */
  open(room: string): RoomPanel {
    let panel = this._panels.get(room);
    if (!panel || panel.isDisposed) {
      const { shell, rank, added: onAdded, ...rest } = this._options;
      panel = new RoomPanel({ ...rest, room });
      panel.id = `collab-side-panel-${++this._counter}`;
      this._panels.set(room, panel);
      const added = panel;
      added.disposed.connect(() => {
        if (this._panels.get(room) === added) {
          this._panels.delete(room);
        }
      });
      shell.add(panel, 'right', { rank: rank ?? 900 });
      onAdded?.(panel);
    }
    this._options.shell.activateById(panel.id);
    return panel;
  }

  /** The panel of `room`, if it is open. */
  get(room: string): RoomPanel | undefined {
    return this._panels.get(room);
  }

  /** The rooms with a panel. */
  get rooms(): string[] {
    return Array.from(this._panels.keys());
  }

  /** Close every panel. */
  dispose(): void {
    for (const panel of Array.from(this._panels.values())) {
      panel.dispose();
    }
    this._panels.clear();
  }

  private _options: ISidePanelsOptions;
  private _panels = new Map<string, RoomPanel>();
  private _counter = 0;
}
