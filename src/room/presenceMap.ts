/**
 * Other sessions' presence in one room, as received: applying batches and snapshots.
 */
import type { IPresenceEntry } from '../protocol';
import { sanitizeState } from '../presence/state';

/**
 * Apply presence entries to `map` (by public session id), replacing everything when
 * `reset`. Malformed entries and our own session are skipped; states are sanitised.
 * Returns false only when nothing could have changed (a reset of an empty map to nothing).
 *
 * @param map the room's presence, changed in place.
 * @param entries entries from a batch, a join snapshot or a reset.
 * @param reset true: `entries` is the complete state of the room.
 * @param ownSession our public session id in the room (null before the join).
 * @param now the time given to entries without a server timestamp.
 */
export function applyPresence(
  map: Map<string, IPresenceEntry>,
  entries: ReadonlyArray<IPresenceEntry>,
  reset: boolean,
  ownSession: string | null,
  now: number = Date.now()
): boolean {
  if (reset) {
    if (map.size === 0 && entries.length === 0) {
      return false;
    }
    map.clear();
  }
  for (const e of entries) {
    if (
      typeof e !== 'object' ||
      e === null ||
      typeof e.session !== 'string' ||
      typeof e.user !== 'string' ||
      e.session === ownSession
    ) {
      continue;
    }
    map.set(e.session, {
      session: e.session,
      user: e.user,
      state: sanitizeState(e.state),
      ts: typeof e.ts === 'number' ? e.ts : now
    });
  }
  return true;
}
