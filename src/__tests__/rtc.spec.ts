/**
 * Beside real-time collaboration (jupyter-collaboration): detecting a notebook shared by RTC
 * and whom RTC draws there, what collab-widget draws by the settings, the colour given to the
 * JupyterLab identity; the presence settings and the share-by-default switch.
 */
import type { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ServerConnection, User } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { Doc } from 'yjs';

import { LocalPresence } from '../presence/localPresence';
import { nameWithActivity } from '../presence/remoteCursors';
import {
  awarenessOf,
  colorToSync,
  drawDecision,
  IAwarenessLike,
  IRtcColorSyncOptions,
  isHexColor,
  isRtcShared,
  NotebookRtc,
  RtcColorSync,
  rtcUsernames
} from '../presence/rtc';
import {
  DEFAULT_PRESENCE_SETTINGS,
  IPresenceSettings,
  PresenceSettings,
  readPresenceSettings,
  SETTINGS_PLUGIN
} from '../presence/settings';
import { SharingSwitches, STORAGE_KEY, STORAGE_KEY_ON } from '../presence/sharingSwitches';
import type { IYou } from '../protocol';
import type { ICollabConnection, RoomChange } from '../tokens';

/** An awareness whose states the test sets (the shape of y-protocols' Awareness). */
class FakeAwareness implements IAwarenessLike {
  constructor(readonly clientID = 1) {}
  states = new Map<number, Record<string, unknown>>();
  listeners = new Set<() => void>();
  getStates(): Map<number, Record<string, unknown>> {
    return this.states;
  }
  on(_: 'change', listener: () => void): void {
    this.listeners.add(listener);
  }
  off(_: 'change', listener: () => void): void {
    this.listeners.delete(listener);
  }
  set(client: number, state: Record<string, unknown> | null): void {
    if (state) {
      this.states.set(client, state);
    } else {
      this.states.delete(client);
    }
    this.listeners.forEach(l => l());
  }
}

function settings(patch: Partial<IPresenceSettings> = {}): IPresenceSettings {
  return { ...DEFAULT_PRESENCE_SETTINGS, ...patch };
}

describe('isRtcShared / awarenessOf', () => {
  it('a collaborative model is shared; any other is not', () => {
    expect(isRtcShared({ collaborative: true })).toBe(true);
    expect(isRtcShared({ collaborative: false })).toBe(false);
    expect(isRtcShared({})).toBe(false);
    expect(isRtcShared(null)).toBe(false);
  });

  it("finds the shared model's awareness, or null for anything that is not one", () => {
    const awareness = new FakeAwareness();
    expect(awarenessOf({ sharedModel: { awareness } })).toBe(awareness);
    expect(awarenessOf({ sharedModel: { awareness: { clientID: 1 } } })).toBeNull();
    expect(awarenessOf({ sharedModel: {} })).toBeNull();
    expect(awarenessOf({ sharedModel: null })).toBeNull();
    expect(awarenessOf(undefined)).toBeNull();
  });
});

describe('rtcUsernames', () => {
  it("the other clients' usernames, not our own client, not states without a user", () => {
    const a = new FakeAwareness(7);
    a.states.set(7, { user: { username: 'me' } });
    a.states.set(8, { user: { username: 'bob', color: '#112233' } });
    a.states.set(9, { user: { username: 'bob' } }); // bob's second tab
    a.states.set(10, { autosave: true });
    a.states.set(11, { user: { username: 42 } });
    a.states.set(12, { user: 'eve' });
    expect(Array.from(rtcUsernames(a))).toEqual(['bob']);
    expect(rtcUsernames(null).size).toBe(0);
  });

  it("reads y-protocols' Awareness (what jupyter-collaboration's documents have)", () => {
    const mine = new Awareness(new Doc());
    const theirs = new Awareness(new Doc());
    theirs.setLocalStateField('user', { username: 'bob', color: '#aa0000' });
    mine.setLocalStateField('user', { username: 'me' });
    applyAwarenessUpdate(mine, encodeAwarenessUpdate(theirs, [theirs.clientID]), 'test');
    const like = awarenessOf({ sharedModel: { awareness: mine } });
    expect(like).toBe(mine);
    expect(Array.from(rtcUsernames(like))).toEqual(['bob']);
    mine.destroy();
    theirs.destroy();
  });
});

