/**
 * Classroom mode's state and requests (protocol 1.1): ClassroomState applying the join
 * acknowledgement, the server events and the acks; RoomSession's classroom requests against a
 * stand-in socket.
 */
import type { IMessage, IPoll, IProtocolError } from '../protocol';
import { ClassroomState, pollError, snippetError, sortHands } from '../room/classroom';
import type { RoomSession } from '../room/roomSession';
import {
  ana,
  ben,
  classroom,
  hand as handOf,
  joined,
  joinOk,
  lee,
  member,
  poll,
  pollMessage
} from './classroomFixtures';

/** A hand with the display name of the fixtures' members. */
function hand(user: string, ts: number): ReturnType<typeof handOf> {
  return handOf(user, ts, user === 'ana' ? 'Ana' : user === 'ben' ? 'Ben' : user);
}

function pollOf(s: RoomSession, id: number): IPoll | undefined {
  return s.classroom.polls.find(p => p.id === id);
}

function logTexts(s: RoomSession): string[] {
  return s.log.map(l => l.text);
}

describe('ClassroomState', () => {
  const members = new Map([lee, ana, ben].map(m => [m.username, m]));
  const state = (): ClassroomState => new ClassroomState(u => members.get(u));

  it('is unavailable against a 1.0 server, and replaces everything on each join', () => {
    const c = state();
    expect(c.available).toBe(false);
    c.applyJoin(
      classroom({
        student_snippets: true,
        teachers_configured: true,
        hands: [hand('ben', 20), hand('ana', 10)],
        follow: { user: 'lee', ts: 5 },
        polls: [poll(9), poll(3, { closed: true })]
      })
    );
    expect(c.available).toBe(true);
    expect(c.studentSnippets && c.teachersConfigured).toBe(true);
    expect(c.hands.map(h => h.user)).toEqual(['ana', 'ben']);
    expect(c.follow?.user).toBe('lee');
    expect(c.polls.map(p => p.id)).toEqual([3, 9]);
    // a re-join replaces: what is not in the new ack is gone
    c.applyJoin(classroom({ hands: [hand('ben', 20)], polls: [poll(12)] }));
    expect(c.hands.map(h => h.user)).toEqual(['ben']);
    expect(c.follow).toBeNull();
    expect(c.polls.map(p => p.id)).toEqual([12]);
    expect(c.studentSnippets).toBe(false);
    c.applyJoin(undefined);
    expect(c.available).toBe(false);
    expect(c.hands).toEqual([]);
    expect(c.polls).toEqual([]);
  });

  it('gives roles from the members, student when absent or unknown', () => {
    const c = state();
    expect(c.roleOf('lee')).toBe('teacher');
    expect(c.roleOf('ana')).toBe('student');
    expect(c.roleOf('nobody')).toBe('student');
    members.set('old', member('old', 'Old'));
    expect(c.roleOf('old')).toBe('student');
  });

  it('keeps hands oldest first and says who raised and lowered them', () => {
    const c = state();
    c.applyJoin(classroom());
    const raise = (user: string, ts: number): string | undefined =>
      c.applyHand({ room: 'r', hand: hand(user, ts), raised: true, by: user, ts })?.text;
    expect(raise('ben', 30)).toBe('Ben raised a hand');
    raise('ana', 10);
    expect(c.hands.map(h => h.user)).toEqual(['ana', 'ben']);
    const lowered = c.applyHand({
      room: 'r',
      hand: hand('ana', 10),
      raised: false,
      by: 'lee',
      ts: 40
    });
    expect(lowered).toEqual({ kind: 'hand', text: "Ms Lee lowered Ana's hand", username: 'ana' });
    expect(
      c.applyHand({ room: 'r', hand: hand('ben', 30), raised: false, by: 'ben', ts: 50 })?.text
    ).toBe('Ben lowered their hand');
    expect(c.hands).toEqual([]);
    expect(c.applyHand({ room: 'r', hand: null, raised: true } as never)).toBeNull();
    expect(c.setHands([hand('b', 2), hand('a', 2), hand('c', 1)])).toBe(true);
    expect(c.hands.map(h => h.user)).toEqual(['c', 'a', 'b']);
    expect(c.setHands([hand('c', 1), hand('a', 2), hand('b', 2)])).toBe(false);
    expect(sortHands([hand('x', 5), hand('y', 1)]).map(h => h.user)).toEqual(['y', 'x']);
  });

  it('replaces poll views by id and logs a close once', () => {
    const c = state();
    c.applyJoin(classroom({ polls: [poll(4)] }));
    expect(c.setPoll(poll(4))).toEqual({ changed: false, line: null });
    expect(c.setPoll(poll(4, { answered: 1, counts: [1, 0] })).changed).toBe(true);
    expect(c.poll(4)?.counts).toEqual([1, 0]);
    const closed = c.setPoll(poll(4, { closed: true, counts: [1, 0] }));
    expect(closed.line?.text).toBe('Poll: Done? (closed)');
    expect(c.setPoll(poll(4, { closed: true, counts: [1, 1] })).line).toBeNull();
  });

  it('keeps a newer view over an older one, but takes its own answer from it', () => {
    const c = state();
    c.applyJoin(classroom({ polls: [poll(4, { revision: 3 })] }));
    // the close event (revision 5, no your_answer) overtook the answer's ack (revision 4)
    const closed: IPoll = poll(4, { revision: 5, closed: true, counts: [0, 1], answered: 1 });
    delete closed.your_answer;
    c.setPoll(closed);
    expect(c.poll(4)).toMatchObject({ closed: true, your_answer: null });
    const ack = c.setPoll(poll(4, { revision: 4, your_answer: 1, answered: 1 }));
    expect(ack.changed).toBe(true);
    expect(c.poll(4)).toMatchObject({ closed: true, revision: 5, your_answer: 1 });
    // an even older view changes nothing, its answer included
    expect(c.setPoll(poll(4, { revision: 2, answered: 0 })).changed).toBe(false);
    expect(c.poll(4)).toMatchObject({ closed: true, your_answer: 1, answered: 1 });
  });

  it('makes a view for a new poll message and keeps an existing one', () => {
    const c = state();
    c.applyJoin(classroom());
    expect(c.addPollMessage(pollMessage(7), false)?.text).toBe('Poll by Ms Lee: Done?');
    expect(c.poll(7)).toMatchObject({
      id: 7,
      question: 'Done?',
      options: ['yes', 'not yet'],
      closed: false,
      counts: null,
      answers: null
    });
    c.setPoll(poll(8, { answered: 3 }));
    expect(c.addPollMessage(pollMessage(8), true)).toBeNull();
    expect(c.poll(8)?.answered).toBe(3);
    expect(c.addPollMessage(pollMessage(9), true)).not.toBeNull();
    expect(c.poll(9)).toMatchObject({ counts: [0, 0], answers: {} });
    expect(c.addPollMessage({ ...pollMessage(10), kind: 'snippet' }, true)).toBeNull();
  });

  it('applies the follow request and the settings with their log lines', () => {
    const c = state();
    c.applyJoin(classroom());
    const on = c.applyFollow({ room: 'r', follow: { user: 'lee', ts: 1 }, by: 'lee', ts: 1 });
    expect(on?.text).toBe('Ms Lee asks everyone to follow');
    expect(c.follow).toEqual({ user: 'lee', ts: 1 });
    const off = c.applyFollow({ room: 'r', follow: null, by: 'lee', ts: 2 });
    expect(off?.text).toBe('Ms Lee stopped asking to follow');
    expect(c.follow).toBeNull();
    const settings = c.applySettings({ student_snippets: true, by: 'lee' });
    expect(settings).toEqual({
      changed: true,
      line: { kind: 'classroom', text: 'Ms Lee lets students share code', username: 'lee' }
    });
    expect(c.applySettings({ student_snippets: true })).toEqual({ changed: false, line: null });
  });
});

