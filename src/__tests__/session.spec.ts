/**
 * RoomSession against a stand-in socket: what it emits, and how it handles each kind of
 * acknowledgement (ok, refused, timed out, lost with the connection).
 */
import type { Socket } from 'socket.io-client';

import type { IJoinOk, IMember, IMessage } from '../protocol';
import { RoomSession } from '../room/roomSession';

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
    expect(socket.last('join').payload).toEqual({ room: 'r' });
    socket.answer('join', joinOk([msg(1, 'x', bob)], [me, bob]));
    expect(s.joined && s.ready).toBe(true);
    expect(s.presence.size).toBe(1);
    const received: number[] = [];
    s.messageReceived.connect((_, m) => received.push(m.seq));
    s.onDisconnected();
    expect(s.ready).toBe(false);
    expect(s.presence.size).toBe(0);
    s.join();
    expect(socket.last('join').payload).toEqual({ room: 'r', since: 1 });
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
});