describe('drawDecision', () => {
  it('without RTC: marker, caret and label (as before)', () => {
    expect(drawDecision(settings(), false)).toEqual({ marker: true, caret: true, label: true });
  });

  it("where RTC draws the person's caret: the marker only ('auto' and 'rtc')", () => {
    for (const rtcCursors of ['auto', 'rtc'] as const) {
      expect(drawDecision(settings({ rtcCursors }), true)).toEqual({
        marker: true,
        caret: false,
        label: false
      });
    }
  });

  it("'ours' draws our caret and label beside RTC's", () => {
    expect(drawDecision(settings({ rtcCursors: 'ours' }), true)).toEqual({
      marker: true,
      caret: true,
      label: true
    });
  });

  it('showRemoteLabels: false keeps the caret without its label', () => {
    expect(drawDecision(settings({ showRemoteLabels: false }), false)).toEqual({
      marker: true,
      caret: true,
      label: false
    });
  });

  it('showRemoteCursors: false draws nothing, with or without RTC', () => {
    const none = { marker: false, caret: false, label: false };
    expect(drawDecision(settings({ showRemoteCursors: false }), false)).toEqual(none);
    expect(drawDecision(settings({ showRemoteCursors: false, rtcCursors: 'ours' }), true)).toEqual(
      none
    );
  });
});

describe('nameWithActivity', () => {
  it('a name, with its activity unless active (labels and cell markers)', () => {
    expect(nameWithActivity('Ana', 'active')).toBe('Ana');
    expect(nameWithActivity('Ana', 'idle')).toBe('Ana (idle)');
    expect(nameWithActivity('Ana', 'away')).toBe('Ana (away)');
  });
});

describe('NotebookRtc', () => {
  it('follows whom RTC draws and says when that changes (not on other awareness changes)', () => {
    const awareness = new FakeAwareness(1);
    const rtc = new NotebookRtc({ collaborative: true, sharedModel: { awareness } });
    const changes: number[] = [];
    rtc.changed.connect(() => changes.push(rtc.usernames.size));
    expect(rtc.shared).toBe(true);
    expect(rtc.drawsFor('bob')).toBe(false);
    awareness.set(2, { user: { username: 'bob' } });
    expect(rtc.drawsFor('bob')).toBe(true);
    awareness.set(2, { user: { username: 'bob' }, cursors: [] }); // a caret moved
    awareness.set(3, { user: { username: 'eve' } });
    awareness.set(2, null);
    expect(rtc.drawsFor('bob')).toBe(false);
    expect(changes).toEqual([1, 2, 1]);
    rtc.dispose();
    expect(awareness.listeners.size).toBe(0);
  });

  it('a notebook that is not collaborative: RTC draws nobody, its awareness is not read', () => {
    const awareness = new FakeAwareness(1);
    awareness.states.set(2, { user: { username: 'bob' } });
    const rtc = new NotebookRtc({ collaborative: false, sharedModel: { awareness } });
    expect(rtc.shared).toBe(false);
    expect(rtc.drawsFor('bob')).toBe(false);
    expect(awareness.listeners.size).toBe(0);
    rtc.dispose();
  });
});

