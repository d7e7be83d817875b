/**
 * "Make my own copy": the copy's name (the user's name, collisions), its room metadata, the
 * contents calls, readable errors.
 */
import type { Contents } from '@jupyterlab/services';

import {
  chooseCopyPath,
  copyPath,
  makeOwnCopy,
  METADATA_KEY,
  nameSlug,
  roomOf,
  splitPath
} from '../classroom/ownCopy';

describe('copy names', () => {
  it('slugs display names', () => {
    expect(nameSlug('Ana María')).toBe('ana-maría');
    expect(nameSlug('  Anonymous Io ')).toBe('anonymous-io');
    expect(nameSlug("O'Brien / Team #2")).toBe('o-brien-team-2');
    expect(nameSlug('李雷')).toBe('李雷');
    expect(nameSlug('../../etc')).toBe('etc');
    expect(nameSlug('')).toBe('mine');
    expect(nameSlug(null)).toBe('mine');
    expect(nameSlug('!!!')).toBe('mine');
    expect(nameSlug('x'.repeat(100))).toHaveLength(40);
  });

  it('names the copy next to the original', () => {
    expect(splitPath('week 1/lab.ipynb')).toEqual({ dir: 'week 1', stem: 'lab', ext: '.ipynb' });
    expect(splitPath('lab.v2.ipynb')).toEqual({ dir: '', stem: 'lab.v2', ext: '.ipynb' });
    expect(copyPath('lab.ipynb', 'ana')).toBe('lab-ana.ipynb');
    expect(copyPath('week 1/lab.ipynb', 'ana', 1)).toBe('week 1/lab-ana.ipynb');
    expect(copyPath('week 1/lab.ipynb', 'ana', 2)).toBe('week 1/lab-ana-2.ipynb');
    expect(copyPath('a/b/lab.v2.ipynb', 'ana', 3)).toBe('a/b/lab.v2-ana-3.ipynb');
  });

  it('appends -2, -3 on collisions', async () => {
    const taken = new Set(['w/lab-ana.ipynb', 'w/lab-ana-2.ipynb']);
    const exists = async (p: string): Promise<boolean> => taken.has(p);
    expect(await chooseCopyPath('w/lab.ipynb', 'ana', exists)).toBe('w/lab-ana-3.ipynb');
    expect(await chooseCopyPath('w/lab.ipynb', 'ben', exists)).toBe('w/lab-ben.ipynb');
    await expect(chooseCopyPath('w/lab.ipynb', 'ana', async () => true)).rejects.toThrow(
      'There are too many copies of w/lab.ipynb already.'
    );
  });

  it('keeps the room a notebook already names', () => {
    expect(roomOf('w/lab.ipynb', { metadata: {} })).toBe('w/lab.ipynb');
    expect(roomOf('Übung 1.ipynb', null)).toBe('-bung 1.ipynb');
    expect(
      roomOf('w/lab-ana.ipynb', { metadata: { [METADATA_KEY]: { room: 'w/lab.ipynb' } } })
    ).toBe('w/lab.ipynb');
    expect(roomOf('w/x.ipynb', { metadata: { [METADATA_KEY]: { room: 42 } } })).toBe('w/x.ipynb');
  });
});

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** An in-memory contents manager with the calls makeOwnCopy makes. */
class FakeContents {
  files = new Map<string, Record<string, unknown>>();
  calls: string[] = [];
  failRename: ((to: string) => boolean) | null = null;
  failSave = false;

  private model(path: string, content: unknown): Contents.IModel {
    return { path, name: path.split('/').pop(), type: 'notebook', content } as Contents.IModel;
  }

  async get(path: string, options?: Contents.IFetchOptions): Promise<Contents.IModel> {
    const file = this.files.get(path);
    if (!file) {
      throw new Error(`No such file or directory: ${path}`);
    }
    return this.model(path, options?.content === false ? null : clone(file));
  }

  async copy(path: string, toDir: string): Promise<Contents.IModel> {
    this.calls.push(`copy ${path} -> ${toDir}`);
    const file = this.files.get(path);
    if (!file) {
      throw new Error(`No such file or directory: ${path}`);
    }
    const stem = path.replace(/\.ipynb$/, '');
    const target = `${stem}-Copy1.ipynb`;
    this.files.set(target, clone(file));
    return this.model(target, null);
  }

  async rename(path: string, newPath: string): Promise<Contents.IModel> {
    this.calls.push(`rename ${path} -> ${newPath}`);
    if (this.failRename?.(newPath)) {
      this.failRename = null;
      // Someone else took the name meanwhile.
      this.files.set(newPath, { metadata: {}, cells: [] });
      throw new Error(`File already exists: ${newPath}`);
    }
    if (this.files.has(newPath)) {
      throw new Error(`File already exists: ${newPath}`);
    }
    const file = this.files.get(path);
    if (!file) {
      throw new Error(`No such file or directory: ${path}`);
    }
    this.files.delete(path);
    this.files.set(newPath, file);
    return this.model(newPath, null);
  }

