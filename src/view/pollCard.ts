/**
 * A quick poll in the chat (a message of `kind: 'poll'`). Students: the options to answer
 * (changeable until it closes), then the result. Teachers: the live tally, "N of M answered",
 * who has not answered, and "Close poll".
 */
import { trans } from '../i18n';
import type { IMember, IMessage, IPoll, IProtocolError } from '../protocol';
import type { IRoomSession } from '../tokens';
import { displayName } from '../util';
import { errorText, pollProgress } from './classroomInfo';
import { h, smallButton } from './dom';
import { messageMeta, messageShell } from './messageItem';

/** What a poll card shows besides the poll: the viewer's role and the room's students. */
export interface IPollCardContext {
  readonly teacher: boolean;
  /** The student members (for "N of M answered" and who has not). */
  readonly students: ReadonlyArray<IMember>;
}

/** The poll's list item, without its body (see updatePollCard). */
export function pollCard(m: IMessage, own: boolean): HTMLElement {
  const li = messageShell(m, own, 'collab-poll', 'jp-CollabClass-poll');
  const meta = messageMeta(m, own);
  meta.append(
    h('span', { className: 'jp-CollabClass-cardKind', text: trans.__('poll') }),
    h('span', { className: 'jp-CollabClass-pollState', testid: 'collab-poll-state' })
  );
  li.append(
    meta,
    h('div', {
      className: 'jp-CollabClass-question',
      testid: 'collab-poll-question',
      text: m.text
    }),
    h('div', { className: 'jp-CollabClass-pollBody' }),
    h('div', {
      className: 'jp-CollabClass-error',
      testid: 'collab-poll-error',
      attrs: { role: 'alert' }
    })
  );
  return li;
}

/**
 * Show the poll's state (`poll`: this user's view, undefined for an old poll whose view the
 * room no longer keeps). Does nothing when nothing it shows changed.
 */
export function updatePollCard(
  li: HTMLElement,
  m: IMessage,
  poll: IPoll | undefined,
  ctx: IPollCardContext
): void {
  const students = ctx.teacher ? ctx.students.map(s => [s.username, displayName(s)]) : [];
  const key = JSON.stringify([poll ?? null, ctx.teacher, students]);
  if (li.dataset.key === key) {
    return;
  }
  li.dataset.key = key;
  const closed = poll ? poll.closed : true;
  li.dataset.state = closed ? 'closed' : 'open';
  const state = li.querySelector<HTMLElement>('.jp-CollabClass-pollState');
  if (state) {
    state.textContent = closed ? trans.__('closed') : trans.__('open');
  }
  const body = li.querySelector<HTMLElement>('.jp-CollabClass-pollBody');
  if (!body) {
    return;
  }
  body.textContent = '';
  const options = poll?.options ?? (Array.isArray(m.options) ? m.options : []);
  if (!poll) {
    body.append(
      optionList(options),
      note('collab-poll-note', trans.__('This poll is closed; its result is no longer kept.'))
    );
  } else if (ctx.teacher) {
    body.append(...teacherBody(poll, ctx.students));
  } else if (!poll.closed) {
    body.append(...answerBody(poll));
  } else {
    body.append(...resultBody(poll));
  }
}

/**
 * A click on one of the card's buttons: answer (`poll-answer`, the option in `data-option`)
 * or close (`poll-close`). The buttons wait for the answer; a refusal shows on the card.
 */
export async function pollAction(
  action: string,
  button: HTMLElement,
  li: HTMLElement,
  session: IRoomSession
): Promise<void> {
  const id = Number(li.dataset.seq);
  let request: Promise<IProtocolError | null> | null = null;
  if (action === 'poll-answer') {
    request = session.answerPoll(id, Number(button.dataset.option));
  } else if (action === 'poll-close') {
    request = session.closePoll(id);
  }
  if (!request) {
    return;
  }
  const error = li.querySelector<HTMLElement>('.jp-CollabClass-error');
  setBusy(li, true);
  const refused = await request;
  // The body may have been re-rendered meanwhile: this enables whatever buttons it has now.
  setBusy(li, false);
  if (error) {
    error.textContent = refused ? errorText(refused) : '';
  }
}

