/**
 * Protocol 1.2's compact presence (docs: /tmp/spec12.md, "Protocol 1.2"): the join asks for it,
 * the ack's member numbers, batches keyed by member number (diff merge, null removal, whole
 * entries, gone, reset, our own number skipped, unknown numbers ignored), the 1.1 fallback;
 * and presence drawn once per animation frame however many batches came (FrameScheduler,
 * RemotePresence, RoomRenderer, the members list, the carets pushed into CodeMirror).
 */
import { EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { CodeMirrorEditor } from '@jupyterlab/codemirror';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';
import type { Socket } from 'socket.io-client';

import { FrameScheduler, ThrottledTask } from '../frame';
import { NotebookCursors } from '../presence/cellPresenceRenderer';
import { PRESENCE_FPS, RemotePresence } from '../presence/remotePresence';
import {
  caretFrames,
  caretLayerOf,
  IRemoteCaret,
  RemoteCaretLayer,
  remoteCursors
} from '../presence/remoteCursors';
import type {
  CompactDiffItem,
  CompactFullItem,
  ICompactPresenceEvent,
  IJoinOk,
  IMember,
  IPresenceEntry,
  IPresenceState
} from '../protocol';
import { PRESENCE_PROTOCOL, speaksCompactPresence } from '../protocol';
import { PresenceMap } from '../room/presenceMap';
import { RoomSession } from '../room/roomSession';
import type { ICollabConnection, ICollabPresence, IRoomSession } from '../tokens';
import { MembersPane, rowsInView } from '../view/membersPane';
import { LOCATIONS_PER_SECOND, RoomRenderer } from '../view/roomRenderer';
import { FakeSocket, member } from './classroomFixtures';

// The real package cannot load under jest (ES modules it pulls in); the renderer only needs
// the class for `instanceof`.
jest.mock('@jupyterlab/codemirror', () => ({
  CodeMirrorEditor: class CodeMirrorEditor {}
}));

const me = member('me', 'Me');
const TS = 1_764_115_200_000;

/** A whole entry item: [n, state, session, user, ts]. */
function full(n: number, state: IPresenceState, user = `u${n}`, ts = TS): CompactFullItem {
  return [n, state, `s-${n}`, user, ts];
}

function batch(
  set: Array<CompactDiffItem | CompactFullItem>,
  extra: Partial<ICompactPresenceEvent> = {}
): ICompactPresenceEvent {
  return { room: 'r', ts: TS + 100, set, ...extra };
}

/** A join ack from a 1.2 server (`n` given) or a 1.1 one (`n` null: no numbers). */
function ack(
  ownN: number | null,
  presence: IPresenceEntry[] = [],
  members: IMember[] = [me]
): IJoinOk {
  const res: IJoinOk = {
    ok: true,
    room: 'r',
    you: { ...me, session: 's-me' },
    members,
    history: [],
    has_more: false,
    last_seq: 0,
    presence
  };
  if (ownN !== null) {
    res.protocol = '1.2';
    res.you.n = ownN;
  } else {
    res.protocol = '1.1';
  }
  return res;
}

/** A RoomSession joined with `res`; `changes` counts presenceChanged. */
function joinedWith(res: IJoinOk): { s: RoomSession; socket: FakeSocket; changes: () => number } {
  const socket = new FakeSocket();
  const s = new RoomSession('r', () => socket as unknown as Socket);
  let changes = 0;
  s.presenceChanged.connect(() => changes++);
  s.join();
  socket.answer('join', res);
  return { s, socket, changes: () => changes };
}

function entryOf(s: IRoomSession, session: string): IPresenceEntry | undefined {
  return s.presence.get(session);
}

/** Frames that run only when the test says so. */
class ManualFrames {
  readonly callbacks = new Map<number, () => void>();
  requested = 0;
  readonly scheduler = new FrameScheduler(
    callback => {
      this.requested++;
      this.callbacks.set(this.requested, callback);
      return this.requested;
    },
    handle => {
      this.callbacks.delete(handle);
    }
  );

  get waiting(): number {
    return this.callbacks.size;
  }

  run(): void {
    const callbacks = Array.from(this.callbacks.values());
    this.callbacks.clear();
    for (const callback of callbacks) {
      callback();
    }
  }
}

describe('protocol 1.2: the join', () => {
  it('asks for protocol 1.2 in every join, re-joins included', () => {
    const { s, socket } = joinedWith(ack(1));
    expect(PRESENCE_PROTOCOL).toBe('1.2');
    expect(socket.last('join').payload).toEqual({ room: 'r', protocol: '1.2' });
    s.onDisconnected();
    s.join();
    expect(socket.last('join').payload).toEqual({ room: 'r', since: 0, protocol: '1.2' });
  });

  it('knows which versions speak compact presence', () => {
    for (const v of ['1.2', '1.3', '1.10']) {
      expect(speaksCompactPresence(v)).toBe(true);
    }
    for (const v of ['1.1', '1.0', '2.2', '1', '1.2.0', '', null, undefined, 12]) {
      expect(speaksCompactPresence(v)).toBe(false);
    }
  });

  it("takes the snapshot's member numbers and skips our own entry", () => {
    const { s, changes } = joinedWith(
      ack(1, [
        { session: 's-me', user: 'me', state: { line: 9 }, ts: 1, n: 1 },
        { session: 's-2', user: 'u2', state: { path: 'a.ipynb', line: 1 }, ts: 2, n: 2 },
        { session: 's-3', user: 'u3', state: { path: 'b.ipynb' }, ts: 3, n: 3 }
      ])
    );
    expect(changes()).toBe(1);
    expect(s.compactPresence).toBe(true);
    expect(Array.from(s.presence.keys())).toEqual(['s-2', 's-3']);
    s.onPresenceEvent(batch([[2, { line: 5 }]]));
    expect(entryOf(s, 's-2')).toEqual({
      session: 's-2',
      user: 'u2',
      state: { path: 'a.ipynb', line: 5 },
      ts: TS + 100,
      n: 2
    });
  });
});

describe('protocol 1.2: compact batches', () => {
  function room() {
    return joinedWith(
      ack(1, [
        {
          session: 's-7',
          user: 'alice',
          state: {
            path: 'a.ipynb',
            cell_id: 'c1',
            line: 0,
            column: 0,
            selections: [{ anchor: { line: 0, column: 0 }, head: { line: 0, column: 3 } }],
            mode: 'edit',
            activity: 'active'
          },
          ts: TS,
          n: 7
        },
        { session: 's-8', user: 'bob', state: { path: 'b.ipynb', line: 2 }, ts: TS, n: 8 }
      ])
    );
  }

  it('merges a diff into what it had: changed fields set, the others kept, ts the batch ts', () => {
    const { s, changes } = room();
    const bob = entryOf(s, 's-8');
    s.onPresenceEvent(batch([[7, { line: 4, column: 2 }]]));
    expect(entryOf(s, 's-7')).toEqual({
      session: 's-7',
      user: 'alice',
      state: {
        path: 'a.ipynb',
        cell_id: 'c1',
        line: 4,
        column: 2,
        selections: [{ anchor: { line: 0, column: 0 }, head: { line: 0, column: 3 } }],
        mode: 'edit',
        activity: 'active'
      },
      ts: TS + 100,
      n: 7
    });
    // one signal per batch; an entry not in the batch is the same object
    expect(changes()).toBe(2);
    expect(entryOf(s, 's-8')).toBe(bob);
  });

  it('removes a field whose value is null', () => {
    const { s } = room();
    s.onPresenceEvent(batch([[7, { selections: null, cell_id: null, mode: 'command' }]]));
    expect(entryOf(s, 's-7')?.state).toEqual({
      path: 'a.ipynb',
      line: 0,
      column: 0,
      mode: 'command',
      activity: 'active'
    });
  });

  it('sanitises merged states and never merges unknown fields', () => {
    const { s } = room();
    const patch = JSON.parse(
      '{"line": -3, "html": "<img src=x>", "__proto__": {"following": "ana"}, "column": 5}'
    );
    s.onPresenceEvent(batch([[7, patch]]));
    const state = entryOf(s, 's-7')?.state;
    expect(state?.line).toBeUndefined(); // invalid: dropped
    expect(state?.column).toBe(5);
    expect(state).not.toHaveProperty('html');
    expect(state?.following).toBeUndefined();
    expect(Object.getPrototypeOf(state)).toBe(Object.prototype);
  });

  it('replaces everything it had for n with a whole (5-item) entry', () => {
    const { s } = room();
    s.onPresenceEvent(batch([full(7, { path: 'c.ipynb', cell_index: 2 }, 'alice', TS + 50)]));
    expect(entryOf(s, 's-7')).toEqual({
      session: 's-7',
      user: 'alice',
      state: { path: 'c.ipynb', cell_index: 2 },
      ts: TS + 50,
      n: 7
    });
    // a new member: learnt from its whole entry, then diffs apply to it
    s.onPresenceEvent(batch([full(9, { path: 'a.ipynb', line: 1 }, 'cy'), [9, { line: 2 }]]));
    expect(entryOf(s, 's-9')?.state).toEqual({ path: 'a.ipynb', line: 2 });
  });

  it('forgets the gone member numbers', () => {
    const { s, changes } = room();
    s.onPresenceEvent(batch([], { gone: [8, 42] }));
    expect(Array.from(s.presence.keys())).toEqual(['s-7']);
    expect(changes()).toBe(2);
    // a diff for a gone member is for an unknown number now: ignored
    s.onPresenceEvent(batch([[8, { line: 1 }]]));
    expect(s.presence.has('s-8')).toBe(false);
    expect(changes()).toBe(2);
  });

  it('replaces everything with a reset', () => {
    const { s } = room();
    s.onPresenceEvent(
      batch([full(8, { path: 'x.ipynb' }, 'bob'), full(10, { line: 1 }, 'dee'), [7, { line: 3 }]], {
        reset: true
      })
    );
    expect(Array.from(s.presence.keys()).sort()).toEqual(['s-10', 's-8']);
    expect(entryOf(s, 's-8')?.state).toEqual({ path: 'x.ipynb' });
  });

  it('skips its own member number (every member gets the same batch)', () => {
    const { s, changes } = room();
    s.onPresenceEvent(batch([[1, { line: 3 }], full(1, { line: 4 }, 'me')]));
    expect(s.presence.size).toBe(2);
    expect(Array.from(s.presence.values()).some(e => e.user === 'me')).toBe(false);
    expect(changes()).toBe(1); // only our own entry changed: nothing to tell
    // our own session under another number is skipped too
    s.onPresenceEvent(batch([[12, {}, 's-me', 'me', TS] as CompactFullItem]));
    expect(s.presence.has('s-me')).toBe(false);
  });

  it('ignores a diff for an unknown number, and malformed items', () => {
    const { s, changes } = room();
    const before = new Map(s.presence);
    const bad = [
      [99, { line: 1 }],
      'x',
      [-1, { line: 1 }],
      [1.5, { line: 1 }],
      [7, 'line'],
      [7, { line: 1 }, 's-7'],
      [11, { line: 1 }, 42, 'u', TS]
    ] as unknown as CompactDiffItem[];
    s.onPresenceEvent(batch(bad));
    expect(new Map(s.presence)).toEqual(before);
    expect(changes()).toBe(1);
    s.onPresenceEvent({
      room: 'r',
      ts: TS,
      set: [],
      gone: ['7']
    } as unknown as ICompactPresenceEvent);
    expect(s.presence.size).toBe(2);
  });

  it('ignores batches before the join acknowledgement and forgets presence on a disconnect', () => {
    const socket = new FakeSocket();
    const s = new RoomSession('r', () => socket as unknown as Socket);
    s.join();
    s.onPresenceEvent(batch([full(3, { line: 1 })]));
    expect(s.presence.size).toBe(0);
    socket.answer('join', ack(1));
    s.onPresenceEvent(batch([full(3, { line: 1 })]));
    expect(s.presence.size).toBe(1);
    s.onDisconnected();
    expect(s.presence.size).toBe(0);
  });

  it('applies a batch of 300 diffs in one pass with one signal', () => {
    const snapshot = Array.from({ length: 300 }, (_, i) => ({
      session: `s-${i + 2}`,
      user: `u${i + 2}`,
      state: { path: 'a.ipynb', cell_id: 'c1', line: 0, column: 0 },
      ts: TS,
      n: i + 2
    }));
    const { s, changes } = joinedWith(ack(1, snapshot));
    const set: CompactDiffItem[] = snapshot.map(e => [e.n, { column: e.n % 7 }]);
    s.onPresenceEvent(batch(set));
    expect(changes()).toBe(2);
    expect(entryOf(s, 's-9')?.state.column).toBe(2);
  });
});

describe('protocol 1.1 fallback', () => {
  it('keeps the 1.1 format when the ack has no member number', () => {
    const { s, changes } = joinedWith(
      ack(null, [{ session: 's-2', user: 'u2', state: { line: 1 }, ts: 1 }])
    );
    expect(s.compactPresence).toBe(false);
    s.onPresenceEvent({
      room: 'r',
      updates: [
        { session: 's-3', user: 'u3', state: { line: 3 }, ts: 5 },
        { session: 's-me', user: 'me', state: { line: 0 }, ts: 5 }
      ],
      removed: ['s-2']
    });
    expect(Array.from(s.presence.keys())).toEqual(['s-3']);
    s.onPresenceEvent({
      room: 'r',
      updates: [{ session: 's-4', user: 'u4', state: {}, ts: 6 }],
      removed: [],
      reset: true
    });
    expect(Array.from(s.presence.keys())).toEqual(['s-4']);
    expect(changes()).toBe(3);
  });

  it('does not take member numbers from a 1.1 ack (protocol not 1.2)', () => {
    const res = ack(null);
    res.you.n = 5;
    const { s } = joinedWith(res);
    expect(s.compactPresence).toBe(false);
    // a whole entry for n 5 is not taken for ours by number (only by session)
    s.onPresenceEvent(batch([full(5, { line: 1 }, 'other')]));
    expect(s.presence.has('s-5')).toBe(true);
  });

  it('PresenceMap keeps one session per number when 1.1 entries carry n', () => {
    const map = new PresenceMap();
    map.join([], 's-me', 1);
    map.apply({
      room: 'r',
      updates: [{ session: 's-4', user: 'u', state: {}, ts: 1, n: 4 }],
      removed: []
    });
    expect(map.member(4)?.session).toBe('s-4');
    map.apply({ room: 'r', updates: [], removed: ['s-4'] });
    expect(map.member(4)).toBeUndefined();
    expect(map.entries.size).toBe(0);
  });
});

// ---- rendering once per frame -------------------------------------------------------------

describe('FrameScheduler', () => {
  it('runs a task scheduled many times once, in the next frame, by phase', () => {
    const frames = new ManualFrames();
    const order: string[] = [];
    const write = (): void => {
      order.push('write');
    };
    const update = (): void => {
      order.push('update');
      frames.scheduler.schedule(write, 'write'); // scheduled in the frame: same frame
    };
    const read = (): void => {
      order.push('read');
    };
    for (let i = 0; i < 5; i++) {
      frames.scheduler.schedule(write, 'write');
      frames.scheduler.schedule(read, 'read');
      frames.scheduler.schedule(update, 'update');
    }
    expect(frames.requested).toBe(1);
    expect(order).toEqual([]);
    frames.run();
    expect(order).toEqual(['update', 'read', 'write']);
    expect(frames.waiting).toBe(0);
    expect(frames.scheduler.frames).toBe(1);
  });

  it('cancels the frame when nothing waits for it any more', () => {
    const frames = new ManualFrames();
    const task = jest.fn();
    frames.scheduler.schedule(task);
    expect(frames.scheduler.pending).toBe(true);
    frames.scheduler.cancel(task);
    expect(frames.scheduler.pending).toBe(false);
    expect(frames.waiting).toBe(0);
    frames.scheduler.schedule(task);
    frames.scheduler.flush();
    expect(task).toHaveBeenCalledTimes(1);
    expect(frames.waiting).toBe(0);
  });

  it('keeps running after a failing task', () => {
    const frames = new ManualFrames();
    const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const after = jest.fn();
    frames.scheduler.schedule(() => {
      throw new Error('boom');
    });
    frames.scheduler.schedule(after);
    frames.run();
    expect(after).toHaveBeenCalledTimes(1);
    expect(error).toHaveBeenCalled();
    error.mockRestore();
  });
});

/** A connection holding the given room sessions. */
function connectionOf(...sessions: IRoomSession[]): ICollabConnection {
  return {
    sessions,
    sessionsChanged: new Signal<object, void>({}),
    statusChanged: new Signal<object, void>({}),
    state: 'connected',
    transport: 'websocket',
    serviceState: '',
    rtt: null,
    sid: 'sid-1',
    transportMode: 'websocket',
    setTransportMode: () => undefined,
    network: { handshake: null }
  } as unknown as ICollabConnection;
}

/** A 1.2 room with `count` others (n 2..count+1, users u2.., all in cell c1 of a.ipynb). */
function bigRoom(count: number): RoomSession {
  const members = [me];
  const snapshot: IPresenceEntry[] = [];
  for (let n = 2; n < count + 2; n++) {
    members.push(member(`u${n}`, `User ${n}`));
    snapshot.push({
      session: `s-${n}`,
      user: `u${n}`,
      state: { path: 'a.ipynb', cell_id: 'c1', line: 0, column: n % 5, mode: 'edit' },
      ts: TS,
      n
    });
  }
  return joinedWith(ack(1, snapshot, members)).s;
}

describe('RemotePresence: once per frame', () => {
  it('coalesces the batches of a frame into one change, keeping unchanged cursors', () => {
    const frames = new ManualFrames();
    const s = bigRoom(300);
    const remote = new RemotePresence(connectionOf(s), frames.scheduler);
    frames.run();
    expect(remote.cursors.length).toBe(300);
    const before = remote.cursors;
    let changed = 0;
    remote.changed.connect(() => changed++);
    for (let i = 0; i < 4; i++) {
      s.onPresenceEvent(batch([[5, { line: i + 1 }]]));
    }
    expect(changed).toBe(0);
    expect(frames.waiting).toBe(1);
    frames.run();
    expect(changed).toBe(1);
    const after = remote.cursors;
    expect(after.find(c => c.session === 's-5')?.state.line).toBe(4);
    // every other cursor is the very same object
    expect(after.filter((c, i) => c !== before[i]).map(c => c.session)).toEqual(['s-5']);
    // a batch with only our own entry: no frame work, no change
    s.onPresenceEvent(batch([[1, { line: 9 }]]));
    frames.run();
    expect(changed).toBe(1);
    remote.dispose();
    s.onPresenceEvent(batch([[5, { line: 1 }]]));
    expect(frames.waiting).toBe(0);
  });

  it('answers a read between batches and frames with the current cursors', () => {
    const frames = new ManualFrames();
    const s = bigRoom(2);
    const remote = new RemotePresence(connectionOf(s), frames.scheduler);
    s.onPresenceEvent(batch([[2, { line: 7 }]]));
    expect(remote.cursors.find(c => c.session === 's-2')?.state.line).toBe(7);
    let changed = 0;
    remote.changed.connect(() => changed++);
    frames.run();
    expect(changed).toBe(1); // announced in the frame all the same
  });
});

/** ICollabPresence as the Room view reads it. */
function fakePresence(): ICollabPresence {
  return {
    localState: { path: 'a.ipynb', line: 0 },
    localChanged: new Signal<object, IPresenceState>({}),
    sharingChanged: new Signal<object, string>({}),
    remoteChanged: new Signal<object, void>({}),
    notebooksChanged: new Signal<object, void>({}),
    remote: [],
    isSharing: () => true,
    setSharing: () => undefined,
    canJumpTo: () => false,
    jumpTo: async () => false
  } as unknown as ICollabPresence;
}

/** A Room view of ``session`` in ``host``, drawing on ``frames``. */
function showRoom(host: HTMLElement, session: IRoomSession, frames: ManualFrames): RoomRenderer {
  const renderer = new RoomRenderer(
    host,
    connectionOf(session),
    fakePresence(),
    undefined,
    null,
    frames.scheduler
  );
  renderer.setSession(session);
  return renderer;
}

describe('Room view: once per frame', () => {
  it('renders the locations once for several batches in a frame', () => {
    const frames = new ManualFrames();
    const s = bigRoom(30);
    const host = document.createElement('div');
    const renderer = showRoom(host, s, frames);
    const spy = jest.spyOn(MembersPane.prototype, 'renderLocations');
    try {
      for (let i = 0; i < 5; i++) {
        s.onPresenceEvent(
          batch([
            [3, { line: i + 2 }],
            [4, { column: i }]
          ])
        );
      }
      expect(spy).not.toHaveBeenCalled();
      frames.run();
      expect(spy).toHaveBeenCalledTimes(1);
      const where = host.querySelector<HTMLElement>(
        '[data-username="u3"] [data-testid="member-location"]'
      );
      expect(where?.textContent).toBe('a.ipynb · line 7'); // the last batch's line 6, 0-based
      renderer.dispose();
      expect(frames.waiting).toBe(0);
    } finally {
      spy.mockRestore();
    }
  });

  it('renders the members and the log once for a burst of joins', () => {
    const frames = new ManualFrames();
    const s = bigRoom(3);
    const host = document.createElement('div');
    const renderer = showRoom(host, s, frames);
    const render = jest.spyOn(MembersPane.prototype, 'render');
    try {
      for (let i = 0; i < 20; i++) {
        s.onJoinedEvent({ room: 'r', user: member(`new${i}`, `New ${i}`), ts: TS });
      }
      expect(render).not.toHaveBeenCalled();
      frames.run();
      expect(render).toHaveBeenCalledTimes(1);
      expect(host.querySelectorAll('[data-testid="member"]').length).toBe(24);
      expect(host.querySelectorAll('[data-testid="log-line"]').length).toBe(s.log.length);
    } finally {
      render.mockRestore();
      renderer.dispose();
    }
  });

  it('leaves a member row alone when only what it does not show changed', () => {
    const s = bigRoom(3);
    const pane = new MembersPane(fakePresence(), null);
    pane.render(s);
    const where = pane.node.querySelector<HTMLElement>(
      '[data-username="u2"] [data-testid="member-location"]'
    );
    const button = where?.querySelector('button');
    const text = button?.firstChild;
    expect(where?.textContent).toBe('a.ipynb · line 1');
    const observer = new MutationObserver(() => undefined);
    observer.observe(pane.node, {
      subtree: true,
      childList: true,
      attributes: true,
      characterData: true
    });
    // only columns move: nothing a row shows, so no DOM change at all
    s.onPresenceEvent(
      batch([
        [2, { column: 9 }],
        [3, { column: 1 }],
        [4, { column: 2 }]
      ])
    );
    pane.renderLocations();
    expect(observer.takeRecords()).toEqual([]);
    expect(button?.firstChild).toBe(text);
    // the line moves: that row's text only, in place
    s.onPresenceEvent(batch([[2, { line: 4 }]]));
    pane.renderLocations();
    expect(where?.textContent).toBe('a.ipynb · line 5');
    expect(where?.querySelector('button')).toBe(button);
    const touched = new Set(observer.takeRecords().map(r => r.target));
    expect(Array.from(touched).every(node => where?.contains(node))).toBe(true);
    observer.disconnect();
  });
});

// ---- carets: one caret layer per editor, measured and drawn in the frame -----------------

/**
 * jsdom lays nothing out: the view's coordinates of a position, as a browser would give them
 * for a monospace text (7 px a character, 14 px a line); counts the calls (layout reads).
 */
function fakeCoords(view: EditorView, onRead: () => void): jest.SpyInstance {
  return jest.spyOn(view, 'coordsAtPos').mockImplementation((pos: number) => {
    onRead();
    const line = view.state.doc.lineAt(pos);
    const left = 7 * (pos - line.from);
    const top = 14 * (line.number - 1);
    return { left, right: left, top, bottom: top + 14 };
  });
}

/**
 * A notebook panel with cells c1, c2 whose editors are CodeMirror views with the remote
 * cursors extension (their caret layers on `frames`).
 */
function fakePanel(
  frames: FrameScheduler,
  onRead: () => void = () => undefined
): { panel: NotebookPanel; views: EditorView[] } {
  const views: EditorView[] = [];
  const cells = ['c1', 'c2'].map(id => {
    const node = document.createElement('div');
    const input = document.createElement('div');
    input.className = 'jp-Cell-inputWrapper';
    node.appendChild(input);
    const view = new EditorView({
      state: EditorState.create({
        doc: 'line one\nline two\nline three',
        extensions: [
          remoteCursors({ created: () => undefined, localActivity: () => undefined }),
          caretFrames.of(frames)
        ]
      })
    });
    document.body.appendChild(view.dom);
    fakeCoords(view, onRead);
    // an editor 800 px wide: the name labels fit after the end of these short lines
    Object.defineProperty(view.scrollDOM, 'clientWidth', { configurable: true, get: () => 800 });
    views.push(view);
    const editor = Object.create(CodeMirrorEditor.prototype) as CodeMirrorEditor;
    Object.defineProperty(editor, 'editor', { value: view });
    return { model: { id }, node, editor, isDisposed: false };
  });
  const panel = {
    node: document.createElement('div'),
    isDisposed: false,
    disposed: new Signal<object, void>({}),
    context: { path: 'a.ipynb', model: {}, pathChanged: new Signal<object, string>({}) },
    content: { widgets: cells, modelContentChanged: new Signal<object, void>({}) }
  };
  return { panel: panel as unknown as NotebookPanel, views };
}

function layerOf(view: EditorView): RemoteCaretLayer {
  const layer = caretLayerOf(view);
  if (!layer) {
    throw new Error('no caret layer');
  }
  return layer;
}

function caretsOf(view: EditorView): ReadonlyArray<IRemoteCaret> {
  return layerOf(view).carets;
}

function caretElements(view: EditorView): HTMLElement[] {
  return Array.from(view.dom.querySelectorAll<HTMLElement>('.jp-CollabCursor-caret'));
}

describe('carets: grouped per editor, once per frame, no transaction', () => {
  it('hands each editor its carets and measures only the editors whose carets changed', () => {
    const frames = new ManualFrames();
    const s = bigRoom(300);
    const remote = new RemotePresence(connectionOf(s), frames.scheduler);
    const { panel, views } = fakePanel(frames.scheduler);
    const dispatches = views.map(v => jest.spyOn(v, 'dispatch'));
    const cursors = new NotebookCursors(panel, remote, null, frames.scheduler);
    frames.run();
    expect(caretsOf(views[0]).length).toBe(300);
    expect(layerOf(views[0]).measures).toBe(1);
    expect(layerOf(views[1]).measures).toBe(0);
    expect(caretElements(views[0]).length).toBe(300); // drawn in the same frame
    expect(caretElements(views[1]).length).toBe(0);
    const marker = panel.content.widgets[0].node.querySelector('[data-testid="cell-presence"]');
    expect(marker?.getAttribute('data-usernames')?.split(' ').length).toBe(300);

    // 300 moves in one batch, then a second batch in the same frame: measured once
    s.onPresenceEvent(batch(Array.from({ length: 300 }, (_, i) => [i + 2, { line: 1 }])));
    s.onPresenceEvent(batch([[10, { line: 2 }]]));
    frames.run();
    expect(layerOf(views[0]).measures).toBe(2);
    const moved = caretsOf(views[0]);
    expect(moved.every(c => c.line === (c.session === 's-10' ? 2 : 1))).toBe(true);

    // one caret moves: measured again, the 299 others keep their caret objects and elements
    const elements = caretElements(views[0]);
    s.onPresenceEvent(batch([[7, { column: 3 }]]));
    frames.run();
    expect(layerOf(views[0]).measures).toBe(3);
    const after = caretsOf(views[0]);
    expect(after.filter((c, i) => c !== moved[i]).map(c => c.session)).toEqual(['s-7']);
    expect(caretElements(views[0])).toEqual(elements);

    // nothing a caret shows changed (activity omitted = active): nothing measured
    s.onPresenceEvent(batch([[7, { activity: 'active' }]]));
    frames.run();
    expect(layerOf(views[0]).measures).toBe(3);

    // one member moves to c2: both editors are measured once each
    s.onPresenceEvent(batch([[7, { cell_id: 'c2' }]]));
    frames.run();
    expect(layerOf(views[0]).measures).toBe(4);
    expect(layerOf(views[1]).measures).toBe(1);
    expect(caretsOf(views[1]).map(c => c.session)).toEqual(['s-7']);
    expect(caretElements(views[1]).map(e => e.dataset.username)).toEqual(['u7']);

    // never a CodeMirror transaction (it would make the browser lay the page out)
    for (const spy of dispatches) {
      expect(spy).not.toHaveBeenCalled();
    }

    cursors.dispose();
    frames.run();
    expect(caretsOf(views[0])).toEqual([]);
    expect(caretElements(views[0]).length).toBe(0);
    remote.dispose();
    views.forEach(v => {
      v.destroy();
      v.dom.remove();
    });
  });

  it('measures every editor before drawing any (one layout for the frame)', () => {
    const frames = new ManualFrames();
    const s = bigRoom(4);
    const remote = new RemotePresence(connectionOf(s), frames.scheduler);
    const order: string[] = [];
    const { panel, views } = fakePanel(frames.scheduler, () => order.push('read'));
    const cursors = new NotebookCursors(panel, remote, null, frames.scheduler);
    s.onPresenceEvent(batch([[3, { cell_id: 'c2' }]]));
    for (const view of views) {
      const layer = view.scrollDOM.querySelector('.jp-CollabCursor-caretLayer') as HTMLElement;
      const insert = layer.insertBefore.bind(layer);
      jest
        .spyOn(layer, 'insertBefore')
        .mockImplementation(<T extends Node>(node: T, child: Node | null): T => {
          order.push('write');
          return insert(node, child);
        });
    }
    frames.run();
    expect(order.filter(x => x === 'read').length).toBeGreaterThanOrEqual(2);
    expect(order.lastIndexOf('read')).toBeLessThan(order.indexOf('write'));
    expect(caretElements(views[0]).length).toBe(3);
    expect(caretElements(views[1]).length).toBe(1);
    expect(frames.scheduler.frames).toBe(1);
    cursors.dispose();
    remote.dispose();
    views.forEach(v => {
      v.destroy();
      v.dom.remove();
    });
  });
});

// ---- throttled presence views, and only what is on screen ---------------------------------

/** An IntersectionObserver the test drives: `report` says whether a target is on screen. */
class FakeIntersections {
  static all: FakeIntersections[] = [];
  readonly targets = new Set<Element>();
  constructor(readonly callback: IntersectionObserverCallback) {
    FakeIntersections.all.push(this);
  }
  observe(target: Element): void {
    this.targets.add(target);
  }
  unobserve(target: Element): void {
    this.targets.delete(target);
  }
  disconnect(): void {
    this.targets.clear();
  }
  takeRecords(): IntersectionObserverEntry[] {
    return [];
  }
  static report(target: Element, visible: boolean): void {
    for (const o of FakeIntersections.all) {
      if (o.targets.has(target)) {
        const entry = { target, isIntersecting: visible } as IntersectionObserverEntry;
        o.callback([entry], o as unknown as IntersectionObserver);
      }
    }
  }
}

/** A ResizeObserver the test drives: `report` gives a target's border-box height. */
class FakeSizes {
  static all: FakeSizes[] = [];
  readonly targets = new Set<Element>();
  constructor(readonly callback: ResizeObserverCallback) {
    FakeSizes.all.push(this);
  }
  observe(target: Element): void {
    this.targets.add(target);
  }
  unobserve(target: Element): void {
    this.targets.delete(target);
  }
  disconnect(): void {
    this.targets.clear();
  }
  static report(target: Element, height: number): void {
    for (const o of FakeSizes.all) {
      if (o.targets.has(target)) {
        const entry = {
          target,
          borderBoxSize: [{ blockSize: height, inlineSize: 100 }],
          contentRect: { height }
        } as unknown as ResizeObserverEntry;
        o.callback([entry], o as unknown as ResizeObserver);
      }
    }
  }
}

/** Install the fake observers for the tests of a describe block. */
function withFakeObservers(): void {
  const saved = { io: window.IntersectionObserver, ro: window.ResizeObserver };
  beforeEach(() => {
    FakeIntersections.all = [];
    FakeSizes.all = [];
    window.IntersectionObserver = FakeIntersections as unknown as typeof IntersectionObserver;
    window.ResizeObserver = FakeSizes as unknown as typeof ResizeObserver;
  });
  afterEach(() => {
    window.IntersectionObserver = saved.io;
    window.ResizeObserver = saved.ro;
  });
}

describe('FrameScheduler: phases', () => {
  it('runs a task scheduled for the running phase in that phase, before the next one', () => {
    const frames = new ManualFrames();
    const order: string[] = [];
    const write = (): void => {
      order.push('write');
    };
    const secondRead = (): void => {
      order.push('read 2');
      frames.scheduler.schedule(write, 'write');
    };
    const firstRead = (): void => {
      order.push('read 1');
      frames.scheduler.schedule(secondRead, 'read');
    };
    frames.scheduler.schedule(firstRead, 'read');
    frames.run();
    expect(order).toEqual(['read 1', 'read 2', 'write']);
    expect(frames.waiting).toBe(0);
  });
});

describe('ThrottledTask', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('runs in the next frame, then at most once per interval, the latest state winning', () => {
    const frames = new ManualFrames();
    let state = 0;
    const seen: number[] = [];
    const task = new ThrottledTask(() => seen.push(state), 250, frames.scheduler, 'write');
    state = 1;
    task.schedule();
    task.schedule();
    expect(frames.waiting).toBe(1);
    frames.run();
    expect(seen).toEqual([1]);
    // three changes within the interval: no frame until it has passed, then one run
    for (const value of [2, 3, 4]) {
      state = value;
      task.schedule();
      jest.advanceTimersByTime(50);
      expect(frames.waiting).toBe(0);
    }
    expect(task.pending).toBe(true);
    jest.advanceTimersByTime(100); // 250 ms since the run
    expect(frames.waiting).toBe(1);
    state = 5; // a change before the frame: the frame reads it
    task.schedule();
    frames.run();
    expect(seen).toEqual([1, 5]);
    expect(task.runs).toBe(2);
    // quiet for longer than the interval: the next change is drawn in the next frame
    jest.advanceTimersByTime(1000);
    state = 6;
    task.schedule();
    expect(frames.waiting).toBe(1);
    frames.run();
    expect(seen).toEqual([1, 5, 6]);
  });

  it('joins a frame that runs anyway once the interval has passed (no frame of its own)', () => {
    const frames = new ManualFrames();
    const run = jest.fn();
    const task = new ThrottledTask(run, 250, frames.scheduler, 'read', 60);
    task.schedule();
    frames.run();
    task.schedule(); // within the interval: waits
    const other = jest.fn();
    jest.advanceTimersByTime(100);
    frames.scheduler.schedule(other); // a frame before the interval has passed: not joined
    frames.run();
    expect(run).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(160); // 260 ms: past the interval, before its own timer (310 ms)
    expect(frames.waiting).toBe(0);
    frames.scheduler.schedule(other);
    frames.run();
    expect(run).toHaveBeenCalledTimes(2); // in that frame
    expect(frames.waiting).toBe(0);
    // no frame comes: its own frame once the interval and the slack have passed
    const requested = frames.requested;
    task.schedule();
    jest.advanceTimersByTime(250 + 59);
    expect(frames.requested).toBe(requested); // nor did the earlier wait's timer ask for one
    jest.advanceTimersByTime(1);
    expect(frames.waiting).toBe(1);
    frames.run();
    expect(run).toHaveBeenCalledTimes(3);
  });

  it('drops a waiting run when cancelled', () => {
    const frames = new ManualFrames();
    const run = jest.fn();
    const task = new ThrottledTask(run, 100, frames.scheduler);
    task.schedule();
    frames.run();
    task.schedule(); // waits for its timer
    task.cancel();
    jest.advanceTimersByTime(500);
    expect(frames.waiting).toBe(0);
    task.schedule(); // and in the frame
    task.cancel();
    expect(frames.waiting).toBe(0);
    expect(run).toHaveBeenCalledTimes(1);
  });
});

