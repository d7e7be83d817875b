/**
 * Remote presence drawn in open notebooks: for each notebook panel whose path a remote
 * session reports, a marker at the edge of the cell it is in (initials chips, also in
 * command mode) and its caret pushed into that cell's CodeMirror editor (cursors.ts).
 * The settings decide what is drawn (rtc.ts, drawDecision): nothing without
 * `showRemoteCursors`, no labels without `showRemoteLabels`, and in a notebook shared by
 * real-time collaboration no caret for a person whose caret RTC draws there.
 */
import type { Cell } from '@jupyterlab/cells';
import { CodeMirrorEditor } from '@jupyterlab/codemirror';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';
import { ISignal } from '@lumino/signaling';

import {
  caretsTransaction,
  IRemoteCaret,
  nameWithActivity,
  remoteCaretsField
} from './remoteCursors';
import { trans } from '../i18n';
import { IPresenceState } from '../protocol';
import { IRemoteCursor } from '../tokens';
import { drawDecision, NotebookRtc } from './rtc';
import { DEFAULT_PRESENCE_SETTINGS, IPresenceSettings } from './settings';

/** Chips shown per cell at most, before "+N". */
const MAX_CHIPS = 3;
/** Height of a chip plus the gap to the next one (style/base.css). */
const CHIP_STEP = 20;

/** Where remote cursors come from. */
export interface IRemoteSource {
  readonly cursors: ReadonlyArray<IRemoteCursor>;
  readonly changed: ISignal<unknown, void>;
}

/** The presence settings and their changes (a PresenceSettings). */
export interface IDrawSettings {
  readonly value: Readonly<IPresenceSettings>;
  readonly changed: ISignal<unknown, Readonly<IPresenceSettings>>;
}

/** Attribute set on a notebook panel's node when the notebook is shared by RTC. */
export const RTC_ATTRIBUTE = 'data-collab-rtc';

/** The cell of `notebook` a state points at: by nbformat id, else by index. */
export function findCell(
  panel: NotebookPanel,
  state: IPresenceState
): { cell: Cell; index: number } | null {
  const cells = panel.content.widgets;
  if (state.cell_id !== undefined) {
    for (let i = 0; i < cells.length; i++) {
      if (cells[i].model.id === state.cell_id) {
        return { cell: cells[i], index: i };
      }
    }
  }
  // Not found by id: a cell the other copy added, or a notebook without stored ids
  // (nbformat < 4.5 gets fresh ids in every browser). The index is the best guess.
  const index = state.cell_index;
  if (index !== undefined && index < cells.length) {
    return { cell: cells[index], index };
  }
  return null;
}

