/**
 * Which DOM events in a followed notebook are the user's own input (pausing following).
 */

/**
 * Events that are the user's own navigation or input in a notebook. `scroll` is not one:
 * our own scrolling fires it too.
 */
export const INPUT_EVENTS = ['wheel', 'touchmove', 'pointerdown', 'keydown'];

/** Keys that alone are no input (a shortcut's first key, switching browser tabs). */
const MODIFIER_KEYS = new Set(['Shift', 'Control', 'Alt', 'Meta', 'CapsLock', 'AltGraph']);

/**
 * Clicks and typing inside these are no work in the notebook: the Room widget (accepting a
 * follow request, chatting, answering a poll) and the follow bar. Scrolling there still
 * counts (the notebook scrolls once the widget's own list is at its end).
 */
const IGNORED_INSIDE = '.jp-CollabRoom, .jp-CollabFollowBar';

/** Whether a DOM event is the user's own input that pauses following. */
export function isOwnInput(event: Event): boolean {
  if (event.type === 'wheel' || event.type === 'touchmove') {
    return true;
  }
  if (event.type === 'keydown' && MODIFIER_KEYS.has((event as KeyboardEvent).key)) {
    return false;
  }
  const target = event.target;
  return !(target instanceof Element && target.closest(IGNORED_INSIDE));
}
