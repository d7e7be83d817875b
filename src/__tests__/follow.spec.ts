/**
 * Classroom mode's follower: the leader's place, opening or "you do not have", scrolling to
 * the leader's cell, pausing on own input, lock prevention, stopping; the follow bar; the
 * `following` field of the local presence.
 */
import { IDisposable } from '@lumino/disposable';
import { Signal } from '@lumino/signaling';
import { Panel, Widget } from '@lumino/widgets';

import { Follower, IFollowHost, IRoomSource, IWatchHandlers } from '../classroom/follow';
import { FollowBar } from '../classroom/followBar';
import { ILabFollowHostOptions, LabFollowHost, stripRtcDrive } from '../classroom/followHost';
import { cellIndexOf, cellKey, followsUser, leaderEntry, memberName } from '../classroom/leader';
import { isOwnInput } from '../classroom/ownInput';
import { LocalPresence } from '../presence/localPresence';
import { sanitizeState } from '../presence/state';
import type { IMember, IPresenceEntry, IPresenceState, IUser, IYou } from '../protocol';
import type { ICollabConnection, IRoomSession } from '../tokens';

function user(username: string, displayName: string): IUser {
  return {
    username,
    name: displayName,
    display_name: displayName,
    initials: null,
    avatar_url: null,
    color: '#1f77b4'
  };
}

function member(username: string, displayName: string): IMember {
  return { ...user(username, displayName), sessions: 1 };
}

const ME: IYou = { ...user('ana', 'Ana'), session: 's-ana' };

/** A room session with the parts the follower uses. */
class FakeSession {
  constructor(readonly name = 'class-101') {}
  you: IYou | null = ME;
  members: IMember[] = [member('ana', 'Ana'), member('lee', 'Ms Lee'), member('ben', 'Ben')];
  presence = new Map<string, IPresenceEntry>();
  presenceChanged = new Signal<this, void>(this);
  memberLeft = new Signal<this, { user: IUser; ts: number }>(this);
  ts = 1000;

  /** Set one session's state (as a presence batch would) and tell the listeners. */
  move(session: string, username: string, state: IPresenceState): void {
    this.presence.set(session, { session, user: username, state, ts: ++this.ts });
    this.presenceChanged.emit(undefined);
  }

  remove(session: string): void {
    this.presence.delete(session);
    this.presenceChanged.emit(undefined);
  }

  get asSession(): IRoomSession {
    return this as unknown as IRoomSession;
  }
}

/** JupyterLab, faked: a set of files on the server, a set of open notebooks. */
class FakeHost implements IFollowHost {
  files = new Set<string>(['lecture.ipynb', 'week2/lab.ipynb']);
  open_ = new Set<string>();
  calls: string[] = [];
  reveals: Array<{ path: string; state: IPresenceState }> = [];
  following: Array<string | null> = [];
  watchers = new Map<string, IWatchHandlers>();

  isOpen(path: string): boolean {
    return this.open_.has(path);
  }
  async exists(path: string): Promise<boolean> {
    this.calls.push(`exists ${path}`);
    return this.files.has(path);
  }
  async open(path: string): Promise<boolean> {
    this.calls.push(`open ${path}`);
    if (!this.files.has(path)) {
      return false;
    }
    this.open_.add(path);
    return true;
  }
  /** false: the notebook is in a background tab (reveal does nothing). */
  visible = true;
  reveal(path: string, state: IPresenceState): boolean {
    this.reveals.push({ path, state });
    return this.visible && this.open_.has(path);
  }
  watch(path: string, handlers: IWatchHandlers): IDisposable | null {
    if (!this.open_.has(path)) {
      return null;
    }
    this.watchers.set(path, handlers);
    let disposed = false;
    return {
      get isDisposed() {
        return disposed;
      },
      dispose: () => {
        disposed = true;
        if (this.watchers.get(path) === handlers) {
          this.watchers.delete(path);
        }
      }
    };
  }
  setFollowing(username: string | null): void {
    this.following.push(username);
  }
  /** The user scrolls or clicks in the notebook at `path`. */
  input(path: string): void {
    const handlers = this.watchers.get(path);
    if (!handlers) {
      throw new Error(`nobody watches ${path}`);
    }
    handlers.onInput();
  }
  close(path: string): void {
    this.open_.delete(path);
    this.watchers.get(path)?.onClosed();
  }
}