describe('RemotePresence: at most PRESENCE_FPS frames a second', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('works presence out at most once per interval, with the newest state', () => {
    const frames = new ManualFrames();
    const s = bigRoom(3);
    const remote = new RemotePresence(connectionOf(s), frames.scheduler, 1000 / PRESENCE_FPS);
    frames.run();
    let changed = 0;
    remote.changed.connect(() => changed++);
    const line = (): number | undefined =>
      remote.cursors.find(c => c.session === 's-2')?.state.line;
    // batches every 20 ms: one change per 50 ms, not one per batch
    for (let i = 1; i <= 10; i++) {
      s.onPresenceEvent(batch([[2, { line: i }]]));
      jest.advanceTimersByTime(20);
      frames.run();
    }
    expect(PRESENCE_FPS).toBe(20);
    expect(changed).toBeGreaterThanOrEqual(3);
    expect(changed).toBeLessThanOrEqual(4);
    jest.advanceTimersByTime(50);
    frames.run();
    expect(line()).toBe(10); // the last batch is never left out
    remote.dispose();
  });
});

describe('Room view: locations throttled, only on screen, only rows in view', () => {
  withFakeObservers();
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  function where(host: HTMLElement, username: string): string | null | undefined {
    return host.querySelector(`[data-username="${username}"] [data-testid="member-location"]`)
      ?.textContent;
  }

  it('draws the locations at most LOCATIONS_PER_SECOND times a second, the last state included', () => {
    const frames = new ManualFrames();
    const s = bigRoom(3);
    const host = document.createElement('div');
    const renderer = showRoom(host, s, frames);
    const spy = jest.spyOn(MembersPane.prototype, 'renderLocations');
    try {
      // a batch every 40 ms for a second
      for (let i = 1; i <= 25; i++) {
        s.onPresenceEvent(batch([[3, { line: i }]]));
        frames.run();
        jest.advanceTimersByTime(40);
      }
      frames.run();
      expect(spy.mock.calls.length).toBeLessThanOrEqual(LOCATIONS_PER_SECOND + 1);
      expect(spy.mock.calls.length).toBeGreaterThanOrEqual(LOCATIONS_PER_SECOND - 1);
      jest.advanceTimersByTime(300);
      frames.run();
      expect(where(host, 'u3')).toBe('a.ipynb · line 26'); // line 25, 0-based
    } finally {
      spy.mockRestore();
      renderer.dispose();
    }
    expect(frames.waiting).toBe(0);
  });

  it('off screen, updates every row without reading layout', () => {
    const frames = new ManualFrames();
    const s = bigRoom(40);
    const host = document.createElement('div');
    const renderer = showRoom(host, s, frames);
    const list = host.querySelector('[data-testid="members"]') as HTMLElement;
    const rows = Array.from(list.querySelectorAll<HTMLElement>('[data-testid="member"]'));
    const reads = jest.fn(() => 200);
    Object.defineProperty(list, 'clientHeight', { configurable: true, get: reads });
    rows.forEach((row, i) => {
      Object.defineProperty(row, 'offsetTop', { configurable: true, get: () => 40 * i });
      Object.defineProperty(row, 'offsetHeight', { configurable: true, get: () => 40 });
    });
    const moveAll = (line: number): void =>
      s.onPresenceEvent(batch(Array.from({ length: 40 }, (_, i) => [i + 2, { line }])));
    const last = rows[39].dataset.username ?? '';
    // on screen: the rows in view
    moveAll(2);
    jest.advanceTimersByTime(400);
    frames.run();
    expect(reads).toHaveBeenCalled();
    expect(where(host, rows[1].dataset.username ?? '')).toBe('a.ipynb · line 3');
    expect(where(host, last)).toBe('a.ipynb · line 1');
    // off screen: every row, no layout read
    FakeIntersections.report(host, false);
    reads.mockClear();
    moveAll(5);
    jest.advanceTimersByTime(400);
    frames.run();
    expect(reads).not.toHaveBeenCalled();
    expect(where(host, last)).toBe('a.ipynb · line 6');
    renderer.dispose();
  });

  it('updates the rows in view of the list, and the others as the list scrolls to them', () => {
    const frames = new ManualFrames();
    const s = bigRoom(40);
    const pane = new MembersPane(fakePresence(), null, undefined, frames.scheduler);
    pane.render(s);
    const list = pane.node.querySelector('[data-testid="members"]') as HTMLElement;
    const rows = Array.from(list.querySelectorAll<HTMLElement>('[data-testid="member"]'));
    // a list 200 px tall of rows 40 px tall: rows 0-4 in view, 5 more within the margin
    rows.forEach((row, i) => {
      Object.defineProperty(row, 'offsetTop', { configurable: true, get: () => 40 * i });
      Object.defineProperty(row, 'offsetHeight', { configurable: true, get: () => 40 });
    });
    let scrollTop = 0;
    Object.defineProperty(list, 'clientHeight', { configurable: true, get: () => 200 });
    Object.defineProperty(list, 'scrollTop', { configurable: true, get: () => scrollTop });
    const text = (username: string): string | null | undefined =>
      list.querySelector(`[data-username="${username}"] [data-testid="member-location"]`)
        ?.textContent;
    // everyone moves to line 3
    s.onPresenceEvent(batch(Array.from({ length: 40 }, (_, i) => [i + 2, { line: 2 }])));
    pane.measure();
    pane.renderLocations();
    const shown = rows.map(r => r.querySelector('[data-testid="member-location"]')?.textContent);
    // 200 px in view + 200 px margin: rows 0-9 of 40 px (row 0 is the viewer's own)
    expect(shown.slice(1, 10).every(t => t === 'a.ipynb · line 3')).toBe(true);
    expect(shown.slice(10).every(t => t === 'a.ipynb · line 1')).toBe(true);
    // the list scrolls to its end: those rows are brought up to date in the next frame
    const last = rows[39].dataset.username ?? '';
    scrollTop = 40 * 40 - 200;
    list.dispatchEvent(new Event('scroll'));
    expect(text(last)).toBe('a.ipynb · line 1');
    frames.run();
    expect(text(last)).toBe('a.ipynb · line 3');
    pane.dispose();
  });

  it('finds the rows in view by a binary search on their offsets', () => {
    const list = document.createElement('ul');
    Object.defineProperty(list, 'clientHeight', { get: () => 100 });
    Object.defineProperty(list, 'scrollTop', { get: () => 1000 });
    const reads: number[] = [];
    const rows = Array.from({ length: 300 }, (_, i) => {
      const node = document.createElement('li');
      Object.defineProperty(node, 'offsetTop', {
        get: () => {
          reads.push(i);
          return 50 * i;
        }
      });
      Object.defineProperty(node, 'offsetHeight', { get: () => 50 });
      return { node };
    });
    expect(rowsInView(list, rows, 0)).toEqual([20, 22]);
    expect(rowsInView(list, rows, 100)).toEqual([18, 24]);
    expect(reads.length).toBeLessThan(40); // not one read per row
    // no layout (hidden, or no browser): every row
    expect(rowsInView(document.createElement('ul'), rows, 0)).toBeNull();
  });
});

