/**
 * The teacher's overview: how many students are at each cell of the teacher's notebook (a
 * small bar per cell), how many are active, idle, away or elsewhere, the raised hands, and
 * the open poll's "answered N of M".
 */
import { trans } from '../i18n';
import type { IMember } from '../protocol';
import type { IClassroomLab, ICollabPresence, IRoomSession } from '../tokens';
import { IOverview, openPoll, overviewOf, pollProgress, studentsOf } from './classroomInfo';
import { h } from './dom';

export class OverviewPane {
  /**
   * @param presence cursor presence (the teacher's own notebook when `classroom` has none).
   * @param classroom classroom mode's JupyterLab side (the notebook in use), when present.
   */
  constructor(presence: ICollabPresence | null, classroom: IClassroomLab | null) {
    this._presence = presence;
    this._classroom = classroom;
    this._body = h('div', { className: 'jp-CollabClass-overviewBody' });
    this.node = h(
      'div',
      { className: 'jp-CollabClass-overview', testid: 'collab-overview' },
      h('div', { className: 'jp-CollabRoom-sectionTitle', text: trans.__('Overview') }),
      this._body
    );
  }

  readonly node: HTMLElement;

  /** Re-draw when what it shows changed. */
  render(session: IRoomSession | null): void {
    if (!session) {
      return;
    }
    const path = this._classroom?.currentPath ?? this._presence?.localState.path ?? null;
    const students = this._studentsOf(session);
    const overview = overviewOf(path, students, session.presence.values());
    const poll = openPoll(session.classroom.polls);
    const progress = poll ? pollProgress(poll, students) : null;
    const hands = session.classroom.hands.length;
    const key = JSON.stringify([overview, students.length, hands, poll?.question, progress]);
    if (key === this._key) {
      return;
    }
    this._key = key;
    this._body.textContent = '';
    this._body.append(
      notebookLine(overview, students.length),
      cellBars(overview),
      activityLine(overview),
      h('div', {
        className: 'jp-CollabClass-note',
        testid: 'collab-overview-hands',
        text: `✋ ${trans._n('%1 raised hand', '%1 raised hands', hands)}`
      }),
      h('div', {
        className: 'jp-CollabClass-note',
        testid: 'collab-overview-poll',
        text:
          poll && progress
            ? trans.__(
                'Poll "%1": answered %2 of %3',
                poll.question,
                progress.answered,
                progress.total
              )
            : trans.__('No open poll')
      })
    );
  }

  /**
   * The students, sorted by name: worked out again only when the members (their roles come
   * with them) or the viewer changed, not on every presence batch.
   */
  private _studentsOf(session: IRoomSession): IMember[] {
    const c = this._students;
    if (c && c.session === session && c.members === session.members && c.you === session.you) {
      return c.list;
    }
    const list = studentsOf(session);
    this._students = { session, members: session.members, you: session.you, list };
    return list;
  }

  private _presence: ICollabPresence | null;
  private _classroom: IClassroomLab | null;
  private _body: HTMLElement;
  private _key = '';
  private _students: {
    session: IRoomSession;
    members: ReadonlyArray<IMember>;
    you: IRoomSession['you'];
    list: IMember[];
  } | null = null;
}

function notebookLine(o: IOverview, students: number): HTMLElement {
  const text = o.path
    ? `${trans._n('%1 student', '%1 students', students)} · ${o.path}`
    : trans.__('Open a notebook to see where your students are in it');
  return h('div', {
    className: 'jp-CollabClass-note jp-CollabClass-path',
    testid: 'collab-overview-path',
    text,
    attrs: { title: text }
  });
}

/** One small bar per cell with students: "cell 4: 3". */
function cellBars(o: IOverview): HTMLElement {
  const list = h('ul', {
    className: 'jp-CollabClass-cells',
    attrs: { 'aria-label': trans.__('Students per cell') }
  });
  const max = Math.max(1, ...o.cells.map(c => c.count));
  for (const { index, count } of o.cells) {
    const fill = h('span', { className: 'jp-CollabClass-barFill' });
    fill.style.width = `${Math.round((100 * count) / max)}%`;
    const row = h(
      'li',
      { className: 'jp-CollabClass-cellRow', testid: 'collab-overview-cell' },
      h('span', {
        className: 'jp-CollabClass-cellLabel',
        text: trans.__('cell %1: %2', index + 1, count)
      }),
      h('span', { className: 'jp-CollabClass-bar', attrs: { 'aria-hidden': 'true' } }, fill)
    );
    row.dataset.cell = String(index);
    row.dataset.count = String(count);
    list.appendChild(row);
  }
  return list;
}

function activityLine(o: IOverview): HTMLElement {
  const line = h('div', {
    className: 'jp-CollabClass-activityLine',
    testid: 'collab-overview-activity'
  });
  // [kind (data-kind), count, text, tooltip]
  const parts: [string, number, string, string][] = [
    [
      'active',
      o.active,
      trans._n('%1 active', '%1 active', o.active),
      trans.__('in this notebook, active')
    ],
    [
      'idle',
      o.idle,
      trans._n('%1 idle', '%1 idle', o.idle),
      trans.__('no input for a minute or more')
    ],
    ['away', o.away, trans._n('%1 away', '%1 away', o.away), trans.__('their tab is hidden')],
    [
      'elsewhere',
      o.elsewhere,
      trans._n('%1 elsewhere', '%1 elsewhere', o.elsewhere),
      trans.__('in another notebook, or not sharing where they are')
    ]
  ];
  for (const [kind, n, text, title] of parts) {
    const span = h('span', {
      className: 'jp-CollabClass-activityCount',
      text,
      attrs: { title, 'data-kind': kind }
    });
    span.dataset.count = String(n);
    line.appendChild(span);
  }
  return line;
}
