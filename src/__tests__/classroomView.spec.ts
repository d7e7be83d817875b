/**
 * Classroom mode's views (jsdom): the hand queue, teacher vs student controls, poll cards,
 * snippet cards with a fake IClassroomLab, the follow request, the own-copy offer, the members'
 * classroom parts, the overview, and RoomRenderer routing the session's changes to them.
 */
import { Signal } from '@lumino/signaling';

import type { RoomSession } from '../room/roomSession';
import type { ICollabConnection, ServiceState } from '../tokens';
import { ChatPane } from '../view/chatPane';
import { ClassroomPane } from '../view/classroomPane';
import { othersAt, overviewOf, pollProgress, studentsOf, timeAgo } from '../view/classroomInfo';
import { followOffer } from '../view/followBanner';
import { AGO_REFRESH_MS, HandsPane } from '../view/handsPane';
import { MembersPane } from '../view/membersPane';
import { OverviewPane } from '../view/overviewPane';
import { OwnCopyOffer, ownCopyOthers } from '../view/ownCopyOffer';
import { pollCard, updatePollCard } from '../view/pollCard';
import { parseOptions } from '../view/pollForm';
import { RoomRenderer } from '../view/roomRenderer';
import { snippetCard } from '../view/snippetCard';
import {
  ana,
  ben,
  classroom,
  cy,
  FakeLab,
  flush,
  hand,
  joined,
  lee,
  member,
  poll,
  pollMessage,
  setPresence,
  snippetMessage
} from './classroomFixtures';

/** The connection as the classroom views use it (and RoomRenderer's other panes). */
function fakeConnection(serviceState: ServiceState = ''): ICollabConnection {
  const statusChanged = new Signal<object, void>({});
  return {
    state: 'connected',
    transport: 'websocket',
    serviceState,
    rtt: null,
    sid: 'sid-1',
    transportMode: 'websocket',
    statusChanged,
    setTransportMode: () => undefined,
    network: { handshake: null }
  } as unknown as ICollabConnection;
}

function q<T extends HTMLElement = HTMLElement>(root: ParentNode, testid: string): T {
  const el = root.querySelector<T>(`[data-testid="${testid}"]`);
  if (!el) {
    throw new Error(`no ${testid}`);
  }
  return el;
}

function all(root: ParentNode, testid: string): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(`[data-testid="${testid}"]`));
}

function texts(root: ParentNode, testid: string): string[] {
  return all(root, testid).map(el => el.textContent ?? '');
}

/** Whether an element is shown (neither it nor an ancestor inside `root` is hidden). */
function shown(el: HTMLElement): boolean {
  for (let n: HTMLElement | null = el; n; n = n.parentElement) {
    if (n.hidden) {
      return false;
    }
  }
  return true;
}

