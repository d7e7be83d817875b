/**
 * Cursor presence: pure helpers shared by the tracker, the Room view and the cell renderers.
 * No JupyterLab or DOM dependencies.
 */
import { IPosition, IPresenceState, ISelectionRange } from '../protocol';
import {
  MAX_PRESENCE_CELL_ID,
  MAX_PRESENCE_PATH,
  MAX_PRESENCE_SELECTIONS,
  MAX_USERNAME
} from '../limits';
import { safeColor } from '../util';

/** Client-side rates (docs/protocol.md, "Client-side rates"). */
export const PRESENCE_RATES = {
  /** At most this many `presence` events per second per tab, over all its rooms. */
  maxPerSecond: 20,
  /** Re-send the current state this often, so that the server does not expire it (45 s). */
  heartbeatMs: 15000,
  /** No keyboard/pointer input for this long: `idle`. */
  idleAfterMs: 60000
};

function isNatural(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function toPosition(value: unknown): IPosition | null {
  if (typeof value !== 'object' || value === null) {
    return null;
  }
  const v = value as Record<string, unknown>;
  return isNatural(v.line) && isNatural(v.column) ? { line: v.line, column: v.column } : null;
}

/**
 * A PresenceState from another client, keeping only well-formed fields (the server
 * validates too; this is defence in depth against a different server).
 */
export function sanitizeState(raw: unknown): IPresenceState {
  const state: IPresenceState = {};
  if (typeof raw !== 'object' || raw === null) {
    return state;
  }
  const r = raw as Record<string, unknown>;
  if (typeof r.path === 'string' && r.path.length <= MAX_PRESENCE_PATH) {
    state.path = r.path;
  }
  if (typeof r.cell_id === 'string' && r.cell_id.length <= MAX_PRESENCE_CELL_ID) {
    state.cell_id = r.cell_id;
  }
  if (isNatural(r.cell_index)) {
    state.cell_index = r.cell_index;
  }
  if (isNatural(r.line)) {
    state.line = r.line;
  }
  if (isNatural(r.column)) {
    state.column = r.column;
  }
  if (Array.isArray(r.selections)) {
    const selections: ISelectionRange[] = [];
    for (const item of r.selections.slice(0, MAX_PRESENCE_SELECTIONS)) {
      const s = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
      const anchor = toPosition(s.anchor);
      const head = toPosition(s.head);
      if (anchor && head) {
        selections.push({ anchor, head });
      }
    }
    if (selections.length) {
      state.selections = selections;
    }
  }
  if (r.mode === 'edit' || r.mode === 'command') {
    state.mode = r.mode;
  }
  if (r.activity === 'active' || r.activity === 'idle' || r.activity === 'away') {
    state.activity = r.activity;
  }
  if (
    typeof r.following === 'string' &&
    r.following.length > 0 &&
    r.following.length <= MAX_USERNAME
  ) {
    state.following = r.following;
  }
  return state;
}

/** Same content (states are built with a fixed key order, so JSON compares them). */
export function sameState(a: IPresenceState | null, b: IPresenceState | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Clamp a remote position to a local document: a line beyond the document goes to the last
 * line, a column beyond the line to the line's end. `lineLength(i)` is the length of line i
 * (0-based) and is only called for 0 <= i < lineCount.
 */
export function clampPosition(
  pos: IPosition,
  lineCount: number,
  lineLength: (line: number) => number
): IPosition {
  const lines = Math.max(1, Math.floor(lineCount));
  const line = Math.min(Math.max(0, Math.floor(pos.line) || 0), lines - 1);
  const length = Math.max(0, lineLength(line));
  const column = Math.min(Math.max(0, Math.floor(pos.column) || 0), length);
  return { line, column };
}

/** clampPosition against a string (for tests and non-CodeMirror callers). */
export function clampToText(text: string, pos: IPosition): IPosition {
  const lines = text.split('\n');
  return clampPosition(pos, lines.length, i => lines[i].length);
}

function parseHex(color: string): [number, number, number] | null {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})([0-9a-f]{2})?$/i.exec(color.trim());
  if (!m) {
    return null;
  }
  let hex = m[1];
  if (hex.length === 3) {
    hex = hex
      .split('')
      .map(c => c + c)
      .join('');
  }
  return [0, 2, 4].map(i => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

function luminance([r, g, b]: [number, number, number]): number {
  const channel = (c: number): number => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

/** Text colours for labels on a member-coloured background. */
export const LIGHT_TEXT = '#ffffff';
export const DARK_TEXT = '#1a1a1a';

/** White or dark text on `background`, whichever contrasts more (WCAG formula). */
export function textColorOn(background: string | null | undefined): string {
  const rgb = background ? parseHex(background) : null;
  if (!rgb) {
    return LIGHT_TEXT;
  }
  const l = luminance(rgb);
  const light = luminance([255, 255, 255]);
  const dark = luminance([0x1a, 0x1a, 0x1a]);
  const withLight = (light + 0.05) / (l + 0.05);
  const withDark = (l + 0.05) / (dark + 0.05);
  return withLight >= withDark ? LIGHT_TEXT : DARK_TEXT;
}

/** The colour with an alpha channel (for selection backgrounds). */
export function withAlpha(color: string, alpha: number): string {
  const rgb = parseHex(color);
  if (rgb) {
    return `rgba(${rgb[0]}, ${rgb[1]}, ${rgb[2]}, ${alpha})`;
  }
  return `color-mix(in srgb, ${color} ${Math.round(alpha * 100)}%, transparent)`;
}

/** The member colour to draw with (the server's, or a theme colour). */
export function memberColor(color: string | null | undefined): string {
  return safeColor(color) ?? '#4363d8';
}

/** The last part of a path. */
export function basename(path: string): string {
  const parts = path.split('/');
  return parts[parts.length - 1] || path;
}

/**
 * "lecture.ipynb · cell 4 · line 12" (1-based numbers, as people count), or '' without a path.
 * The line is not shown in command mode.
 */
export function formatLocation(state: IPresenceState): string {
  if (!state.path) {
    return '';
  }
  const parts = [state.path];
  if (state.cell_index !== undefined) {
    parts.push(`cell ${state.cell_index + 1}`);
  }
  if (state.mode !== 'command' && state.line !== undefined) {
    parts.push(`line ${state.line + 1}`);
  }
  return parts.join(' · ');
}
