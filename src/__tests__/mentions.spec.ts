/**
 * Mentions (`@name`): finding them, the chat's highlight, the notification's text, what counts
 * as on screen, and MentionNotifier with fake rooms.
 */
import { Signal } from '@lumino/signaling';
import type { Socket } from 'socket.io-client';

import {
  MentionNotifier,
  mentionNames,
  mentions,
  mentionText,
  roomShownOnScreen,
  shownOnScreen,
  splitMentions
} from '../mentions';
import type { IMember, IMessage } from '../protocol';
import { RoomSession } from '../room/roomSession';
import type { ICollabConnection, IRoomSession } from '../tokens';
import { messageItem } from '../view/messageItem';
import { ana, FakeSocket, joinOk, lee, member } from './classroomFixtures';

const you = { username: 'lee', display_name: 'Ms Lee', name: 'Ms Lee' };

/** The mentioned parts of `text`. */
function found(text: string, who: Parameters<typeof mentions>[1] = you): string[] {
  return mentions(text, who).map(m => text.slice(m.start, m.end));
}

describe('mentions', () => {
  it('finds @display name and @username, in any case', () => {
    expect(found('@Ms Lee can you look?')).toEqual(['@Ms Lee']);
    expect(found('thanks @ms lee!')).toEqual(['@ms lee']);
    expect(found('ping @LEE')).toEqual(['@LEE']);
    expect(found('@lee and again @Ms Lee.')).toEqual(['@lee', '@Ms Lee']);
    expect(mentions('hi @lee', you)).toEqual([{ start: 3, end: 7 }]);
  });

  it('is word-bounded on both sides', () => {
    expect(found('mail lee@example.org')).toEqual([]);
    expect(found('@leeann is not lee')).toEqual([]);
    expect(found('@Ms Leeway')).toEqual([]);
    expect(found('@lee_2')).toEqual([]);
    expect(found("(@lee), @lee's, @lee.")).toEqual(['@lee', '@lee', '@lee']);
    expect(found('x@lee')).toEqual([]);
    expect(found('é@lee')).toEqual([]);
  });

  it('handles names beyond ASCII, and prefers the longest name', () => {
    const zoe = { username: 'z1', display_name: 'Zoë', name: 'Zoë' };
    expect(found('@ZOË look', zoe)).toEqual(['@ZOË']);
    expect(found('@Zoëy', zoe)).toEqual([]);
    const ms = { username: 'ms', display_name: 'Ms Lee' };
    expect(found('@ms lee hello', ms)).toEqual(['@ms lee']);
    expect(found('@ms hello', ms)).toEqual(['@ms']);
    expect(mentionNames({ username: 'lee', display_name: 'LEE', name: '' })).toEqual(['LEE']);
  });

  it('finds nothing without a user or an @', () => {
    expect(mentions('@lee', null)).toEqual([]);
    expect(found('Ms Lee')).toEqual([]);
    expect(found('@')).toEqual([]);
    expect(found('@@lee')).toEqual(['@lee']); // the second @ starts one
  });

  it('splits a text into plain parts and mentions', () => {
    const text = 'hi @lee, see @Ms Lee';
    expect(splitMentions(text, mentions(text, you))).toEqual([
      { text: 'hi ', mention: false },
      { text: '@lee', mention: true },
      { text: ', see ', mention: false },
      { text: '@Ms Lee', mention: true }
    ]);
    expect(splitMentions('plain', [])).toEqual([{ text: 'plain', mention: false }]);
  });

  it('says who mentioned you where, on one shortened line', () => {
    const m = message(3, ana, `@lee look\n\nat   this ${'x'.repeat(200)}`);
    const text = mentionText(m, 'class-101');
    expect(text.startsWith('Ana mentioned you in class-101: @lee look at this x')).toBe(true);
    expect(text.endsWith('…')).toBe(true);
    expect(text.length).toBeLessThan(170);
    expect(mentionText(message(4, ana, 'hi @lee'), 'r')).toBe('Ana mentioned you in r: hi @lee');
  });
});