  async save(path: string, options?: Partial<Contents.IModel>): Promise<Contents.IModel> {
    this.calls.push(`save ${path}`);
    if (this.failSave) {
      throw new Error('Permission denied');
    }
    this.files.set(path, options?.content as Record<string, unknown>);
    return this.model(path, null);
  }

  async delete(path: string): Promise<void> {
    this.calls.push(`delete ${path}`);
    this.files.delete(path);
  }

  get asContents(): Pick<Contents.IManager, 'get' | 'copy' | 'rename' | 'save' | 'delete'> {
    return this as unknown as Pick<
      Contents.IManager,
      'get' | 'copy' | 'rename' | 'save' | 'delete'
    >;
  }
}

const NOTEBOOK = {
  cells: [{ cell_type: 'code', source: 'print(1)', metadata: {}, outputs: [] }],
  metadata: { kernelspec: { name: 'python3' } },
  nbformat: 4,
  nbformat_minor: 5
};

describe('makeOwnCopy', () => {
  it('copies, renames with the user name, marks the room, opens', async () => {
    const contents = new FakeContents();
    contents.files.set('week 1/lab.ipynb', clone(NOTEBOOK));
    contents.files.set('week 1/lab-ana-maría.ipynb', {});
    const opened: string[] = [];
    const path = await makeOwnCopy('week 1/lab.ipynb', {
      contents: contents.asContents,
      userName: 'Ana María',
      open: async p => {
        opened.push(p);
      }
    });
    expect(path).toBe('week 1/lab-ana-maría-2.ipynb');
    expect(opened).toEqual([path]);
    expect(contents.calls).toEqual([
      'copy week 1/lab.ipynb -> week 1',
      'rename week 1/lab-Copy1.ipynb -> week 1/lab-ana-maría-2.ipynb',
      `save ${path}`
    ]);
    const copy = contents.files.get(path) as typeof NOTEBOOK & {
      metadata: Record<string, unknown>;
    };
    expect(copy.cells).toEqual(NOTEBOOK.cells);
    expect(copy.metadata).toEqual({
      kernelspec: { name: 'python3' },
      [METADATA_KEY]: { room: 'week 1/lab.ipynb' }
    });
    // The original is untouched.
    expect(contents.files.get('week 1/lab.ipynb')).toEqual(NOTEBOOK);
    expect(contents.files.has('week 1/lab-Copy1.ipynb')).toBe(false);
  });

  it('copies what the user sees when the notebook is open', async () => {
    const contents = new FakeContents();
    contents.files.set('lab.ipynb', clone(NOTEBOOK));
    const unsaved = { ...NOTEBOOK, cells: [{ cell_type: 'code', source: 'x = 2', metadata: {} }] };
    const path = await makeOwnCopy('lab.ipynb', {
      contents: contents.asContents,
      userName: null,
      openContent: p => (p === 'lab.ipynb' ? unsaved : null),
      open: async () => undefined
    });
    expect(path).toBe('lab-mine.ipynb');
    expect((contents.files.get(path) as typeof unsaved).cells).toEqual(unsaved.cells);
  });

  it('takes the next name when another copy took it meanwhile', async () => {
    const contents = new FakeContents();
    contents.files.set('lab.ipynb', clone(NOTEBOOK));
    contents.failRename = to => to === 'lab-ana.ipynb';
    const path = await makeOwnCopy('lab.ipynb', {
      contents: contents.asContents,
      userName: 'Ana',
      open: async () => undefined
    });
    expect(path).toBe('lab-ana-2.ipynb');
  });

  it('fails with a readable message and leaves no half copy', async () => {
    const contents = new FakeContents();
    await expect(
      makeOwnCopy('gone.ipynb', {
        contents: contents.asContents,
        userName: 'Ana',
        open: async () => undefined
      })
    ).rejects.toThrow('Could not copy gone.ipynb: No such file or directory: gone.ipynb');

    contents.files.set('lab.ipynb', clone(NOTEBOOK));
    contents.failSave = true;
    await expect(
      makeOwnCopy('lab.ipynb', {
        contents: contents.asContents,
        userName: 'Ana',
        open: async () => undefined
      })
    ).rejects.toThrow('Could not make your own copy of lab.ipynb: Permission denied');
    expect(Array.from(contents.files.keys())).toEqual(['lab.ipynb']);
  });

  it('says when the copy could not be opened', async () => {
    const contents = new FakeContents();
    contents.files.set('lab.ipynb', clone(NOTEBOOK));
    await expect(
      makeOwnCopy('lab.ipynb', {
        contents: contents.asContents,
        userName: 'Ana',
        open: async () => {
          throw new Error('no notebook factory');
        }
      })
    ).rejects.toThrow('Your copy lab-ana.ipynb was made but could not be opened');
  });
});
