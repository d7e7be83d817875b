/**
 * DOM helpers of the Room view. User text only ever goes in through `textContent`.
 */
import type { IUser } from '../protocol';
import { initialsOf, safeAvatarUrl, safeColor } from '../util';

/** Pixels from the bottom that still count as "at the bottom". */
export const BOTTOM_SLACK = 32;

/** Properties of an element made by `h`. */
export interface IElementProps {
  className?: string;
  testid?: string;
  /** Set as textContent (never parsed as HTML). */
  text?: string;
  attrs?: Record<string, string>;
}

/** Create an element with a class, test id, text, attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: IElementProps = {},
  ...children: (Node | null)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.className) {
    el.className = props.className;
  }
  if (props.testid) {
    el.dataset.testid = props.testid;
  }
  if (props.text !== undefined) {
    el.textContent = props.text;
  }
  if (props.attrs) {
    for (const [k, v] of Object.entries(props.attrs)) {
      el.setAttribute(k, v);
    }
  }
  for (const child of children) {
    if (child) {
      el.appendChild(child);
    }
  }
  return el;
}

/** A coloured initials badge or an avatar image. */
export function avatar(user: IUser, size: 'small' | 'normal' = 'normal'): HTMLElement {
  const badge = h('span', {
    className: `jp-CollabRoom-avatar jp-CollabRoom-avatar-${size}`,
    attrs: { 'aria-hidden': 'true' }
  });
  const color = safeColor(user.color);
  if (color) {
    badge.style.backgroundColor = color;
  }
  const url = safeAvatarUrl(user.avatar_url);
  if (url) {
    // The avatar's host learns nothing about this page (no Referer).
    badge.appendChild(h('img', { attrs: { alt: '', referrerpolicy: 'no-referrer', src: url } }));
  } else {
    badge.textContent = initialsOf(user);
  }
  return badge;
}

/** Whether a scrolled element shows its end (within BOTTOM_SLACK). */
export function atBottom(el: HTMLElement): boolean {
  return el.scrollHeight - el.scrollTop - el.clientHeight < BOTTOM_SLACK;
}

/** A titled section of the panel. */
export function section(className: string, title: string, body: HTMLElement): HTMLElement {
  return h(
    'div',
    { className },
    h('div', { className: 'jp-CollabRoom-sectionTitle', text: title }),
    body
  );
}

/** A small text button of the classroom controls (`data-action` for delegated clicks). */
export function smallButton(
  testid: string,
  text: string,
  props: { action?: string; title?: string; className?: string } = {}
): HTMLButtonElement {
  const attrs: Record<string, string> = { type: 'button' };
  if (props.action) {
    attrs['data-action'] = props.action;
  }
  if (props.title) {
    attrs.title = props.title;
  }
  const className = `jp-CollabClass-button${props.className ? ` ${props.className}` : ''}`;
  return h('button', { className, testid, text, attrs });
}

/**
 * Keep notebook shortcuts (Shift+Enter runs a cell, 'a' inserts one, ...) out of a text field
 * of the Room view.
 */
export function keepKeys(field: HTMLElement): void {
  field.setAttribute('data-lm-suppress-shortcuts', 'true');
  field.addEventListener('keydown', stopPropagation);
}

function stopPropagation(event: Event): void {
  event.stopPropagation();
}
