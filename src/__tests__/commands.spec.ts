/**
 * JupyterLab's side with fakes: the commands (open in the side panel, pop out, toggle sharing,
 * jump to a member), the side panels, the header's "pop out" button and the log's length.
 */
import { CommandRegistry } from '@lumino/commands';
import { Signal } from '@lumino/signaling';
import type { LabIcon } from '@jupyterlab/ui-components';
import type { Widget } from '@lumino/widgets';
import type { Socket } from 'socket.io-client';

import {
  addCommands,
  CommandIDs,
  ICommandDialogs,
  ICurrentNotebook,
  jumpTargets,
  notebookRooms,
  PALETTE_COMMANDS
} from '../commands';
import type { IMember, IPresenceState } from '../protocol';
import { getLogCap, LOG_CAP, RoomLog, setLogCap } from '../room/roomLog';
import { RoomSession } from '../room/roomSession';
import { RoomPanel, SidePanels } from '../sidePanel';
import type { ICollabConnection, ICollabPresence, IRoomLease, IRoomSession } from '../tokens';
import { HeaderPane, setPopOutHandler } from '../view/headerPane';
import { ana, ben, FakeSocket, joinOk, lee, member } from './classroomFixtures';

// ---- fakes -------------------------------------------------------------------------------

/** A session of `room` joined as `you`, with others' presence. */
function joinedRoom(
  room: string,
  you: IMember = lee,
  members: IMember[] = [lee, ana, ben],
  presence: Record<string, IPresenceState> = {}
): RoomSession {
  const socket = new FakeSocket();
  const s = new RoomSession(room, () => socket as unknown as Socket);
  s.join();
  socket.answer('join', { ...joinOk(you, members, undefined), room });
  s.onPresenceEvent({
    room,
    updates: Object.entries(presence).map(([user, state], i) => ({
      session: `s-${user}`,
      user,
      state,
      ts: 10 + i
    })),
    removed: [],
    reset: true
  });
  return s;
}

/** The connection as the commands and the side panels use it; leases are counted. */
class FakeConnection {
  sessions: RoomSession[] = [];
  held = new Map<string, number>();
  statusChanged = new Signal<object, void>(this);
  state = 'connected';
  transport = 'websocket';
  serviceState = '';
  rtt = null;
  sid = 'sid-1';
  transportMode = 'websocket';
  network = { handshake: null };

  getSession(room: string): IRoomSession | undefined {
    return this.sessions.find(s => s.name === room);
  }

  setTransportMode(): void {
    // nothing
  }

  acquire(room: string): IRoomLease {
    let session = this.sessions.find(s => s.name === room);
    if (!session) {
      session = joinedRoom(room);
      this.sessions.push(session);
    }
    this.held.set(room, (this.held.get(room) ?? 0) + 1);
    let disposed = false;
    return {
      session,
      get isDisposed() {
        return disposed;
      },
      dispose: () => {
        if (!disposed) {
          disposed = true;
          this.held.set(room, (this.held.get(room) ?? 0) - 1);
        }
      }
    };
  }

  asConnection(): ICollabConnection {
    return this as unknown as ICollabConnection;
  }
}

class FakePresence {
  sharing = new Map<string, boolean>();
  jumps: IPresenceState[] = [];
  canJump = true;
  sharingChanged = new Signal<ICollabPresence, string>(this as unknown as ICollabPresence);
  localChanged = new Signal<ICollabPresence, IPresenceState>(this as unknown as ICollabPresence);
  notebooksChanged = new Signal<ICollabPresence, void>(this as unknown as ICollabPresence);
  remoteChanged = new Signal<ICollabPresence, void>(this as unknown as ICollabPresence);
  localState: IPresenceState = {};
  remote = [];

  isSharing(room: string): boolean {
    return this.sharing.get(room) ?? true;
  }

  setSharing(room: string, on: boolean): void {
    this.sharing.set(room, on);
    this.sharingChanged.emit(room);
  }

  canJumpTo(): boolean {
    return this.canJump;
  }