describe('classroom info', () => {
  it('says how long ago', () => {
    const now = 10_000_000;
    expect(timeAgo(now - 10_000, now)).toBe('just now');
    expect(timeAgo(now + 5_000, now)).toBe('just now'); // a server clock ahead
    expect(timeAgo(now - 60_000, now)).toBe('1 min ago');
    expect(timeAgo(now - 125_000, now)).toBe('2 min ago');
    expect(timeAgo(now - 3 * 3600_000, now)).toBe('3 h ago');
    expect(timeAgo(now - 50 * 3600_000, now)).toBe('2 d ago');
  });

  it('knows who has not answered a poll', () => {
    const students = [ana, ben, cy];
    const p = poll(1, { answers: { ana: 0, lee: 1 }, answered: 2 });
    const progress = pollProgress(p, students);
    expect(progress.answered).toBe(1);
    expect(progress.total).toBe(3);
    expect(progress.missing.map(m => m.username)).toEqual(['ben', 'cy']);
    expect(pollProgress(poll(1, { answered: 4 }), students)).toEqual({
      answered: 4,
      total: 3,
      missing: []
    });
  });

  it('counts students per cell of the notebook, and active, idle, away, elsewhere', () => {
    const dan = member('dan', 'Dan', 'student');
    const eve = member('eve', 'Eve', 'student');
    const o = overviewOf(
      'lecture.ipynb',
      [ana, ben, cy, dan, eve],
      [
        { session: 'a1', user: 'ana', state: { path: 'lecture.ipynb', cell_index: 2 }, ts: 1 },
        // ana's newer tab wins
        { session: 'a2', user: 'ana', state: { path: 'lecture.ipynb', cell_index: 4 }, ts: 2 },
        { session: 'b', user: 'ben', state: { path: 'lecture.ipynb', cell_index: 4 }, ts: 1 },
        {
          session: 'c',
          user: 'cy',
          state: { path: 'lecture.ipynb', cell_index: 0, activity: 'idle' },
          ts: 1
        },
        { session: 'd', user: 'dan', state: { path: 'other.ipynb', cell_index: 1 }, ts: 1 },
        { session: 'l', user: 'lee', state: { path: 'lecture.ipynb', cell_index: 9 }, ts: 1 }
      ]
    );
    expect(o.cells).toEqual([
      { index: 0, count: 1 },
      { index: 4, count: 2 }
    ]);
    expect([o.active, o.idle, o.away, o.elsewhere]).toEqual([2, 1, 0, 2]);
    expect(overviewOf(null, [ana], []).elsewhere).toBe(1);
  });

  it('counts the other users with a notebook open', () => {
    const entries = [
      { session: '1', user: 'ben', state: { path: 'a.ipynb' }, ts: 1 },
      { session: '2', user: 'ben', state: { path: 'a.ipynb' }, ts: 2 },
      { session: '3', user: 'cy', state: { path: 'a.ipynb' }, ts: 1 },
      { session: '4', user: 'ana', state: { path: 'a.ipynb' }, ts: 1 },
      { session: '5', user: 'dan', state: { path: 'b.ipynb' }, ts: 1 }
    ];
    expect(othersAt('a.ipynb', entries, 'ana')).toBe(2);
    expect(othersAt(null, entries, 'ana')).toBe(0);
  });

  it('lists the students, the viewer and teachers left out', () => {
    const { s } = joined(lee, [lee, ben, ana, member('tim', 'Tim', 'teacher')]);
    expect(studentsOf(s).map(m => m.username)).toEqual(['ana', 'ben']);
  });

  it('reads poll options one per line', () => {
    expect(parseOptions(' yes \n\nnot yet\n')).toEqual(['yes', 'not yet']);
  });
});

