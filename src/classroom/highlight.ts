/**
 * Code highlighted by JupyterLab's CodeMirror highlighter: the token classes of its
 * highlight style, coloured by the editor theme's `--jp-mirror-editor-*` variables (as in
 * rendered Markdown code blocks), so light and dark themes both work.
 */
import type { IEditorLanguageRegistry } from '@jupyterlab/codemirror';

/** Classes of a highlighted block (`cm-s-jupyter` for themes that still style it). */
export const CODE_CLASSES = ['jp-CollabCode', 'cm-s-jupyter'];

/** The latest call per element: an older highlight that finishes later is dropped. */
const latest = new WeakMap<HTMLElement, number>();
let calls = 0;

/**
 * Render `code` into `el` (replacing what it holds): highlighted when the registry knows
 * `language`, else as plain text. Never throws; the text is always set as text, never HTML.
 */
export async function highlightCode(
  registry: IEditorLanguageRegistry | null,
  code: string,
  language: string,
  el: HTMLElement
): Promise<void> {
  el.classList.add(...CODE_CLASSES);
  const call = ++calls;
  latest.set(el, call);
  const spec = registry && language ? registry.findBest(language) : null;
  if (!registry || !spec) {
    el.textContent = code;
    return;
  }
  // Highlight off the page first: loading a language is async, and the result must not
  // be mixed with another call's.
  const scratch = document.createElement('div');
  try {
    await registry.highlight(code, spec, scratch);
  } catch {
    scratch.textContent = code;
  }
  if (latest.get(el) !== call) {
    return;
  }
  if (scratch.textContent !== code) {
    // A highlighter that lost or changed text must not change what is shown.
    scratch.textContent = code;
  }
  el.replaceChildren(...Array.from(scratch.childNodes));
}