  async jumpTo(state: IPresenceState): Promise<boolean> {
    this.jumps.push(state);
    return this.canJump;
  }

  asPresence(): ICollabPresence {
    return this as unknown as ICollabPresence;
  }
}

/** Dialogs answering with what the test queued; records what was asked. */
class FakeDialogs implements ICommandDialogs {
  asked: { kind: 'text' | 'item'; title: string; text?: string; items?: string[] }[] = [];
  answers: (string | null)[] = [];

  async getText(o: { title: string; label: string; text: string }): Promise<string | null> {
    this.asked.push({ kind: 'text', title: o.title, text: o.text });
    return this.answers.shift() ?? null;
  }

  async getItem(o: { title: string; label: string; items: string[] }): Promise<string | null> {
    this.asked.push({ kind: 'item', title: o.title, items: o.items });
    return this.answers.shift() ?? null;
  }
}

/** A notebook node showing Room views of `rooms`. */
function notebook(path: string, rooms: string[], metadata: unknown = undefined): ICurrentNotebook {
  const node = document.createElement('div');
  for (const room of rooms) {
    const header = document.createElement('div');
    header.className = 'jp-CollabRoom-header';
    header.dataset.room = room;
    node.appendChild(header);
  }
  return { path, metadata, node };
}

function setup(presence: FakePresence | null = new FakePresence()) {
  const commands = new CommandRegistry();
  const connection = new FakeConnection();
  const dialogs = new FakeDialogs();
  const opened: string[] = [];
  const warnings: string[] = [];
  const current: { notebook: ICurrentNotebook | null } = { notebook: null };
  const disposable = addCommands({
    commands,
    connection: connection.asConnection(),
    presence: presence?.asPresence() ?? null,
    openPanel: room => opened.push(room),
    currentNotebook: () => current.notebook,
    dialogs,
    warn: text => warnings.push(text)
  });
  return { commands, connection, dialogs, opened, warnings, current, presence, disposable };
}

// ---- commands ----------------------------------------------------------------------------