describe('HandsPane', () => {
  afterEach(() => jest.useRealTimers());

  it('shows the queue oldest first with how long ago, where, and Lower', async () => {
    jest.useFakeTimers();
    let now = 1_000_000;
    const { s, socket } = joined(
      lee,
      [lee, ana, ben],
      classroom({
        hands: [hand('ben', now - 30_000, 'Ben'), hand('ana', now - 125_000, 'Ana')]
      })
    );
    setPresence(s, { ana: { path: 'lecture.ipynb', cell_index: 3, line: 0, mode: 'command' } });
    const pane = new HandsPane(null, () => now);
    pane.render(s);
    const items = all(pane.node, 'collab-hand-item');
    expect(items.map(i => i.dataset.username)).toEqual(['ana', 'ben']);
    expect(items[0].textContent).toContain('Ana');
    expect(texts(pane.node, 'collab-hand-ago')).toEqual(['2 min ago', 'just now']);
    expect(texts(pane.node, 'collab-hand-where')).toEqual([
      'lecture.ipynb · cell 4',
      'not sharing where they are'
    ]);
    // refreshed every 15 s
    now += 60_000;
    jest.advanceTimersByTime(AGO_REFRESH_MS);
    expect(texts(pane.node, 'collab-hand-ago')).toEqual(['3 min ago', '1 min ago']);
    // Lower: the teacher lowers ana's hand
    q<HTMLButtonElement>(items[0], 'collab-hand-lower').click();
    expect(socket.last('hand').payload).toEqual({ room: 'r', raised: false, user: 'ana' });
    socket.answer('hand', { ok: false, error: { code: 'forbidden', message: 'teachers only' } });
    await flush();
    expect(q(pane.node, 'collab-hand-error').textContent).toContain('teachers only');
    // the timer goes with the pane
    expect(jest.getTimerCount()).toBe(1);
    pane.dispose();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('says when no hand is raised, and runs no timer then', () => {
    jest.useFakeTimers();
    const { s } = joined(lee);
    const pane = new HandsPane(null);
    pane.render(s);
    expect(all(pane.node, 'collab-hand-item')).toEqual([]);
    expect(pane.node.textContent).toContain('No raised hands');
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('ClassroomPane: teacher and student controls', () => {
  const teacherOnly = [
    'collab-follow-ask',
    'collab-poll-open',
    'collab-student-snippets',
    'collab-snippet-open'
  ];

  it('gives teachers their controls and the hand queue and overview', () => {
    const { s } = joined(lee);
    const pane = new ClassroomPane(fakeConnection(), null, null);
    pane.setSession(s);
    expect(shown(pane.node)).toBe(true);
    expect(shown(pane.teacherNode)).toBe(true);
    for (const id of [...teacherOnly, 'collab-hand-toggle']) {
      expect([id, shown(q(pane.node, id))]).toEqual([id, true]);
    }
    expect(shown(q(pane.teacherNode, 'collab-hand-queue'))).toBe(true);
    expect(shown(q(pane.teacherNode, 'collab-overview'))).toBe(true);
  });

  it('gives students the hand toggle only (Share code when the room allows it)', () => {
    const { s } = joined(ana);
    const pane = new ClassroomPane(fakeConnection(), null, null);
    pane.setSession(s);
    expect(shown(q(pane.node, 'collab-hand-toggle'))).toBe(true);
    for (const id of teacherOnly) {
      expect([id, shown(q(pane.node, id))]).toEqual([id, false]);
    }
    expect(shown(pane.teacherNode)).toBe(false);
    s.onClassroomEvent({ room: 'r', student_snippets: true, by: 'lee', ts: 1 });
    pane.render();
    expect(shown(q(pane.node, 'collab-snippet-open'))).toBe(true);
  });

  it('hides everything against a 1.0 server', () => {
    const { s } = joined(member('ana', 'Ana'), [member('ana', 'Ana')], null);
    const pane = new ClassroomPane(fakeConnection(), null, null);
    pane.setSession(s);
    expect(shown(pane.node)).toBe(false);
    expect(shown(pane.teacherNode)).toBe(false);
  });

  it('raises and lowers a hand through the server', async () => {
    const { s, socket } = joined(ana);
    const pane = new ClassroomPane(fakeConnection(), null, null);
    pane.setSession(s);
    const toggle = q<HTMLButtonElement>(pane.node, 'collab-hand-toggle');
    expect(toggle.textContent).toContain('Raise hand');
    toggle.click();
    expect(toggle.disabled).toBe(true);
    expect(socket.last('hand').payload).toEqual({ room: 'r', raised: true });
    socket.answer('hand', { ok: true, hands: [hand('ana', 5)] });
    await flush();
    expect(toggle.textContent).toBe('Lower hand');
    expect(toggle.getAttribute('aria-pressed')).toBe('true');
    toggle.click();
    expect(socket.last('hand').payload).toEqual({ room: 'r', raised: false });
    socket.answer('hand', { ok: false, error: { code: 'not_joined', message: 'not in r' } });
    await flush();
    expect(q(pane.node, 'collab-classroom-error').textContent).toBe('not_joined: not in r');
    expect(toggle.disabled).toBe(false);
  });

  it('asks everyone to follow and stops asking', async () => {
    const { s, socket } = joined(lee);
    const pane = new ClassroomPane(fakeConnection(), null, null);
    pane.setSession(s);
    const ask = q<HTMLButtonElement>(pane.node, 'collab-follow-ask');
    expect(ask.textContent).toBe('Ask everyone to follow me');
    ask.click();
    expect(socket.last('follow').payload).toEqual({ room: 'r', on: true });
    socket.answer('follow', { ok: true, follow: { user: 'lee', ts: 1 } });
    await flush();
    expect(ask.textContent).toBe('Stop asking');
    ask.click();
    expect(socket.last('follow').payload).toEqual({ room: 'r', on: false });
  });

  it('posts a poll from the form, defaults "Done?" / yes, not yet', async () => {
    const { s, socket } = joined(lee);
    const pane = new ClassroomPane(fakeConnection(), null, null);
    pane.setSession(s);
    const form = q(pane.node, 'collab-poll-new');
    expect(shown(form)).toBe(false);
    q<HTMLButtonElement>(pane.node, 'collab-poll-open').click();
    expect(shown(form)).toBe(true);
    q<HTMLButtonElement>(form, 'collab-poll-submit').click();
    const payload = socket.last('poll').payload;
    expect(payload).toMatchObject({ room: 'r', question: 'Done?', options: ['yes', 'not yet'] });
    socket.answer('poll', {
      ok: true,
      message: pollMessage(3),
      poll: poll(3, { counts: [0, 0], answers: {} })
    });
    await flush();
    expect(shown(form)).toBe(false);
    // one option only: refused in the form, nothing sent
    q<HTMLButtonElement>(pane.node, 'collab-poll-open').click();
    q<HTMLTextAreaElement>(form, 'collab-poll-options').value = 'yes';
    q<HTMLButtonElement>(form, 'collab-poll-submit').click();
    expect(socket.events('poll').length).toBe(1);
    expect(q(form, 'collab-poll-form-error').textContent).toContain('2-8 options');
  });

  it('shares code from the composer and sets "Students may share code"', async () => {
    const { s, socket } = joined(lee);
    const pane = new ClassroomPane(fakeConnection(), null, null);
    pane.setSession(s);
    q<HTMLButtonElement>(pane.node, 'collab-snippet-open').click();
    const compose = q(pane.node, 'collab-snippet-compose');
    expect(shown(compose)).toBe(true);
    q<HTMLTextAreaElement>(compose, 'collab-snippet-input').value = 'import numpy as np';
    q<HTMLButtonElement>(compose, 'collab-snippet-share').click();
    expect(socket.last('snippet').payload).toMatchObject({ code: 'import numpy as np' });
    socket.answer('snippet', { ok: false, error: { code: 'rate_limited', message: 'slow' } });
    await flush();
    expect(q(compose, 'collab-snippet-error').textContent).toBe('rate_limited: slow');
    expect(shown(compose)).toBe(true);
    const box = q<HTMLInputElement>(pane.node, 'collab-student-snippets');
    box.checked = true;
    box.dispatchEvent(new Event('change'));
    expect(socket.last('classroom').payload).toEqual({ room: 'r', student_snippets: true });
  });
});

describe('poll cards', () => {
  function card(s: RoomSession, seq: number): HTMLElement {
    const m = pollMessage(seq);
    const el = pollCard(m, false);
    const teacher = s.role === 'teacher';
    updatePollCard(
      el,
      m,
      s.classroom.polls.find(p => p.id === seq),
      { teacher, students: teacher ? studentsOf(s) : [] }
    );
    return el;
  }

  it('lets a student answer, marks the answer, then shows the result when closed', () => {
    const { s } = joined(ana, [lee, ana], classroom({ polls: [poll(7)] }));
    let el = card(s, 7);
    expect(el.dataset.state).toBe('open');
    expect(texts(el, 'collab-poll-option')).toEqual(['yes', 'not yet']);
    expect(all(el, 'collab-poll-count')).toEqual([]); // no tally before the close
    s.onPollEvent({ room: 'r', poll: poll(7, { your_answer: 1, answered: 1 }) });
    el = card(s, 7);
    const chosen = all(el, 'collab-poll-option').map(b => b.getAttribute('aria-pressed'));
    expect(chosen).toEqual(['false', 'true']);
    // the close event leaves your_answer out: the own answer is kept
    const closed = { ...poll(7, { closed: true, counts: [3, 1], answered: 4 }) };
    delete (closed as Partial<typeof closed>).your_answer;
    s.onPollEvent({ room: 'r', poll: closed });
    el = card(s, 7);
    expect(el.dataset.state).toBe('closed');
    expect(all(el, 'collab-poll-option')).toEqual([]);
    expect(texts(el, 'collab-poll-count')).toEqual(['3', '1']);
    expect(all(el, 'collab-poll-bar')[1].textContent).toContain('not yet (your answer)');
  });

  it('shows a teacher the live tally, who has not answered, and Close poll', () => {
    const view = poll(7, { counts: [1, 0], answers: { ana: 0 }, answered: 1 });
    const { s } = joined(lee, [lee, ana, ben], classroom({ polls: [view] }));
    const el = card(s, 7);
    expect(texts(el, 'collab-poll-count')).toEqual(['1', '0']);
    expect(q(el, 'collab-poll-answered').textContent).toBe('1 of 2 answered');
    expect(q(el, 'collab-poll-missing').textContent).toBe('Not answered: Ben');
    expect(all(el, 'collab-poll-option')).toEqual([]);
    expect(shown(q(el, 'collab-poll-close'))).toBe(true);
    const fill = all(el, 'collab-poll-bar')[0].querySelector<HTMLElement>(
      '.jp-CollabClass-barFill'
    );
    expect(fill?.style.width).toBe('100%');
  });

  it('re-renders a card only when what it shows changed', () => {
    const { s } = joined(ana, [lee, ana], classroom({ polls: [poll(7)] }));
    const el = card(s, 7);
    const body = el.querySelector('.jp-CollabClass-pollBody')?.firstChild;
    updatePollCard(el, pollMessage(7), s.classroom.polls[0], { teacher: false, students: [] });
    expect(el.querySelector('.jp-CollabClass-pollBody')?.firstChild).toBe(body);
  });

  it('shows an old poll without a view as closed, read-only', () => {
    const { s } = joined(ana);
    const el = card(s, 99);
    expect(el.dataset.state).toBe('closed');
    expect(all(el, 'collab-poll-option')).toEqual([]);
    expect(el.textContent).toContain('yes');
  });

  it('answers and closes through the chat, and shows a refusal on the card', async () => {
    const { s, socket } = joined(ana, [lee, ana], classroom(), [pollMessage(7)]);
    s.onPollEvent({ room: 'r', poll: poll(7) });
    const chat = new ChatPane(null);
    chat.setSession(s);
    chat.render(false);
    const el = q(chat.node, 'collab-poll');
    all(el, 'collab-poll-option')[0].click();
    expect(socket.last('poll_answer').payload).toEqual({ room: 'r', poll_id: 7, option: 0 });
    expect((all(el, 'collab-poll-option')[1] as HTMLButtonElement).disabled).toBe(true);
    socket.answer('poll_answer', { ok: true, poll: poll(7, { your_answer: 0, answered: 1 }) });
    await flush();
    chat.renderCards();
    expect(all(el, 'collab-poll-option')[0].getAttribute('aria-pressed')).toBe('true');
    all(el, 'collab-poll-option')[1].click();
    socket.answer('poll_answer', { ok: false, error: { code: 'poll_closed', message: 'closed' } });
    await flush();
    expect(q(el, 'collab-poll-error').textContent).toBe('poll_closed: closed');
    expect((all(el, 'collab-poll-option')[1] as HTMLButtonElement).disabled).toBe(false);
    chat.dispose();
  });

  it('lets the teacher close a poll from the chat', async () => {
    const view = poll(7, { counts: [0, 0], answers: {} });
    const { s, socket } = joined(lee, [lee, ana], classroom({ polls: [view] }), [pollMessage(7)]);
    const chat = new ChatPane(null);
    chat.setSession(s);
    chat.render(false);
    q<HTMLButtonElement>(chat.node, 'collab-poll-close').click();
    expect(socket.last('poll_close').payload).toEqual({ room: 'r', poll_id: 7 });
    socket.answer('poll_close', { ok: true, poll: { ...view, closed: true } });
    await flush();
    chat.renderCards();
    expect(q(chat.node, 'collab-poll').dataset.state).toBe('closed');
    expect(chat.node.querySelector('[data-testid="collab-poll-close"]')).toBeNull();
  });
});

describe('snippet cards', () => {
  const code = 'for i in range(3):\n    print("<b>", i)';

  it('shows the code highlighted and inserts it below the cell only when asked', async () => {
    const lab = new FakeLab();
    const el = snippetCard(snippetMessage(4, code), false, lab);
    expect(el.querySelector('.jp-CollabRoom-author')?.textContent).toBe('Ms Lee');
    const pre = el.querySelector('pre');
    expect(pre?.textContent).toBe(code);
    expect(pre?.querySelector('b')).toBeNull();
    expect(lab.called('highlight')).toEqual([[code, 'python']]);
    expect(lab.called('insertBelow')).toEqual([]); // never by itself
    const chat = new ChatPane(lab);
    const { s } = joined(ana, [lee, ana], classroom(), [snippetMessage(4, code)]);
    chat.setSession(s);
    chat.render(false);
    const card = q(chat.node, 'collab-snippet');
    expect(lab.called('insertBelow')).toEqual([]);
    q<HTMLButtonElement>(card, 'collab-snippet-insert').click();
    await flush();
    expect(lab.called('insertBelow')).toEqual([[code]]);
    expect(q(card, 'collab-snippet-status').textContent).toBe('Inserted below your cell');
    lab.insertAnswer = 'Open a notebook first.';
    q<HTMLButtonElement>(card, 'collab-snippet-insert').click();
    await flush();
    expect(q(card, 'collab-snippet-status').textContent).toBe('Open a notebook first.');
    q<HTMLButtonElement>(card, 'collab-snippet-copy').click();
    await flush();
    expect(lab.called('copy')).toEqual([[code]]);
    expect(q(card, 'collab-snippet-status').textContent).toBe('Copied');
    lab.copyAnswer = false;
    q<HTMLButtonElement>(card, 'collab-snippet-copy').click();
    await flush();
    expect(q(card, 'collab-snippet-status').textContent).toContain('Could not copy');
    chat.dispose();
  });

  it('falls back to plain text, and cannot insert without JupyterLab', async () => {
    const lab = new FakeLab();
    lab.highlightFails = true;
    const el = snippetCard(snippetMessage(4, code), false, lab);
    await flush();
    expect(el.querySelector('pre')?.textContent).toBe(code);
    const plain = snippetCard(snippetMessage(5, code), false, null);
    expect(plain.querySelector('pre')?.textContent).toBe(code);
    expect(q<HTMLButtonElement>(plain, 'collab-snippet-insert').disabled).toBe(true);
  });
});

describe('follow request', () => {
  it('offers students to follow the teacher; Not now hides it until a new request', () => {
    const lab = new FakeLab();
    const { s } = joined(ana);
    const pane = new ClassroomPane(fakeConnection(), null, lab);
    pane.setSession(s);
    const banner = q(pane.node, 'collab-follow-request');
    expect(shown(banner)).toBe(false);
    s.onFollowEvent({ room: 'r', follow: { user: 'lee', ts: 1 }, by: 'lee', ts: 1 });
    pane.render();
    expect(shown(banner)).toBe(true);
    expect(banner.textContent).toContain('Ms Lee asks you to follow them:');
    q<HTMLButtonElement>(banner, 'collab-follow-decline').click();
    expect(shown(banner)).toBe(false);
    expect(lab.called('follow')).toEqual([]); // never forced
    s.onFollowEvent({ room: 'r', follow: { user: 'lee', ts: 2 }, by: 'lee', ts: 2 });
    pane.render();
    expect(shown(banner)).toBe(true);
    q<HTMLButtonElement>(banner, 'collab-follow-accept').click();
    expect(lab.called('follow')).toEqual([['lee']]);
    expect(shown(banner)).toBe(false);
  });

  it('is not shown to the teacher who asked, and cannot follow someone who follows you', () => {
    const lab = new FakeLab();
    const asked = { follow: { user: 'lee', ts: 1 } };
    expect(followOffer(joined(lee, [lee, ana], classroom(asked)).s, lab, null)).toBeNull();
    const { s } = joined(ana, [lee, ana], classroom(asked));
    expect(followOffer(s, lab, null)?.blocked).toBe('');
    expect(followOffer(s, null, null)?.blocked).toBe('Following needs JupyterLab');
    setPresence(s, { lee: { path: 'a.ipynb', following: 'ana' } });
    expect(followOffer(s, lab, null)?.blocked).toContain('Ms Lee follows you');
    lab.following = { room: 'r', username: 'lee', name: 'Ms Lee', paused: false };
    expect(followOffer(s, lab, null)).toBeNull(); // already following
  });
});

describe('own-copy offer', () => {
  function setup(
    you = ana,
    serviceState: ServiceState = ''
  ): { s: RoomSession; lab: FakeLab; offer: OwnCopyOffer } {
    const lab = new FakeLab();
    const { s } = joined(you, [lee, ana, ben]);
    setPresence(s, { ben: { path: 'lecture.ipynb', cell_index: 1 }, lee: { path: 'x.ipynb' } });
    const offer = new OwnCopyOffer(fakeConnection(serviceState), lab);
    return { s, lab, offer };
  }

  it('offers a student an own copy when others have the notebook open on this server', () => {
    const { s, offer } = setup();
    offer.render(s);
    expect(shown(offer.node)).toBe(true);
    expect(offer.node.textContent).toContain(
      '1 other has this notebook open on this server: you share its kernel and its saves.'
    );
  });

  it('is not offered on a JupyterHub, with real-time collaboration, to teachers, or alone', () => {
    const lab = new FakeLab();
    const { s } = setup();
    expect(ownCopyOthers(s, { serviceState: '' }, lab)).toEqual({
      path: 'lecture.ipynb',
      others: 1
    });
    expect(ownCopyOthers(s, { serviceState: 'connected' }, lab)).toBeNull();
    lab.realTime = true;
    expect(ownCopyOthers(s, { serviceState: '' }, lab)).toBeNull();
    lab.realTime = false;
    expect(ownCopyOthers(s, { serviceState: '' }, null)).toBeNull();
    lab.currentPath = 'alone.ipynb';
    expect(ownCopyOthers(s, { serviceState: '' }, lab)).toBeNull();
    const teacher = setup(lee);
    teacher.offer.render(teacher.s);
    expect(shown(teacher.offer.node)).toBe(false);
    const hub = setup(ana, 'connected');
    hub.offer.render(hub.s);
    expect(shown(hub.offer.node)).toBe(false);
  });

  it('makes the copy and shows its path, or the error; Dismiss hides it', async () => {
    const { s, lab, offer } = setup();
    offer.render(s);
    lab.copyError = 'Could not copy: disk full';
    q<HTMLButtonElement>(offer.node, 'collab-own-copy-make').click();
    await flush();
    expect(lab.called('makeOwnCopy')).toEqual([['lecture.ipynb']]);
    expect(q(offer.node, 'collab-own-copy-result').textContent).toBe('Could not copy: disk full');
    lab.copyError = null;
    q<HTMLButtonElement>(offer.node, 'collab-own-copy-make').click();
    await flush();
    expect(q(offer.node, 'collab-own-copy-result').textContent).toBe(
      'Your own copy: lecture-ana.ipynb'
    );
    lab.currentPath = 'lecture-ana.ipynb';
    offer.render(s);
    expect(shown(offer.node)).toBe(true); // the outcome stays until dismissed
    q<HTMLButtonElement>(offer.node, 'collab-own-copy-dismiss').click();
    expect(shown(offer.node)).toBe(false);
    lab.currentPath = 'lecture.ipynb';
    offer.render(s);
    expect(shown(offer.node)).toBe(false); // dismissed for that notebook
  });
});

describe('members pane in classroom mode', () => {
  function row(pane: MembersPane, username: string): HTMLElement {
    const el = pane.node.querySelector<HTMLElement>(`[data-username="${username}"]`);
    if (!el) {
      throw new Error(`no row ${username}`);
    }
    return el;
  }

  it('shows teacher badges, raised hands, and the teacher actions', async () => {
    const lab = new FakeLab();
    const { s, socket } = joined(lee, [lee, ana, ben], classroom({ hands: [hand('ana', 1)] }));
    const errors: string[] = [];
    const pane = new MembersPane(null, lab, text => errors.push(text));
    pane.render(s);
    expect(all(row(pane, 'lee'), 'collab-member-teacher').length).toBe(1);
    expect(all(row(pane, 'ana'), 'collab-member-teacher').length).toBe(0);
    expect(all(row(pane, 'ana'), 'collab-member-hand').length).toBe(1);
    expect(all(row(pane, 'ben'), 'collab-member-hand').length).toBe(0);
    // no buttons on one's own row
    expect(all(row(pane, 'lee'), 'collab-member-follow')).toEqual([]);
    expect(all(row(pane, 'lee'), 'collab-member-role')).toEqual([]);
    expect(texts(row(pane, 'ben'), 'collab-member-role')).toEqual(['Make teacher']);
    q<HTMLButtonElement>(row(pane, 'ana'), 'collab-member-lower-hand').click();
    expect(socket.last('hand').payload).toEqual({ room: 'r', raised: false, user: 'ana' });
    q<HTMLButtonElement>(row(pane, 'ben'), 'collab-member-role').click();
    expect(socket.last('role').payload).toEqual({ room: 'r', user: 'ben', role: 'teacher' });
    socket.answer('role', { ok: false, error: { code: 'unknown_user', message: 'gone' } });
    await flush();
    expect(errors).toEqual(['unknown_user: gone']);
    s.onRoleEvent({ room: 'r', user: { ...ben, role: 'teacher' }, by: 'lee', ts: 2 });
    pane.render(s);
    expect(texts(row(pane, 'ben'), 'collab-member-role')).toEqual(['Make student']);
    expect(all(row(pane, 'ben'), 'collab-member-teacher').length).toBe(1);
  });

  it('gives students Follow but no teacher actions; never follows someone who follows you', () => {
    const lab = new FakeLab();
    const { s } = joined(ana, [lee, ana, ben]);
    setPresence(s, { ben: { path: 'a.ipynb', following: 'ana' } });
    const pane = new MembersPane(null, lab);
    pane.render(s);
    expect(all(pane.node, 'collab-member-role')).toEqual([]);
    const follow = q<HTMLButtonElement>(row(pane, 'lee'), 'collab-member-follow');
    expect(follow.textContent).toBe('Follow');
    const blocked = q<HTMLButtonElement>(row(pane, 'ben'), 'collab-member-follow');
    expect(blocked.disabled).toBe(true);
    expect(blocked.title).toContain('Ben follows you');
    follow.click();
    expect(lab.called('follow')).toEqual([['lee']]);
    pane.renderClassroom();
    const following = q<HTMLButtonElement>(row(pane, 'lee'), 'collab-member-follow');
    expect(following.textContent).toBe('Following');
    following.click();
    expect(lab.called('follow')).toEqual([['lee'], [null]]);
  });

  it('shows no classroom parts against a 1.0 server, nor Follow without JupyterLab', () => {
    const old = joined(member('ana', 'Ana'), [member('ana', 'Ana'), member('bo', 'Bo')], null);
    const pane = new MembersPane(null, new FakeLab());
    pane.render(old.s);
    expect(all(pane.node, 'collab-member-follow')).toEqual([]);
    const plain = new MembersPane(null, null);
    plain.render(joined(ana).s);
    expect(all(plain.node, 'collab-member-follow')).toEqual([]);
    expect(all(plain.node, 'collab-member-teacher').length).toBe(1);
  });
});

describe('OverviewPane', () => {
  it("shows the students per cell of the teacher's notebook, activity, hands, the poll", () => {
    const lab = new FakeLab();
    const view = poll(3, { answers: { ana: 1 }, counts: [0, 1], answered: 1 });
    const { s } = joined(
      lee,
      [lee, ana, ben, cy],
      classroom({ hands: [hand('ben', 1)], polls: [view] })
    );
    setPresence(s, {
      ana: { path: 'lecture.ipynb', cell_index: 2 },
      ben: { path: 'lecture.ipynb', cell_index: 2, activity: 'away' },
      cy: { path: 'lecture.ipynb', cell_index: 5 }
    });
    const pane = new OverviewPane(null, lab);
    pane.render(s);
    expect(texts(pane.node, 'collab-overview-cell').map(t => t.trim())).toEqual([
      'cell 3: 2',
      'cell 6: 1'
    ]);
    const counts = Array.from(
      q(pane.node, 'collab-overview-activity').querySelectorAll<HTMLElement>('[data-kind]')
    ).map(el => el.textContent);
    expect(counts).toEqual(['2 active', '0 idle', '1 away', '0 elsewhere']);
    expect(q(pane.node, 'collab-overview-hands').textContent).toBe('✋ 1 raised hand');
    expect(q(pane.node, 'collab-overview-poll').textContent).toBe('Poll "Done?": answered 1 of 3');
    // nothing changed: nothing redrawn
    const first = pane.node.querySelector('[data-testid="collab-overview-cell"]');
    pane.render(s);
    expect(pane.node.querySelector('[data-testid="collab-overview-cell"]')).toBe(first);
    lab.currentPath = null;
    pane.render(s);
    expect(all(pane.node, 'collab-overview-cell')).toEqual([]);
  });
});

describe('RoomRenderer with classroom mode', () => {
  it('routes hand events to the queue and the members, and cards to the chat', () => {
    jest.useFakeTimers();
    try {
      const host = document.createElement('div');
      const lab = new FakeLab();
      const renderer = new RoomRenderer(host, fakeConnection(), null, undefined, lab);
      const { s } = joined(lee, [lee, ana], classroom(), [
        snippetMessage(1, 'x = 1'),
        pollMessage(2)
      ]);
      renderer.setSession(s);
      expect(shown(q(host, 'collab-classroom'))).toBe(true);
      expect(all(host, 'collab-snippet').length).toBe(1);
      expect(all(host, 'collab-poll').length).toBe(1);
      expect(all(host, 'collab-hand-item')).toEqual([]);
      s.onHandEvent({
        room: 'r',
        hand: hand('ana', Date.now(), 'Ana'),
        raised: true,
        by: 'ana',
        ts: 1
      });
      expect(all(host, 'collab-hand-item').length).toBe(1);
      expect(all(host, 'collab-member-hand').length).toBe(1);
      expect(q(host, 'collab-overview-hands').textContent).toBe('✋ 1 raised hand');
      expect(jest.getTimerCount()).toBeGreaterThan(0);
      renderer.dispose();
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
