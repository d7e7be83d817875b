/**
 * One chat message as a list item: a confirmed message, or one of ours still pending.
 */
import type { IMessage, IUser } from '../protocol';
import type { IPendingMessage } from '../tokens';
import { displayName, formatMessageTime, safeColor } from '../util';
import { avatar, h } from './dom';

/** A confirmed message. */
export function messageItem(m: IMessage, own: boolean): HTMLElement {
  const li = messageShell(m, own, 'message');
  li.append(messageMeta(m, own), messageText(m.text));
  return li;
}

/**
 * The list item of a stored message (a chat message, a snippet or a poll card), keyed by
 * its `seq` and `client_id`, without its content.
 *
 * @param className more classes for the item (a card's own).
 */
export function messageShell(
  m: IMessage,
  own: boolean,
  testid: string,
  className = ''
): HTMLElement {
  const li = h('li', { className: `jp-CollabRoom-message ${className}`.trim(), testid });
  li.dataset.seq = String(m.seq);
  li.dataset.clientId = m.client_id;
  if (own) {
    li.classList.add('jp-mod-own');
  }
  return li;
}

/** A confirmed message's line of avatar, author, time and "(you)". */
export function messageMeta(m: IMessage, own: boolean): HTMLElement {
  const author = h('span', { className: 'jp-CollabRoom-author', text: displayName(m.user) });
  const color = safeColor(m.user.color);
  if (color) {
    author.style.setProperty('--jp-collab-user-color', color);
  }
  const time = h('time', {
    className: 'jp-CollabRoom-time',
    text: formatMessageTime(m.ts),
    attrs: { datetime: new Date(m.ts).toISOString(), title: new Date(m.ts).toLocaleString() }
  });
  const meta = h('div', { className: 'jp-CollabRoom-meta' }, avatar(m.user, 'small'), author, time);
  if (own) {
    meta.appendChild(h('span', { className: 'jp-CollabRoom-you', text: '(you)' }));
  }
  return meta;
}

/** One of our messages the server has not confirmed; `you` once known. */
export function pendingItem(p: IPendingMessage, you: IUser | null): HTMLElement {
  const li = h('li', {
    className: 'jp-CollabRoom-message jp-mod-own jp-mod-pending',
    testid: 'message'
  });
  li.dataset.clientId = p.client_id;
  const meta = h('div', { className: 'jp-CollabRoom-meta' });
  if (you) {
    meta.appendChild(avatar(you, 'small'));
  }
  meta.append(
    h('span', { className: 'jp-CollabRoom-author', text: you ? displayName(you) : 'You' }),
    h('time', { className: 'jp-CollabRoom-time', text: formatMessageTime(p.ts) }),
    h('span', { className: 'jp-CollabRoom-pendingState', testid: 'pending-state' })
  );
  li.append(meta, messageText(p.text));
  return li;
}

/** What a pending message's state line says. */
export function pendingStateText(status: IPendingMessage['status']): string {
  if (status === 'failed') {
    return 'not sent';
  }
  return status === 'queued' ? 'waiting for connection…' : 'sending…';
}

/** Show a pending message's state, and for a refused one the error with retry/discard. */
export function updatePendingItem(li: HTMLElement, p: IPendingMessage): void {
  li.dataset.status = p.status;
  li.classList.toggle('jp-mod-failed', p.status === 'failed');
  const state = li.querySelector('.jp-CollabRoom-pendingState');
  if (state) {
    state.textContent = pendingStateText(p.status);
  }
  let error = li.querySelector<HTMLElement>('.jp-CollabRoom-error');
  if (p.status !== 'failed' || !p.error) {
    error?.remove();
    return;
  }
  if (!error) {
    error = h('div', {
      className: 'jp-CollabRoom-error',
      testid: 'send-error',
      attrs: { role: 'alert' }
    });
    li.appendChild(error);
  }
  error.textContent = '';
  const retryAfter = p.error.retry_after ? ` (retry after ${p.error.retry_after}s)` : '';
  error.append(
    h('span', { text: `${p.error.code}: ${p.error.message}${retryAfter}` }),
    actionButton('retry', 'Send this message again'),
    actionButton('discard', 'Discard this message')
  );
}

function actionButton(action: 'retry' | 'discard', label: string): HTMLElement {
  return h('button', {
    className: `jp-CollabRoom-${action}`,
    testid: action,
    text: action,
    attrs: { type: 'button', 'data-action': action, 'aria-label': label }
  });
}

function messageText(text: string): HTMLElement {
  return h('div', { className: 'jp-CollabRoom-text', testid: 'message-text', text });
}