describe('commands', () => {
  it('are all added with labels, and removed with the disposable', () => {
    const { commands, disposable } = setup();
    for (const id of PALETTE_COMMANDS) {
      expect(commands.hasCommand(id)).toBe(true);
      expect(commands.label(id)).not.toBe('');
    }
    expect(commands.label(CommandIDs.openSidePanel)).toBe('Open room in the side panel');
    expect(commands.label(CommandIDs.toggleSharing)).toBe('Toggle sharing my cursor');
    expect(commands.label(CommandIDs.jumpToMember)).toBe('Jump to member…');
    expect(commands.label(CommandIDs.popOut)).toBe('Pop this room out into the side panel');
    disposable.dispose();
    expect(commands.hasCommand(CommandIDs.openSidePanel)).toBe(false);
  });

  it('know the rooms of a notebook: its views first, else its own room', () => {
    expect(notebookRooms(null)).toEqual([]);
    expect(notebookRooms(notebook('lecture.ipynb', ['class-101', 'lab', 'class-101']))).toEqual([
      'class-101',
      'lab'
    ]);
    expect(notebookRooms(notebook('week 1/lecture.ipynb', []))).toEqual(['week 1/lecture.ipynb']);
    expect(notebookRooms(notebook('copy.ipynb', [], { room: 'week 1/lecture.ipynb' }))).toEqual([
      'week 1/lecture.ipynb'
    ]);
  });

  describe('open room in the side panel', () => {
    it("asks for the room, suggesting the current notebook's", async () => {
      const { commands, dialogs, opened, current } = setup();
      current.notebook = notebook('lecture.ipynb', ['class-101']);
      dialogs.answers = ['  lab-2 '];
      await commands.execute(CommandIDs.openSidePanel);
      expect(dialogs.asked).toEqual([
        { kind: 'text', title: 'Open room in the side panel', text: 'class-101' }
      ]);
      expect(opened).toEqual(['lab-2']);
    });

    it('does nothing when cancelled or empty, and asks nothing when told the room', async () => {
      const { commands, dialogs, opened } = setup();
      dialogs.answers = [null, '   '];
      await commands.execute(CommandIDs.openSidePanel);
      await commands.execute(CommandIDs.openSidePanel);
      expect(dialogs.asked.map(a => a.text)).toEqual(['', '']);
      expect(opened).toEqual([]);
      await commands.execute(CommandIDs.openSidePanel, { room: 'class-101' });
      expect(dialogs.asked.length).toBe(2);
      expect(opened).toEqual(['class-101']);
    });
  });

  describe('pop out', () => {
    it("pops out the given room, else the current notebook's, else asks", async () => {
      const { commands, dialogs, opened, current } = setup();
      await commands.execute(CommandIDs.popOut, { room: 'lab-2' });
      current.notebook = notebook('lecture.ipynb', ['class-101', 'lab-2']);
      await commands.execute(CommandIDs.popOut);
      current.notebook = null;
      dialogs.answers = ['asked'];
      await commands.execute(CommandIDs.popOut);
      expect(opened).toEqual(['lab-2', 'class-101', 'asked']);
      expect(dialogs.asked.length).toBe(1);
    });
  });

  describe('toggle sharing my cursor', () => {
    it("switches the current notebook's joined rooms together", async () => {
      const { commands, connection, presence, current } = setup();
      connection.sessions = [joinedRoom('class-101'), joinedRoom('lab-2'), joinedRoom('other')];
      current.notebook = notebook('lecture.ipynb', ['class-101', 'lab-2', 'not-joined']);
      expect(commands.isEnabled(CommandIDs.toggleSharing)).toBe(true);
      expect(commands.isToggled(CommandIDs.toggleSharing)).toBe(true);
      await commands.execute(CommandIDs.toggleSharing);
      expect([...presence!.sharing.entries()]).toEqual([
        ['class-101', false],
        ['lab-2', false]
      ]);
      expect(commands.isToggled(CommandIDs.toggleSharing)).toBe(false);
      // one room back on by its own switch: the next toggle turns both on
      presence!.setSharing('lab-2', true);
      expect(commands.isToggled(CommandIDs.toggleSharing)).toBe(false);
      await commands.execute(CommandIDs.toggleSharing);
      expect([...presence!.sharing.entries()]).toEqual([
        ['class-101', true],
        ['lab-2', true]
      ]);
      expect(presence!.isSharing('other')).toBe(true);
    });

    it('tells the palette when a switch changed', () => {
      const { commands, presence } = setup();
      const changed: (string | undefined)[] = [];
      commands.commandChanged.connect((_, args) => changed.push(args.id));
      presence!.setSharing('class-101', false);
      expect(changed).toContain(CommandIDs.toggleSharing);
    });

    it('says why when the notebook shows no joined room, and is off without presence', async () => {
      const { commands, warnings, current } = setup();
      current.notebook = notebook('lecture.ipynb', ['class-101']);
      expect(commands.isToggled(CommandIDs.toggleSharing)).toBe(false);
      await commands.execute(CommandIDs.toggleSharing);
      expect(warnings).toEqual(['The current notebook shows no room you are in.']);
      const bare = setup(null);
      expect(bare.commands.isEnabled(CommandIDs.toggleSharing)).toBe(false);
      expect(bare.commands.isEnabled(CommandIDs.jumpToMember)).toBe(false);
    });
  });

  describe('jump to member', () => {
    const at = (cell: number): IPresenceState => ({
      path: 'lecture.ipynb',
      cell_index: cell,
      line: 0,
      mode: 'edit'
    });

    it('lists the members who share a location, not you, with unique labels', () => {
      const twin = member('ana2', 'Ana');
      const rooms = {
        sessions: [
          joinedRoom('class-101', lee, [lee, ana, ben, twin], {
            lee: at(0),
            ana: at(3),
            ana2: at(3),
            ben: { activity: 'idle' }
          }),
          joinedRoom('a-room', lee, [lee, ben], { ben: at(1) })
        ]
      };
      const targets = jumpTargets(rooms as unknown as ICollabConnection);
      expect(targets.map(t => [t.room, t.username])).toEqual([
        ['a-room', 'ben'],
        ['class-101', 'ana'],
        ['class-101', 'ana2']
      ]);
      expect(targets[0].label).toBe('Ben — lecture.ipynb · cell 2 · line 1 (a-room)');
      expect(targets[1].label).toBe('Ana — lecture.ipynb · cell 4 · line 1 (class-101) [ana]');
      expect(targets[2].label).toBe('Ana — lecture.ipynb · cell 4 · line 1 (class-101) [ana2]');
    });

    it('goes where the picked member is, like a click in the members list', async () => {
      const { commands, connection, dialogs, presence } = setup();
      connection.sessions = [
        joinedRoom('class-101', lee, [lee, ana, ben], { ana: at(3), ben: at(5) })
      ];
      dialogs.answers = ['Ben — lecture.ipynb · cell 6 · line 1 (class-101)'];
      await commands.execute(CommandIDs.jumpToMember);
      expect(dialogs.asked[0].items).toEqual([
        'Ana — lecture.ipynb · cell 4 · line 1 (class-101)',
        'Ben — lecture.ipynb · cell 6 · line 1 (class-101)'
      ]);
      expect(presence!.jumps).toEqual([at(5)]);
      await commands.execute(CommandIDs.jumpToMember, { room: 'class-101', username: 'ana' });
      expect(presence!.jumps).toEqual([at(5), at(3)]);
      dialogs.answers = [null];
      await commands.execute(CommandIDs.jumpToMember);
      expect(presence!.jumps.length).toBe(2);
    });

    it('says why it cannot go', async () => {
      const { commands, connection, warnings, presence } = setup();
      await commands.execute(CommandIDs.jumpToMember);
      connection.sessions = [joinedRoom('class-101', lee, [lee, ana], { ana: at(3) })];
      await commands.execute(CommandIDs.jumpToMember, { username: 'nobody' });
      presence!.canJump = false;
      await commands.execute(CommandIDs.jumpToMember, { username: 'ana' });
      expect(warnings).toEqual([
        'Nobody in your rooms shares where they are.',
        'nobody shares no location in your rooms.',
        'Open lecture.ipynb to go to Ana.'
      ]);
    });
  });
});

