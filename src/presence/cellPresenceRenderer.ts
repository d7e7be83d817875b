/**
 * Remote presence drawn in open notebooks: for each notebook panel whose path a remote
 * session reports, a marker at the edge of the cell it is in (initials chips, also in
 * command mode) and its caret pushed into that cell's CodeMirror editor (cursors.ts).
 * The settings decide what is drawn (rtc.ts, drawDecision): nothing without
 * `showRemoteCursors`, no labels without `showRemoteLabels`, and in a notebook shared by
 * real-time collaboration no caret for a person whose caret RTC draws there.
 *
 * Rendering is once per animation frame (the tab's FrameScheduler), however many presence
 * batches came, without reading layout: which cells are on screen and how tall their inputs
 * are come from observers (CellWatch). Only the cells whose cursors changed are looked at
 * (cursors are compared by identity; see RemotePresence); a cell's marker is rewritten only
 * when what it shows changed. Only cells on screen (or near it) are drawn: one off screen
 * has no carets and keeps the marker it showed (cleared when nobody is left in it), and is
 * drawn again as it comes near the viewport, so 300 people moving in a long notebook cost
 * the cells in view.
 * An editor's caret layer (remoteCursors.ts) gets new carets only when a caret it shows
 * changed, and measures and draws them in the same frame as every other editor's.
 */
import type { Cell } from '@jupyterlab/cells';
import { CodeMirrorEditor } from '@jupyterlab/codemirror';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';
import { ISignal } from '@lumino/signaling';

import { CellWatch } from './cellWatch';
import { caretLayerOf, IRemoteCaret, nameWithActivity } from './remoteCursors';
import { trans } from '../i18n';
import { FrameScheduler, frames as tabFrames } from '../frame';
import { IPresenceState, ISelectionRange } from '../protocol';
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
  return findCellIn(panel.content.widgets, state);
}

/**
 * findCell over a notebook's cells; `ids` (cell id -> index, made once for many lookups)
 * avoids a scan per lookup.
 */
