/**
 * RoomSession against a stand-in socket: what it emits, and how it handles each kind of
 * acknowledgement (ok, refused, timed out, lost with the connection).
 */
import type { Socket } from 'socket.io-client';

import type { IJoinOk, IMember, IMessage } from '../protocol';
import { RoomSession } from '../room/roomSession';
import { MAX_SCROLLBACK } from '../room/roomState';

type AckFn = (...args: unknown[]) => void;

/** Records emits; `answer` calls an ack the way socket.io-client does (err first with timeout). */
class FakeSocket {
  connected = true;
  id = 'sid-1';
  sent: { event: string; payload: Record<string, unknown>; ack: AckFn; timed: boolean }[] = [];
  private _timed = false;

  timeout(): this {
    this._timed = true;
    return this;
  }

  emit(event: string, payload: Record<string, unknown>, ack: AckFn): this {
    this.sent.push({ event, payload, ack, timed: this._timed });
    this._timed = false;
    return this;
  }

  /** socket.io-client's promise form: resolves with the answer given to `answer`. */
  emitWithAck(event: string, payload: Record<string, unknown>): Promise<unknown> {
    return new Promise(resolve => {
      this.sent.push({ event, payload, ack: (_err, res) => resolve(res), timed: true });
      this._timed = false;
    });
  }

  last(event: string): FakeSocket['sent'][number] {
    const found = this.sent.filter(s => s.event === event);
    if (!found.length) {
      throw new Error(`no ${event} emitted`);
    }
    return found[found.length - 1];
  }

  answer(event: string, res: unknown, err: Error | null = null): void {
    const call = this.last(event);
    if (call.timed) {
      call.ack(err, res);
    } else {
      call.ack(res);
    }
  }
}

const me: IMember = {
  username: 'ada',
  name: 'Ada',
  display_name: 'Ada',
  initials: 'A',
  avatar_url: null,
  color: '#e6194b',
  sessions: 1
};
const bob: IMember = { ...me, username: 'bob', name: 'Bob', display_name: 'Bob', initials: 'B' };

function joinOk(history: IMessage[] = [], members: IMember[] = [me]): IJoinOk {
  return {
    ok: true,
    room: 'r',
    you: { ...me, session: 's-me' },
    members,
    history,
    has_more: false,
    last_seq: history.length ? history[history.length - 1].seq : 0,
    presence: [{ session: 's-bob', user: 'bob', state: { line: 1 }, ts: 1 }]
  };
}

function msg(seq: number, clientId: string, user: IMember = me): IMessage {
  const { sessions, ...u } = user;
  void sessions;
  return { room: 'r', seq, client_id: clientId, user: u, text: `t${seq}`, ts: seq };
}

function session(): { s: RoomSession; socket: FakeSocket } {
  const socket = new FakeSocket();
  const s = new RoomSession('r', () => socket as unknown as Socket);
  return { s, socket };
}

