/**
 * Remote carets in a CodeMirror 6 editor (one notebook cell).
 *
 * A StateField holds the remote carets of this editor, replaced through the
 * `setRemoteCarets` effect by the notebook's renderer (cellmarkers.ts). Three layers draw
 * them without touching the layout: selections below the text, carets and name labels
 * above it. A label sits after the end of the caret's line, so it never covers code; when
 * the line is too long for that, it sits above the caret (below it on the first line).
 * Positions are clamped to this editor's document: the remote copy of the cell may differ.
 */
import {
  EditorSelection,
  Extension,
  StateEffect,
  StateField,
  Text,
  Transaction
} from '@codemirror/state';
import {
  EditorView,
  layer,
  LayerMarker,
  RectangleMarker,
  ViewPlugin,
  ViewUpdate
} from '@codemirror/view';

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

/** Replace the remote carets of an editor. */
export const setRemoteCarets = StateEffect.define<ReadonlyArray<IRemoteCaret>>();

/** The remote carets of an editor. */
export const remoteCaretsField = StateField.define<ReadonlyArray<IRemoteCaret>>({
  create: () => [],
  update(value, tr) {
    for (const effect of tr.effects) {
      if (effect.is(setRemoteCarets)) {
        value = effect.value;
      }
    }
    return value;
  }
});

/** A transaction that sets the carets (kept out of the undo history). */
export function caretsTransaction(carets: ReadonlyArray<IRemoteCaret>): {
  effects: StateEffect<ReadonlyArray<IRemoteCaret>>;
  annotations: ReturnType<typeof Transaction.addToHistory.of>;
} {
  return {
    effects: setRemoteCarets.of(carets),
    annotations: Transaction.addToHistory.of(false)
  };
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
    el.dataset.username = this.username;
    this._apply(el);
    return el;
  }

  update(el: HTMLElement, prev: LayerMarker): boolean {
    if (!(prev instanceof ColoredMarker) || prev.className !== this.className) {
      return false;
    }
    el.dataset.username = this.username;
    this._apply(el);
    return true;
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

  private _apply(el: HTMLElement): void {
    const { left, top, width, height } = this.rect;
    el.style.left = `${left}px`;
    el.style.top = `${top}px`;
    el.style.height = `${height}px`;
    if (width !== null) {
      el.style.width = `${width}px`;
    }
    el.style.setProperty('--jp-collab-cursor-color', this.color);
    el.style.setProperty('--jp-collab-selection-color', withAlpha(this.color, 0.28));
    el.classList.toggle('jp-mod-idle', this.idle);
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
    this._apply(el);
    return el;
  }

  update(el: HTMLElement, prev: LayerMarker): boolean {
    if (!(prev instanceof LabelMarker)) {
      return false;
    }
    this._apply(el);
    return true;
  }

  eq(other: LayerMarker): boolean {
    return (
      other instanceof LabelMarker &&
      other.left === this.left &&
      other.top === this.top &&
      other.height === this.height &&
      other.placement === this.placement &&
      labelKey(other.carets) === labelKey(this.carets)
    );
  }

  private _apply(el: HTMLElement): void {
    el.style.left = `${this.left}px`;
    el.style.top = `${this.top}px`;
    el.style.height = `${this.height}px`;
    el.dataset.placement = this.placement;
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

function labelKey(carets: ReadonlyArray<IRemoteCaret>): string {
  return carets
    .map(c => `${c.session}\u0000${c.name}\u0000${c.color}\u0000${c.textColor}\u0000${c.activity}`)
    .join('\u0001');
}

function fieldChanged(update: ViewUpdate): boolean {
  return (
    update.docChanged ||
    update.geometryChanged ||
    update.viewportChanged ||
    update.startState.field(remoteCaretsField, false) !==
      update.state.field(remoteCaretsField, false)
  );
}

const selectionLayer = layer({
  above: false,
  class: 'jp-CollabCursor-selectionLayer',
  update: fieldChanged,
  markers(view) {
    const out: LayerMarker[] = [];
    const doc = view.state.doc;
    for (const caret of view.state.field(remoteCaretsField, false) ?? []) {
      for (const s of caret.selections) {
        const from = offsetOf(doc, s.anchor);
        const to = offsetOf(doc, s.head);
        if (from === to) {
          continue;
        }
        const range = EditorSelection.range(from, to);
        for (const rect of RectangleMarker.forRange(view, '', range)) {
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
});

const caretLayer = layer({
  above: true,
  class: 'jp-CollabCursor-caretLayer',
  update: fieldChanged,
  markers(view) {
    const out: LayerMarker[] = [];
    const carets = view.state.field(remoteCaretsField, false) ?? [];
    if (!carets.length) {
      return out;
    }
    const doc = view.state.doc;
    const byLine = new Map<number, { pos: number; carets: IRemoteCaret[] }>();
    for (const caret of carets) {
      const pos = offsetOf(doc, caret);
      for (const rect of RectangleMarker.forRange(view, '', EditorSelection.cursor(pos))) {
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
    // Layer coordinates are relative to the document (the scroller minus its scroll offset).
    const scroller = view.scrollDOM;
    const box = scroller.getBoundingClientRect();
    const baseX = box.left - scroller.scrollLeft;
    const baseY = box.top - scroller.scrollTop;
    const visibleRight = box.left + scroller.clientWidth;
    for (const [lineNo, group] of byLine) {
      const line = doc.line(lineNo);
      const end = view.coordsAtPos(line.to, -1) ?? view.coordsAtPos(line.to, 1);
      const at = view.coordsAtPos(group.pos, 1) ?? end;
      if (!end || !at) {
        continue;
      }
      let placement: 'end' | 'above' | 'below' = 'end';
      let left = end.right + LABEL_GAP;
      let top = end.top;
      if (left + LABEL_ROOM > visibleRight) {
        placement = lineNo === 1 ? 'below' : 'above';
        left = at.left;
        top = placement === 'above' ? at.top : at.bottom;
      }
      out.push(
        new LabelMarker(
          Math.round(left - baseX),
          Math.round(top - baseY),
          Math.round(end.bottom - end.top),
          placement,
          group.carets
        )
      );
    }
    return out;
  }
});

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
    remoteCaretsField,
    selectionLayer,
    caretLayer,
    ViewPlugin.define(view => {
      // Outside of the constructor's update cycle: the renderer may dispatch.
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