describe('the chat highlights mentions of the viewer', () => {
  it("marks someone else's message and its @name spans (as text)", () => {
    const li = messageItem(message(1, ana, 'hey @Ms Lee, <b>look</b> @lee'), false, you);
    expect(li.classList.contains('jp-mod-mention')).toBe(true);
    const spans = Array.from(li.querySelectorAll('[data-testid=mention]'));
    expect(spans.map(s => s.textContent)).toEqual(['@Ms Lee', '@lee']);
    expect(spans[0].classList.contains('jp-CollabRoom-mention')).toBe(true);
    const text = li.querySelector('[data-testid=message-text]');
    expect(text?.textContent).toBe('hey @Ms Lee, <b>look</b> @lee');
    expect(li.querySelector('b')).toBeNull();
  });

  it('leaves own messages, other names and unknown viewers alone', () => {
    expect(messageItem(message(1, lee, '@lee note to self'), true, you).className).not.toContain(
      'jp-mod-mention'
    );
    const other = messageItem(message(2, ana, '@ben hi'), false, you);
    expect(other.classList.contains('jp-mod-mention')).toBe(false);
    expect(other.querySelector('[data-testid=mention]')).toBeNull();
    expect(messageItem(message(3, ana, '@lee'), false).classList.contains('jp-mod-mention')).toBe(
      false
    );
  });
});

// ---- on screen ----------------------------------------------------------------------------

function rect(top: number, height: number, left = 0, width = 400): DOMRect {
  return {
    top,
    left,
    bottom: top + height,
    right: left + width,
    width,
    height,
    x: left,
    y: top,
    toJSON: () => ({})
  };
}

/** A notebook-like scroller holding a Room view of `room` (with a chat inside). */
function scrolledView(room: string): {
  scroller: HTMLElement;
  view: HTMLElement;
  chat: HTMLElement;
} {
  const scroller = document.createElement('div');
  const view = document.createElement('div');
  view.className = 'jp-CollabRoom';
  const header = document.createElement('div');
  header.className = 'jp-CollabRoom-header';
  header.dataset.room = room;
  const chat = document.createElement('div');
  view.append(header, chat);
  scroller.appendChild(view);
  document.body.appendChild(scroller);
  return { scroller, view, chat };
}

type Probe = (x: number, y: number) => Element | null;

describe('what is on screen', () => {
  const doc = document as unknown as { elementFromPoint?: Probe };
  const original = doc.elementFromPoint;
  let probes: { x: number; y: number }[] = [];

  /** What the window shows at a point: `hit(y)`. */
  function paint(hit: (y: number) => Element | null): void {
    probes = [];
    doc.elementFromPoint = (x: number, y: number) => {
      probes.push({ x, y });
      return hit(y);
    };
  }

  afterEach(() => {
    document.body.textContent = '';
    doc.elementFromPoint = original;
  });

  it('counts a view the window shows, even a part of it', () => {
    const { view, chat, scroller } = scrolledView('class-101');
    view.getBoundingClientRect = () => rect(200, 300);
    paint(() => chat);
    expect(shownOnScreen(view)).toBe(true);
    expect(roomShownOnScreen('class-101')).toBe(true);
    expect(roomShownOnScreen('other')).toBe(false);
    // only its lowest 40 px are drawn (the rest is scrolled under the notebook's toolbar)
    paint(y => (y > 460 ? chat : scroller));
    expect(roomShownOnScreen('class-101')).toBe(true);
    expect(probes.every(p => p.y >= 200 && p.y <= 500 && p.x >= 0 && p.x <= 400)).toBe(true);
  });

  it('does not count a view scrolled out of its notebook or covered', () => {
    const { view, scroller } = scrolledView('class-101');
    view.getBoundingClientRect = () => rect(200, 300);
    paint(() => scroller);
    expect(roomShownOnScreen('class-101')).toBe(false);
    paint(() => null);
    expect(roomShownOnScreen('class-101')).toBe(false);
  });

  it('does not count a view outside the window, not rendered, or detached', () => {
    const { view, chat } = scrolledView('class-101');
    paint(() => chat);
    view.getBoundingClientRect = () => rect(window.innerHeight + 10, 300);
    expect(roomShownOnScreen('class-101')).toBe(false);
    view.getBoundingClientRect = () => rect(-400, 300);
    expect(roomShownOnScreen('class-101')).toBe(false);
    view.getBoundingClientRect = () => rect(0, 0, 0, 0); // display: none
    expect(roomShownOnScreen('class-101')).toBe(false);
    expect(probes).toEqual([]);
    view.getBoundingClientRect = () => rect(10, 300);
    expect(roomShownOnScreen('class-101')).toBe(true);
    view.parentElement?.remove();
    expect(shownOnScreen(view)).toBe(false);
  });

  it('trusts the box where nothing can be hit-tested', () => {
    const { view } = scrolledView('class-101');
    delete doc.elementFromPoint;
    view.getBoundingClientRect = () => rect(10, 300);
    expect(shownOnScreen(view)).toBe(true);
  });
});

