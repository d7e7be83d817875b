/**
 * The Room widget's bridge between the kernel and a room session, its pure parts.
 */
import type { IHandEvent, IMember, IMessage, IPoll } from '../protocol';
import {
  actsHere,
  canRunNow,
  collabMetadataOf,
  defaultRoomName,
  handEvent,
  memberJson,
  messageJson,
  notePollClientIds,
  parseKernelRequest,
  PollAnswerTracker,
  pollAnswerEvents,
  pollIdByClientId,
  pollJson,
  RequestQueue,
  requestIdOf,
  requestOrigin,
  roomFromMetadata,
  stableTabId
} from '../widgetBridge';
import { poll as fixturePoll } from './classroomFixtures';

const ana = {
  username: 'ana',
  name: 'Ana',
  display_name: 'Ana',
  initials: 'A',
  avatar_url: null,
  color: '#1f77b4'
};

function poll(answers: Record<string, number> | null, extra: Partial<IPoll> = {}): IPoll {
  const answered = answers ? Object.keys(answers).length : 0;
  return fixturePoll(12, { ts: 1000, answered, answers, ...extra });
}

const nameOf = (u: string): string => u.toUpperCase();

describe('parseKernelRequest', () => {
  it('accepts each request Python sends', () => {
    expect(parseKernelRequest({ type: 'send', text: 'hi', client_id: 'py-1' })).toEqual({
      type: 'send',
      text: 'hi',
      client_id: 'py-1'
    });
    expect(parseKernelRequest({ type: 'hand', raised: true, request_id: 'py-2' })).toEqual({
      type: 'hand',
      raised: true,
      request_id: 'py-2'
    });
    expect(
      parseKernelRequest({ type: 'hand', raised: false, user: 'ben', request_id: 'py-3' })
    ).toEqual({ type: 'hand', raised: false, user: 'ben', request_id: 'py-3' });
    expect(
      parseKernelRequest({ type: 'snippet', code: 'x = 1', language: 'python', client_id: 'py-4' })
    ).toEqual({ type: 'snippet', code: 'x = 1', language: 'python', client_id: 'py-4' });
    expect(
      parseKernelRequest({
        type: 'poll',
        question: 'Done?',
        options: ['yes', 'no'],
        client_id: 'py-5'
      })
    ).toEqual({ type: 'poll', question: 'Done?', options: ['yes', 'no'], client_id: 'py-5' });
    expect(parseKernelRequest({ type: 'poll_close', poll_id: 12, request_id: 'py-6' })).toEqual({
      type: 'poll_close',
      poll_id: 12,
      request_id: 'py-6'
    });
    expect(
      parseKernelRequest({ type: 'poll_close', poll_id: null, client_id: 'py-5', request_id: 'r' })
    ).toEqual({ type: 'poll_close', poll_id: null, client_id: 'py-5', request_id: 'r' });
  });

  it('ignores anything else', () => {
    for (const content of [
      null,
      'send',
      [],
      { do: 'focus' },
      { type: 'send', text: 'hi' },
      { type: 'hand', raised: 'yes', request_id: 'r' },
      { type: 'hand', raised: true },
      { type: 'hand', raised: false, user: 7, request_id: 'r' },
      { type: 'snippet', code: 'x', client_id: 'c' },
      { type: 'poll', question: 'q', options: 'yes,no', client_id: 'c' },
      { type: 'poll', question: 'q', options: ['yes', 2], client_id: 'c' },
      { type: 'poll_close', poll_id: '12', request_id: 'r' },
      { type: 'poll_close', poll_id: 1.5, request_id: 'r' },
      { type: 'poll_close', poll_id: 0, request_id: 'r' },
      { type: 'poll_close', poll_id: null, request_id: 'r' },
      { type: 'event', event: 'message' }
    ]) {
      expect(parseKernelRequest(content)).toBeNull();
    }
  });

  it('names each request by the id its refusal is reported with', () => {
    expect(requestIdOf({ type: 'poll', question: 'q', options: [], client_id: 'c-1' })).toBe('c-1');
    expect(requestIdOf({ type: 'hand', raised: true, request_id: 'r-1' })).toBe('r-1');
  });
});

