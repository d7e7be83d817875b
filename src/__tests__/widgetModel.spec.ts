/**
 * The Room widget's model between the kernel and a stand-in room session: the kernel's
 * classroom requests reach the session (held until the room is joined), refusals and the
 * session's hand and poll events reach the kernel, the classroom state reaches the traitlets.
 */
import { Signal } from '@lumino/signaling';

import type {
  IHand,
  IHandEvent,
  IMember,
  IMessage,
  IPoll,
  IProtocolError,
  Role
} from '../protocol';
import type { IClassroomState, IRoomSession, RoomChange } from '../tokens';
import { RoomModel, RoomView, setWidgetContext } from '../widget';
import { poll as fixturePoll } from './classroomFixtures';

// @jupyter-widgets/base ships ES modules that this jest setup does not transform: a stand-in
// on Backbone's Model, with the few members the Room model uses (it records what it sends).
jest.mock('@jupyter-widgets/base', () => {
  const backbone = jest.requireActual('backbone');
  class DOMWidgetModel extends backbone.Model {
    static serializers = {};
    comm_live = true;
    sentForTest: unknown[] = [];
    savesForTest = 0;
    defaults(): Record<string, unknown> {
      return {};
    }
    send(content: unknown): void {
      this.sentForTest.push(JSON.parse(JSON.stringify(content)));
    }
    save_changes(): void {
      this.savesForTest++;
    }
  }
  class DOMWidgetView {}
  return { DOMWidgetModel, DOMWidgetView };
});
jest.mock('../view/roomRenderer', () => ({ RoomRenderer: class {} }));

const lee: IMember = {
  username: 'lee',
  name: 'Ms Lee',
  display_name: 'Ms Lee',
  initials: 'ML',
  avatar_url: null,
  color: '#1f77b4',
  sessions: 1,
  role: 'teacher'
};
const ana: IMember = { ...lee, username: 'ana', name: 'Ana', display_name: 'Ana', role: 'student' };

/** What the model uses of a room session, recording the classroom calls. */
class FakeSession {
  name = 'class-101';
  joined = false;
  ready = false;
  you = { ...lee, session: 's-1' };
  members: IMember[] = [lee, ana];
  messages: IMessage[] = [];
  log: { ts: number; text: string }[] = [];
  role: Role = 'teacher';
  hands: IHand[] = [];
  polls: IPoll[] = [];
  calls: unknown[][] = [];
  answer: IProtocolError | null = null;

  changed = new Signal<this, RoomChange>(this);
  messageReceived = new Signal<this, IMessage>(this);
  memberJoined = new Signal<this, { user: IMember; ts: number }>(this);
  memberLeft = new Signal<this, { user: IMember; ts: number }>(this);
  handChanged = new Signal<this, IHandEvent>(this);
  pollChanged = new Signal<this, IPoll>(this);

  get classroom(): IClassroomState {
    return {
      available: true,
      teachersConfigured: false,
      studentSnippets: false,
      hands: this.hands,
      follow: null,
      polls: this.polls,
      roleOf: (u: string): Role => (u === 'lee' ? 'teacher' : 'student')
    };
  }

  send(text: string, clientId?: string): string {
    this.calls.push(['send', text, clientId]);
    return clientId ?? 'c';
  }
  raiseHand(raised: boolean, user?: string): Promise<IProtocolError | null> {
    this.calls.push(['raiseHand', raised, user]);
    return Promise.resolve(this.answer);
  }
  shareSnippet(code: string, language?: string, id?: string): Promise<IProtocolError | null> {
    this.calls.push(['shareSnippet', code, language, id]);
    return Promise.resolve(this.answer);
  }
  createPoll(question: string, options: string[], id?: string): Promise<IProtocolError | null> {
    this.calls.push(['createPoll', question, options, id]);
    return Promise.resolve(this.answer);
  }
  closePoll(pollId: number): Promise<IProtocolError | null> {
    this.calls.push(['closePoll', pollId]);
    return Promise.resolve(this.answer);
  }

  joinNow(): void {
    this.joined = this.ready = true;
    this.changed.emit('state');
  }
}

interface IEventMessage {
  type: string;
  event: string;
  key: string;
  data: Record<string, unknown>;
}

interface ITestModel {
  sentForTest: Record<string, unknown>[];
  savesForTest: number;
}

function setUp(sessions: Record<string, FakeSession> = {}): {
  model: RoomModel;
  session: FakeSession;
  sent: Record<string, unknown>[];
} {
  const connection = {
    state: 'connected',
    transport: 'websocket',
    statusChanged: new Signal<unknown, void>({}),
    setTransportMode: (): void => undefined,
    getSession: (room: string): FakeSession | undefined => sessions[room]
  };
  setWidgetContext({
    connection: connection as never,
    tracker: null,
    presence: null,
    classroom: null
  });
  const model = new RoomModel({}, { model_id: 'm1' } as never);
  return { model, session: new FakeSession(), sent: (model as unknown as ITestModel).sentForTest };
}

