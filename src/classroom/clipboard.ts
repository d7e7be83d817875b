/**
 * Copy text to the clipboard: the async Clipboard API, else (a page served over plain HTTP,
 * where browsers do not offer it) a hidden text area and `document.execCommand('copy')`.
 */

/** Copy `text`; false when the browser refused. */
export async function copyText(text: string): Promise<boolean> {
  const clipboard = typeof navigator !== 'undefined' ? navigator.clipboard : undefined;
  if (clipboard && typeof clipboard.writeText === 'function') {
    try {
      await clipboard.writeText(text);
      return true;
    } catch {
      // refused (no permission, no focus): try the old way
    }
  }
  return copyWithSelection(text);
}

/** The pre-Clipboard-API way: select the text in a hidden text area and copy. */
function copyWithSelection(text: string): boolean {
  if (typeof document.execCommand !== 'function') {
    return false;
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.top = '0';
  area.style.left = '0';
  area.style.opacity = '0';
  const focused = document.activeElement;
  document.body.appendChild(area);
  try {
    area.select();
    return document.execCommand('copy');
  } catch {
    return false;
  } finally {
    area.remove();
    if (focused instanceof HTMLElement) {
      focused.focus();
    }
  }
}
