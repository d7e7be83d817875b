/**
 * Remote carets in a CodeMirror 6 editor (one notebook cell), drawn without transactions.
 *
 * Every editor with this extension has a RemoteCaretLayer (a view plugin) with two layers in
 * its scroller, as CodeMirror's own `layer()` makes them: selections below the text, carets
 * and name labels above it. The notebook's renderer (cellPresenceRenderer.ts) hands a layer
 * its carets (`setCarets`, state only); the layer measures them in the `read` phase of the
 * tab's FrameScheduler and draws them in its `write` phase. So in a frame the carets of every
 * editor are measured before any is drawn: one layout at most for all the editors.
 *
 * Not a StateField set by `dispatch`: a transaction makes CodeMirror read the DOM selection
 * (Chromium lays the page out for that) and measure the editor in an animation frame callback
 * of its own, read then write; 40 editors changing in a frame were 40 forced layouts of the
 * whole notebook, up to 200 ms a frame with 300 people moving.
 *
 * A label sits after the end of the caret's line, so it never covers code; when the line is
 * too long for that, it sits above the caret (below it on the first line). Positions are
 * clamped to this editor's document: the remote copy of the cell may differ. Geometry is
 * cached per editor by position until the document or the layout changes, so a caret that
 * did not move is not measured again, and a marker equal to the one drawn leaves its element
 * untouched.
 */
import { EditorSelection, Extension, Facet, Text } from '@codemirror/state';
import {
  EditorView,
  LayerMarker,
  PluginValue,
  RectangleMarker,
  ViewPlugin,
  ViewUpdate
} from '@codemirror/view';

import { FrameScheduler, frames as tabFrames } from '../frame';
import { trans } from '../i18n';
import { IPosition, ISelectionRange } from '../protocol';
import { clampPosition, withAlpha } from './state';

/** One remote caret to draw in this editor. */
export interface IRemoteCaret {
  session: string;
  username: string;
  name: string;
  color: string;
  textColor: string;
  activity: 'active' | 'idle' | 'away';
  line: number;
  column: number;
  selections: ISelectionRange[];
  /** Whether the caret's name label is shown (the `showRemoteLabels` setting); default yes. */
  label?: boolean;
}

/** "Ana", "Ana (idle)", "Ana (away)": a name with its activity, as labels and markers say it. */
export function nameWithActivity(name: string, activity: 'active' | 'idle' | 'away'): string {
  if (activity === 'idle') {
    return trans.__('%1 (idle)', name);
  }
  return activity === 'away' ? trans.__('%1 (away)', name) : name;
}

/** A position of another copy of the text, as an offset in `doc` (clamped). */
export function offsetOf(doc: Text, pos: IPosition): number {
  const { line, column } = clampPosition(pos, doc.lines, i => doc.line(i + 1).length);
  return doc.line(line + 1).from + column;
}

/** Space (px) the label needs after the end of the line, else it goes above the caret. */
const LABEL_ROOM = 90;
/** Gap between the end of the line and the label. */
const LABEL_GAP = 10;

/**
 * Where a marker element goes: a transform, not left/top, so that a caret moving costs the
 * page no layout (a transform is a paint property).
 */
function translate(left: number, top: number, above = false): string {
  return above
    ? `translate(${left}px, ${top}px) translateY(-100%)`
    : `translate(${left}px, ${top}px)`;
}

/** A coloured rectangle (caret or selection piece) from a RectangleMarker's geometry. */
class ColoredMarker implements LayerMarker {
  constructor(
    readonly className: string,
    readonly rect: RectangleMarker,
    readonly color: string,
    readonly username: string,
    readonly idle: boolean
  ) {}

  draw(): HTMLElement {
    const el = document.createElement('div');
    el.className = this.className;
    this._apply(el, null);
    return el;
  }

  update(el: HTMLElement, prev: LayerMarker): boolean {
    if (!(prev instanceof ColoredMarker) || prev.className !== this.className) {
      return false;
    }
    if (!this.eq(prev)) {
      this._apply(el, prev);
    }
    return true; // the same as drawn: no DOM write
  }

  eq(other: LayerMarker): boolean {
    return (
      other instanceof ColoredMarker &&
      other.className === this.className &&
      other.color === this.color &&
      other.username === this.username &&
      other.idle === this.idle &&
      other.rect.eq(this.rect)
    );
  }

