/**
 * The room's pure parts: outbox, member diff, message list, presence map, log.
 */
import { MAX_TEXT_LENGTH } from '../limits';
import type { IMember, IMessage, IPresenceEntry } from '../protocol';
import { diffMembers } from '../room/members';
import { MessageList } from '../room/messageList';
import { Outbox, textError } from '../room/outbox';
import { PresenceMap } from '../room/presenceMap';
import { LOG_CAP, RoomLog } from '../room/roomLog';

function member(username: string): IMember {
  return {
    username,
    name: username,
    display_name: username.toUpperCase(),
    initials: null,
    avatar_url: null,
    color: '#4363d8',
    sessions: 1
  };
}

function message(seq: number, username = 'ada', clientId = `c-${seq}`): IMessage {
  const { sessions, ...user } = member(username);
  void sessions;
  return { room: 'r', seq, client_id: clientId, user, text: `m${seq}`, ts: 1000 + seq };
}

describe('Outbox', () => {
  it('walks a message through queued, sending and confirmed', () => {
    const changes: number[] = [];
    const outbox = new Outbox(() => changes.push(changes.length));
    expect(outbox.add('hello', 'c-1', 5)).toBe(true);
    expect(outbox.get('c-1')).toEqual({
      client_id: 'c-1',
      text: 'hello',
      ts: 5,
      status: 'queued',
      error: null
    });
    expect(outbox.queued()).toEqual(['c-1']);
    outbox.sending('c-1');
    expect(outbox.get('c-1')?.status).toBe('sending');
    expect(outbox.queued()).toEqual([]);
    expect(outbox.confirm(message(1, 'ada', 'c-1'), 'ada')).toBe(true);
    expect(outbox.items).toEqual([]);
    expect(changes.length).toBe(2); // add, sending (confirm is reported by the caller)
  });

  it('never pends a client id twice, nor one the server already holds', () => {
    const outbox = new Outbox();
    expect(outbox.add('a', 'c-1')).toBe(true);
    expect(outbox.add('a again', 'c-1')).toBe(false);
    outbox.noteConfirmed('c-2');
    expect(outbox.add('b', 'c-2')).toBe(false);
    outbox.confirm(message(3, 'ada', 'c-1'), 'ada');
    expect(outbox.add('a', 'c-1')).toBe(false);
    expect(outbox.items.map(p => p.client_id)).toEqual([]);
  });

  it('fails text the server would refuse at once, with its error code', () => {
    const outbox = new Outbox();
    outbox.add('   \n', 'blank');
    outbox.add('x'.repeat(MAX_TEXT_LENGTH + 1), 'long');
    outbox.add('x'.repeat(MAX_TEXT_LENGTH), 'ok');
    expect(outbox.get('blank')?.status).toBe('failed');
    expect(outbox.get('blank')?.error?.code).toBe('invalid_text');
    expect(outbox.get('long')?.error?.message).toContain(String(MAX_TEXT_LENGTH));
    expect(outbox.get('ok')?.status).toBe('queued');
    expect(textError('hi')).toBeNull();
  });

  it('retries failed messages but not those on their way, and discards', () => {
    const outbox = new Outbox();
    outbox.add('a', 'c-1');
    outbox.sending('c-1');
    expect(outbox.retry('c-1')).toBe(false);
    outbox.failed('c-1', { code: 'rate_limited', message: 'slow down', retry_after: 1 });
    expect(outbox.get('c-1')?.error?.code).toBe('rate_limited');
    expect(outbox.retry('c-1')).toBe(true);
    expect(outbox.get('c-1')).toMatchObject({ status: 'queued', error: null });
    outbox.sending('c-1');
    outbox.requeue('c-1');
    expect(outbox.queued()).toEqual(['c-1']);
    expect(outbox.discard('c-1')).toBe(true);
    expect(outbox.discard('c-1')).toBe(false);
    expect(outbox.retry('unknown')).toBe(false);
  });

  it("keeps a pending message when another user's message has the same client id", () => {
    const outbox = new Outbox();
    outbox.add('mine', 'same');
    expect(outbox.confirm(message(1, 'bob', 'same'), 'ada')).toBe(false);
    expect(outbox.has('same')).toBe(true);
    // Before the join we do not know who we are: the id decides.
    expect(outbox.confirm(message(1, 'bob', 'same'), null)).toBe(true);
  });

  it('keeps the order of writing', () => {
    const outbox = new Outbox();
    for (const id of ['c', 'a', 'b']) {
      outbox.add(id, id);
    }
    outbox.failed('a', { code: 'x', message: 'y' });
    expect(outbox.items.map(p => p.client_id)).toEqual(['c', 'a', 'b']);
    expect(outbox.queued()).toEqual(['c', 'b']);
  });
});