function setBusy(li: HTMLElement, busy: boolean): void {
  for (const b of Array.from(li.querySelectorAll('button'))) {
    b.disabled = busy;
  }
}

function teacherBody(poll: IPoll, students: ReadonlyArray<IMember>): HTMLElement[] {
  const progress = pollProgress(poll, students);
  const out: HTMLElement[] = [
    tally(poll, null),
    note('collab-poll-answered', trans.__('%1 of %2 answered', progress.answered, progress.total))
  ];
  if (!poll.closed) {
    if (progress.missing.length) {
      const names = progress.missing.map(displayName).join(', ');
      out.push(note('collab-poll-missing', trans.__('Not answered: %1', names)));
    } else if (progress.total > 0) {
      out.push(note('collab-poll-missing', trans.__('Everyone has answered')));
    }
    out.push(
      h(
        'div',
        { className: 'jp-CollabClass-actions' },
        smallButton('collab-poll-close', trans.__('Close poll'), {
          action: 'poll-close',
          title: trans.__('Close the poll: students see the result')
        })
      )
    );
  }
  return out;
}

function answerBody(poll: IPoll): HTMLElement[] {
  const row = h('div', { className: 'jp-CollabClass-options', attrs: { role: 'group' } });
  poll.options.forEach((option, i) => {
    const chosen = poll.your_answer === i;
    const b = smallButton('collab-poll-option', option, {
      action: 'poll-answer',
      className: chosen ? 'jp-CollabClass-option jp-mod-chosen' : 'jp-CollabClass-option'
    });
    b.dataset.option = String(i);
    b.setAttribute('aria-pressed', String(chosen));
    row.appendChild(b);
  });
  const mine = poll.your_answer ?? null;
  const hint =
    mine !== null && poll.options[mine] !== undefined
      ? trans.__('Your answer: %1 (you can change it until the poll closes)', poll.options[mine])
      : trans.__('Choose an answer');
  return [row, note('collab-poll-note', hint)];
}

function resultBody(poll: IPoll): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (poll.counts) {
    out.push(tally(poll, poll.your_answer ?? null));
  }
  const n = poll.answered;
  out.push(note('collab-poll-answered', trans._n('%1 person answered', '%1 people answered', n)));
  return out;
}

/** One bar per option with its count; `mine`: the option to mark as the viewer's. */
function tally(poll: IPoll, mine: number | null): HTMLElement {
  const counts = poll.counts ?? poll.options.map(() => 0);
  const total = counts.reduce((a, b) => a + b, 0);
  const list = h('ul', { className: 'jp-CollabClass-tally' });
  poll.options.forEach((option, i) => {
    const count = counts[i] ?? 0;
    const pct = total ? Math.round((100 * count) / total) : 0;
    const fill = h('span', { className: 'jp-CollabClass-barFill' });
    fill.style.width = `${pct}%`;
    const label = mine === i ? trans.__('%1 (your answer)', option) : option;
    const row = h(
      'li',
      { className: 'jp-CollabClass-tallyRow', testid: 'collab-poll-bar' },
      h('span', { className: 'jp-CollabClass-tallyLabel', text: label }),
      h('span', { className: 'jp-CollabClass-bar', attrs: { 'aria-hidden': 'true' } }, fill),
      h('span', {
        className: 'jp-CollabClass-tallyCount',
        testid: 'collab-poll-count',
        text: String(count)
      })
    );
    row.dataset.option = String(i);
    if (mine === i) {
      row.classList.add('jp-mod-chosen');
    }
    list.appendChild(row);
  });
  return list;
}

function optionList(options: ReadonlyArray<string>): HTMLElement {
  const list = h('ul', { className: 'jp-CollabClass-optionList' });
  for (const option of options) {
    list.appendChild(h('li', { text: String(option) }));
  }
  return list;
}

function note(testid: string, text: string): HTMLElement {
  return h('div', { className: 'jp-CollabClass-note', testid, text });
}