describe('client-side checks', () => {
  it('refuses what the server would refuse', () => {
    expect(snippetError('print(1)')).toBeNull();
    expect(snippetError('  ')?.code).toBe('invalid_text');
    expect(snippetError('x'.repeat(5000))?.code).toBe('invalid_text');
    expect(snippetError('x', 'Python!')?.code).toBe('invalid_value');
    expect(snippetError('x', 'c++')).toBeNull();
    expect(pollError('Done?', ['yes', 'not yet'])).toBeNull();
    expect(pollError('', ['a', 'b'])?.code).toBe('invalid_text');
    expect(pollError('q'.repeat(501), ['a', 'b'])?.code).toBe('invalid_text');
    expect(pollError('Done?', ['yes'])?.code).toBe('invalid_value');
    expect(
      pollError(
        'Done?',
        Array.from({ length: 9 }, (_, i) => `o${i}`)
      )?.code
    ).toBe('invalid_value');
    expect(pollError('Done?', ['yes', 'yes'])?.message).toBe('two options are the same');
    expect(pollError('Done?', ['yes', ' '])?.code).toBe('invalid_value');
  });
});

describe('RoomState: classroom events', () => {
  it('knows its role, and a 1.0 server has no classroom mode', () => {
    expect(joined(lee).s.role).toBe('teacher');
    const student = joined(ana).s;
    expect(student.role).toBe('student');
    expect(student.classroom.available).toBe(true);
    const old = joined(member('ana', 'Ana'), [member('ana', 'Ana')], null).s;
    expect(old.classroom.available).toBe(false);
    expect(old.role).toBe('student');
  });

  it('applies a role change to the member and logs it', () => {
    const { s } = joined(lee);
    const changes: string[] = [];
    s.changed.connect((_, c) => changes.push(c));
    s.onRoleEvent({ room: 'r', user: { ...ben, role: 'teacher' }, by: 'lee', ts: 1 });
    expect(s.classroom.roleOf('ben')).toBe('teacher');
    expect(s.members.find(m => m.username === 'ben')?.role).toBe('teacher');
    expect(changes).toEqual(expect.arrayContaining(['members', 'classroom', 'log']));
    expect(logTexts(s)).toContain('Ben is now a teacher');
    s.onRoleEvent({ room: 'r', user: { ...lee, role: 'student' }, by: 'ben', ts: 2 });
    expect(s.role).toBe('student');
  });

  it('applies hand events in order, signals them and logs them', () => {
    const { s } = joined(lee);
    const signalled: boolean[] = [];
    s.handChanged.connect((_, e) => signalled.push(e.raised));
    s.onHandEvent({ room: 'r', hand: hand('ben', 20), raised: true, by: 'ben', ts: 20 });
    s.onHandEvent({ room: 'r', hand: hand('ana', 10), raised: true, by: 'ana', ts: 25 });
    expect(s.classroom.hands.map(h => h.user)).toEqual(['ana', 'ben']);
    s.onHandEvent({ room: 'r', hand: hand('ana', 10), raised: false, by: 'lee', ts: 30 });
    expect(s.classroom.hands.map(h => h.user)).toEqual(['ben']);
    expect(signalled).toEqual([true, true, false]);
    expect(logTexts(s)).toEqual(
      expect.arrayContaining([
        'Ben raised a hand',
        'Ana raised a hand',
        "Ms Lee lowered Ana's hand"
      ])
    );
  });

  it('makes a poll card from a poll message, then takes the views of poll events', () => {
    const { s } = joined(ana);
    const polls: IPoll[] = [];
    s.pollChanged.connect((_, p) => polls.push(p));
    s.onMessageEvent(pollMessage(5));
    expect(pollOf(s, 5)).toMatchObject({ closed: false, counts: null });
    s.onMessageEvent(pollMessage(5)); // the same message again: nothing new
    expect(polls.length).toBe(1);
    s.onPollEvent({ room: 'r', poll: poll(5, { closed: true, counts: [2, 1], answered: 3 }) });
    expect(pollOf(s, 5)?.counts).toEqual([2, 1]);
    expect(polls.length).toBe(2);
    expect(logTexts(s)).toEqual(
      expect.arrayContaining(['Poll by Ms Lee: Done?', 'Poll: Done? (closed)'])
    );
  });

  it('applies follow requests and settings', () => {
    const { s } = joined(ana);
    s.onFollowEvent({ room: 'r', follow: { user: 'lee', ts: 3 }, by: 'lee', ts: 3 });
    expect(s.classroom.follow?.user).toBe('lee');
    s.onClassroomEvent({ room: 'r', student_snippets: true, by: 'lee', ts: 4 });
    expect(s.classroom.studentSnippets).toBe(true);
    expect(logTexts(s)).toEqual(
      expect.arrayContaining(['Ms Lee asks everyone to follow', 'Ms Lee lets students share code'])
    );
  });

  it("re-applies the re-join's classroom", () => {
    const { s, socket } = joined(lee, [lee, ana], classroom({ hands: [hand('ana', 1)] }));
    expect(s.classroom.hands.length).toBe(1);
    s.onDisconnected();
    s.join();
    socket.answer('join', joinOk(lee, [lee, ana], classroom({ polls: [poll(2)] })));
    expect(s.classroom.hands).toEqual([]);
    expect(s.classroom.polls.map(p => p.id)).toEqual([2]);
  });
});

