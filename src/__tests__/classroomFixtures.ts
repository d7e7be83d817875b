/**
 * Stand-ins for classroom mode's tests (not a spec): a socket that records emits and answers
 * acks, members, polls, hands, messages, a joined RoomSession, a fake IClassroomLab.
 */
import { Signal } from '@lumino/signaling';
import type { Socket } from 'socket.io-client';

import type {
  IClassroom,
  IHand,
  IJoinOk,
  IMember,
  IMessage,
  IPoll,
  IPresenceState
} from '../protocol';
import { RoomSession } from '../room/roomSession';
import type { IClassroomLab, IFollowing, IRoomSession } from '../tokens';

type AckFn = (...args: unknown[]) => void;

/** Records emits; `answer` calls the last ack of an event (error first, as with timeout()). */
export class FakeSocket {
  connected = true;
  id = 'sid-1';
  sent: { event: string; payload: Record<string, unknown>; ack: AckFn }[] = [];

  timeout(): this {
    return this;
  }

  emit(event: string, payload: Record<string, unknown>, ack: AckFn): this {
    this.sent.push({ event, payload, ack });
    return this;
  }

  events(name: string): FakeSocket['sent'] {
    return this.sent.filter(s => s.event === name);
  }

  last(event: string): FakeSocket['sent'][number] {
    const found = this.events(event);
    if (!found.length) {
      throw new Error(`no ${event} emitted`);
    }
    return found[found.length - 1];
  }

  answer(event: string, res: unknown, err: Error | null = null): void {
    this.last(event).ack(err, res);
  }
}

export function member(username: string, name: string, role?: 'teacher' | 'student'): IMember {
  const m: IMember = {
    username,
    name,
    display_name: name,
    initials: null,
    avatar_url: null,
    color: '#4363d8',
    sessions: 1
  };
  if (role) {
    m.role = role;
  }
  return m;
}

export const lee = member('lee', 'Ms Lee', 'teacher');
export const ana = member('ana', 'Ana', 'student');
export const ben = member('ben', 'Ben', 'student');
export const cy = member('cy', 'Cy', 'student');

export function hand(user: string, ts: number, displayName = user): IHand {
  return { user, display_name: displayName, ts };
}

export function poll(id: number, extra: Partial<IPoll> = {}): IPoll {
  return {
    id,
    question: 'Done?',
    options: ['yes', 'not yet'],
    by: 'lee',
    ts: 100,
    closed: false,
    revision: 1,
    your_answer: null,
    answered: 0,
    counts: null,
    answers: null,
    ...extra
  };
}

export function classroom(extra: Partial<IClassroom> = {}): IClassroom {
  return {
    teachers_configured: false,
    student_snippets: false,
    hands: [],
    follow: null,
    polls: [],
    ...extra
  };
}

export function joinOk(
  you: IMember,
  members: IMember[],
  room: IClassroom | undefined,
  history: IMessage[] = []
): IJoinOk {
  const res: IJoinOk = {
    ok: true,
    room: 'r',
    you: { ...you, session: `s-${you.username}` },
    members,
    history,
    has_more: false,
    last_seq: history.length ? history[history.length - 1].seq : 0,
    presence: []
  };
  if (room) {
    res.classroom = room;
    res.protocol = '1.1';
  }
  return res;
}

function userOf(by: IMember): IMessage['user'] {
  const { sessions, role, ...user } = by;
  void sessions;
  void role;
  return user;
}

export function pollMessage(
  seq: number,
  by: IMember = lee,
  options = ['yes', 'not yet']
): IMessage {
  return {
    room: 'r',
    seq,
    client_id: `c-${seq}`,
    user: userOf(by),
    text: 'Done?',
    ts: 1000 + seq,
    kind: 'poll',
    options
  };
}

export function snippetMessage(seq: number, code: string, by: IMember = lee): IMessage {
  return {
    room: 'r',
    seq,
    client_id: `c-${seq}`,
    user: userOf(by),
    text: code,
    ts: 1000 + seq,
    kind: 'snippet',
    language: 'python'
  };
}

/**
 * A RoomSession joined as `you` (`room` null: a 1.0 server without classroom mode).
 */
export function joined(
  you: IMember,
  members: IMember[] = [lee, ana, ben],
  room: IClassroom | null = classroom(),
  history: IMessage[] = []
): { s: RoomSession; socket: FakeSocket } {
  const socket = new FakeSocket();
  const s = new RoomSession('r', () => socket as unknown as Socket);
  s.join();
  socket.answer('join', joinOk(you, members, room ?? undefined, history));
  return { s, socket };
}

/** Others' presence: one session per user with `state`. */
export function setPresence(s: RoomSession, states: Record<string, IPresenceState>): void {
  s.onPresenceEvent({
    room: 'r',
    updates: Object.entries(states).map(([user, state], i) => ({
      session: `s-${user}-${i}`,
      user,
      state,
      ts: 10 + i
    })),
    removed: [],
    reset: true
  });
}

/** IClassroomLab recording what the views asked. */
export class FakeLab implements IClassroomLab {
  calls: { method: string; args: unknown[] }[] = [];
  insertAnswer: string | null = null;
  copyAnswer = true;
  highlightFails = false;
  copyPath = 'lecture-ana.ipynb';
  copyError: string | null = null;
  currentPath: string | null = 'lecture.ipynb';
  realTime = false;
  following: IFollowing | null = null;
  readonly followingChanged: Signal<IClassroomLab, IFollowing | null> = new Signal(this);

  async insertBelow(code: string): Promise<string | null> {
    this.calls.push({ method: 'insertBelow', args: [code] });
    return this.insertAnswer;
  }

  async copy(text: string): Promise<boolean> {
    this.calls.push({ method: 'copy', args: [text] });
    return this.copyAnswer;
  }

  async highlight(code: string, language: string, el: HTMLElement): Promise<void> {
    this.calls.push({ method: 'highlight', args: [code, language] });
    if (this.highlightFails) {
      el.textContent = 'garbage';
      throw new Error('no highlighter');
    }
    el.textContent = '';
    el.appendChild(document.createElement('span')).textContent = code;
    el.dataset.highlighted = 'true';
  }

  follow(target: { session: IRoomSession; username: string } | null): void {
    this.calls.push({ method: 'follow', args: [target ? target.username : null] });
    this.following = target
      ? {
          room: target.session.name,
          username: target.username,
          name: target.username,
          paused: false
        }
      : null;
    this.followingChanged.emit(this.following);
  }

  resume(): void {
    this.calls.push({ method: 'resume', args: [] });
  }

  async makeOwnCopy(path: string): Promise<string> {
    this.calls.push({ method: 'makeOwnCopy', args: [path] });
    if (this.copyError) {
      throw new Error(this.copyError);
    }
    return this.copyPath;
  }

  isRealTime(path: string): boolean {
    return this.realTime;
  }

  called(method: string): unknown[][] {
    return this.calls.filter(c => c.method === method).map(c => c.args);
  }
}

/** Let pending promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await Promise.resolve();
  }
}