describe('cell markers and carets: only cells on screen, no layout reads', () => {
  withFakeObservers();

  it('leaves off-screen cells as they are and draws them when they come into view', () => {
    const frames = new ManualFrames();
    const s = bigRoom(4);
    const remote = new RemotePresence(connectionOf(s), frames.scheduler);
    const { panel, views } = fakePanel(frames.scheduler);
    const cursors = new NotebookCursors(panel, remote, null, frames.scheduler);
    const [c1, c2] = panel.content.widgets;
    const offsetHeight = jest.spyOn(HTMLElement.prototype, 'offsetHeight', 'get');
    s.onPresenceEvent(batch([[5, { cell_id: 'c2' }]]));
    frames.run();
    expect(caretElements(views[0]).length).toBe(3);
    expect(caretElements(views[1]).length).toBe(1);
    // c2 goes off screen: its carets go, a person moving there is not drawn in its marker
    FakeIntersections.report(c2.node, false);
    s.onPresenceEvent(batch([[3, { cell_id: 'c2' }]]));
    frames.run();
    expect(caretElements(views[0]).length).toBe(2);
    expect(caretElements(views[1]).length).toBe(0);
    const marker = (): string | null | undefined =>
      c2.node.querySelector('[data-testid="cell-presence"]')?.getAttribute('data-usernames');
    expect(marker()).toBe('u5');
    const measured = layerOf(views[1]).measures;
    s.onPresenceEvent(batch([[3, { line: 2 }]]));
    frames.run();
    expect(layerOf(views[1]).measures).toBe(measured);
    // it comes into view: drawn in the next frame
    FakeIntersections.report(c2.node, true);
    frames.run();
    expect(caretElements(views[1]).map(e => e.dataset.username)).toEqual(['u3', 'u5']);
    expect(marker()).toBe('u3 u5');
    // off screen again, and its last people leave: cleared all the same
    FakeIntersections.report(c2.node, false);
    s.onPresenceEvent(
      batch([
        [3, { cell_id: 'c1' }],
        [5, { cell_id: 'c1' }]
      ])
    );
    frames.run();
    expect(c2.node.querySelector('[data-testid="cell-presence"]')).toBeNull();
    expect(caretElements(views[1]).length).toBe(0);
    expect(c1.node.querySelector('[data-testid="cell-presence"]')).not.toBeNull();
    expect(offsetHeight).not.toHaveBeenCalled();
    offsetHeight.mockRestore();
    cursors.dispose();
    remote.dispose();
    views.forEach(v => {
      v.destroy();
      v.dom.remove();
    });
  });

  it('sizes the marker by the height a ResizeObserver saw (no layout read)', () => {
    const frames = new ManualFrames();
    const s = bigRoom(5);
    const remote = new RemotePresence(connectionOf(s), frames.scheduler);
    const { panel, views } = fakePanel(frames.scheduler);
    const cursors = new NotebookCursors(panel, remote, null, frames.scheduler);
    const c1 = panel.content.widgets[0];
    const host = c1.node.querySelector('.jp-Cell-inputWrapper') as HTMLElement;
    frames.run();
    const chips = (): number => c1.node.querySelectorAll('.jp-CollabCellMarker-chip').length;
    const more = (): string | null | undefined =>
      c1.node.querySelector('.jp-CollabCellMarker-more')?.textContent;
    FakeSizes.report(host, 80); // room for three chips
    frames.run();
    expect(chips()).toBe(3);
    expect(more()).toBe('+2');
    FakeSizes.report(host, 24); // a one-line cell: one chip
    frames.run();
    expect(chips()).toBe(1);
    expect(more()).toBe('+4');
    cursors.dispose();
    remote.dispose();
    views.forEach(v => {
      v.destroy();
      v.dom.remove();
    });
  });

  it('moves a caret by its transform alone (no other DOM write)', () => {
    const frames = new ManualFrames();
    const s = bigRoom(2);
    const remote = new RemotePresence(connectionOf(s), frames.scheduler);
    const { panel, views } = fakePanel(frames.scheduler);
    const cursors = new NotebookCursors(panel, remote, null, frames.scheduler);
    frames.run();
    const layer = views[0].scrollDOM.querySelector('.jp-CollabCursor-caretLayer') as HTMLElement;
    const caret = layer.querySelector<HTMLElement>('[data-username="u2"]') as HTMLElement;
    const observer = new MutationObserver(() => undefined);
    observer.observe(layer, {
      subtree: true,
      childList: true,
      attributes: true,
      characterData: true,
      attributeOldValue: true
    });
    s.onPresenceEvent(batch([[2, { column: 4 }]])); // same line: the label stays
    frames.run();
    const records = observer.takeRecords();
    expect(records.map(r => [r.target, r.type, r.attributeName])).toEqual([
      [caret, 'attributes', 'style']
    ]);
    expect(caret.style.transform).toBe('translate(28px, 0px)');
    observer.disconnect();
    cursors.dispose();
    remote.dispose();
    views.forEach(v => {
      v.destroy();
      v.dom.remove();
    });
  });
});