describe('colorToSync', () => {
  const fields = ['name', 'color'];

  it("the room's colour when the identity has none of its own and `color` is updatable", () => {
    expect(colorToSync('var(--jp-collaborator-color3)', fields, '#3cb44b')).toBe('#3cb44b');
    expect(colorToSync(null, fields, '#3cb44b')).toBe('#3cb44b');
  });

  it("never replaces an identity's own #rrggbb colour (no flip-flop between rooms)", () => {
    expect(colorToSync('#e6194b', fields, '#3cb44b')).toBeNull();
  });

  it('nothing when they agree (any case), the room has no hex colour, or color is fixed', () => {
    expect(colorToSync('#3CB44B', fields, '#3cb44b')).toBeNull();
    expect(colorToSync('#000000', fields, null)).toBeNull();
    expect(colorToSync('#000000', fields, 'red')).toBeNull();
    expect(colorToSync('#000000', ['name'], '#3cb44b')).toBeNull();
    expect(colorToSync('#000000', undefined, '#3cb44b')).toBeNull();
  });

  it('isHexColor', () => {
    expect(isHexColor('#a1B2c3')).toBe(true);
    expect(isHexColor('#abc')).toBe(false);
    expect(isHexColor('var(--x)')).toBe(false);
    expect(isHexColor(null)).toBe(false);
  });
});

describe('readPresenceSettings / PresenceSettings', () => {
  it('reads the presence keys; missing or wrong values are the defaults', () => {
    expect(readPresenceSettings(undefined)).toEqual(DEFAULT_PRESENCE_SETTINGS);
    expect(
      readPresenceSettings({
        shareCursorByDefault: false,
        showRemoteCursors: 'no',
        showRemoteLabels: false,
        rtcCursors: 'ours',
        eventLogLength: 50
      })
    ).toEqual({
      shareCursorByDefault: false,
      showRemoteCursors: true,
      showRemoteLabels: false,
      rtcCursors: 'ours'
    });
    expect(readPresenceSettings({ rtcCursors: 'theirs' }).rtcCursors).toBe('auto');
  });

  it('loads collab-widget:settings and follows its changes', async () => {
    const changed = new Signal<unknown, unknown>({});
    const fake = {
      composite: { showRemoteCursors: false } as Record<string, unknown>,
      changed
    };
    const load = jest.fn(async () => fake);
    const registry = { load } as unknown as ISettingRegistry;
    const ps = new PresenceSettings();
    const seen: boolean[] = [];
    ps.changed.connect((_, value) => seen.push(value.showRemoteCursors));
    await ps.load(registry);
    expect(load).toHaveBeenCalledWith(SETTINGS_PLUGIN);
    expect(ps.value.showRemoteCursors).toBe(false);
    fake.composite = { showRemoteCursors: true };
    changed.emit(fake);
    fake.composite = { showRemoteCursors: true, eventLogLength: 20 }; // not ours: no change
    changed.emit(fake);
    expect(seen).toEqual([false, true]);
    ps.dispose();
  });

  it('a registry that fails keeps the defaults', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const registry = {
      load: async () => Promise.reject(new Error('no schema'))
    } as unknown as ISettingRegistry;
    const ps = new PresenceSettings();
    await ps.load(registry);
    expect(ps.value).toEqual(DEFAULT_PRESENCE_SETTINGS);
    expect(warn).toHaveBeenCalledTimes(1);
    warn.mockRestore();
  });
});

describe('SharingSwitches with a default', () => {
  beforeEach(() => window.sessionStorage.clear());

  it('default off: rooms switched on share, the others do not; kept in storage', () => {
    const switches = new SharingSwitches(window.sessionStorage, false);
    expect(switches.isSharing('r')).toBe(false);
    expect(switches.set('r', true)).toBe(true);
    expect(JSON.parse(window.sessionStorage.getItem(STORAGE_KEY_ON) ?? '[]')).toEqual(['r']);
    expect(new SharingSwitches(window.sessionStorage, false).isSharing('r')).toBe(true);
    expect(new SharingSwitches(window.sessionStorage, false).isSharing('s')).toBe(false);
    expect(switches.set('r', false)).toBe(true);
    expect(JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) ?? '[]')).toEqual(['r']);
    expect(JSON.parse(window.sessionStorage.getItem(STORAGE_KEY_ON) ?? '[]')).toEqual([]);
  });

  it('a room switched by hand keeps its switch when the default changes', () => {
    const switches = new SharingSwitches(null, true);
    switches.set('off', false);
    switches.set('off', true); // switched back on by hand
    switches.set('quiet', false);
    switches.byDefault = false;
    expect(switches.isSharing('off')).toBe(true);
    expect(switches.isSharing('quiet')).toBe(false);
    expect(switches.isSharing('other')).toBe(false);
    switches.byDefault = true;
    expect(switches.isSharing('quiet')).toBe(false);
    expect(switches.isSharing('other')).toBe(true);
  });
});