class FakeRooms implements IRoomSource {
  sessions: IRoomSession[] = [];
  sessionsChanged = new Signal<this, void>(this);
}

/** Let pending promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await Promise.resolve();
  }
  await new Promise(resolve => setTimeout(resolve, 0));
}

function setup(): { room: FakeSession; host: FakeHost; rooms: FakeRooms; follower: Follower } {
  const room = new FakeSession();
  const host = new FakeHost();
  const rooms = new FakeRooms();
  rooms.sessions = [room.asSession];
  const follower = new Follower({ host, rooms });
  return { room, host, rooms, follower };
}

describe('leader helpers', () => {
  it('picks the leader entry in use, newest first', () => {
    const presence = new Map<string, IPresenceEntry>();
    const add = (session: string, u: string, state: IPresenceState, ts: number): void => {
      presence.set(session, { session, user: u, state, ts });
    };
    expect(leaderEntry(presence, 'lee')).toBeNull();
    add('s1', 'lee', { path: 'a.ipynb', activity: 'active' }, 10);
    add('s2', 'lee', { path: 'b.ipynb', activity: 'active' }, 20);
    add('s3', 'ben', { path: 'c.ipynb', activity: 'active' }, 30);
    add('s4', 'lee', { activity: 'active' }, 40); // the launcher: no notebook
    expect(leaderEntry(presence, 'lee')?.session).toBe('s2');
    // A hidden tab's heartbeat is newer, but the visible one is where they work.
    add('s5', 'lee', { path: 'd.ipynb', activity: 'away' }, 50);
    expect(leaderEntry(presence, 'lee')?.session).toBe('s2');
    add('s1', 'lee', { path: 'a.ipynb', activity: 'active' }, 60);
    expect(leaderEntry(presence, 'lee')?.session).toBe('s1');
    add('s1', 'lee', { path: 'a.ipynb', activity: 'idle' }, 70);
    expect(leaderEntry(presence, 'lee')?.session).toBe('s2');
  });

  it('sees who follows whom', () => {
    const presence = new Map<string, IPresenceEntry>([
      ['s1', { session: 's1', user: 'lee', state: { following: 'ana' }, ts: 1 }],
      ['s2', { session: 's2', user: 'ben', state: { following: 'lee' }, ts: 1 }]
    ]);
    expect(followsUser(presence, 'lee', 'ana')).toBe(true);
    expect(followsUser(presence, 'ben', 'ana')).toBe(false);
    expect(followsUser(presence, 'ana', 'lee')).toBe(false);
  });

  it('names members and keys cells', () => {
    expect(memberName([member('lee', 'Ms Lee')], 'lee')).toBe('Ms Lee');
    expect(memberName([], 'lee')).toBe('lee');
    expect(cellKey({})).toBeNull();
    expect(cellKey({ cell_id: 'x', cell_index: 2 })).not.toBe(
      cellKey({ cell_id: 'y', cell_index: 2 })
    );
    expect(cellKey({ cell_index: 2 })).not.toBe(cellKey({ cell_index: 3 }));
  });

  it('finds the leader cell by id, else by index', () => {
    const cells = ['a', 'b', 'c'].map(id => ({ model: { id } }));
    expect(cellIndexOf(cells, { cell_id: 'c', cell_index: 0 })).toBe(2);
    expect(cellIndexOf(cells, { cell_id: 'new', cell_index: 1 })).toBe(1);
    expect(cellIndexOf(cells, { cell_id: 'new', cell_index: 3 })).toBeNull();
    expect(cellIndexOf(cells, { cell_id: 'new' })).toBeNull();
    expect(cellIndexOf(cells, {})).toBeNull();
  });
});

describe('Follower', () => {
  it('opens the leader notebook and scrolls to their cell as it moves', async () => {
    const { room, host, follower } = setup();
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_id: 'c1', cell_index: 0 });
    const changes: Array<string | null> = [];
    follower.followingChanged.connect((_, f) => changes.push(f ? f.username : null));

    expect(follower.follow({ session: room.asSession, username: 'lee' })).toBeNull();
    expect(follower.following).toEqual({
      room: 'class-101',
      username: 'lee',
      name: 'Ms Lee',
      paused: false
    });
    await settle();
    expect(host.calls).toEqual(['exists lecture.ipynb', 'open lecture.ipynb']);
    expect(follower.path).toBe('lecture.ipynb');
    expect(host.reveals).toEqual([
      { path: 'lecture.ipynb', state: { path: 'lecture.ipynb', cell_id: 'c1', cell_index: 0 } }
    ]);

    // Three cells down: scrolled there.
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_id: 'c4', cell_index: 3 });
    expect(host.reveals.map(r => r.state.cell_id)).toEqual(['c1', 'c4']);
    // Only the caret moved: no scroll (the user's view is not pulled around needlessly).
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_id: 'c4', cell_index: 3, line: 2 });
    expect(host.reveals).toHaveLength(2);
    // Someone else moving changes nothing.
    room.move('s-ben', 'ben', { path: 'lecture.ipynb', cell_id: 'c9', cell_index: 8 });
    expect(host.reveals).toHaveLength(2);
    expect(host.following).toEqual(['lee']);
    expect(changes).toEqual(['lee']);
  });

  it('scrolls again once a cell it could not reveal can be', async () => {
    const { room, host, follower } = setup();
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_id: 'c1', cell_index: 0 });
    follower.follow({ session: room.asSession, username: 'lee' });
    await settle();
    host.visible = false;
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_id: 'c2', cell_index: 1 });
    host.visible = true;
    // Same cell, only the caret moved: tried again since the last try did nothing.
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_id: 'c2', cell_index: 1, line: 3 });
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_id: 'c2', cell_index: 1, line: 4 });
    expect(host.reveals.map(r => r.state.cell_id)).toEqual(['c1', 'c2', 'c2']);
  });

  it('brings an open notebook to the front without checking the server', async () => {
    const { room, host, follower } = setup();
    host.open_.add('lecture.ipynb');
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_index: 2 });
    follower.follow({ session: room.asSession, username: 'lee' });
    await settle();
    expect(host.calls).toEqual(['open lecture.ipynb']);
    expect(host.reveals).toHaveLength(1);
  });

  it('says clearly when the leader is in a notebook this server does not have', async () => {
    const { room, host, follower } = setup();
    room.move('s-lee', 'lee', { path: 'secret/answers.ipynb', cell_index: 0 });
    follower.follow({ session: room.asSession, username: 'lee' });
    await settle();
    expect(follower.notice).toBe(
      'Ms Lee is in secret/answers.ipynb, which you do not have on your server.'
    );
    expect(follower.following?.username).toBe('lee'); // still following
    expect(host.calls).toEqual(['exists secret/answers.ipynb']);
    expect(host.reveals).toEqual([]);

    // Moving within that notebook: not asked again.
    room.move('s-lee', 'lee', { path: 'secret/answers.ipynb', cell_index: 4 });
    await settle();
    expect(host.calls).toEqual(['exists secret/answers.ipynb']);

    // Another notebook, one we have: opened, the notice goes.
    room.move('s-lee', 'lee', { path: 'week2/lab.ipynb', cell_id: 'x', cell_index: 1 });
    await settle();
    expect(host.calls).toEqual([
      'exists secret/answers.ipynb',
      'exists week2/lab.ipynb',
      'open week2/lab.ipynb'
    ]);
    expect(follower.notice).toBeNull();
    expect(follower.path).toBe('week2/lab.ipynb');
    expect(host.reveals.map(r => r.path)).toEqual(['week2/lab.ipynb']);
  });

  it('waits while the leader is in no notebook', async () => {
    const { room, host, follower } = setup();
    room.move('s-lee', 'lee', { activity: 'active' });
    follower.follow({ session: room.asSession, username: 'lee' });
    await settle();
    expect(follower.notice).toBe('Waiting for Ms Lee to open a notebook.');
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_index: 0 });
    await settle();
    expect(follower.notice).toBeNull();
    expect(host.calls).toContain('open lecture.ipynb');
  });

  it('pauses on the user own input and resumes at the leader current place', async () => {
    const { room, host, follower } = setup();
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_id: 'c1', cell_index: 0 });
    follower.follow({ session: room.asSession, username: 'lee' });
    await settle();
    expect(host.reveals).toHaveLength(1);

    host.input('lecture.ipynb');
    expect(follower.following?.paused).toBe(true);
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_id: 'c5', cell_index: 4 });
    room.move('s-lee', 'lee', { path: 'week2/lab.ipynb', cell_id: 'w', cell_index: 2 });
    await settle();
    expect(host.reveals).toHaveLength(1); // paused: nothing moves
    expect(host.calls).toEqual(['exists lecture.ipynb', 'open lecture.ipynb']);

    follower.resume();
    expect(follower.following?.paused).toBe(false);
    await settle();
    expect(host.calls.slice(-2)).toEqual(['exists week2/lab.ipynb', 'open week2/lab.ipynb']);
    expect(host.reveals.slice(-1)).toEqual([
      { path: 'week2/lab.ipynb', state: { path: 'week2/lab.ipynb', cell_id: 'w', cell_index: 2 } }
    ]);
    expect(host.following).toEqual(['lee']); // still following throughout
  });

  it('resume in the same notebook scrolls to the leader cell again', async () => {
    const { room, host, follower } = setup();
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_id: 'c1', cell_index: 0 });
    follower.follow({ session: room.asSession, username: 'lee' });
    await settle();
    host.input('lecture.ipynb');
    follower.resume();
    await settle();
    expect(host.reveals.map(r => r.state.cell_id)).toEqual(['c1', 'c1']);
    expect(host.calls.slice(-1)).toEqual(['open lecture.ipynb']); // brought to the front
  });

  it('pauses when the user closes the followed notebook', async () => {
    const { room, host, follower } = setup();
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_index: 0 });
    follower.follow({ session: room.asSession, username: 'lee' });
    await settle();
    host.close('lecture.ipynb');
    expect(follower.following?.paused).toBe(true);
    expect(follower.path).toBeNull();
    follower.resume();
    await settle();
    expect(host.calls.slice(-2)).toEqual(['exists lecture.ipynb', 'open lecture.ipynb']);
  });

  it('never follows someone who follows us', async () => {
    const { room, host, follower } = setup();
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', following: 'ana' });
    const refusal = follower.follow({ session: room.asSession, username: 'lee' });
    expect(refusal).toBe('Ms Lee is following you, so you cannot follow them.');
    expect(follower.notice).toBe(refusal);
    expect(follower.following).toBeNull();
    expect(host.following).toEqual([]);
    await settle();
    expect(host.calls).toEqual([]);
  });

  it('stops when the leader starts following us', async () => {
    const { room, host, follower } = setup();
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_index: 0 });
    follower.follow({ session: room.asSession, username: 'lee' });
    await settle();
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_index: 0, following: 'ana' });
    expect(follower.following).toBeNull();
    expect(follower.notice).toBe('Ms Lee started following you; you stopped following them.');
    expect(host.following).toEqual(['lee', null]);
    // Also while paused.
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_index: 0 });
    follower.follow({ session: room.asSession, username: 'lee' });
    await settle();
    host.input('lecture.ipynb');
    room.move('s-lee2', 'lee', { following: 'ana' });
    expect(follower.following).toBeNull();
  });

  it('refuses to follow oneself, a non-member, or before joining', () => {
    const { room, follower } = setup();
    expect(follower.follow({ session: room.asSession, username: 'ana' })).toBe(
      'You cannot follow yourself.'
    );
    expect(follower.follow({ session: room.asSession, username: 'zoe' })).toBe(
      'zoe is not in the room class-101.'
    );
    room.you = null;
    expect(follower.follow({ session: room.asSession, username: 'lee' })).toMatch(
      /not in the room class-101 yet/
    );
    expect(follower.following).toBeNull();
  });

  it('follows one leader at a time', async () => {
    const { room, host, follower } = setup();
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_index: 0 });
    room.move('s-ben', 'ben', { path: 'week2/lab.ipynb', cell_index: 5 });
    follower.follow({ session: room.asSession, username: 'lee' });
    await settle();
    follower.follow({ session: room.asSession, username: 'ben' });
    await settle();
    expect(follower.following?.username).toBe('ben');
    expect(host.following).toEqual(['lee', null, 'ben']);
    const before = host.reveals.length;
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_index: 7 });
    expect(host.reveals).toHaveLength(before); // the old leader no longer moves us
    // Following the same leader again only resumes.
    host.input('week2/lab.ipynb');
    follower.follow({ session: room.asSession, username: 'ben' });
    expect(follower.following?.paused).toBe(false);
    expect(host.following).toEqual(['lee', null, 'ben']);
  });

  it('drops a late open of a notebook the leader already left', async () => {
    const { room, host, follower } = setup();
    let release: (value: boolean) => void = () => undefined;
    host.exists = (path: string) => {
      host.calls.push(`exists ${path}`);
      return path === 'lecture.ipynb'
        ? new Promise<boolean>(resolve => (release = resolve))
        : Promise.resolve(true);
    };
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_index: 0 });
    follower.follow({ session: room.asSession, username: 'lee' });
    room.move('s-lee', 'lee', { path: 'week2/lab.ipynb', cell_index: 1 });
    await settle();
    release(true);
    await settle();
    expect(host.calls.filter(c => c.startsWith('open'))).toEqual(['open week2/lab.ipynb']);
    expect(follower.path).toBe('week2/lab.ipynb');
  });

  it('stops when the leader leaves the room', async () => {
    const { room, host, follower } = setup();
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_index: 0 });
    follower.follow({ session: room.asSession, username: 'lee' });
    await settle();
    room.memberLeft.emit({ user: user('ben', 'Ben'), ts: 1 });
    expect(follower.following?.username).toBe('lee');
    room.memberLeft.emit({ user: user('lee', 'Ms Lee'), ts: 2 });
    expect(follower.following).toBeNull();
    expect(follower.notice).toBe('Ms Lee left the room; you stopped following them.');
    expect(host.following).toEqual(['lee', null]);
    expect(host.watchers.size).toBe(0);
  });

  it('stops when the room session goes away', async () => {
    const { room, host, rooms, follower } = setup();
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_index: 0 });
    follower.follow({ session: room.asSession, username: 'lee' });
    await settle();
    rooms.sessionsChanged.emit(undefined);
    expect(follower.following?.username).toBe('lee');
    rooms.sessions = [];
    rooms.sessionsChanged.emit(undefined);
    expect(follower.following).toBeNull();
    expect(follower.notice).toMatch(/You left the room class-101/);
    expect(host.following).toEqual(['lee', null]);
  });

  it('stop and follow(null) clear everything', async () => {
    const { room, host, follower } = setup();
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_index: 0 });
    follower.follow({ session: room.asSession, username: 'lee' });
    await settle();
    follower.follow(null);
    expect(follower.following).toBeNull();
    expect(follower.notice).toBeNull();
    expect(host.following).toEqual(['lee', null]);
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_index: 3 });
    expect(host.reveals).toHaveLength(1);
  });
});

describe('isOwnInput', () => {
  afterEach(() => {
    document.body.textContent = '';
  });

  it('counts scrolling, clicks and typing, not modifier keys or clicks in the Room widget', () => {
    const cell = document.createElement('div');
    const room = document.createElement('div');
    room.className = 'jp-CollabRoom';
    const button = document.createElement('button');
    room.appendChild(button);
    document.body.append(cell, room);
    const fire = (target: Element, event: Event): boolean => {
      let seen = false;
      target.addEventListener(event.type, e => (seen = isOwnInput(e)), { once: true });
      target.dispatchEvent(event);
      return seen;
    };
    expect(fire(cell, new Event('wheel', { bubbles: true }))).toBe(true);
    expect(fire(cell, new Event('pointerdown', { bubbles: true }))).toBe(true);
    expect(fire(cell, new KeyboardEvent('keydown', { key: 'PageDown', bubbles: true }))).toBe(true);
    expect(fire(cell, new KeyboardEvent('keydown', { key: 'Shift', bubbles: true }))).toBe(false);
    expect(fire(button, new Event('pointerdown', { bubbles: true }))).toBe(false);
    expect(fire(button, new Event('wheel', { bubbles: true }))).toBe(true);
  });
});

describe('FollowBar', () => {
  afterEach(() => {
    document.body.textContent = '';
  });

  function q(bar: FollowBar, testid: string): HTMLElement {
    const el = bar.node.querySelector<HTMLElement>(`[data-testid="${testid}"]`);
    if (!el) {
      throw new Error(`no ${testid}`);
    }
    return el;
  }

  it('shows following, paused with Resume, and Stop', async () => {
    const { room, host, follower } = setup();
    const bar = new FollowBar(follower, { slotFor: () => null });
    expect(bar.state).toBe('hidden');
    expect(bar.isAttached).toBe(false);

    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_index: 0 });
    follower.follow({ session: room.asSession, username: 'lee' });
    await settle();
    expect(bar.isAttached).toBe(true);
    expect(bar.node.dataset.testid).toBe('collab-follow-bar');
    expect(bar.hasClass('jp-mod-floating')).toBe(true);
    expect(q(bar, 'collab-follow-label').textContent).toBe('Following Ms Lee');
    expect(q(bar, 'collab-follow-stop').hidden).toBe(false);
    expect(q(bar, 'collab-follow-resume').hidden).toBe(true);

    host.input('lecture.ipynb');
    expect(bar.state).toBe('paused');
    expect(q(bar, 'collab-follow-label').textContent).toBe('Following Ms Lee — paused');
    expect(q(bar, 'collab-follow-resume').hidden).toBe(false);

    q(bar, 'collab-follow-resume').click();
    expect(follower.following?.paused).toBe(false);

    q(bar, 'collab-follow-stop').click();
    expect(follower.following).toBeNull();
    expect(bar.state).toBe('hidden');
    expect(bar.isAttached).toBe(false);
    bar.dispose();
  });

  it('sits in the followed notebook content header', async () => {
    const { room, follower } = setup();
    const header = new Panel();
    Widget.attach(header, document.body);
    const slots: Array<string | null> = [];
    const bar = new FollowBar(follower, {
      slotFor: path => {
        slots.push(path);
        return path ? header : null;
      }
    });
    room.move('s-lee', 'lee', { path: 'lecture.ipynb', cell_index: 0 });
    follower.follow({ session: room.asSession, username: 'lee' });
    expect(bar.hasClass('jp-mod-floating')).toBe(true); // still opening
    await settle();
    expect(bar.parent).toBe(header);
    expect(bar.hasClass('jp-mod-floating')).toBe(false);
    expect(slots).toContain('lecture.ipynb');
    follower.stop();
    expect(bar.parent).toBeNull();
    expect(header.widgets).toHaveLength(0);
    bar.dispose();
    header.dispose();
  });

  it('shows a notice with Dismiss, and takes it away after a while', async () => {
    jest.useFakeTimers();
    try {
      const { room, follower } = setup();
      const bar = new FollowBar(follower, { slotFor: () => null }, { noticeMs: 1000 });
      room.move('s-lee', 'lee', { path: 'lecture.ipynb', following: 'ana' });
      follower.follow({ session: room.asSession, username: 'lee' });
      expect(bar.state).toBe('notice');
      expect(q(bar, 'collab-follow-notice').textContent).toBe(
        'Ms Lee is following you, so you cannot follow them.'
      );
      expect(q(bar, 'collab-follow-dismiss').hidden).toBe(false);
      expect(q(bar, 'collab-follow-stop').hidden).toBe(true);
      q(bar, 'collab-follow-dismiss').click();
      expect(bar.state).toBe('hidden');

      follower.follow({ session: room.asSession, username: 'lee' });
      expect(bar.state).toBe('notice');
      jest.advanceTimersByTime(1001);
      expect(bar.state).toBe('hidden');
      bar.dispose();
    } finally {
      jest.useRealTimers();
    }
  });

  it('renders names as text', async () => {
    const { room, follower } = setup();
    room.members.push(member('eve', '<img src=x onerror=alert(1)>'));
    room.move('s-eve', 'eve', { path: 'lecture.ipynb', cell_index: 0 });
    const bar = new FollowBar(follower, { slotFor: () => null });
    follower.follow({ session: room.asSession, username: 'eve' });
    expect(bar.node.querySelector('img')).toBeNull();
    expect(q(bar, 'collab-follow-label').textContent).toBe(
      'Following <img src=x onerror=alert(1)>'
    );
    bar.dispose();
  });
});

describe('presence carries following', () => {
  /** A joined room whose presence sends are recorded. */
  function presenceRoom(name: string, available: boolean) {
    const sent: Array<IPresenceState | null> = [];
    const session = {
      name,
      ready: true,
      joined: true,
      you: { ...ME, session: `s-${name}` },
      classroom: { available },
      changed: new Signal<unknown, string>({}),
      sendPresence: (state: IPresenceState | null) => {
        sent.push(state);
        return true;
      }
    };
    return { session: session as unknown as IRoomSession, sent };
  }

  it('sends following to 1.1 rooms only, and clears it', async () => {
    jest.useFakeTimers();
    const modern = presenceRoom('modern', true);
    const old = presenceRoom('old', false);
    const connection = {
      sessions: [modern.session, old.session],
      sessionsChanged: new Signal<unknown, void>({}),
      pinged: new Signal<unknown, void>({})
    } as unknown as ICollabConnection;
    const local = new LocalPresence({ connection, notebooks: null, storage: null });
    try {
      await jest.advanceTimersByTimeAsync(200);
      expect(modern.sent.length).toBeGreaterThan(0);
      expect(modern.sent[modern.sent.length - 1]?.following).toBeUndefined();

      local.setFollowing('lee');
      expect(local.following).toBe('lee');
      await jest.advanceTimersByTimeAsync(200);
      expect(modern.sent[modern.sent.length - 1]?.following).toBe('lee');
      expect(old.sent.every(s => s?.following === undefined)).toBe(true);
      expect(local.localState.following).toBe('lee');

      local.setFollowing(null);
      await jest.advanceTimersByTimeAsync(200);
      expect(modern.sent[modern.sent.length - 1]?.following).toBeUndefined();
    } finally {
      local.dispose();
      jest.useRealTimers();
    }
  });

  it('keeps a well-formed following in received states', () => {
    expect(sanitizeState({ path: 'a.ipynb', following: 'lee' })).toEqual({
      path: 'a.ipynb',
      following: 'lee'
    });
    expect(sanitizeState({ following: 42 })).toEqual({});
    expect(sanitizeState({ following: '' })).toEqual({});
    expect(sanitizeState({ following: 'x'.repeat(129) })).toEqual({});
  });
});