// ---- notifications -----------------------------------------------------------------------

function message(seq: number, by: IMember, text: string, room = 'class-101'): IMessage {
  const { sessions, role, ...user } = by;
  void sessions;
  void role;
  return { room, seq, client_id: `c-${seq}`, user, text, ts: 1000 + seq };
}

/** A session of `room` joined as `who`. */
function joinedRoom(room: string, who: IMember = lee): RoomSession {
  const socket = new FakeSocket();
  const s = new RoomSession(room, () => socket as unknown as Socket);
  s.join();
  socket.answer('join', { ...joinOk(who, [lee, ana], undefined), room });
  return s;
}

class FakeRooms {
  sessions: IRoomSession[] = [];
  sessionsChanged = new Signal<ICollabConnection, void>(this as unknown as ICollabConnection);
  set(sessions: IRoomSession[]): void {
    this.sessions = sessions;
    this.sessionsChanged.emit(undefined);
  }
}

describe('MentionNotifier', () => {
  function setup(visible = false) {
    const rooms = new FakeRooms();
    const s = joinedRoom('class-101');
    rooms.set([s]);
    const shown: { text: string; room: string }[] = [];
    const onScreen = { visible };
    const notifier = new MentionNotifier({
      connection: rooms,
      notify: (text, room) => shown.push({ text, room }),
      isRoomVisible: () => onScreen.visible
    });
    return { rooms, s, shown, notifier, onScreen };
  }

  it('notifies a mention by someone else once, with the room', () => {
    const { s, shown } = setup();
    s.onMessageEvent(message(1, ana, 'hello everyone'));
    s.onMessageEvent(message(2, ana, 'could @Ms Lee help?'));
    expect(shown).toEqual([
      { text: 'Ana mentioned you in class-101: could @Ms Lee help?', room: 'class-101' }
    ]);
    s.onMessageEvent(message(2, ana, 'could @Ms Lee help?')); // the same message again
    expect(shown.length).toBe(1);
  });

  it('stays quiet for own messages, cards, when off, and while the room is on screen', () => {
    const { s, shown, notifier, onScreen } = setup();
    s.onMessageEvent(message(1, lee, '@lee note to self'));
    s.onMessageEvent({ ...message(2, ana, '@lee'), kind: 'snippet', language: 'python' });
    notifier.enabled = false;
    s.onMessageEvent(message(3, ana, '@lee while off'));
    notifier.enabled = true;
    onScreen.visible = true;
    s.onMessageEvent(message(4, ana, '@lee while seen'));
    expect(shown).toEqual([]);
    onScreen.visible = false;
    s.onMessageEvent(message(5, ana, '@lee now'));
    expect(shown.map(x => x.text)).toEqual(['Ana mentioned you in class-101: @lee now']);
  });

  it('follows the rooms the tab joins and leaves, and stops when disposed', () => {
    const { rooms, s, shown, notifier } = setup();
    const other = joinedRoom('lab-2');
    rooms.set([s, other]);
    other.onMessageEvent(message(1, ana, 'hi @lee', 'lab-2'));
    expect(shown.map(x => x.room)).toEqual(['lab-2']);
    rooms.set([other]);
    s.onMessageEvent(message(9, ana, '@lee gone'));
    expect(shown.length).toBe(1);
    notifier.dispose();
    expect(notifier.isDisposed).toBe(true);
    other.onMessageEvent(message(2, ana, '@lee after dispose', 'lab-2'));
    expect(shown.length).toBe(1);
  });

  it('knows nothing of a user before the room is joined', () => {
    const rooms = new FakeRooms();
    const s = new RoomSession('r', () => new FakeSocket() as unknown as Socket);
    rooms.set([s]);
    const shown: string[] = [];
    new MentionNotifier({
      connection: rooms,
      notify: t => shown.push(t),
      isRoomVisible: () => false
    });
    s.onMessageEvent(message(1, member('x', 'X'), '@lee', 'r'));
    expect(shown).toEqual([]);
  });
});