describe('diffMembers', () => {
  const before = new Map(['me', 'ada', 'bob'].map(u => [u, member(u)]));

  it('reports who came and who went, never the caller', () => {
    const diff = diffMembers(before, [member('me'), member('bob'), member('cy')], 'me');
    expect(diff.joined.map(m => m.username)).toEqual(['cy']);
    expect(diff.left.map(m => m.username)).toEqual(['ada']);
  });

  it('is empty when nothing changed, and ignores the caller coming or going', () => {
    expect(diffMembers(before, Array.from(before.values()), 'me')).toEqual({
      joined: [],
      left: []
    });
    expect(diffMembers(new Map(), [member('me')], 'me')).toEqual({ joined: [], left: [] });
    expect(diffMembers(before, [member('ada'), member('bob')], 'me').left).toEqual([]);
  });
});

describe('MessageList', () => {
  it('keeps each seq once, sorted, and the highest seq', () => {
    const list = new MessageList();
    expect(list.oldestSeq).toBeUndefined();
    expect(list.add(message(5))).toBe(true);
    expect(list.add(message(2))).toBe(true);
    expect(list.add(message(9))).toBe(true);
    expect(list.add({ ...message(5), text: 'again' })).toBe(false);
    expect(list.items.map(m => m.seq)).toEqual([2, 5, 9]);
    expect(list.items[1].text).toBe('m5');
    expect(list.lastSeq).toBe(9);
    expect(list.oldestSeq).toBe(2);
    list.add(message(1));
    expect(list.items.map(m => m.seq)).toEqual([1, 2, 5, 9]);
    expect(list.trimOldest(2)).toBe(2);
    expect(list.items.map(m => m.seq)).toEqual([5, 9]);
    expect(list.trimOldest(5)).toBe(0);
    expect(list.lastSeq).toBe(9);
  });
});

describe('PresenceMap with protocol 1.1 batches', () => {
  const entry = (session: string, line: number): IPresenceEntry => ({
    session,
    user: `u-${session}`,
    state: { path: 'a.ipynb', line },
    ts: 10
  });
  const batch = (updates: IPresenceEntry[], removed: string[] = [], reset = false) => ({
    room: 'r',
    updates,
    removed,
    reset
  });

  it('adds, replaces, removes and resets, skipping our own session', () => {
    const map = new PresenceMap();
    map.join([], 'me', null);
    expect(map.apply(batch([entry('s1', 1), entry('me', 2)]))).toBe(true);
    expect(Array.from(map.entries.keys())).toEqual(['s1']);
    map.apply(batch([entry('s1', 7), entry('s2', 3)]));
    expect(map.entries.get('s1')?.state.line).toBe(7);
    expect(map.entries.size).toBe(2);
    map.apply(batch([], ['s2']));
    expect(Array.from(map.entries.keys())).toEqual(['s1']);
    map.apply(batch([entry('s3', 0)], [], true));
    expect(Array.from(map.entries.keys())).toEqual(['s3']);
  });

  it('says when nothing changed', () => {
    const map = new PresenceMap();
    expect(map.join([], 'me', null)).toBe(false);
    expect(map.apply(batch([], [], true))).toBe(false);
    expect(map.apply(batch([], ['nobody']))).toBe(false);
    expect(map.apply(batch([entry('me', 1)]))).toBe(false);
    expect(map.clear()).toBe(false);
  });

  it('drops malformed entries and sanitises states', () => {
    const map = new PresenceMap();
    const bad = [
      null,
      { session: 1, user: 'x', state: {} },
      { session: 's', user: 'u', state: { line: -1, path: 'p', evil: '<b>' } }
    ] as unknown as IPresenceEntry[];
    map.apply(batch(bad), 42);
    expect(Array.from(map.entries.values())).toEqual([
      { session: 's', user: 'u', state: { path: 'p' }, ts: 42 }
    ]);
  });
});

describe('RoomLog', () => {
  it('numbers lines and keeps the newest LOG_CAP', () => {
    const log = new RoomLog();
    for (let i = 0; i < LOG_CAP + 5; i++) {
      log.add('join', `line ${i}`, i, i % 2 ? 'ada' : undefined);
    }
    expect(log.entries.length).toBe(LOG_CAP);
    expect(log.entries[0]).toMatchObject({ id: 6, text: 'line 5', ts: 5, username: 'ada' });
    expect(log.entries[LOG_CAP - 1].id).toBe(LOG_CAP + 5);
  });
});