  /** Write what differs from `prev` (what `el` shows), everything without. */
  private _apply(el: HTMLElement, prev: ColoredMarker | null): void {
    const { left, top, width, height } = this.rect;
    const was = prev?.rect;
    if (!was || was.left !== left || was.top !== top) {
      el.style.transform = translate(left, top);
    }
    if (!was || was.height !== height) {
      el.style.height = `${height}px`;
    }
    if (width !== null && (!was || was.width !== width)) {
      el.style.width = `${width}px`;
    }
    if (!prev || prev.username !== this.username) {
      el.dataset.username = this.username;
    }
    if (!prev || prev.color !== this.color) {
      el.style.setProperty('--jp-collab-cursor-color', this.color);
      el.style.setProperty('--jp-collab-selection-color', withAlpha(this.color, 0.28));
    }
    if (!prev || prev.idle !== this.idle) {
      el.classList.toggle('jp-mod-idle', this.idle);
    }
  }
}

/** The names of the users whose caret is on one line. */
class LabelMarker implements LayerMarker {
  constructor(
    readonly left: number,
    readonly top: number,
    readonly height: number,
    readonly placement: 'end' | 'above' | 'below',
    readonly carets: ReadonlyArray<IRemoteCaret>
  ) {}

  draw(): HTMLElement {
    const el = document.createElement('div');
    el.className = 'jp-CollabCursor-labels';
    el.setAttribute('aria-hidden', 'true');
    this._apply(el, null);
    return el;
  }

  update(el: HTMLElement, prev: LayerMarker): boolean {
    if (!(prev instanceof LabelMarker)) {
      return false;
    }
    if (!this.eq(prev)) {
      this._apply(el, prev);
    }
    return true;
  }

  eq(other: LayerMarker): boolean {
    return (
      other instanceof LabelMarker &&
      other.left === this.left &&
      other.top === this.top &&
      other.height === this.height &&
      other.placement === this.placement &&
      sameLabels(other.carets, this.carets)
    );
  }

  /** Write what differs from `prev` (what `el` shows): the names only when they changed. */
  private _apply(el: HTMLElement, prev: LabelMarker | null): void {
    if (
      !prev ||
      prev.left !== this.left ||
      prev.top !== this.top ||
      prev.placement !== this.placement
    ) {
      el.style.transform = translate(this.left, this.top, this.placement === 'above');
    }
    if (!prev || prev.height !== this.height) {
      el.style.height = `${this.height}px`;
    }
    if (!prev || prev.placement !== this.placement) {
      el.dataset.placement = this.placement;
    }
    if (prev && sameLabels(prev.carets, this.carets)) {
      return;
    }
    el.textContent = '';
    for (const caret of this.carets) {
      const label = document.createElement('span');
      label.className = 'jp-CollabCursor-label';
      label.dataset.username = caret.username;
      label.dataset.session = caret.session;
      label.dataset.activity = caret.activity;
      label.style.backgroundColor = caret.color;
      label.style.color = caret.textColor;
      label.textContent = nameWithActivity(caret.name, caret.activity);
      el.appendChild(label);
    }
  }
}

/** Whether two label groups show the same (carets are compared by what a label shows). */
function sameLabels(a: ReadonlyArray<IRemoteCaret>, b: ReadonlyArray<IRemoteCaret>): boolean {
  if (a.length !== b.length) {
    return false;
  }
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (
      x !== y &&
      (x.session !== y.session ||
        x.name !== y.name ||
        x.color !== y.color ||
        x.textColor !== y.textColor ||
        x.activity !== y.activity)
    ) {
      return false;
    }
  }
  return true;
}

/** Where a label goes (document coordinates); null when it cannot be placed. */
interface ILabelPlace {
  left: number;
  top: number;
  height: number;
  placement: 'end' | 'above' | 'below';
}

/**
 * One editor's geometry, by position: valid until its document, viewport or layout changes
 * (then dropped). Carets that did not move are not measured again.
 */
interface IGeometry {
  /** The editor's measured sizes when it was filled (a change drops it). */
  stamp: string;
  carets: Map<number, ReadonlyArray<RectangleMarker>>;
  ranges: Map<string, ReadonlyArray<RectangleMarker>>;
  labels: Map<string, ILabelPlace>;
}

/** Cached positions per editor, at most (a very busy editor starts over). */
const MAX_CACHED = 2000;

