/**
 * What classroom mode's views show, as pure functions of the room (no DOM): how long ago,
 * who has not answered a poll, where the students are, whether to offer an own copy.
 */
import { trans } from '../i18n';
import type { IMember, IPoll, IPresenceEntry, IPresenceState, IProtocolError } from '../protocol';
import type { IRoomSession } from '../tokens';
import { displayName } from '../util';
import { latestByUser } from './locations';

/** "just now", "1 min ago", "2 min ago", "3 h ago", "2 d ago" (`ts` and `now` in ms). */
export function timeAgo(ts: number, now: number): string {
  const seconds = Math.max(0, (now - ts) / 1000);
  if (seconds < 45) {
    return trans.__('just now');
  }
  const minutes = Math.max(1, Math.floor(seconds / 60));
  if (minutes < 60) {
    return trans._n('%1 min ago', '%1 min ago', minutes);
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    return trans._n('%1 h ago', '%1 h ago', hours);
  }
  const days = Math.floor(hours / 24);
  return trans._n('%1 d ago', '%1 d ago', days);
}

/** A refusal as the views show it. */
export function errorText(error: IProtocolError): string {
  if (error.code === 'forbidden') {
    return trans.__('Not allowed: %1', error.message);
  }
  if (error.code === 'timeout' || error.code === 'not_connected') {
    return trans.__('%1: try again', error.message);
  }
  return `${error.code}: ${error.message}`;
}

/** The room's members who are students, the viewer excluded, by name. */
export function studentsOf(
  session: Pick<IRoomSession, 'members' | 'you' | 'classroom'>
): IMember[] {
  const you = session.you?.username;
  return session.members
    .filter(m => m.username !== you && session.classroom.roleOf(m.username) === 'student')
    .sort((a, b) => displayName(a).localeCompare(displayName(b)));
}

/** How far a poll is, as a teacher sees it. */
export interface IPollProgress {
  /** Students here who answered. */
  readonly answered: number;
  /** Students here. */
  readonly total: number;
  /** Students here who have not answered (empty when the answers are not known). */
  readonly missing: ReadonlyArray<IMember>;
}

/**
 * "N of M answered" and who has not: the students in the room against the poll's `answers`
 * (teachers get them). Without `answers`, the poll's own `answered` count.
 */
export function pollProgress(poll: IPoll, students: ReadonlyArray<IMember>): IPollProgress {
  const answers = poll.answers;
  if (!answers) {
    return { answered: poll.answered, total: students.length, missing: [] };
  }
  const missing = students.filter(m => answers[m.username] === undefined);
  return { answered: students.length - missing.length, total: students.length, missing };
}

/** The newest open poll, if any. */
export function openPoll(polls: ReadonlyArray<IPoll>): IPoll | null {
  for (let i = polls.length - 1; i >= 0; i--) {
    if (!polls[i].closed) {
      return polls[i];
    }
  }
  return null;
}

/** The teacher's overview of the students. */
export interface IOverview {
  /** The notebook it is about, or null when the teacher has none open. */
  readonly path: string | null;
  /** Students at each cell of that notebook (0-based cell index), by cell index. */
  readonly cells: ReadonlyArray<{ readonly index: number; readonly count: number }>;
  /** Students in that notebook, active. */
  readonly active: number;
  /** Students idle or away (wherever they are). */
  readonly idle: number;
  readonly away: number;
  /** Students active in another notebook, or not sharing where they are. */
  readonly elsewhere: number;
}

/**
 * Where the students are relative to the teacher's notebook: one count per cell index (each
 * student's newest state), and how many are active, idle, away or elsewhere.
 *
 * @param path the teacher's notebook (null: none).
 * @param students the student members.
 * @param presence the room's presence entries.
 */
export function overviewOf(
  path: string | null,
  students: ReadonlyArray<IMember>,
  presence: Iterable<IPresenceEntry>
): IOverview {
  const latest = latestByUser(presence);
  const perCell = new Map<number, number>();
  let active = 0;
  let idle = 0;
  let away = 0;
  let elsewhere = 0;
  for (const m of students) {
    const state: IPresenceState | undefined = latest.get(m.username)?.state;
    const here = path !== null && state?.path === path;
    if (here && state?.cell_index !== undefined) {
      perCell.set(state.cell_index, (perCell.get(state.cell_index) ?? 0) + 1);
    }
    if (state?.activity === 'away') {
      away++;
    } else if (state?.activity === 'idle') {
      idle++;
    } else if (here) {
      active++;
    } else {
      elsewhere++;
    }
  }
  const cells = Array.from(perCell, ([index, count]) => ({ index, count })).sort(
    (a, b) => a.index - b.index
  );
  return { path, cells, active, idle, away, elsewhere };
}

/**
 * How many other users have the notebook at `path` open (their newest presence there), the
 * viewer excluded.
 */
export function othersAt(
  path: string | null,
  presence: Iterable<IPresenceEntry>,
  you: string | null
): number {
  if (!path) {
    return 0;
  }
  const users = new Set<string>();
  for (const e of presence) {
    if (e.user !== you && e.state.path === path) {
      users.add(e.user);
    }
  }
  return users.size;
}

/** The presence `following` of a user (newest state), or null. */
export function followingOf(presence: Iterable<IPresenceEntry>, username: string): string | null {
  return latestByUser(presence).get(username)?.state.following ?? null;
}
