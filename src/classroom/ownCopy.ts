/**
 * "Make my own copy": students who open the same notebook file on one server share its
 * kernel and overwrite each other's saves. This duplicates the notebook under a name with
 * the user's (`lab-ana.ipynb`), marks the copy with the room the original's `Room()` was in
 * (notebook metadata `collab_widget.room`, so `Room()` in the copy stays in that room) and
 * opens it.
 */
import type { Contents } from '@jupyterlab/services';

import { trans } from '../i18n';
import { toRoomName } from '../protocol';

/** The notebook metadata key the Room widget reads (`{"room": <name>}`). */
export const METADATA_KEY = 'collab_widget';

/** The slug when the user's name gives none. */
export const DEFAULT_SLUG = 'mine';

/** How many names are tried (`-2` ... ) before giving up. */
export const MAX_NAME_TRIES = 100;

/** The slug's longest length. */
const MAX_SLUG = 40;

/**
 * A file-name-safe form of a display name: lower case letters and digits of any script,
 * runs of anything else become one `-` ("Ana María" → "ana-maría"); "mine" when none is left.
 */
export function nameSlug(name: string | null | undefined): string {
  const slug = (name ?? '')
    .normalize('NFC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_SLUG)
    .replace(/-+$/, '');
  return slug || DEFAULT_SLUG;
}

/** Split a path into its directory ('' at the root), stem and extension (`.ipynb`). */
export function splitPath(path: string): { dir: string; stem: string; ext: string } {
  const slash = path.lastIndexOf('/');
  const dir = slash >= 0 ? path.slice(0, slash) : '';
  const file = slash >= 0 ? path.slice(slash + 1) : path;
  const dot = file.lastIndexOf('.');
  return dot > 0
    ? { dir, stem: file.slice(0, dot), ext: file.slice(dot) }
    : { dir, stem: file, ext: '' };
}

/**
 * The copy's path for the n-th try: `dir/stem-slug.ipynb`, then `dir/stem-slug-2.ipynb`, ...
 */
export function copyPath(path: string, slug: string, n = 1): string {
  const { dir, stem, ext } = splitPath(path);
  const file = `${stem}-${slug}${n > 1 ? `-${n}` : ''}${ext || '.ipynb'}`;
  return dir ? `${dir}/${file}` : file;
}

/** The first free copy path (`exists` says whether a path is taken). */
export async function chooseCopyPath(
  path: string,
  slug: string,
  exists: (path: string) => Promise<boolean>,
  start = 1
): Promise<string> {
  for (let n = start; n < start + MAX_NAME_TRIES; n++) {
    const candidate = copyPath(path, slug, n);
    if (candidate !== path && !(await exists(candidate))) {
      return candidate;
    }
  }
  throw new Error(trans.__('There are too many copies of %1 already.', path));
}

/** The room a notebook's `Room()` without a name joins: its metadata's, else its path's. */
export function roomOf(path: string, content: unknown): string {
  const metadata = isObject(content) ? content.metadata : undefined;
  const own = isObject(metadata) ? metadata[METADATA_KEY] : undefined;
  const room = isObject(own) ? own.room : undefined;
  return typeof room === 'string' && room ? room : toRoomName(path);
}

/** What makeOwnCopy needs. */
export interface IOwnCopyOptions {
  contents: Pick<Contents.IManager, 'get' | 'copy' | 'rename' | 'save' | 'delete'>;
  /** The user's display name (the copy's name carries it). */
  userName: string | null;
  /** The open notebook's content (with unsaved changes), or null when it is not open. */
  openContent?: (path: string) => unknown;
  /** Open the copy. */
  open: (path: string) => Promise<void>;
}

/**
 * Duplicate the notebook at `path` next to it as `<stem>-<name slug>.ipynb` (`-2`, `-3` ...
 * when taken), with the original's room in its metadata, open it; resolves to its path.
 * The copy holds what the user sees (unsaved changes included) when the notebook is open.
 * Throws an Error with a readable message.
 */
export async function makeOwnCopy(path: string, options: IOwnCopyOptions): Promise<string> {
  const { contents } = options;
  const slug = nameSlug(options.userName);
  const exists = async (p: string): Promise<boolean> => {
    try {
      await contents.get(p, { content: false });
      return true;
    } catch {
      return false;
    }
  };
  let duplicate: string;
  try {
    const { dir } = splitPath(path);
    duplicate = (await contents.copy(path, dir)).path;
  } catch (err) {
    throw new Error(trans.__('Could not copy %1: %2', path, reason(err)));
  }
  let target: string | null = null;
  try {
    // Rename the duplicate to the first free name; another copy may take it meanwhile.
    let start = 1;
    for (let attempt = 0; attempt < 3 && target === null; attempt++) {
      const candidate = await chooseCopyPath(path, slug, exists, start);
      try {
        await contents.rename(duplicate, candidate);
        target = candidate;
      } catch (err) {
        if (!(await exists(candidate))) {
          throw err;
        }
        start = nthOf(candidate, path, slug) + 1;
      }
    }
    if (target === null) {
      throw new Error(trans.__('another copy took the name'));
    }
    const open = options.openContent?.(path);
    const content = isObject(open) ? open : (await contents.get(target, { content: true })).content;
    if (!isObject(content)) {
      throw new Error(trans.__('it is not a notebook'));
    }
    const room = roomOf(path, content);
    const metadata = isObject(content.metadata) ? content.metadata : {};
    const marked = {
      ...content,
      metadata: { ...metadata, [METADATA_KEY]: { room } }
    };
    await contents.save(target, { type: 'notebook', format: 'json', content: marked });
  } catch (err) {
    await contents.delete(target ?? duplicate).catch(() => undefined);
    throw new Error(trans.__('Could not make your own copy of %1: %2', path, reason(err)));
  }
  try {
    await options.open(target);
  } catch (err) {
    throw new Error(
      trans.__('Your copy %1 was made but could not be opened: %2', target, reason(err))
    );
  }
  return target;
}

/** Which try `candidate` was (1 for `stem-slug.ipynb`). */
function nthOf(candidate: string, path: string, slug: string): number {
  for (let n = 1; n <= MAX_NAME_TRIES + 1; n++) {
    if (copyPath(path, slug, n) === candidate) {
      return n;
    }
  }
  return MAX_NAME_TRIES;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short reason from an error (the server's message when it gave one). */
function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message || trans.__('unknown error');
}
