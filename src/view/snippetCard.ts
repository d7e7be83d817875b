/**
 * A shared code snippet in the chat (a message of `kind: 'snippet'`): who shared it, the code
 * highlighted with JupyterLab's highlighter, and "Insert below my cell" / "Copy". Nothing is
 * ever inserted or run by itself: only these buttons act.
 */
import { trans } from '../i18n';
import type { IMessage } from '../protocol';
import type { IClassroomLab } from '../tokens';
import { h, smallButton } from './dom';
import { messageMeta, messageShell } from './messageItem';

/** The language of a snippet message (`python` when not given). */
export function snippetLanguage(m: IMessage): string {
  return m.language || 'python';
}

/** The snippet's list item; its code is highlighted when `classroom` can. */
export function snippetCard(
  m: IMessage,
  own: boolean,
  classroom: IClassroomLab | null
): HTMLElement {
  const li = messageShell(m, own, 'collab-snippet', 'jp-CollabClass-snippet');
  const language = snippetLanguage(m);
  const meta = messageMeta(m, own);
  meta.appendChild(
    h('span', {
      className: 'jp-CollabClass-cardKind',
      text: `${trans.__('shared code')} · ${language}`
    })
  );
  const code = h('code', { className: 'jp-CollabClass-code', testid: 'collab-snippet-code' });
  code.dataset.language = language;
  const insert = smallButton('collab-snippet-insert', trans.__('Insert below my cell'), {
    action: 'snippet-insert',
    title: classroom
      ? trans.__('Insert this code as a new cell below your active cell (it is not run)')
      : trans.__('Inserting needs JupyterLab')
  });
  insert.disabled = classroom === null;
  const copy = smallButton('collab-snippet-copy', trans.__('Copy'), {
    action: 'snippet-copy',
    title: trans.__('Copy the code to the clipboard')
  });
  copy.disabled = classroom === null && !canUseClipboard();
  const status = h('span', {
    className: 'jp-CollabClass-status',
    testid: 'collab-snippet-status',
    attrs: { role: 'status', 'aria-live': 'polite' }
  });
  li.append(
    meta,
    h('pre', { className: 'jp-CollabClass-pre' }, code),
    h('div', { className: 'jp-CollabClass-actions' }, insert, copy, status)
  );
  highlightInto(code, m.text, language, classroom);
  return li;
}

/**
 * Show `text` in `el`, highlighted by `classroom` when it can (plain text until then, and when
 * it fails).
 */
export function highlightInto(
  el: HTMLElement,
  text: string,
  language: string,
  classroom: IClassroomLab | null
): void {
  el.textContent = text;
  if (!classroom) {
    return;
  }
  const plain = (): void => {
    el.textContent = text;
  };
  try {
    void classroom.highlight(text, language, el).catch(plain);
  } catch {
    plain();
  }
}

/**
 * A click on one of the card's buttons (`action` from its `data-action`): insert the code below
 * the user's cell, or copy it; the card's status line says how it went.
 */
export async function snippetAction(
  action: string,
  li: HTMLElement,
  m: IMessage,
  classroom: IClassroomLab | null
): Promise<void> {
  const status = li.querySelector<HTMLElement>('.jp-CollabClass-status');
  const say = (text: string, failed: boolean): void => {
    if (status) {
      status.textContent = text;
      status.dataset.failed = String(failed);
    }
  };
  if (action === 'snippet-insert') {
    if (!classroom) {
      return;
    }
    try {
      const reason = await classroom.insertBelow(m.text);
      say(reason ?? trans.__('Inserted below your cell'), reason !== null);
    } catch (e) {
      say(e instanceof Error ? e.message : String(e), true);
    }
  } else if (action === 'snippet-copy') {
    let copied = false;
    try {
      copied = classroom ? await classroom.copy(m.text) : await clipboardCopy(m.text);
    } catch {
      copied = false;
    }
    say(copied ? trans.__('Copied') : trans.__('Could not copy: the browser refused'), !copied);
  }
}

function canUseClipboard(): boolean {
  return typeof navigator !== 'undefined' && !!navigator.clipboard?.writeText;
}

async function clipboardCopy(text: string): Promise<boolean> {
  if (!canUseClipboard()) {
    return false;
  }
  await navigator.clipboard.writeText(text);
  return true;
}