/** Draws the remote cursors of one notebook panel. */
export class NotebookCursors implements IDisposable {
  constructor(panel: NotebookPanel, source: IRemoteSource, settings: IDrawSettings | null = null) {
    this._panel = panel;
    this._source = source;
    this._settings = settings;
    this._rtc = new NotebookRtc(panel.context.model);
    if (this._rtc.shared) {
      panel.node.setAttribute(RTC_ATTRIBUTE, 'true');
    }
    this._rtc.changed.connect(this.schedule, this);
    settings?.changed.connect(this.schedule, this);
    source.changed.connect(this.schedule, this);
    panel.context.pathChanged.connect(this.schedule, this);
    panel.content.modelContentChanged.connect(this.schedule, this);
    panel.disposed.connect(this.dispose, this);
    this.schedule();
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** The notebook's real-time collaboration state. */
  get rtc(): NotebookRtc {
    return this._rtc;
  }

  /** Render on the next frame (coalesces bursts of batches). */
  schedule(): void {
    if (this._disposed || this._frame !== null) {
      return;
    }
    this._frame = window.requestAnimationFrame(() => {
      this._frame = null;
      this.render();
    });
  }

  render(): void {
    if (this._disposed) {
      return;
    }
    const path = this._panel.context.path;
    const settings = this._settings?.value ?? DEFAULT_PRESENCE_SETTINGS;
    const byCell = new Map<Cell, IRemoteCursor[]>();
    for (const cursor of this._source.cursors) {
      if (cursor.state.path !== path || !settings.showRemoteCursors) {
        continue;
      }
      const found = findCell(this._panel, cursor.state);
      if (!found) {
        continue;
      }
      const list = byCell.get(found.cell);
      if (list) {
        list.push(cursor);
      } else {
        byCell.set(found.cell, [cursor]);
      }
    }
    const cells = new Set<Cell>([...this._drawn, ...byCell.keys()]);
    for (const cell of cells) {
      const cursors = byCell.get(cell) ?? [];
      if (cell.isDisposed) {
        this._drawn.delete(cell);
        continue;
      }
      this._renderMarker(cell, cursors);
      this._renderCarets(cell, cursors, settings);
      if (cursors.length) {
        this._drawn.add(cell);
      } else {
        this._drawn.delete(cell);
      }
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    if (this._frame !== null) {
      window.cancelAnimationFrame(this._frame);
    }
    this._source.changed.disconnect(this.schedule, this);
    this._settings?.changed.disconnect(this.schedule, this);
    this._rtc.dispose();
    if (!this._panel.isDisposed) {
      this._panel.context.pathChanged.disconnect(this.schedule, this);
      this._panel.content.modelContentChanged.disconnect(this.schedule, this);
      this._panel.disposed.disconnect(this.dispose, this);
      for (const cell of this._drawn) {
        if (!cell.isDisposed) {
          this._renderMarker(cell, []);
          this._renderCarets(cell, [], DEFAULT_PRESENCE_SETTINGS);
        }
      }
    }
    this._drawn.clear();
  }

  /** The initials chips at the cell's left edge (no layout change, no pointer events). */
  private _renderMarker(cell: Cell, cursors: IRemoteCursor[]): void {
    // In the input wrapper (position: relative, overflow visible), over the prompt column.
    const host =
      cell.node.querySelector<HTMLElement>(':scope > .jp-Cell-inputWrapper') ?? cell.node;
    let marker = host.querySelector<HTMLElement>(':scope > .jp-CollabCellMarker');
    if (!cursors.length) {
      marker?.remove();
      cell.node.classList.remove('jp-mod-collabPresence');
      return;
    }
    // One chip per user (a user with two tabs in this cell is one person).
    const users = new Map<string, IRemoteCursor>();
    for (const c of cursors) {
      const known = users.get(c.username);
      if (!known || known.ts < c.ts) {
        users.set(c.username, c);
      }
    }
    const people = Array.from(users.values()).sort((a, b) => a.name.localeCompare(b.name));
    // As many chips as the input area is tall (a one-line cell: one), then "+N".
    const fit = Math.max(1, Math.min(MAX_CHIPS, Math.floor((host.offsetHeight - 2) / CHIP_STEP)));
    const key =
      `${fit};` + people.map(p => `${p.username}|${p.name}|${p.color}|${activityOf(p)}`).join(',');
    if (!marker) {
      marker = document.createElement('div');
      marker.className = 'jp-CollabCellMarker';
      marker.dataset.testid = 'cell-presence';
      marker.setAttribute('role', 'note');
      host.appendChild(marker);
      cell.node.classList.add('jp-mod-collabPresence');
    }
    if (marker.dataset.key === key) {
      return;
    }
    marker.dataset.key = key;
    marker.dataset.usernames = people.map(p => p.username).join(' ');
    const names = people.map(p => nameWithActivity(p.name, activityOf(p)));
    marker.setAttribute('aria-label', trans.__('In this cell: %1', names.join(', ')));
    marker.textContent = '';
    const bar = document.createElement('div');
    bar.className = 'jp-CollabCellMarker-bar';
    const colors = people.map(p => p.color);
    bar.style.background =
      colors.length === 1
        ? colors[0]
        : `linear-gradient(${colors
            .map((c, i) => `${c} ${(i * 100) / colors.length}% ${((i + 1) * 100) / colors.length}%`)
            .join(', ')})`;
    marker.appendChild(bar);
    const chips = document.createElement('div');
    chips.className = 'jp-CollabCellMarker-chips';
    const shown = people.slice(0, fit);
    for (const p of shown) {
      const chip = document.createElement('span');
      chip.className = 'jp-CollabCellMarker-chip';
      chip.dataset.username = p.username;
      chip.dataset.activity = activityOf(p);
      chip.style.backgroundColor = p.color;
      chip.style.color = p.textColor;
      chip.textContent = p.initials || '?';
      chips.appendChild(chip);
    }
    if (people.length > shown.length) {
      const more = document.createElement('span');
      more.className = 'jp-CollabCellMarker-more';
      more.textContent = `+${people.length - shown.length}`;
      chips.lastElementChild?.appendChild(more);
    }
    marker.appendChild(chips);
  }

  /** Push the carets of edit-mode cursors into the cell's editor (if it has one yet). */
  private _renderCarets(
    cell: Cell,
    cursors: IRemoteCursor[],
    settings: Readonly<IPresenceSettings>
  ): void {
    const editor = cell.editor;
    if (!(editor instanceof CodeMirrorEditor)) {
      return;
    }
    const view = editor.editor;
    const current = view.state.field(remoteCaretsField, false);
    if (current === undefined) {
      return; // the extension is not in this editor
    }
    const carets: IRemoteCaret[] = [];
    for (const c of cursors) {
      const s = c.state;
      if (s.mode === 'command' || s.line === undefined) {
        continue;
      }
      const draw = drawDecision(settings, this._rtc.drawsFor(c.username));
      if (!draw.caret) {
        continue; // RTC draws this person's caret here (or the settings say no carets)
      }
      carets.push({
        session: c.session,
        username: c.username,
        name: c.name,
        color: c.color,
        textColor: c.textColor,
        activity: activityOf(c),
        line: s.line,
        column: s.column ?? 0,
        selections: s.selections ?? [],
        label: draw.label
      });
    }
    if (JSON.stringify(carets) === JSON.stringify(current)) {
      return;
    }
    view.dispatch(caretsTransaction(carets));
  }

  private _panel: NotebookPanel;
  private _source: IRemoteSource;
  private _settings: IDrawSettings | null;
  private _rtc: NotebookRtc;
  private _drawn = new Set<Cell>();
  private _frame: number | null = null;
  private _disposed = false;
}

function activityOf(c: IRemoteCursor): 'active' | 'idle' | 'away' {
  return c.state.activity ?? 'active';
}

/** One NotebookCursors per open notebook panel. */
export class CellPresenceRenderer implements IDisposable {
  constructor(
    notebooks: INotebookTracker,
    source: IRemoteSource,
    settings: IDrawSettings | null = null
  ) {
    this._notebooks = notebooks;
    this._source = source;
    this._settings = settings;
    notebooks.forEach(panel => this._add(panel));
    notebooks.widgetAdded.connect(this._onAdded, this);
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** The RTC state of an open notebook panel (null: not drawn here). */
  rtcOf(panel: NotebookPanel): NotebookRtc | null {
    return this._renderers.get(panel)?.rtc ?? null;
  }

  /** Render every notebook again soon (an editor appeared, e.g. a cell scrolled into view). */
  scheduleAll(): void {
    for (const r of this._renderers.values()) {
      r.schedule();
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._notebooks.widgetAdded.disconnect(this._onAdded, this);
    for (const r of this._renderers.values()) {
      r.dispose();
    }
    this._renderers.clear();
  }

  private _onAdded(_: INotebookTracker, panel: NotebookPanel): void {
    this._add(panel);
  }

  private _add(panel: NotebookPanel): void {
    if (this._renderers.has(panel) || panel.isDisposed) {
      return;
    }
    const renderer = new NotebookCursors(panel, this._source, this._settings);
    this._renderers.set(panel, renderer);
    panel.disposed.connect(() => this._renderers.delete(panel));
  }

  private _notebooks: INotebookTracker;
  private _source: IRemoteSource;
  private _settings: IDrawSettings | null;
  private _renderers = new Map<NotebookPanel, NotebookCursors>();
  private _disposed = false;
}