const geometries = new WeakMap<EditorView, IGeometry>();

function geometryOf(view: EditorView): IGeometry {
  // Sizes CodeMirror already measured (no DOM read): a fold or a font change shows there.
  const stamp = `${view.contentHeight}:${view.defaultLineHeight}:${view.defaultCharacterWidth}`;
  let geometry = geometries.get(view);
  if (
    !geometry ||
    geometry.stamp !== stamp ||
    geometry.carets.size + geometry.ranges.size + geometry.labels.size > MAX_CACHED
  ) {
    geometry = { stamp, carets: new Map(), ranges: new Map(), labels: new Map() };
    geometries.set(view, geometry);
  }
  return geometry;
}

function caretRects(
  view: EditorView,
  geometry: IGeometry,
  pos: number
): ReadonlyArray<RectangleMarker> {
  const cache = geometry.carets;
  let rects = cache.get(pos);
  if (!rects) {
    rects = RectangleMarker.forRange(view, '', EditorSelection.cursor(pos));
    if (rects.length) {
      cache.set(pos, rects); // nothing measured (not laid out yet): not kept
    }
  }
  return rects;
}

function rangeRects(
  view: EditorView,
  geometry: IGeometry,
  from: number,
  to: number
): ReadonlyArray<RectangleMarker> {
  const cache = geometry.ranges;
  const key = `${from}:${to}`;
  let rects = cache.get(key);
  if (!rects) {
    rects = RectangleMarker.forRange(view, '', EditorSelection.range(from, to));
    if (rects.length) {
      cache.set(key, rects);
    }
  }
  return rects;
}

/** The selection markers of `carets` (below the text). Reads layout. */
function selectionMarkers(
  view: EditorView,
  geometry: IGeometry,
  carets: ReadonlyArray<IRemoteCaret>
): LayerMarker[] {
  const out: LayerMarker[] = [];
  if (!carets.some(c => c.selections.length)) {
    return out;
  }
  const doc = view.state.doc;
  for (const caret of carets) {
    for (const s of caret.selections) {
      const from = offsetOf(doc, s.anchor);
      const to = offsetOf(doc, s.head);
      if (from === to) {
        continue;
      }
      for (const rect of rangeRects(view, geometry, from, to)) {
        out.push(
          new ColoredMarker(
            'jp-CollabCursor-selection',
            rect,
            caret.color,
            caret.username,
            caret.activity !== 'active'
          )
        );
      }
    }
  }
  return out;
}

/**
 * Where the label of the carets on line `lineNo` goes: after the end of the line when there is
 * room, else above (below, on the first line) the first caret. Layer coordinates are relative
 * to the document (the scroller minus its scroll offset).
 */
function placeLabel(
  view: EditorView,
  box: DOMRect,
  lineNo: number,
  pos: number
): ILabelPlace | null {
  const scroller = view.scrollDOM;
  const baseX = box.left - scroller.scrollLeft;
  const baseY = box.top - scroller.scrollTop;
  const visibleRight = box.left + scroller.clientWidth;
  const line = view.state.doc.line(lineNo);
  const end = view.coordsAtPos(line.to, -1) ?? view.coordsAtPos(line.to, 1);
  const at = view.coordsAtPos(pos, 1) ?? end;
  if (!end || !at) {
    return null;
  }
  let placement: 'end' | 'above' | 'below' = 'end';
  let left = end.right + LABEL_GAP;
  let top = end.top;
  if (left + LABEL_ROOM > visibleRight) {
    placement = lineNo === 1 ? 'below' : 'above';
    left = at.left;
    top = placement === 'above' ? at.top : at.bottom;
  }
  return {
    left: Math.round(left - baseX),
    top: Math.round(top - baseY),
    height: Math.round(end.bottom - end.top),
    placement
  };
}