function events(sent: Record<string, unknown>[]): IEventMessage[] {
  return sent.filter(m => m.type === 'event') as unknown as IEventMessage[];
}

const flush = (): Promise<void> => new Promise(resolve => setTimeout(resolve, 0));

function poll(answers: Record<string, number>, extra: Partial<IPoll> = {}): IPoll {
  const answered = Object.keys(answers).length;
  return fixturePoll(12, { ts: 1, answered, counts: [0, 0], answers, ...extra });
}

describe('RoomModel', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] }));
  afterEach(() => jest.useRealTimers());

  it('holds classroom requests until the room is joined, then makes them', () => {
    const { model, session } = setUp();
    model.addView({} as RoomView, session as unknown as IRoomSession);
    const custom = (content: unknown): void => {
      model.trigger('msg:custom', content);
    };
    custom({ type: 'send', text: 'hi', client_id: 'py-s' });
    custom({ type: 'hand', raised: true, request_id: 'py-h' });
    custom({ type: 'snippet', code: 'x = 1', language: 'python', client_id: 'py-c' });
    custom({ type: 'poll', question: 'Done?', options: ['yes', 'no'], client_id: 'py-p' });
    custom({ type: 'poll_close', poll_id: 12, request_id: 'py-x' });
    custom({ type: 'hand', raised: false, user: 'ana', request_id: 'py-l' });
    custom({ do: 'focus' });
    expect(session.calls).toEqual([['send', 'hi', 'py-s']]);

    session.joinNow();
    expect(session.calls.slice(1)).toEqual([
      ['raiseHand', true, undefined],
      ['shareSnippet', 'x = 1', 'python', 'py-c'],
      ['createPoll', 'Done?', ['yes', 'no'], 'py-p'],
      ['closePoll', 12],
      ['raiseHand', false, 'ana']
    ]);
    session.changed.emit('members');
    expect(session.calls).toHaveLength(6); // each request once
  });

  it('acts only on what this tab ran, on a kernel shared by several tabs', () => {
    const own = new FakeSession();
    own.joined = own.ready = true;
    const { model, session } = setUp({ 'class-101': own });
    (model as unknown as { widget_manager: unknown }).widget_manager = {
      kernel: { clientId: 'tab-a' }
    };
    session.joined = session.ready = true;
    model.addView({} as RoomView, session as unknown as IRoomSession);
    // Another person's tab ran it: not ours to make in our name.
    model.trigger('msg:custom', { type: 'hand', raised: true, request_id: 'r1', origin: 'tab-b' });
    expect(session.calls).toEqual([]);
    // Ours (or a kernel that does not say): made.
    model.trigger('msg:custom', { type: 'hand', raised: true, request_id: 'r2', origin: 'tab-a' });
    model.trigger('msg:custom', { type: 'send', text: 'hi', client_id: 'c1' });
    expect(session.calls).toEqual([
      ['raiseHand', true, undefined],
      ['send', 'hi', 'c1']
    ]);

    // Without a view of this widget here, what this tab ran goes through its own session of
    // the room (another Room widget of this tab joined it).
    const viewless = setUp({ 'class-101': own }).model;
    viewless.set('room', 'class-101');
    (viewless as unknown as { widget_manager: unknown }).widget_manager = {
      kernel: { clientId: 'tab-a' }
    };
    viewless.trigger('msg:custom', { type: 'send', text: 'yo', client_id: 'c2', origin: 'tab-b' });
    viewless.trigger('msg:custom', { type: 'send', text: 'me', client_id: 'c3', origin: 'tab-a' });
    expect(own.calls).toEqual([['send', 'me', 'c3']]);
  });

  it("writes the room's state and reports events only in the widget's own tab", () => {
    const { model, session, sent } = setUp();
    (model as unknown as { widget_manager: unknown }).widget_manager = {
      kernel: { clientId: 'tab-b' }
    };
    (model as unknown as { comm_live: boolean }).comm_live = true;
    model.set('_owner', 'tab-a'); // tab A created the widget; this is B's tab
    session.joined = session.ready = true;
    model.addView({} as RoomView, session as unknown as IRoomSession);
    jest.advanceTimersByTime(1000);
    expect(model.get('connected')).toBe(false); // not written by B
    expect(events(sent)).toEqual([]);

    model.set('_owner', 'tab-b');
    session.changed.emit('members');
    jest.advanceTimersByTime(1000);
    expect(model.get('connected')).toBe(true);
  });

  it('closes a poll asked and closed in one cell once its id is known', () => {
    const { model, session } = setUp();
    session.joined = session.ready = true;
    model.addView({} as RoomView, session as unknown as IRoomSession);
    model.trigger('msg:custom', {
      type: 'poll',
      question: 'Done?',
      options: ['yes', 'no'],
      client_id: 'py-p'
    });
    model.trigger('msg:custom', {
      type: 'poll_close',
      poll_id: null,
      client_id: 'py-p',
      request_id: 'py-x'
    });
    expect(session.calls.map(c => c[0])).toEqual(['createPoll']);
    session.messages = [
      {
        room: 'class-101',
        seq: 12,
        client_id: 'py-p',
        user: lee,
        text: 'Done?',
        ts: 1,
        kind: 'poll',
        options: ['yes', 'no']
      }
    ];
    session.changed.emit('messages');
    expect(session.calls[1]).toEqual(['closePoll', 12]);
  });

  it('queues requests made before a view is shown, for a while', () => {
    const { model, session } = setUp();
    model.trigger('msg:custom', { type: 'hand', raised: true, request_id: 'py-1' });
    session.joined = session.ready = true;
    model.addView({} as RoomView, session as unknown as IRoomSession);
    expect(session.calls).toEqual([['raiseHand', true, undefined]]);
  });

  it('reports a refusal to the kernel, keyed by the request', async () => {
    jest.useRealTimers();
    const { model, session, sent } = setUp();
    session.joined = session.ready = true;
    session.answer = { code: 'forbidden', message: 'only a teacher may ask a poll' };
    model.addView({} as RoomView, session as unknown as IRoomSession);
    model.trigger('msg:custom', {
      type: 'poll',
      question: 'Done?',
      options: ['yes', 'no'],
      client_id: 'py-p'
    });
    await flush();
    expect(events(sent)).toEqual([
      {
        type: 'event',
        event: 'refused',
        key: 'x:py-p',
        data: {
          action: 'poll',
          request_id: 'py-p',
          code: 'forbidden',
          message: 'only a teacher may ask a poll'
        }
      }
    ]);
  });

  it('reports hands and new poll answers, not the answers the join brought', () => {
    const { model, session, sent } = setUp();
    model.addView({} as RoomView, session as unknown as IRoomSession);
    session.joined = session.ready = true;
    session.polls = [poll({ ana: 0 })];
    session.changed.emit('classroom'); // the join's classroom state

    session.handChanged.emit({
      room: 'class-101',
      hand: { user: 'ana', display_name: 'Ana', ts: 50 },
      raised: true,
      by: 'ana',
      ts: 50
    });
    session.polls = [poll({ ana: 0, ben: 1 })];
    session.changed.emit('classroom');
    session.pollChanged.emit(session.polls[0]);

    const got = events(sent);
    expect(got.map(e => e.event)).toEqual(['hand', 'poll_answer']);
    expect(got[0].data).toEqual({
      user: 'ana',
      display_name: 'Ana',
      raised: true,
      by: 'ana',
      ts: 50
    });
    expect(got[1].data).toMatchObject({ poll_id: 12, user: 'ben', option: 1 });
  });

  it('writes the role, the hands and the polls (with their client ids) to the traitlets', () => {
    const { model, session, sent } = setUp();
    model.addView({} as RoomView, session as unknown as IRoomSession);
    jest.advanceTimersByTime(500);
    expect(model.get('role')).toBe(''); // not joined yet

    session.joined = session.ready = true;
    session.hands = [{ user: 'ana', display_name: 'Ana', ts: 50 }];
    session.polls = [poll({ ana: 1 })];
    session.messages = [
      {
        room: 'class-101',
        seq: 12,
        client_id: 'py-p',
        user: lee,
        text: 'Done?',
        ts: 1,
        kind: 'poll',
        options: ['yes', 'not yet']
      }
    ];
    session.changed.emit('classroom');
    jest.advanceTimersByTime(500);
    expect(model.get('role')).toBe('teacher');
    expect(model.get('hands')).toEqual([{ user: 'ana', display_name: 'Ana', ts: 50 }]);
    expect(model.get('polls')).toEqual([
      expect.objectContaining({ id: 12, client_id: 'py-p', answers: { ana: 1 } })
    ]);
    expect(model.get('members')[1]).toMatchObject({ username: 'ana', role: 'student' });
    expect(model.get('messages')[0]).toMatchObject({ kind: 'poll', options: ['yes', 'not yet'] });
    expect((model as unknown as ITestModel).savesForTest).toBeGreaterThan(0);
    expect(sent).toEqual([]); // state goes by the traitlets, not as events
  });
});
