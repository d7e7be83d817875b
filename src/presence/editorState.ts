/**
 * Reads where this tab's user is from JupyterLab: the notebook's path, the active cell,
 * the caret and selections (in edit mode) and the notebook's mode.
 */
import type { Cell } from '@jupyterlab/cells';
import type { NotebookPanel } from '@jupyterlab/notebook';

import { MAX_PRESENCE_CELL_ID, MAX_PRESENCE_PATH, MAX_PRESENCE_SELECTIONS } from '../limits';
import type { IPresenceState, ISelectionRange } from '../protocol';
import type { Activity } from './activity';

/**
 * The state now, with a fixed key order (so that JSON compares states).
 *
 * @param panel the current notebook, if any.
 * @param activity the user's activity.
 */
export function readLocalState(panel: NotebookPanel | null, activity: Activity): IPresenceState {
  const state: IPresenceState = {};
  if (panel && !panel.isDisposed) {
    const notebook = panel.content;
    const path = panel.context.path;
    if (path && path.length <= MAX_PRESENCE_PATH) {
      state.path = path;
    }
    const cell = notebook.activeCell;
    if (cell && !cell.isDisposed) {
      const id = cell.model.id;
      if (id && id.length <= MAX_PRESENCE_CELL_ID) {
        state.cell_id = id;
      }
      if (notebook.activeCellIndex >= 0) {
        state.cell_index = notebook.activeCellIndex;
      }
      if (notebook.mode === 'edit') {
        Object.assign(state, caretOf(cell));
      }
    }
    state.mode = notebook.mode;
  }
  state.activity = activity;
  return state;
}

/** The caret and non-empty selections of a cell's editor (edit mode). */
export function caretOf(cell: Cell): IPresenceState {
  const editor = cell.editor;
  if (!editor) {
    return {};
  }
  const pos = editor.getCursorPosition();
  const out: IPresenceState = { line: pos.line, column: pos.column };
  const selections: ISelectionRange[] = [];
  for (const s of editor.getSelections()) {
    if (s.start.line === s.end.line && s.start.column === s.end.column) {
      continue;
    }
    selections.push({
      anchor: { line: s.start.line, column: s.start.column },
      head: { line: s.end.line, column: s.end.column }
    });
    if (selections.length >= MAX_PRESENCE_SELECTIONS) {
      break;
    }
  }
  if (selections.length) {
    out.selections = selections;
  }
  return out;
}