/** The caret and label markers of `carets` (above the text). Reads layout. */
function caretMarkers(
  view: EditorView,
  geometry: IGeometry,
  carets: ReadonlyArray<IRemoteCaret>
): LayerMarker[] {
  const out: LayerMarker[] = [];
  if (!carets.length) {
    return out;
  }
  const doc = view.state.doc;
  const byLine = new Map<number, { pos: number; carets: IRemoteCaret[] }>();
  for (const caret of carets) {
    const pos = offsetOf(doc, caret);
    for (const rect of caretRects(view, geometry, pos)) {
      out.push(
        new ColoredMarker(
          'jp-CollabCursor-caret',
          rect,
          caret.color,
          caret.username,
          caret.activity !== 'active'
        )
      );
    }
    if (caret.label === false) {
      continue;
    }
    const line = doc.lineAt(pos);
    const group = byLine.get(line.number);
    if (group) {
      group.carets.push(caret);
    } else {
      byLine.set(line.number, { pos, carets: [caret] });
    }
  }
  // Labels: after the end of the line when there is room, else above (below) the caret.
  if (!byLine.size) {
    return out;
  }
  const scroller = view.scrollDOM;
  const labels = geometry.labels;
  let box: DOMRect | null = null;
  for (const [lineNo, group] of byLine) {
    const key = `${lineNo}:${group.pos}:${scroller.scrollLeft}`;
    let place: ILabelPlace | null | undefined = labels.get(key);
    if (place === undefined) {
      box = box ?? scroller.getBoundingClientRect();
      place = placeLabel(view, box, lineNo, group.pos);
      if (place) {
        labels.set(key, place);
      }
    }
    if (place) {
      out.push(new LabelMarker(place.left, place.top, place.height, place.placement, group.carets));
    }
  }
  return out;
}

/** One layer's element in the editor's scroller (as CodeMirror's `layer()` makes it). */
function layerElement(view: EditorView, className: string, above: boolean): HTMLElement {
  const dom = document.createElement('div');
  dom.className = `cm-layer ${className}`;
  if (above) {
    dom.classList.add('cm-layer-above');
  }
  dom.style.zIndex = above ? '150' : '-1';
  dom.setAttribute('aria-hidden', 'true');
  view.scrollDOM.appendChild(dom);
  return dom;
}

/** Draw `markers` into a layer, reusing the elements of the markers drawn before. */
function drawLayer(
  dom: HTMLElement,
  drawn: ReadonlyArray<LayerMarker>,
  markers: ReadonlyArray<LayerMarker>
): void {
  if (markers.length === drawn.length && markers.every((m, i) => m.eq(drawn[i]))) {
    return;
  }
  let old = dom.firstChild as HTMLElement | null;
  let oldIndex = 0;
  for (const marker of markers) {
    if (old && oldIndex < drawn.length && marker.update?.(old, drawn[oldIndex])) {
      old = old.nextSibling as HTMLElement | null;
      oldIndex++;
    } else {
      dom.insertBefore(marker.draw(), old);
    }
  }
  while (old) {
    const next = old.nextSibling as HTMLElement | null;
    old.remove();
    old = next;
  }
}

const NO_CARETS: ReadonlyArray<IRemoteCaret> = [];
const NO_MARKERS: ReadonlyArray<LayerMarker> = [];

/**
 * The remote carets of one editor and their two layers. `setCarets` is state only; the
 * layer measures in the next frame's `read` phase and draws in its `write` phase, and
 * again when the editor's document, viewport or layout changes.
 */
export class RemoteCaretLayer implements PluginValue {
  /**
   * @param view the editor.
   * @param frames the frame scheduler (the tab's by default).
   */
  constructor(view: EditorView, frames: FrameScheduler = tabFrames) {
    this.view = view;
    this._frames = frames;
    this._below = layerElement(view, 'jp-CollabCursor-selectionLayer', false);
    this._above = layerElement(view, 'jp-CollabCursor-caretLayer', true);
  }

  readonly view: EditorView;

  /** The carets this layer shows (or will show in the next frame). */
  get carets(): ReadonlyArray<IRemoteCaret> {
    return this._carets;
  }

  /** Frames in which this layer measured its carets (tests and diagnostics). */
  get measures(): number {
    return this._measures;
  }

  /**
   * Show `carets` from the next frame on. Nothing happens when they are the same objects as
   * shown; returns whether they changed.
   */
  setCarets(carets: ReadonlyArray<IRemoteCaret>): boolean {
    if (this._destroyed || sameCarets(this._carets, carets)) {
      return false;
    }
    this._carets = carets.length ? carets : NO_CARETS;
    this._invalidate();
    return true;
  }

  update(update: ViewUpdate): void {
    if (
      update.docChanged ||
      update.geometryChanged ||
      update.viewportChanged ||
      update.heightChanged
    ) {
      this._relayout();
    }
  }

  docViewUpdate(): void {
    this._relayout();
  }