// ---- fakes of the connection, its rooms and JupyterLab's user ----------------------------

class FakeSession {
  constructor(
    readonly name: string,
    color: string
  ) {
    this._color = color;
  }
  joined = false;
  ready = false;
  you: IYou | null = null;
  members = [];
  presence = new Map();
  changed = new Signal<this, RoomChange>(this);
  presenceChanged = new Signal<this, void>(this);
  sent: Array<unknown> = [];
  classroom = { available: true };

  join(session = 's1'): void {
    this.joined = this.ready = true;
    this.you = {
      username: 'me',
      name: 'Me',
      display_name: 'Me',
      initials: 'M',
      avatar_url: null,
      color: this._color,
      session
    };
    this.changed.emit('state');
  }
  sendPresence(state: unknown): void {
    this.sent.push(state);
  }
  private _color: string;
}

class FakeConnection {
  sessions: FakeSession[] = [];
  sessionsChanged = new Signal<this, void>(this);
  pinged = new Signal<this, void>(this);
  add(session: FakeSession): void {
    this.sessions.push(session);
    this.sessionsChanged.emit(undefined);
  }
  get asConnection(): ICollabConnection {
    return this as unknown as ICollabConnection;
  }
}

class FakeUser {
  isReady = true;
  ready = Promise.resolve();
  identity: { color: string | null } = { color: 'var(--jp-collaborator-color2)' };
  permissions: Record<string, unknown> | null = {
    updatable_fields: ['name', 'display_name', 'initials', 'avatar_url', 'color']
  };
  refreshUser = jest.fn(async () => undefined);
  get asManager(): User.IManager {
    return this as unknown as User.IManager;
  }
}

/** A notebook tracker with one open notebook, shared by RTC or not. */
function fakeTracker(collaborative: boolean): IRtcColorSyncOptions['notebooks'] {
  const panel = {
    isDisposed: false,
    context: { model: { collaborative }, ready: Promise.resolve() }
  };
  const tracker = {
    widgetAdded: new Signal<unknown, unknown>({}),
    forEach: (fn: (p: typeof panel) => void) => fn(panel)
  };
  return tracker as unknown as IRtcColorSyncOptions['notebooks'];
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) {
    await Promise.resolve();
  }
};

