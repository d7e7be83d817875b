/**
 * One chat message as a list item: a confirmed message, or one of ours still pending.
 */
import { trans } from '../i18n';
import { mentions, MentionTarget, splitMentions } from '../mentions';
import type { IMessage, IUser } from '../protocol';
import type { IPendingMessage } from '../tokens';
import { displayName, formatMessageTime, safeColor } from '../util';
import { avatar, h } from './dom';

/**
 * A confirmed message.
 *
 * @param you the viewer: someone else's message mentioning them (`@name`) is highlighted.
 */
export function messageItem(
  m: IMessage,
  own: boolean,
  you: MentionTarget | null = null
): HTMLElement {
  const li = messageShell(m, own, 'message');
  const found = own ? [] : mentions(m.text, you);
  li.classList.toggle('jp-mod-mention', found.length > 0);
  li.append(messageMeta(m, own), found.length ? mentionText(m.text, found) : messageText(m.text));
  return li;
}

/** A message's text with its mentions of the viewer in `@name` spans. */
function mentionText(text: string, found: ReturnType<typeof mentions>): HTMLElement {
  const el = messageText('');
  for (const part of splitMentions(text, found)) {
    el.appendChild(
      part.mention
        ? h('span', { className: 'jp-CollabRoom-mention', testid: 'mention', text: part.text })
        : document.createTextNode(part.text)
    );
  }
  return el;
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
    meta.appendChild(h('span', { className: 'jp-CollabRoom-you', text: trans.__('(you)') }));
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
    h('span', {
      className: 'jp-CollabRoom-author',
      text: you ? displayName(you) : trans.__('You')
    }),
    h('time', { className: 'jp-CollabRoom-time', text: formatMessageTime(p.ts) }),
    h('span', { className: 'jp-CollabRoom-pendingState', testid: 'pending-state' })
  );
  li.append(meta, messageText(p.text));
  return li;
}

/** What a pending message's state line says. */
export function pendingStateText(status: IPendingMessage['status']): string {
  if (status === 'failed') {
    return trans.__('not sent');
  }
  return status === 'queued' ? trans.__('waiting for connection…') : trans.__('sending…');
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
  const retryAfter = p.error.retry_after
    ? ` ${trans.__('(retry after %1s)', p.error.retry_after)}`
    : '';
  error.append(
    h('span', { text: `${p.error.code}: ${p.error.message}${retryAfter}` }),
    actionButton('retry', trans.__('Send this message again')),
    actionButton('discard', trans.__('Discard this message'))
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