describe('RequestQueue', () => {
  const send = { type: 'send' as const, text: 'hi', client_id: 'c1' };
  const hand = { type: 'hand' as const, raised: true, request_id: 'r1' };
  const closeById = { type: 'poll_close' as const, poll_id: 12, request_id: 'r2' };
  const closeByClientId = {
    type: 'poll_close' as const,
    poll_id: null,
    client_id: 'py-p',
    request_id: 'r3'
  };
  const known = new Map<number, string>();
  const pollIdOf = (clientId: string): number | null => pollIdByClientId(known, clientId);

  it('lets sends go at once but holds classroom requests until the room is joined', () => {
    const queue = new RequestQueue(10000);
    queue.push(send, 0);
    queue.push(hand, 0);
    queue.push(closeById, 0);
    expect(queue.take(r => canRunNow(r, false, pollIdOf), 100)).toEqual([send]);
    expect(queue.length).toBe(2);
    expect(queue.take(r => canRunNow(r, true, pollIdOf), 200)).toEqual([hand, closeById]);
    expect(queue.length).toBe(0);
  });

  it('holds a close by client id until the poll has an id', () => {
    known.clear();
    const queue = new RequestQueue(10000);
    queue.push(closeByClientId, 0);
    expect(queue.take(r => canRunNow(r, true, pollIdOf), 100)).toEqual([]);
    known.set(12, 'py-p');
    expect(pollIdOf('py-p')).toBe(12);
    expect(pollIdOf('py-other')).toBeNull();
    expect(queue.take(r => canRunNow(r, true, pollIdOf), 200)).toEqual([closeByClientId]);
  });

  it('drops what waited too long, and refuses more than its capacity', () => {
    const queue = new RequestQueue(1000, 2);
    expect(queue.push(send, 0)).toBe(true);
    expect(queue.push(hand, 500)).toBe(true);
    expect(queue.push(hand, 500)).toBe(false);
    expect(queue.take(() => true, 1200)).toEqual([hand]);
    expect(queue.take(() => true, 1300)).toEqual([]);
  });
});

describe('the traitlets JSON', () => {
  it('carries a member role, and snippet and poll fields of messages', () => {
    const member: IMember = { ...ana, sessions: 2, role: 'teacher' };
    expect(memberJson(member)).toMatchObject({ username: 'ana', sessions: 2, role: 'teacher' });
    expect(memberJson({ ...ana, sessions: 1 }).role).toBeNull();

    const base: IMessage = { room: 'r', seq: 3, client_id: 'c', user: ana, text: 'hi', ts: 5 };
    expect(messageJson(base)).not.toHaveProperty('kind');
    expect(messageJson({ ...base, kind: 'snippet', language: 'python' })).toMatchObject({
      kind: 'snippet',
      language: 'python'
    });
    expect(messageJson({ ...base, kind: 'poll', options: ['a', 'b'] })).toMatchObject({
      kind: 'poll',
      options: ['a', 'b']
    });
  });

  it('gives each poll the client id it was asked with', () => {
    const known = new Map<number, string>();
    const messages: IMessage[] = [
      { room: 'r', seq: 11, client_id: 'c-chat', user: ana, text: 'hi', ts: 1 },
      {
        room: 'r',
        seq: 12,
        client_id: 'py-abc',
        user: ana,
        text: 'Done?',
        ts: 2,
        kind: 'poll',
        options: ['yes', 'not yet']
      }
    ];
    notePollClientIds(messages, known);
    expect([...known]).toEqual([[12, 'py-abc']]);
    notePollClientIds([], known); // the message scrolled away: the map keeps it
    const json = pollJson(poll({ ana: 1 }), known.get(12) ?? null);
    expect(json).toMatchObject({ id: 12, client_id: 'py-abc', answers: { ana: 1 } });
    expect(pollJson(poll(null), null).client_id).toBeNull();
  });
});

describe('events for the kernel', () => {
  it('keys a hand event the same in every tab that saw it', () => {
    const e: IHandEvent = {
      room: 'class',
      hand: { user: 'ana', display_name: 'Ana', ts: 100 },
      raised: true,
      by: 'ana',
      ts: 100
    };
    expect(handEvent(e)).toEqual({
      event: 'hand',
      key: 'h:class:ana:1:100',
      data: { user: 'ana', display_name: 'Ana', raised: true, by: 'ana', ts: 100 }
    });
    expect(handEvent({ ...e, raised: false, by: 'lee', ts: 200 }).key).toBe('h:class:ana:0:200');
  });

  it('reports who answered or changed their answer', () => {
    const events = pollAnswerEvents('class', { ana: 0 }, poll({ ana: 0, ben: 1 }), nameOf);
    expect(events).toHaveLength(1);
    expect(events[0].event).toBe('poll_answer');
    expect(events[0].data).toEqual({
      poll_id: 12,
      question: 'Done?',
      user: 'ben',
      display_name: 'BEN',
      option: 1,
      option_text: 'not yet'
    });
    const changed = pollAnswerEvents('class', { ana: 0, ben: 1 }, poll({ ana: 1, ben: 1 }), nameOf);
    expect(changed.map(e => e.data.user)).toEqual(['ana']);
    expect(pollAnswerEvents('class', { ana: 0 }, poll({ ana: 0 }), nameOf)).toEqual([]);
    expect(pollAnswerEvents('class', undefined, poll(null), nameOf)).toEqual([]);
  });

  it('gives the same answer the same key in two tabs, and a changed answer a new one', () => {
    const a = pollAnswerEvents('class', {}, poll({ ana: 0 }), nameOf);
    const b = pollAnswerEvents('class', {}, poll({ ana: 0 }), nameOf);
    expect(a[0].key).toBe(b[0].key);
    const later = pollAnswerEvents('class', { ana: 0 }, poll({ ana: 1 }), nameOf);
    expect(later[0].key).not.toBe(a[0].key);
    const other = pollAnswerEvents('class', { ana: 0 }, poll({ ana: 0, ben: 0 }), nameOf);
    expect(other[0].key).not.toBe(a[0].key);
  });

  it('does not report the answers a join brings, only what changes after', () => {
    const tracker = new PollAnswerTracker();
    tracker.noteUnseen([poll({ ana: 0 })]);
    expect(tracker.changed('class', poll({ ana: 0 }, { closed: true }), nameOf)).toEqual([]);
    tracker.noteUnseen([poll({ ana: 1, ben: 1 })]); // already seen: not a new baseline
    const events = tracker.changed('class', poll({ ana: 0, ben: 1 }), nameOf);
    expect(events.map(e => e.data.user)).toEqual(['ben']);
    expect(tracker.changed('class', poll({ ana: 0, ben: 1 }), nameOf)).toEqual([]);

    // A new poll, first seen empty: its first answer is reported.
    tracker.noteUnseen([poll({}, { id: 13 })]);
    expect(tracker.changed('class', poll({ cy: 0 }, { id: 13 }), nameOf)).toHaveLength(1);

    tracker.reset(); // a re-join: what it brings is the new baseline
    tracker.noteUnseen([poll({ ana: 1, ben: 1 })]);
    expect(tracker.changed('class', poll({ ana: 1, ben: 1 }), nameOf)).toEqual([]);
  });
});