describe('RtcColorSync', () => {
  let makeRequest: jest.SpyInstance;
  beforeEach(() => {
    makeRequest = jest
      .spyOn(ServerConnection, 'makeRequest')
      .mockImplementation(async () => ({ ok: true }) as Response);
  });
  afterEach(() => makeRequest.mockRestore());

  function make(collaborative: boolean): {
    sync: RtcColorSync;
    connection: FakeConnection;
    user: FakeUser;
  } {
    const connection = new FakeConnection();
    const user = new FakeUser();
    const sync = new RtcColorSync({
      connection: connection.asConnection,
      notebooks: fakeTracker(collaborative),
      user: user.asManager,
      serverSettings: ServerConnection.makeSettings({ baseUrl: 'http://localhost/jp/' })
    });
    return { sync, connection, user };
  }

  it("after a join beside RTC: PATCH /api/me with the room's colour, then refresh the user", async () => {
    const { sync, connection, user } = make(true);
    const room = new FakeSession('r', '#3cb44b');
    connection.add(room);
    expect(makeRequest).not.toHaveBeenCalled(); // not joined yet
    room.join();
    await flush();
    expect(makeRequest).toHaveBeenCalledTimes(1);
    const [url, init] = makeRequest.mock.calls[0] as [string, RequestInit];
    expect(url).toBe('http://localhost/jp/api/me');
    expect(init.method).toBe('PATCH');
    expect(JSON.parse(String(init.body))).toEqual({ color: '#3cb44b' });
    expect(user.refreshUser).toHaveBeenCalledTimes(1);
    expect(sync.synced).toBe('#3cb44b');
    // More changes of the same join: nothing new.
    room.changed.emit('members');
    room.changed.emit('state');
    await flush();
    expect(makeRequest).toHaveBeenCalledTimes(1);
    sync.dispose();
  });

  it('nothing without RTC, when the colours agree, or when the server keeps color fixed', async () => {
    const plain = make(false);
    const room = new FakeSession('r', '#3cb44b');
    plain.connection.add(room);
    room.join();
    await flush();
    expect(makeRequest).not.toHaveBeenCalled();
    plain.sync.dispose();

    const same = make(true);
    same.user.identity = { color: '#3cb44b' };
    const room2 = new FakeSession('r', '#3cb44b');
    same.connection.add(room2);
    room2.join();
    await flush();
    expect(makeRequest).not.toHaveBeenCalled();
    same.sync.dispose();

    const fixed = make(true);
    fixed.user.permissions = { updatable_fields: [] };
    const room3 = new FakeSession('r', '#3cb44b');
    fixed.connection.add(room3);
    room3.join();
    await flush();
    expect(makeRequest).not.toHaveBeenCalled();
    fixed.sync.dispose();
  });

  it('a refused PATCH is logged once and not retried for the same join', async () => {
    makeRequest.mockImplementation(async () => new Response('{}', { status: 501 }));
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { sync, connection, user } = make(true);
    const room = new FakeSession('r', '#3cb44b');
    connection.add(room);
    room.join();
    await flush();
    room.changed.emit('state');
    await flush();
    expect(makeRequest).toHaveBeenCalledTimes(1);
    expect(user.refreshUser).not.toHaveBeenCalled();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(sync.synced).toBeNull();
    warn.mockRestore();
    sync.dispose();
  });
});

describe('LocalPresence: shareCursorByDefault and holding until the settings are known', () => {
  function make(shareByDefault: boolean): {
    local: LocalPresence;
    room: FakeSession;
    connection: FakeConnection;
  } {
    const connection = new FakeConnection();
    const room = new FakeSession('r', '#3cb44b');
    room.join();
    connection.sessions.push(room);
    const local = new LocalPresence({
      connection: connection.asConnection,
      notebooks: null,
      storage: null,
      shareByDefault
    });
    return { local, room, connection };
  }

  it('default off: nothing is sent until the room is switched on', async () => {
    const { local, room } = make(false);
    await flush();
    expect(local.isSharing('r')).toBe(false);
    expect(room.sent).toEqual([]);
    local.setSharing('r', true);
    await flush();
    expect(room.sent.length).toBe(1);
    local.dispose();
  });

  it('turning the default off clears the state at once and says so; on sends again', async () => {
    const { local, room } = make(true);
    await flush();
    expect(room.sent.length).toBe(1);
    const switched: string[] = [];
    local.sharingChanged.connect((_, name) => switched.push(name));
    local.setShareByDefault(false);
    expect(room.sent[room.sent.length - 1]).toBeNull();
    expect(switched).toEqual(['r']);
    local.setShareByDefault(true);
    await new Promise(resolve => setTimeout(resolve, 150)); // the send budget (20/s)
    expect(room.sent[room.sent.length - 1]).not.toBeNull();
    expect(switched).toEqual(['r', 'r']);
    local.dispose();
  });

  it('holdUntil: nothing goes out before the promise settles', async () => {
    const connection = new FakeConnection();
    const room = new FakeSession('r', '#3cb44b');
    room.join();
    let release: () => void = () => undefined;
    const held = new Promise<void>(resolve => (release = resolve));
    const local = new LocalPresence({
      connection: connection.asConnection,
      notebooks: null,
      storage: null
    });
    local.holdUntil(held);
    connection.add(room);
    await flush();
    expect(room.sent).toEqual([]);
    release();
    await flush();
    expect(room.sent.length).toBe(1);
    local.dispose();
  });
});
