/**
 * Where each member is, as the members list shows it: pure functions, no DOM.
 */
import { trans } from '../i18n';
import type { IPresenceEntry, IPresenceState } from '../protocol';
import { formatLocation } from '../presence/state';

/** The newest presence state of each user (a user may have several tabs). */
export function latestByUser(
  entries: Iterable<IPresenceEntry>
): Map<string, { state: IPresenceState; ts: number }> {
  const latest = new Map<string, { state: IPresenceState; ts: number }>();
  for (const e of entries) {
    const known = latest.get(e.user);
    if (!known || known.ts < e.ts) {
      latest.set(e.user, { state: e.state, ts: e.ts });
    }
  }
  return latest;
}

/**
 * What describeLocation reads of a state, as a string: equal strings (with the same `isYou`,
 * `sharing` and `canJump`) describe the same. Lets a caller skip a row when only something
 * the line does not show changed (e.g. the column).
 */
export function locationInputs(state: IPresenceState | null): string {
  if (state === null) {
    return '';
  }
  return `${state.path ?? ''}\u0000${state.cell_index ?? ''}\u0000${state.mode ?? ''}\u0000${
    state.line ?? ''
  }\u0000${state.activity ?? ''}`;
}

/** One member's "where" line. */
export interface ILocationLine {
  /** "lecture.ipynb · cell 4 · line 12", "not sharing your cursor", or ''. */
  readonly text: string;
  /** 'idle' or 'away'; '' when active or unknown. */
  readonly activity: '' | 'idle' | 'away';
  /** `activity` as the user reads it ("idle", "away", translated; '' when active). */
  readonly activityText: string;
  /** Whether clicking it can go there (a notebook with that path is open here). */
  readonly canJump: boolean;
  /** The tooltip. */
  readonly title: string;
  /** Equal keys render the same (to skip DOM work). */
  readonly key: string;
}

/**
 * Describe a member's location.
 *
 * @param isYou the row is the viewer's own.
 * @param sharing (own row) whether the viewer shares their cursor with this room.
 * @param state the member's newest state (own row: the local state), or null.
 * @param canJumpTo whether a state's notebook is open here.
 */
export function describeLocation(
  isYou: boolean,
  sharing: boolean,
  state: IPresenceState | null,
  canJumpTo: (state: IPresenceState) => boolean
): ILocationLine {
  let text: string;
  if (isYou && !sharing) {
    state = null;
    text = trans.__('not sharing your cursor');
  } else {
    text = state ? formatLocation(state) : '';
  }
  const activity = state?.activity && state.activity !== 'active' ? state.activity : '';
  const canJump = !isYou && state !== null && canJumpTo(state);
  const activityText =
    activity === 'idle' ? trans.__('idle') : activity === 'away' ? trans.__('away') : '';
  let title = text;
  if (canJump) {
    title = trans.__('Go to %1', text);
  } else if (!isYou && state?.path) {
    title = trans.__('%1 (open %2 to go there)', text, state.path);
  }
  return {
    text,
    activity,
    activityText,
    canJump,
    title,
    key: `${text}\u0000${activity}\u0000${canJump}`
  };
}
