/**
 * A snippet's actions: inserted as a new code cell below the active cell (never run),
 * highlighted with the editor language registry (as text otherwise), copied.
 */
import type { IEditorLanguage, IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import type { Notebook } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';

import { copyText } from '../classroom/clipboard';
import { highlightCode } from '../classroom/highlight';
import { insertCodeBelow, NO_NOTEBOOK } from '../classroom/insert';
import { ClassroomLab, IClassroomLabOptions } from '../classroom/lab';
import type { IRoomSession } from '../tokens';

interface IFakeCell {
  cell_type: string;
  source: string;
}

/** A notebook with the parts insertCodeBelow uses; cells are kept as plain objects. */
class FakeNotebook {
  constructor(sources: string[], active: number) {
    this.cells = sources.map(source => ({ cell_type: 'markdown', source }));
    this.activeCellIndex = active;
  }
  cells: IFakeCell[];
  activeCellIndex: number;
  mode: 'edit' | 'command' = 'edit';
  isDisposed = false;
  readOnly = false;
  deselected = 0;
  scrolledTo: number[] = [];
  executed = 0;

  get model() {
    const cells = this.cells;
    return {
      readOnly: this.readOnly,
      cells: {
        get length() {
          return cells.length;
        }
      },
      sharedModel: {
        insertCell: (index: number, cell: { cell_type: string; source?: string }) => {
          cells.splice(index, 0, { cell_type: cell.cell_type, source: cell.source ?? '' });
        }
      }
    };
  }
  deselectAll(): void {
    this.deselected++;
  }
  scrollToItem(index: number): Promise<void> {
    this.scrolledTo.push(index);
    return Promise.resolve();
  }
  /** The cell nodes: the one at `roomAt` shows a Room widget. */
  roomAt = -1;
  get activeCell(): { node: HTMLElement } | null {
    const node = document.createElement('div');
    if (this.activeCellIndex === this.roomAt) {
      node.appendChild(document.createElement('div')).className = 'jp-CollabRoom';
    }
    return this.activeCellIndex >= 0 ? { node } : null;
  }
  get asNotebook(): Notebook {
    return this as unknown as Notebook;
  }
}

describe('insertCodeBelow', () => {
  it("goes below the user's own cell when the click made the Room widget's cell active", () => {
    const nb = new FakeNotebook(['room', 'a', 'b', 'c'], 0);
    nb.roomAt = 0;
    expect(insertCodeBelow(nb.asNotebook, 'x = 1', 2)).toBeNull();
    expect(nb.cells.map(c => c.source)).toEqual(['room', 'a', 'b', 'x = 1', 'c']);
    // Without a known work cell: below the active one, as always.
    const other = new FakeNotebook(['room', 'a'], 0);
    other.roomAt = 0;
    expect(insertCodeBelow(other.asNotebook, 'y', null)).toBeNull();
    expect(other.cells.map(c => c.source)).toEqual(['room', 'y', 'a']);
    // A work cell is not used when the active cell is not a Room's.
    const plain = new FakeNotebook(['a', 'b', 'c'], 0);
    expect(insertCodeBelow(plain.asNotebook, 'z', 2)).toBeNull();
    expect(plain.cells.map(c => c.source)).toEqual(['a', 'z', 'b', 'c']);
  });

  it('inserts a code cell below the active one, makes it active, runs nothing', () => {
    const nb = new FakeNotebook(['a', 'b', 'c'], 1);
    const code = 'for i in range(3):\n    print(i)  # <b>not html</b>';
    expect(insertCodeBelow(nb.asNotebook, code)).toBeNull();
    expect(nb.cells.map(c => c.source)).toEqual(['a', 'b', code, 'c']);
    expect(nb.cells[2].cell_type).toBe('code');
    expect(nb.activeCellIndex).toBe(2);
    expect(nb.mode).toBe('command');
    expect(nb.scrolledTo).toEqual([2]);
  });

  it('appends when no cell is active', () => {
    const nb = new FakeNotebook(['a'], -1);
    expect(insertCodeBelow(nb.asNotebook, 'x = 1')).toBeNull();
    expect(nb.cells.map(c => c.source)).toEqual(['a', 'x = 1']);
    expect(nb.activeCellIndex).toBe(1);
    const empty = new FakeNotebook([], -1);
    expect(insertCodeBelow(empty.asNotebook, 'y')).toBeNull();
    expect(empty.cells.map(c => c.source)).toEqual(['y']);
  });

  it('says why not without a notebook, or a read-only one', () => {
    expect(insertCodeBelow(null, 'x')).toBe(NO_NOTEBOOK);
    expect(NO_NOTEBOOK).toBe('Open a notebook first.');
    const gone = new FakeNotebook(['a'], 0);
    gone.isDisposed = true;
    expect(insertCodeBelow(gone.asNotebook, 'x')).toBe(NO_NOTEBOOK);
    const locked = new FakeNotebook(['a'], 0);
    locked.readOnly = true;
    expect(insertCodeBelow(locked.asNotebook, 'x')).toMatch(/read-only/);
    expect(locked.cells).toHaveLength(1);
  });
});

describe('highlightCode', () => {
  const python: IEditorLanguage = { name: 'python', mime: 'text/x-python' };

  /** A registry that knows python and wraps every word in a span. */
  function registry(delay = 0): IEditorLanguageRegistry {
    return {
      findBest: (language: string) => (language === 'python' ? python : null),
      highlight: async (code: string, language: IEditorLanguage | null, el: HTMLElement) => {
        if (delay) {
          await new Promise(resolve => setTimeout(resolve, delay));
        }
        for (const part of code.split(/(\s+)/)) {
          if (/^\s*$/.test(part)) {
            el.appendChild(document.createTextNode(part));
          } else {
            const span = document.createElement('span');
            span.className = 'tok';
            span.textContent = part;
            el.appendChild(span);
          }
        }
      }
    } as unknown as IEditorLanguageRegistry;
  }

  it('highlights a known language with the registry', async () => {
    const el = document.createElement('pre');
    el.textContent = 'old';
    await highlightCode(registry(), 'import os', 'python', el);
    expect(el.textContent).toBe('import os');
    expect(el.querySelectorAll('span.tok')).toHaveLength(2);
    expect(el.classList.contains('cm-s-jupyter')).toBe(true);
    expect(el.classList.contains('jp-CollabCode')).toBe(true);
  });

  it('shows plain text without a registry or for an unknown language', async () => {
    const el = document.createElement('pre');
    await highlightCode(null, '<img src=x onerror=alert(1)>', 'python', el);
    expect(el.textContent).toBe('<img src=x onerror=alert(1)>');
    expect(el.querySelector('img')).toBeNull();
    await highlightCode(registry(), 'x <- 1', 'r', el);
    expect(el.textContent).toBe('x <- 1');
    expect(el.querySelector('span')).toBeNull();
  });

  it('keeps only the latest call for an element', async () => {
    const el = document.createElement('pre');
    const slow = highlightCode(registry(20), 'first one', 'python', el);
    await highlightCode(registry(), 'second', 'python', el);
    await slow;
    expect(el.textContent).toBe('second');
  });

  it('falls back to text when the highlighter fails', async () => {
    const el = document.createElement('pre');
    const broken = {
      findBest: () => python,
      highlight: async () => {
        throw new Error('no parser');
      }
    } as unknown as IEditorLanguageRegistry;
    await highlightCode(broken, 'a = 1', 'python', el);
    expect(el.textContent).toBe('a = 1');
  });
});

describe('copyText', () => {
  const original = Object.getOwnPropertyDescriptor(navigator, 'clipboard');
  afterEach(() => {
    if (original) {
      Object.defineProperty(navigator, 'clipboard', original);
    } else {
      delete (navigator as unknown as { clipboard?: unknown }).clipboard;
    }
  });

  function setClipboard(writeText: (text: string) => Promise<void>): void {
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
  }

  it('writes to the clipboard', async () => {
    const written: string[] = [];
    setClipboard(async text => {
      written.push(text);
    });
    expect(await copyText('print(1)')).toBe(true);
    expect(written).toEqual(['print(1)']);
  });

  it('is false when the browser refuses', async () => {
    setClipboard(async () => {
      throw new Error('NotAllowedError');
    });
    (document as unknown as { execCommand: (c: string) => boolean }).execCommand = () => false;
    expect(await copyText('x')).toBe(false);
  });
});

describe('ClassroomLab', () => {
  /** The lab with a fake JupyterLab: one notebook panel (or none), an in-memory server. */
  function makeLab(options: { panel: boolean; collaborative?: boolean; you?: string | null }) {
    const nb = new FakeNotebook(['a', 'b'], 0);
    const files = new Map<string, unknown>([
      ['w/lab.ipynb', { cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 }]
    ]);
    const panel = {
      id: 'p1',
      isDisposed: false,
      isVisible: true,
      content: nb,
      contentHeader: null,
      context: {
        path: 'w/lab.ipynb',
        model: {
          collaborative: options.collaborative ?? false,
          toJSON: () => files.get('w/lab.ipynb')
        }
      }
    };
    const panels = options.panel ? [panel] : [];
    const opened: string[] = [];
    const contents = {
      normalize: (p: string) => p,
      localPath: (p: string) => p,
      getSharedModelFactory: () => null,
      get: async (p: string) => {
        if (!files.has(p)) {
          throw new Error(`No such file: ${p}`);
        }
        return { path: p, content: files.get(p) };
      },
      copy: async (p: string) => {
        files.set('w/lab-Copy1.ipynb', files.get(p));
        return { path: 'w/lab-Copy1.ipynb' };
      },
      rename: async (from: string, to: string) => {
        files.set(to, files.get(from));
        files.delete(from);
        return { path: to };
      },
      save: async (p: string, model: { content: unknown }) => {
        files.set(p, model.content);
        return { path: p };
      },
      delete: async (p: string) => {
        files.delete(p);
      }
    };
    const app = {
      serviceManager: { contents, user: { identity: { display_name: 'Server Name' } } },
      shell: { activateById: () => undefined },
      commands: {
        execute: async (_: string, args: { path: string }) => {
          opened.push(args.path);
        }
      }
    };
    const notebooks = {
      currentWidget: options.panel ? panel : null,
      find: (fn: (p: unknown) => boolean) => panels.find(fn),
      activeCellChanged: new Signal<unknown, unknown>({})
    };
    const you = options.you === undefined ? 'Ana Lima' : options.you;
    const connection = {
      sessions: you ? [{ you: { display_name: you } }] : [],
      sessionsChanged: new Signal<unknown, void>({})
    };
    const following: Array<string | null> = [];
    const lab = new ClassroomLab({
      app: app as unknown as IClassroomLabOptions['app'],
      connection: connection as unknown as IClassroomLabOptions['connection'],
      notebooks: notebooks as unknown as IClassroomLabOptions['notebooks'],
      languages: null,
      setFollowing: u => following.push(u)
    });
    return { lab, nb, files, opened, following };
  }

  it('inserts into the current notebook, or says to open one', async () => {
    const { lab, nb } = makeLab({ panel: true });
    expect(lab.currentPath).toBe('w/lab.ipynb');
    expect(await lab.insertBelow('x = 1')).toBeNull();
    expect(nb.cells.map(c => c.source)).toEqual(['a', 'x = 1', 'b']);
    const none = makeLab({ panel: false });
    expect(none.lab.currentPath).toBeNull();
    expect(await none.lab.insertBelow('x = 1')).toBe('Open a notebook first.');
    lab.dispose();
    none.lab.dispose();
  });

  it('tells real-time collaboration from a plain shared file', () => {
    expect(makeLab({ panel: true, collaborative: true }).lab.isRealTime('w/lab.ipynb')).toBe(true);
    expect(makeLab({ panel: true }).lab.isRealTime('w/lab.ipynb')).toBe(false);
    expect(makeLab({ panel: false }).lab.isRealTime('w/lab.ipynb')).toBe(false);
  });

  it('names own copies after the room identity, else the server identity', async () => {
    const a = makeLab({ panel: true });
    expect(await a.lab.makeOwnCopy('w/lab.ipynb')).toBe('w/lab-ana-lima.ipynb');
    expect(a.opened).toEqual(['w/lab-ana-lima.ipynb']);
    const copy = a.files.get('w/lab-ana-lima.ipynb') as { metadata: Record<string, unknown> };
    expect(copy.metadata).toEqual({ collab_widget: { room: 'w/lab.ipynb' } });
    const b = makeLab({ panel: false, you: null });
    expect(await b.lab.makeOwnCopy('w/lab.ipynb')).toBe('w/lab-server-name.ipynb');
  });

  it('passes following on to the presence and re-emits followingChanged', () => {
    const { lab, following } = makeLab({ panel: true });
    const seen: Array<string | null> = [];
    lab.followingChanged.connect((_, f) => seen.push(f ? f.username : null));
    const presence = new Map();
    const session = {
      name: 'r',
      you: { username: 'ana' },
      members: [{ username: 'lee', display_name: 'Ms Lee' }],
      presence,
      presenceChanged: new Signal<unknown, void>({}),
      memberLeft: new Signal<unknown, unknown>({})
    } as unknown as IRoomSession;
    lab.follow({ session, username: 'lee' });
    expect(lab.following?.name).toBe('Ms Lee');
    lab.follow(null);
    expect(following).toEqual(['lee', null]);
    expect(seen).toEqual(['lee', null]);
    lab.dispose();
  });
});
