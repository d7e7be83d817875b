/**
 * Insert a snippet as a new code cell below the active cell (never run).
 */
import type { Notebook } from '@jupyterlab/notebook';

import { trans } from '../i18n';

/** The sentence when there is no notebook to insert into (in English: it is translated). */
export const NO_NOTEBOOK = 'Open a notebook first.';

/** Whether a cell shows a Room widget (clicking a widget's button makes its cell active). */
export function showsRoom(node: HTMLElement): boolean {
  return node.querySelector('.jp-CollabRoom') !== null;
}

/**
 * Insert `code` as a new code cell below "my cell" of `notebook`: the active cell, or when
 * that is the cell of a Room widget (the click on "Insert below my cell" made it active) the
 * cell the user worked in before (`workCell`); at the end when there is none. Make the new
 * cell the active cell in command mode (so typing does not go into it) and scroll it into
 * view. Nothing is run. Returns null, or a sentence saying why not.
 *
 * @param workCell the index of the last active cell without a Room widget, if known.
 */
export function insertCodeBelow(
  notebook: Notebook | null | undefined,
  code: string,
  workCell: number | null = null
): string | null {
  const model = notebook && !notebook.isDisposed ? notebook.model : null;
  if (!notebook || !model) {
    return trans.__('Open a notebook first.');
  }
  if (model.readOnly) {
    return trans.__('This notebook is read-only: open one you can edit.');
  }
  const count = model.cells.length;
  let active = notebook.activeCellIndex;
  const activeCell = notebook.activeCell;
  if (activeCell && showsRoom(activeCell.node) && workCell !== null && workCell < count) {
    active = workCell;
  }
  const index = active >= 0 && active < count ? active + 1 : count;
  model.sharedModel.insertCell(index, { cell_type: 'code', source: code, metadata: {} });
  notebook.mode = 'command';
  notebook.deselectAll();
  notebook.activeCellIndex = index;
  notebook.scrollToItem(index, 'smart').catch(() => {
    // superseded by another scroll
  });
  return null;
}
