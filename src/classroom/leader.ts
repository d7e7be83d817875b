/**
 * Who is where, for following: the leader's entry among a room's presence entries, whether
 * someone follows us, a member's display name. Pure functions (no JupyterLab, no DOM).
 */
import type { IMember, IPresenceEntry } from '../protocol';

/**
 * The entry of `username` to follow: one of their sessions (tabs) in a notebook, the newest
 * (by server `ts`); an `active` tab wins over an `idle` one and that over a hidden (`away`)
 * one, whose heartbeat (every 15 s) may be newer than the last move in the tab they work
 * in. Null when none of their sessions is in a notebook.
 */
export function leaderEntry(
  presence: ReadonlyMap<string, IPresenceEntry>,
  username: string
): IPresenceEntry | null {
  let best: IPresenceEntry | null = null;
  for (const entry of presence.values()) {
    if (entry.user !== username || !entry.state.path) {
      continue;
    }
    if (best === null || outranks(entry, best)) {
      best = entry;
    }
  }
  return best;
}

/** How much a tab is in use: active, then idle, then away (hidden). */
const ACTIVITY_RANK: Record<string, number> = { active: 2, idle: 1, away: 0 };

/** Whether `a` is the better entry to follow than `b`: the tab more in use, then the newer. */
function outranks(a: IPresenceEntry, b: IPresenceEntry): boolean {
  const rankA = ACTIVITY_RANK[a.state.activity ?? 'active'];
  const rankB = ACTIVITY_RANK[b.state.activity ?? 'active'];
  if (rankA !== rankB) {
    return rankA > rankB;
  }
  return a.ts > b.ts;
}

/** Whether any session of `username` follows `me` (its presence says `following: me`). */
export function followsUser(
  presence: ReadonlyMap<string, IPresenceEntry>,
  username: string,
  me: string
): boolean {
  for (const entry of presence.values()) {
    if (entry.user === username && entry.state.following === me) {
      return true;
    }
  }
  return false;
}

/** The name to show for a member: display name, else name, else the username. */
export function memberName(members: ReadonlyArray<IMember>, username: string): string {
  const member = members.find(m => m.username === username);
  return member?.display_name || member?.name || username;
}

/**
 * Which cell a state points at, as a key that changes when the cell changes (by id, and by
 * index for a notebook without ids); null without a cell.
 */
export function cellKey(state: { cell_id?: string; cell_index?: number }): string | null {
  if (state.cell_id === undefined && state.cell_index === undefined) {
    return null;
  }
  return `${state.cell_id ?? ''}#${state.cell_index ?? ''}`;
}

/**
 * The index of the cell a state points at among `cells`: by nbformat id, else by index (a
 * cell the other copy added, a notebook without stored ids); null when there is none. The
 * same rule as the presence markers (cellPresenceRenderer's findCell).
 */
export function cellIndexOf(
  cells: ReadonlyArray<{ readonly model: { readonly id: string } }>,
  state: { cell_id?: string; cell_index?: number }
): number | null {
  if (state.cell_id !== undefined) {
    const index = cells.findIndex(cell => cell.model.id === state.cell_id);
    if (index >= 0) {
      return index;
    }
  }
  const index = state.cell_index;
  return index !== undefined && index < cells.length ? index : null;
}