describe('RoomSession: classroom requests', () => {
  it('raises a hand and takes the hands of the ack', async () => {
    const { s, socket } = joined(ana);
    const done = s.raiseHand(true);
    expect(socket.last('hand').payload).toEqual({ room: 'r', raised: true });
    socket.answer('hand', { ok: true, hands: [hand('ana', 5)] });
    await expect(done).resolves.toBeNull();
    expect(s.classroom.hands.map(h => h.user)).toEqual(['ana']);
  });

  it("lets a teacher lower another's hand, and passes a refusal on", async () => {
    const { s, socket } = joined(lee);
    const done = s.raiseHand(false, 'ana');
    expect(socket.last('hand').payload).toEqual({ room: 'r', raised: false, user: 'ana' });
    const error: IProtocolError = { code: 'forbidden', message: 'teachers only' };
    socket.answer('hand', { ok: false, error });
    await expect(done).resolves.toEqual(error);
  });

  it('resolves a timeout to a timeout error, and sends nothing while not joined', async () => {
    const { s, socket } = joined(lee);
    const done = s.askToFollow(true);
    socket.answer('follow', undefined, new Error('operation has timed out'));
    await expect(done).resolves.toMatchObject({ code: 'timeout' });
    s.onDisconnected();
    socket.connected = false;
    const n = socket.sent.length;
    await expect(s.askToFollow(true)).resolves.toMatchObject({ code: 'not_connected' });
    expect(socket.sent.length).toBe(n);
  });

  it('applies the acks of role, follow and classroom', async () => {
    const { s, socket } = joined(lee);
    const role = s.setRole('ben', 'teacher');
    expect(socket.last('role').payload).toEqual({ room: 'r', user: 'ben', role: 'teacher' });
    socket.answer('role', { ok: true, user: { ...ben, role: 'teacher' } });
    await expect(role).resolves.toBeNull();
    expect(s.classroom.roleOf('ben')).toBe('teacher');
    const follow = s.askToFollow(true);
    expect(socket.last('follow').payload).toEqual({ room: 'r', on: true });
    socket.answer('follow', { ok: true, follow: { user: 'lee', ts: 9 } });
    await follow;
    expect(s.classroom.follow).toEqual({ user: 'lee', ts: 9 });
    const settings = s.setStudentSnippets(true);
    expect(socket.last('classroom').payload).toEqual({ room: 'r', student_snippets: true });
    socket.answer('classroom', { ok: true });
    await settings;
    expect(s.classroom.studentSnippets).toBe(true);
  });

  it('shares a snippet once per client id and shows the message of the ack', async () => {
    const { s, socket } = joined(lee);
    const a = s.shareSnippet('print(1)', 'python', 'c-py');
    const b = s.shareSnippet('print(1)', 'python', 'c-py');
    expect(socket.events('snippet').length).toBe(1);
    expect(socket.last('snippet').payload).toEqual({
      room: 'r',
      code: 'print(1)',
      language: 'python',
      client_id: 'c-py'
    });
    const message: IMessage = {
      ...pollMessage(3),
      kind: 'snippet',
      text: 'print(1)',
      language: 'python',
      options: undefined,
      client_id: 'c-py'
    };
    socket.answer('snippet', { ok: true, message });
    await expect(Promise.all([a, b])).resolves.toEqual([null, null]);
    expect(s.messages.map(m => m.kind)).toEqual(['snippet']);
    // refused before sending
    await expect(s.shareSnippet(' ')).resolves.toMatchObject({ code: 'invalid_text' });
    expect(socket.events('snippet').length).toBe(1);
    // a new client id each time without one
    void s.shareSnippet('x');
    void s.shareSnippet('x');
    const ids = socket.events('snippet').map(e => e.payload.client_id);
    expect(new Set(ids).size).toBe(3);
  });

  it('creates a poll: the message and the view of the ack', async () => {
    const { s, socket } = joined(lee);
    const polls: IPoll[] = [];
    s.pollChanged.connect((_, p) => polls.push(p));
    const done = s.createPoll('Done?', ['yes', 'not yet'], 'c-poll');
    expect(socket.last('poll').payload).toEqual({
      room: 'r',
      question: 'Done?',
      options: ['yes', 'not yet'],
      client_id: 'c-poll'
    });
    socket.answer('poll', {
      ok: true,
      message: { ...pollMessage(4), client_id: 'c-poll' },
      poll: poll(4, { counts: [0, 0], answers: {} })
    });
    await expect(done).resolves.toBeNull();
    expect(s.messages.map(m => m.seq)).toEqual([4]);
    expect(pollOf(s, 4)).toMatchObject({ counts: [0, 0], answers: {} });
    expect(polls.length).toBeGreaterThan(0);
    await expect(s.createPoll('Done?', ['yes'])).resolves.toMatchObject({
      code: 'invalid_value'
    });
  });

  it('answers and closes a poll, taking the view of each ack', async () => {
    const { s, socket } = joined(ana, [lee, ana], classroom({ polls: [poll(6)] }));
    const answer = s.answerPoll(6, 1);
    expect(socket.last('poll_answer').payload).toEqual({ room: 'r', poll_id: 6, option: 1 });
    socket.answer('poll_answer', { ok: true, poll: poll(6, { your_answer: 1, answered: 1 }) });
    await answer;
    expect(pollOf(s, 6)?.your_answer).toBe(1);
    const close = s.closePoll(6);
    expect(socket.last('poll_close').payload).toEqual({ room: 'r', poll_id: 6 });
    socket.answer('poll_close', { ok: false, error: { code: 'forbidden', message: 'no' } });
    await expect(close).resolves.toMatchObject({ code: 'forbidden' });
    expect(pollOf(s, 6)?.closed).toBe(false);
  });
});