describe('RoomSession', () => {
  it('joins, then re-joins with since after a disconnect and restores missed messages', () => {
    const { s, socket } = session();
    s.join();
    expect(socket.last('join').payload).toEqual({ room: 'r', protocol: '1.2' });
    socket.answer('join', joinOk([msg(1, 'x', bob)], [me, bob]));
    expect(s.joined && s.ready).toBe(true);
    expect(s.presence.size).toBe(1);
    const received: number[] = [];
    s.messageReceived.connect((_, m) => received.push(m.seq));
    s.onDisconnected();
    expect(s.ready).toBe(false);
    expect(s.presence.size).toBe(0);
    s.join();
    expect(socket.last('join').payload).toEqual({ room: 'r', since: 1, protocol: '1.2' });
    socket.answer('join', joinOk([msg(2, 'y', bob), msg(3, 'z', bob)], [me]));
    expect(received).toEqual([2, 3]);
    expect(s.messages.map(m => m.seq)).toEqual([1, 2, 3]);
    const log = s.log.map(l => l.text);
    expect(log).toContain('Bob disconnected (while we were away)');
    expect(log).toContain('rejoined r, restored 2 messages');
  });

  it('queues sends until joined, then sends them with their client id', () => {
    const { s, socket } = session();
    const id = s.send('early');
    expect(s.pending[0]).toMatchObject({ client_id: id, status: 'queued' });
    expect(socket.sent.filter(e => e.event === 'send')).toEqual([]);
    s.join();
    socket.answer('join', joinOk());
    expect(socket.last('send').payload).toEqual({ room: 'r', text: 'early', client_id: id });
    expect(s.pending[0].status).toBe('sending');
    socket.answer('send', { ok: true, message: msg(1, id) });
    expect(s.pending).toEqual([]);
    expect(s.messages.map(m => m.client_id)).toEqual([id]);
    // The broadcast of the same message arrives too: shown once.
    s.onMessageEvent(msg(1, id));
    expect(s.messages.length).toBe(1);
    // Sending that client id again (a second view forwarding a Python send) does nothing.
    expect(s.send('early', id)).toBe(id);
    expect(socket.sent.filter(e => e.event === 'send').length).toBe(1);
  });

  it('shows a refusal, a timeout, and requeues what the connection lost', () => {
    const { s, socket } = session();
    s.join();
    socket.answer('join', joinOk());
    const refused = s.send('one');
    socket.answer('send', { ok: false, error: { code: 'rate_limited', message: 'slow' } });
    expect(s.pending.find(p => p.client_id === refused)?.error?.code).toBe('rate_limited');
    const slow = s.send('two');
    socket.answer('send', undefined, new Error('operation has timed out'));
    expect(s.pending.find(p => p.client_id === slow)?.error?.code).toBe('timeout');
    const lost = s.send('three');
    socket.connected = false;
    socket.answer('send', undefined, new Error('disconnected'));
    expect(s.pending.find(p => p.client_id === lost)?.status).toBe('queued');
    s.onDisconnected();
    socket.connected = true;
    s.join();
    socket.answer('join', joinOk());
    expect(socket.last('send').payload.client_id).toBe(lost);
    s.retry(refused);
    expect(socket.last('send').payload.client_id).toBe(refused);
  });

  it('sends presence only when ready, without a timeout, and passes the answer on', () => {
    const { s, socket } = session();
    expect(s.sendPresence({ line: 1 })).toBe(false);
    s.join();
    socket.answer('join', joinOk());
    const answers: unknown[] = [];
    expect(s.sendPresence(null, res => answers.push(res))).toBe(true);
    const call = socket.last('presence');
    expect(call.payload).toEqual({ room: 'r', state: null });
    expect(call.timed).toBe(false);
    socket.answer('presence', { ok: true });
    expect(answers).toEqual([{ ok: true }]);
  });

  it('keeps a refused join visible and retries when the server asks to', () => {
    jest.useFakeTimers();
    try {
      const { s, socket } = session();
      s.join();
      socket.answer('join', { ok: false, error: { code: 'unavailable', message: 'store' } });
      expect(s.joinError?.code).toBe('unavailable');
      expect(s.log[s.log.length - 1].text).toBe('could not join r: unavailable: store');
      jest.advanceTimersByTime(2000);
      expect(socket.sent.filter(e => e.event === 'join').length).toBe(2);
      socket.answer('join', joinOk());
      expect(s.joinError).toBeNull();
      s.dispose();
      expect(s.isDisposed).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });

  it('pages forward after a long absence, and reports every missed message once', async () => {
    const { s, socket } = session();
    s.join();
    socket.answer('join', joinOk([msg(1, 'a', bob)], [me, bob]));
    const received: number[] = [];
    s.messageReceived.connect((_, m) => received.push(m.seq));
    s.onDisconnected();
    s.join();
    const page = (from: number, n: number): IMessage[] =>
      Array.from({ length: n }, (_, i) => msg(from + i, `c${from + i}`, bob));
    // The re-join answers the first page after since=1, with more to come.
    socket.answer('join', { ...joinOk(page(2, 3), [me, bob]), has_more: true });
    // A live message overtakes the catch-up: it must not move the catch-up's cursor.
    s.onMessageEvent(msg(9, 'live', bob));
    const first = socket.last('history');
    expect(first.payload).toEqual({ room: 'r', after: 4, limit: 50 });
    socket.answer('history', { ok: true, messages: page(5, 2), has_more: true });
    await Promise.resolve();
    await Promise.resolve();
    expect(socket.last('history').payload).toMatchObject({ after: 6 });
    socket.answer('history', { ok: true, messages: page(7, 3), has_more: false });
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(s.messages.map(m => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(received.sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s.log[s.log.length - 1].text).toBe('restored 4 more messages');
  });

  it('keeps a bounded scrollback of live messages; older ones page back in', () => {
    const { s, socket } = session();
    s.join();
    socket.answer('join', joinOk());
    expect(s.hasMore).toBe(false);
    for (let seq = 1; seq <= MAX_SCROLLBACK + 20; seq++) {
      s.onMessageEvent(msg(seq, `c${seq}`, bob));
    }
    expect(s.messages.length).toBe(MAX_SCROLLBACK);
    expect(s.messages[0].seq).toBe(21);
    expect(s.hasMore).toBe(true);
  });
});