describe('LabFollowHost', () => {
  /** A notebook panel with the parts the host uses. */
  function fakePanel(path: string) {
    const node = document.createElement('div');
    const cell = document.createElement('div');
    node.appendChild(cell);
    document.body.appendChild(node);
    const scrolled: number[] = [];
    const panel = {
      id: `panel-${path}`,
      isDisposed: false,
      isVisible: true,
      disposed: new Signal<unknown, void>({}),
      context: { path, ready: Promise.resolve() },
      revealed: Promise.resolve(),
      content: {
        node,
        widgets: [{ model: { id: 'a' } }, { model: { id: 'b' } }, { model: { id: 'c' } }],
        activeCellIndex: 0,
        scrollToItem: (index: number) => {
          scrolled.push(index);
          return Promise.resolve();
        }
      }
    };
    return { panel, node, cell, scrolled };
  }

  function fakeLab(panels: Array<{ context: { path: string } }>, files: string[]) {
    const executed: Array<{ id: string; args: unknown }> = [];
    const activated: string[] = [];
    const app = {
      serviceManager: {
        contents: {
          normalize: (p: string) => p.replace(/^\/+/, ''),
          localPath: (p: string) => p,
          get: async (p: string) => {
            if (!files.includes(p)) {
              throw new Error('404');
            }
            return { path: p };
          }
        }
      },
      shell: { activateById: (id: string) => activated.push(id) },
      commands: {
        execute: async (id: string, args: unknown) => {
          executed.push({ id, args });
        }
      }
    };
    const tracker = {
      find: (fn: (p: unknown) => boolean) => panels.find(fn)
    };
    return { app, tracker, executed, activated };
  }

  afterEach(() => {
    document.body.textContent = '';
  });

  it('finds, checks, opens and reveals without touching the active cell', async () => {
    const { panel, scrolled } = fakePanel('lecture.ipynb');
    const lab = fakeLab([panel], ['lecture.ipynb']);
    const host = new LabFollowHost({
      app: lab.app as unknown as ILabFollowHostOptions['app'],
      notebooks: lab.tracker as unknown as ILabFollowHostOptions['notebooks'],
      setFollowing: () => undefined
    });
    expect(host.isOpen('/lecture.ipynb')).toBe(true);
    expect(host.isOpen('RTC:lecture.ipynb')).toBe(true);
    expect(stripRtcDrive('RTC:/a/b.ipynb')).toBe('a/b.ipynb');
    expect(await host.exists('lecture.ipynb')).toBe(true);
    expect(await host.exists('other.ipynb')).toBe(false);
    expect(await host.open('lecture.ipynb')).toBe(true);
    expect(lab.activated).toEqual(['panel-lecture.ipynb']);
    expect(await host.open('other.ipynb')).toBe(false);
    expect(lab.executed).toEqual([
      { id: 'docmanager:open', args: { path: 'other.ipynb', factory: 'Notebook' } }
    ]);
    // Whom we follow never makes us open anything but a notebook.
    expect(await host.open('evil.html')).toBe(false);
    expect(lab.executed).toHaveLength(1);

    expect(host.reveal('lecture.ipynb', { cell_id: 'c', cell_index: 0 })).toBe(true);
    expect(host.reveal('lecture.ipynb', { cell_id: 'zz', cell_index: 1 })).toBe(true);
    expect(host.reveal('lecture.ipynb', { cell_id: 'zz', cell_index: 9 })).toBe(false);
    expect(scrolled).toEqual([2, 1]);
    expect(panel.content.activeCellIndex).toBe(0);
    panel.isVisible = false;
    expect(host.reveal('lecture.ipynb', { cell_id: 'a' })).toBe(false);
  });

  it('watches own input in the notebook, even where JupyterLab stops key events', async () => {
    const { panel, cell } = fakePanel('lecture.ipynb');
    const outside = document.createElement('div');
    document.body.appendChild(outside);
    const lab = fakeLab([panel], ['lecture.ipynb']);
    const host = new LabFollowHost({
      app: lab.app as unknown as ILabFollowHostOptions['app'],
      notebooks: lab.tracker as unknown as ILabFollowHostOptions['notebooks'],
      setFollowing: () => undefined
    });
    let inputs = 0;
    let closed = 0;
    const watch = host.watch('lecture.ipynb', {
      onInput: () => inputs++,
      onClosed: () => closed++
    });
    expect(watch).not.toBeNull();
    // JupyterLab's shortcuts: handled on the document while capturing, then stopped.
    const stop = (e: Event): void => e.stopPropagation();
    document.addEventListener('keydown', stop, true);
    try {
      cell.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true }));
      expect(inputs).toBe(1);
      cell.dispatchEvent(new Event('wheel', { bubbles: true }));
      expect(inputs).toBe(2);
      outside.dispatchEvent(new Event('pointerdown', { bubbles: true }));
      expect(inputs).toBe(2);
      panel.disposed.emit(undefined);
      expect(closed).toBe(1);
      watch?.dispose();
      cell.dispatchEvent(new Event('wheel', { bubbles: true }));
      expect(inputs).toBe(2);
    } finally {
      document.removeEventListener('keydown', stop, true);
    }
    expect(host.watch('other.ipynb', { onInput: () => 0, onClosed: () => 0 })).toBeNull();
  });
});