describe('the room of Room()', () => {
  it("prefers an own copy's metadata to the notebook path", () => {
    expect(defaultRoomName({ room: 'labs/lab 1.ipynb' }, 'labs/lab 1-ana.ipynb')).toBe(
      'labs/lab 1.ipynb'
    );
    expect(defaultRoomName(undefined, 'labs/lab1.ipynb')).toBe('labs/lab1.ipynb');
    expect(defaultRoomName({}, 'labs/lab1.ipynb')).toBe('labs/lab1.ipynb');
    expect(defaultRoomName({ room: '' }, 'x.ipynb')).toBe('x.ipynb');
    expect(defaultRoomName({ room: 42 }, 'x.ipynb')).toBe('x.ipynb');
    expect(defaultRoomName(null, null)).toBeNull();
    expect(defaultRoomName({ room: 'class-101' }, null)).toBe('class-101');
  });

  it("reads the notebook model's metadata", () => {
    const metadata: Record<string, unknown> = { collab_widget: { room: 'labs/lab1.ipynb' } };
    const model = { getMetadata: (key: string): unknown => metadata[key] };
    expect(collabMetadataOf(model)).toEqual({ room: 'labs/lab1.ipynb' });
    expect(defaultRoomName(collabMetadataOf(model), 'labs/lab1-ana.ipynb')).toBe('labs/lab1.ipynb');
    expect(collabMetadataOf({ getMetadata: (): unknown => undefined })).toBeUndefined();
    expect(collabMetadataOf(null)).toBeUndefined();
    expect(collabMetadataOf({ metadata: {} })).toBeUndefined();
    const broken = {
      getMetadata: (): unknown => {
        throw new Error('disposed');
      }
    };
    expect(collabMetadataOf(broken)).toBeUndefined();
  });

  it('makes an invalid name in the metadata a valid one', () => {
    expect(roomFromMetadata({ room: 'lab<1>.ipynb' })).toBe('lab-1-.ipynb');
    expect(roomFromMetadata('lab.ipynb')).toBeNull();
    expect(roomFromMetadata(['lab.ipynb'])).toBeNull();
  });
});

describe('requestOrigin / actsHere', () => {
  it('lets only the tab that ran the code act, when the kernel says which it was', () => {
    expect(requestOrigin({ type: 'send', origin: 'tab-a' })).toBe('tab-a');
    expect(requestOrigin({ type: 'send' })).toBeNull();
    expect(requestOrigin({ type: 'send', origin: 3 })).toBeNull();
    expect(actsHere('tab-a', 'tab-a')).toBe(true);
    expect(actsHere('tab-a', 'tab-b')).toBe(false);
    expect(actsHere(null, 'tab-b')).toBe(true); // an older kernel side: every tab, as before
    expect(actsHere('tab-a', null)).toBe(true);
  });
});

describe('stableTabId', () => {
  it('keeps one id per tab across reloads, and works without storage', () => {
    const store = new Map<string, string>();
    const storage = {
      getItem: (k: string): string | null => store.get(k) ?? null,
      setItem: (k: string, v: string): void => void store.set(k, v)
    };
    const first = stableTabId(storage);
    expect(stableTabId(storage)).toBe(first);
    expect(first).toMatch(/^c-[0-9a-f]{18}$/);
    const refusing = {
      getItem: (): string | null => {
        throw new Error('denied');
      },
      setItem: (): void => undefined
    };
    expect(stableTabId(refusing)).toMatch(/^c-/);
  });
});