// ---- side panels -------------------------------------------------------------------------

class FakeShell {
  added: { widget: Widget; area: string; rank?: number }[] = [];
  activated: string[] = [];
  add(widget: Widget, area: 'right', options?: { rank?: number }): void {
    this.added.push({ widget, area, rank: options?.rank });
  }
  activateById(id: string): void {
    this.activated.push(id);
  }
}

describe('side panels', () => {
  it('show a room in the right area over a lease, one panel per room', () => {
    const shell = new FakeShell();
    const connection = new FakeConnection();
    const icon = { name: 'users' } as unknown as LabIcon;
    const panels = new SidePanels({
      shell,
      connection: connection.asConnection(),
      rank: 500,
      icon
    });
    const panel = panels.open('class-101');
    expect(panel).toBeInstanceOf(RoomPanel);
    expect(shell.added).toEqual([{ widget: panel, area: 'right', rank: 500 }]);
    expect(shell.activated).toEqual([panel.id]);
    expect(panel.node.dataset.testid).toBe('collab-side-panel');
    expect(panel.title.label).toBe('class-101');
    expect(panel.title.closable).toBe(true);
    expect(panel.title.icon).toBe(icon);
    expect(connection.held.get('class-101')).toBe(1);
    // the room is rendered: its header names it, its members are listed
    const header = panel.node.querySelector<HTMLElement>('.jp-CollabRoom-header');
    expect(header?.dataset.room).toBe('class-101');
    expect(panel.node.querySelectorAll('[data-testid=member]').length).toBe(3);
    // again: the same panel, brought forward
    expect(panels.open('class-101')).toBe(panel);
    expect(shell.added.length).toBe(1);
    expect(shell.activated).toEqual([panel.id, panel.id]);
    expect(panels.rooms).toEqual(['class-101']);
  });

  it('let go of the room when closed, and open anew afterwards', () => {
    const shell = new FakeShell();
    const connection = new FakeConnection();
    const panels = new SidePanels({ shell, connection: connection.asConnection() });
    const panel = panels.open('class-101');
    const other = panels.open('lab-2');
    expect(other.id).not.toBe(panel.id);
    panel.node.querySelector<HTMLButtonElement>('[data-testid=collab-side-panel-close]')?.click();
    expect(panel.isDisposed).toBe(true);
    expect(connection.held.get('class-101')).toBe(0);
    expect(panels.get('class-101')).toBeUndefined();
    const again = panels.open('class-101');
    expect(again).not.toBe(panel);
    expect(connection.held.get('class-101')).toBe(1);
    panels.dispose();
    expect(connection.held.get('class-101')).toBe(0);
    expect(connection.held.get('lab-2')).toBe(0);
  });
});