  destroy(): void {
    this._destroyed = true;
    this._frames.cancel(this._measure);
    this._frames.cancel(this._draw);
    this._below.remove();
    this._above.remove();
    geometries.delete(this.view);
  }

  /** Positions moved: measure again (only when something is or was drawn). */
  private _relayout(): void {
    geometries.delete(this.view);
    if (this._carets.length || this._drawnBelow.length || this._drawnAbove.length) {
      this._invalidate();
    }
  }

  private _invalidate(): void {
    if (!this._destroyed) {
      this._frames.schedule(this._measure, 'read');
    }
  }

  /** Read phase: the markers (layout reads only, cached by position). */
  private _measure = (): void => {
    if (this._destroyed) {
      return;
    }
    const view = this.view;
    const carets = this._carets;
    if (!carets.length) {
      this._next = { below: NO_MARKERS, above: NO_MARKERS, scaleX: 1, scaleY: 1 };
    } else {
      this._measures++;
      const geometry = geometryOf(view);
      this._next = {
        below: selectionMarkers(view, geometry, carets),
        above: caretMarkers(view, geometry, carets),
        scaleX: view.scaleX,
        scaleY: view.scaleY
      };
    }
    this._frames.schedule(this._draw, 'write');
  };

  /** Write phase: only the markers that changed touch the DOM. */
  private _draw = (): void => {
    const next = this._next;
    this._next = null;
    if (this._destroyed || !next) {
      return;
    }
    if (next.scaleX !== this._scaleX || next.scaleY !== this._scaleY) {
      this._scaleX = next.scaleX;
      this._scaleY = next.scaleY;
      const transform =
        next.scaleX === 1 && next.scaleY === 1
          ? ''
          : `scale(${1 / next.scaleX}, ${1 / next.scaleY})`;
      this._below.style.transform = transform;
      this._above.style.transform = transform;
    }
    drawLayer(this._below, this._drawnBelow, next.below);
    this._drawnBelow = next.below;
    drawLayer(this._above, this._drawnAbove, next.above);
    this._drawnAbove = next.above;
  };

  private _frames: FrameScheduler;
  private _below: HTMLElement;
  private _above: HTMLElement;
  private _carets: ReadonlyArray<IRemoteCaret> = NO_CARETS;
  private _next: {
    below: ReadonlyArray<LayerMarker>;
    above: ReadonlyArray<LayerMarker>;
    scaleX: number;
    scaleY: number;
  } | null = null;
  private _drawnBelow: ReadonlyArray<LayerMarker> = NO_MARKERS;
  private _drawnAbove: ReadonlyArray<LayerMarker> = NO_MARKERS;
  private _scaleX = 1;
  private _scaleY = 1;
  private _measures = 0;
  private _destroyed = false;
}

/** Whether two caret lists hold the same objects in the same order. */
function sameCarets(a: ReadonlyArray<IRemoteCaret>, b: ReadonlyArray<IRemoteCaret>): boolean {
  if (a === b) {
    return true;
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

/** The frame scheduler of the caret layers (the tab's unless an extension says otherwise). */
export const caretFrames = Facet.define<FrameScheduler, FrameScheduler>({
  combine: values => values[0] ?? tabFrames
});

const caretLayerPlugin = ViewPlugin.define(
  view => new RemoteCaretLayer(view, view.state.facet(caretFrames))
);

/** The caret layer of an editor (null: the extension is not in it). */
export function caretLayerOf(view: EditorView): RemoteCaretLayer | null {
  return view.plugin(caretLayerPlugin);
}

/** Hooks into the rest of the extension (set by the presence plugin). */
export interface IRemoteCursorHooks {
  /** An editor with this extension was created (the renderer fills it in). */
  created(view: EditorView): void;
  /** The focused editor's caret, selection or text changed (local activity). */
  localActivity(view: EditorView): void;
}

/** The editor extension: register it with IEditorExtensionRegistry. */
export function remoteCursors(hooks: IRemoteCursorHooks): Extension {
  return [
    caretLayerPlugin,
    ViewPlugin.define(view => {
      // Outside of the constructor's update cycle.
      window.setTimeout(() => hooks.created(view), 0);
      return {};
    }),
    EditorView.updateListener.of(update => {
      if (
        (update.selectionSet || update.docChanged || update.focusChanged) &&
        update.view.hasFocus
      ) {
        hooks.localActivity(update.view);
      }
    })
  ];
}