export function findCellIn(
  cells: ReadonlyArray<Cell>,
  state: IPresenceState,
  ids: ReadonlyMap<string, number> | null = null
): { cell: Cell; index: number } | null {
  if (state.cell_id !== undefined) {
    if (ids) {
      const i = ids.get(state.cell_id);
      if (i !== undefined && i < cells.length) {
        return { cell: cells[i], index: i };
      }
    } else {
      for (let i = 0; i < cells.length; i++) {
        if (cells[i].model.id === state.cell_id) {
          return { cell: cells[i], index: i };
        }
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

/** A cell whose marker is drawn again in this frame: its cursors and its input's height. */
interface ICellPlan {
  cell: Cell;
  cursors: ReadonlyArray<IRemoteCursor>;
  /** The host's height as last observed, else estimated (0 without cursors). */
  height: number;
}

const NO_CURSORS: ReadonlyArray<IRemoteCursor> = [];
const NO_CARETS: ReadonlyArray<IRemoteCaret> = [];

/** Draws the remote cursors of one notebook panel. */
export class NotebookCursors implements IDisposable {
  /**
   * @param panel the notebook panel.
   * @param source the remote cursors.
   * @param settings the presence settings (defaults without).
   * @param frames the frame scheduler (the tab's by default).
   */
  constructor(
    panel: NotebookPanel,
    source: IRemoteSource,
    settings: IDrawSettings | null = null,
    frames: FrameScheduler = tabFrames
  ) {
    this._panel = panel;
    this._source = source;
    this._settings = settings;
    this._frames = frames;
    this._rtc = new NotebookRtc(panel.context.model);
    this._watch = new CellWatch(() => this.schedule());
    if (this._rtc.shared) {
      panel.node.setAttribute(RTC_ATTRIBUTE, 'true');
    }
    this._rtc.changed.connect(this.schedule, this);
    settings?.changed.connect(this.schedule, this);
    source.changed.connect(this._onCursors, this);
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

  /**
   * Render on the next frame, every cell compared by content (the settings, RTC, the path or
   * the cells changed, or an editor appeared).
   */
  schedule(): void {
    if (this._disposed) {
      return;
    }
    this._force = true;
    this._frames.schedule(this._measure, 'read');
  }

  /** Render now (both phases). */
  render(): void {
    if (this._disposed) {
      return;
    }
    this._measure();
    this._frames.cancel(this._draw);
    this._draw();
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._frames.cancel(this._measure);
    this._frames.cancel(this._draw);
    this._watch.dispose();
    this._source.changed.disconnect(this._onCursors, this);
    this._settings?.changed.disconnect(this.schedule, this);
    this._rtc.dispose();
    if (!this._panel.isDisposed) {
      this._panel.context.pathChanged.disconnect(this.schedule, this);
      this._panel.content.modelContentChanged.disconnect(this.schedule, this);
      this._panel.disposed.disconnect(this.dispose, this);
      for (const cell of this._drawn.keys()) {
        if (!cell.isDisposed) {
          this._renderMarker(cell, NO_CURSORS, 0);
        }
      }
      for (const cell of this._caretsFrom.keys()) {
        if (!cell.isDisposed) {
          this._renderCarets(cell, NO_CURSORS, DEFAULT_PRESENCE_SETTINGS);
        }
      }
    }
    this._drawn.clear();
    this._caretsFrom.clear();
    this._plan.clear();
    this._markers.clear();
    this._markerInputs.clear();
  }

  /** The remote cursors changed: the cells whose cursors changed, on the next frame. */
  private _onCursors(): void {
    if (!this._disposed) {
      this._frames.schedule(this._measure, 'read');
    }
  }

  /**
   * Read phase: which cells to draw again, with no DOM write and no layout read. The carets
   * of the cells on screen go to their editors' caret layers (state only: the layers measure
   * later in this phase, all of them before any DOM write of the frame).
   */
  private _measure = (): void => {
    if (this._disposed) {
      return;
    }
    const force = this._force;
    this._force = false;
    const settings = this._settings?.value ?? DEFAULT_PRESENCE_SETTINGS;
    const byCell = this._cursorsByCell();
    const seen = new Set<Cell>();
    const consider = (cell: Cell): void => {
      if (seen.has(cell)) {
        return;
      }
      seen.add(cell);
      if (cell.isDisposed) {
        this._forget(cell);
        return;
      }
      const cursors = byCell.get(cell) ?? NO_CURSORS;
      if (cursors.length && !this._watch.visible(cell.node)) {
        // Off screen: its carets go (once), its marker is left as it is; both are drawn
        // again as it comes near the viewport (CellWatch tells; its margin has them drawn
        // before it shows). Nobody left in it: cleared below.
        if (this._caretsFrom.has(cell)) {
          this._renderCarets(cell, NO_CURSORS, settings);
          this._caretsFrom.delete(cell);
        }
        return;
      }
      // The marker: drawn again when its cursors changed (the write phase).
      if (force || this._plan.has(cell) || !sameItems(this._drawn.get(cell), cursors)) {
        const height = cursors.length ? this._heightOf(cell) : 0;
        this._plan.set(cell, { cell, cursors, height });
      }
      // The carets: when a cursor of the cell changed.
      if (force || !sameItems(this._caretsFrom.get(cell), cursors)) {
        this._renderCarets(cell, cursors, settings);
        if (cursors.length) {
          this._caretsFrom.set(cell, cursors);
        } else {
          this._caretsFrom.delete(cell);
        }
      }
    };
    for (const cell of this._drawn.keys()) {
      consider(cell);
    }
    for (const cell of this._caretsFrom.keys()) {
      consider(cell);
    }
    for (const cell of byCell.keys()) {
      consider(cell);
    }
    if (this._plan.size) {
      this._frames.schedule(this._draw, 'write');
    }
  };

  /** Write phase: the markers of the cells the read phase picked. */
  private _draw = (): void => {
    if (this._disposed) {
      return;
    }
    const plans = Array.from(this._plan.values());
    this._plan.clear();
    for (const { cell, cursors, height } of plans) {
      if (cell.isDisposed) {
        this._forget(cell);
        continue;
      }
      this._renderMarker(cell, cursors, height);
      if (cursors.length) {
        this._drawn.set(cell, cursors);
      } else {
        this._drawn.delete(cell);
      }
    }
  };

  /**
   * The height of a cell's input area without reading layout: as the ResizeObserver last saw
   * it, else the editor's content height as CodeMirror last measured it.
   */
  private _heightOf(cell: Cell): number {
    const observed = this._watch.height(hostOf(cell));
    if (observed !== undefined) {
      return observed;
    }
    const editor = cell.editor;
    return editor instanceof CodeMirrorEditor ? editor.editor.contentHeight : 0;
  }

  /** A cell that went away (deleted, or the notebook re-rendered it). */
  private _forget(cell: Cell): void {
    this._watch.forget(cell.node);
    const host = hosts.get(cell);
    if (host) {
      this._watch.forget(host);
    }
    this._drawn.delete(cell);
    this._caretsFrom.delete(cell);
    this._plan.delete(cell);
    this._markers.delete(cell);
    this._markerInputs.delete(cell);
  }

  /** The cursors in this notebook, by cell (one pass; cell ids indexed once). */
  private _cursorsByCell(): Map<Cell, IRemoteCursor[]> {
    const byCell = new Map<Cell, IRemoteCursor[]>();
    const settings = this._settings?.value ?? DEFAULT_PRESENCE_SETTINGS;
    if (!settings.showRemoteCursors) {
      return byCell;
    }
    const path = this._panel.context.path;
    const cells = this._panel.content.widgets;
    let ids: Map<string, number> | null = null;
    for (const cursor of this._source.cursors) {
      if (cursor.state.path !== path) {
        continue;
      }
      if (ids === null && cursor.state.cell_id !== undefined) {
        ids = new Map();
        for (let i = 0; i < cells.length; i++) {
          ids.set(cells[i].model.id, i);
        }
      }
      const found = findCellIn(cells, cursor.state, ids);
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
    return byCell;
  }

  /**
   * The initials chips at the cell's left edge (no layout change, no pointer events).
   * `height`: the input's height, read in the read phase.
   */
  private _renderMarker(cell: Cell, cursors: ReadonlyArray<IRemoteCursor>, height: number): void {
    // In the input wrapper (position: relative, overflow visible), over the prompt column.
    const host = hostOf(cell);
    let marker = this._markers.get(cell) ?? null;
    if (marker && marker.parentElement !== host) {
      marker = null;
    }
    marker = marker ?? host.querySelector<HTMLElement>(':scope > .jp-CollabCellMarker');
    if (!cursors.length) {
      marker?.remove();
      this._markers.delete(cell);
      this._markerInputs.delete(cell);
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
    // As many chips as the input area is tall (a one-line cell: one), then "+N".
    const fit = Math.max(1, Math.min(MAX_CHIPS, Math.floor((height - 2) / CHIP_STEP)));
    // What the marker shows, in the cursors' (stable) order: the same as drawn, nothing to do
    // (carets moving inside the cell do not change it).
    let inputs = `${fit};`;
    for (const p of users.values()) {
      inputs += `${p.username}|${p.name}|${p.color}|${activityOf(p)},`;
    }
    if (marker && marker.parentElement === host && this._markerInputs.get(cell) === inputs) {
      this._markers.set(cell, marker);
      return;
    }
    this._markerInputs.set(cell, inputs);
    const people = Array.from(users.values()).sort((a, b) => collator.compare(a.name, b.name));
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
    this._markers.set(cell, marker);
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

  /**
   * Hand the carets of edit-mode cursors to the cell's caret layer (if it has an editor with
   * one yet): unchanged carets keep their objects, and nothing happens when none changed.
   */
  private _renderCarets(
    cell: Cell,
    cursors: ReadonlyArray<IRemoteCursor>,
    settings: Readonly<IPresenceSettings>
  ): void {
    const editor = cell.editor;
    if (!(editor instanceof CodeMirrorEditor)) {
      return;
    }
    const layer = caretLayerOf(editor.editor);
    if (!layer) {
      return; // the extension is not in this editor
    }
    const current = layer.carets;
    if (!cursors.length) {
      layer.setCarets(NO_CARETS);
      return;
    }
    const before = new Map<string, IRemoteCaret>();
    for (const c of current) {
      before.set(c.session, c);
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
      carets.push(caretOf(c, s.line, draw.label, before.get(c.session)));
    }
    layer.setCarets(carets); // a no-op when every caret is the one shown
  }

  private _panel: NotebookPanel;
  private _source: IRemoteSource;
  private _settings: IDrawSettings | null;
  private _frames: FrameScheduler;
  private _rtc: NotebookRtc;
  /** The cursors drawn in each cell that shows some. */
  private _drawn = new Map<Cell, ReadonlyArray<IRemoteCursor>>();
  /** Cells picked by the read phase, for the write phase. */
  private _plan = new Map<Cell, ICellPlan>();
  /** The cursors whose carets each on-screen cell's editor was given. */
  private _caretsFrom = new Map<Cell, ReadonlyArray<IRemoteCursor>>();
  /** Which cells are on screen, how tall their inputs are. */
  private _watch: CellWatch;
  private _markers = new Map<Cell, HTMLElement>();
  /** What each marker was drawn from, in cursor order (to skip sorting when unchanged). */
  private _markerInputs = new Map<Cell, string>();
  /** Next frame: compare every cell by content, not only the cells whose cursors changed. */
  private _force = false;
  private _disposed = false;
}

/** Sorts names as localeCompare does, faster (one collator for all). */
const collator = new Intl.Collator();

function activityOf(c: IRemoteCursor): 'active' | 'idle' | 'away' {
  return c.state.activity ?? 'active';
}

const hosts = new WeakMap<Cell, HTMLElement>();

/** Where a cell's marker goes: its input wrapper, else the cell's node (looked up once). */
function hostOf(cell: Cell): HTMLElement {
  const node = cell.node;
  let host = hosts.get(cell);
  if (!host || (host !== node && host.parentElement !== node)) {
    host = node.querySelector<HTMLElement>(':scope > .jp-Cell-inputWrapper') ?? node;
    hosts.set(cell, host);
  }
  return host;
}

/** Whether two lists hold the same objects in the same order. */
function sameItems<T>(a: ReadonlyArray<T> | undefined, b: ReadonlyArray<T>): boolean {
  if (a === undefined) {
    return b.length === 0;
  }
  if (a.length !== b.length) {
    return false;
  }
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      return false;
    }
  }
  return true;
}

function sameSelections(
  a: ReadonlyArray<ISelectionRange>,
  b: ReadonlyArray<ISelectionRange>
): boolean {
  if (a === b) {
    return true;
  }
  if (a.length !== b.length) {
    return false;
  }
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (
      x.anchor.line !== y.anchor.line ||
      x.anchor.column !== y.anchor.column ||
      x.head.line !== y.head.line ||
      x.head.column !== y.head.column
    ) {
      return false;
    }
  }
  return true;
}

const NO_SELECTIONS: ISelectionRange[] = [];

/** The caret of a cursor: `previous` itself when it shows the same. */
export function caretOf(
  c: IRemoteCursor,
  line: number,
  label: boolean,
  previous: IRemoteCaret | undefined
): IRemoteCaret {
  const activity = activityOf(c);
  const column = c.state.column ?? 0;
  const selections = c.state.selections ?? NO_SELECTIONS;
  if (
    previous &&
    previous.username === c.username &&
    previous.name === c.name &&
    previous.color === c.color &&
    previous.textColor === c.textColor &&
    previous.activity === activity &&
    previous.line === line &&
    previous.column === column &&
    previous.label === label &&
    sameSelections(previous.selections, selections)
  ) {
    return previous;
  }
  return {
    session: c.session,
    username: c.username,
    name: c.name,
    color: c.color,
    textColor: c.textColor,
    activity,
    line,
    column,
    selections,
    label
  };
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
