/**
 * Who came and went: the member diff of a re-join, as a pure function.
 */
import type { IMember } from '../protocol';

/** What changed between two member lists, the caller excluded. */
export interface IMemberDiff {
  /** In `after` but not in `before`, in the order of `after`. */
  readonly joined: IMember[];
  /** In `before` but not in `after`, in the order of `before`. */
  readonly left: IMember[];
}

/**
 * Compare the members known before a disconnect with those of the re-join's answer.
 *
 * @param before members by username, as known before.
 * @param after the members the server reports now.
 * @param self the caller's username: never reported as joined or left.
 */
export function diffMembers(
  before: ReadonlyMap<string, IMember>,
  after: ReadonlyArray<IMember>,
  self: string
): IMemberDiff {
  const now = new Set(after.map(m => m.username));
  return {
    joined: after.filter(m => m.username !== self && !before.has(m.username)),
    left: Array.from(before.values()).filter(m => m.username !== self && !now.has(m.username))
  };
}