// ---- the header's "pop out" button -------------------------------------------------------

describe("the header's pop out button", () => {
  afterEach(() => setPopOutHandler(null));

  it('shows once a handler is set and a room is known, and pops that room out', () => {
    const connection = new FakeConnection().asConnection();
    const header = new HeaderPane(true, () => undefined);
    const button = header.node.querySelector<HTMLButtonElement>('[data-testid=collab-popout]');
    expect(button).not.toBeNull();
    header.render(connection, joinedRoom('class-101'), null);
    expect(button!.hidden).toBe(true); // no handler: not in JupyterLab's side
    const popped: string[] = [];
    setPopOutHandler(room => popped.push(room));
    header.render(connection, null, null);
    expect(button!.hidden).toBe(true);
    expect(header.node.dataset.room).toBe('');
    header.render(connection, joinedRoom('class-101'), null);
    expect(button!.hidden).toBe(false);
    expect(header.node.dataset.room).toBe('class-101');
    button!.click();
    expect(popped).toEqual(['class-101']);
    header.dispose();
    button!.click();
    expect(popped.length).toBe(1);
  });
});

// ---- the event log's length (the eventLogLength setting) ---------------------------------

describe('the event log length', () => {
  afterEach(() => setLogCap(LOG_CAP));

  function fill(log: RoomLog, n: number): void {
    for (let i = 0; i < n; i++) {
      log.add('join', `line ${i}`, i);
    }
  }

  it('keeps the newest lines up to the setting', () => {
    setLogCap(10);
    const log = new RoomLog();
    fill(log, 25);
    expect(log.entries.length).toBe(10);
    expect(log.entries[0].text).toBe('line 15');
    expect(log.entries[9].id).toBe(25);
  });

  it('applies a shorter length to existing logs, and a longer one to what comes', () => {
    const log = new RoomLog();
    fill(log, 50);
    setLogCap(20);
    expect(log.entries.length).toBe(20);
    expect(log.entries[0].text).toBe('line 30');
    setLogCap(40);
    fill(log, 30);
    expect(log.entries.length).toBe(40);
    expect(log.entries[39].id).toBe(80);
  });

  it("stays within the schema's bounds; the default without a number", () => {
    setLogCap(3);
    expect(getLogCap()).toBe(10);
    setLogCap(1e9);
    expect(getLogCap()).toBe(5000);
    setLogCap(12.7);
    expect(getLogCap()).toBe(12);
    setLogCap(Number.NaN);
    expect(getLogCap()).toBe(LOG_CAP);
    expect(LOG_CAP).toBe(200);
  });

  it('is what a session keeps', () => {
    setLogCap(10);
    const s = joinedRoom('class-101');
    for (let i = 0; i < 30; i++) {
      s.addLog('info', `event ${i}`);
    }
    expect(s.log.length).toBe(10);
    expect(s.log[9].text).toBe('event 29');
  });
});
