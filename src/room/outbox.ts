/**
 * The outbox of one room: our own messages the server has not confirmed yet.
 *
 * Plain state, no I/O: the room session decides when to transmit and reports each outcome
 * here. A message is `queued` until it can be sent, `sending` while its acknowledgement is
 * awaited, `failed` when refused (it stays until retried or discarded), and leaves the outbox
 * when the server's copy arrives (by ack or by the broadcast, whichever comes first).
 */
import { trans } from '../i18n';
import { MAX_TEXT_LENGTH } from '../limits';
import type { IMessage, IProtocolError } from '../protocol';
import type { IPendingMessage } from '../tokens';

export class Outbox {
  /**
   * @param onChange called after every change of `items` (to re-render the pending list).
   */
  constructor(onChange: () => void = () => undefined) {
    this._onChange = onChange;
  }

  /** Unconfirmed messages, in the order they were written. */
  get items(): ReadonlyArray<IPendingMessage> {
    return Array.from(this._pending.values());
  }

  get(clientId: string): IPendingMessage | undefined {
    return this._pending.get(clientId);
  }

  has(clientId: string): boolean {
    return this._pending.has(clientId);
  }

  /**
   * Add a message written now. Returns false when that client id is already pending or was
   * confirmed (two views forwarding one Python send). Text the server would refuse is added
   * as `failed` at once, with the error it would give.
   */
  add(text: string, clientId: string, now: number = Date.now()): boolean {
    if (this._pending.has(clientId) || this._confirmed.has(clientId)) {
      return false;
    }
    const error = textError(text);
    this._pending.set(clientId, {
      client_id: clientId,
      text,
      ts: now,
      status: error ? 'failed' : 'queued',
      error
    });
    this._onChange();
    return true;
  }

  /** Client ids waiting for the room to be (re)joined, oldest first. */
  queued(): string[] {
    return this.items.filter(p => p.status === 'queued').map(p => p.client_id);
  }

  /** A failed or queued message is to be sent again; false when it is already on its way. */
  retry(clientId: string): boolean {
    const entry = this._pending.get(clientId);
    if (!entry || entry.status === 'sending') {
      return false;
    }
    this._set(clientId, 'queued', null);
    return true;
  }

  sending(clientId: string): void {
    this._set(clientId, 'sending', null);
  }

  /** Lost with the connection: it goes again after the re-join (same client id). */
  requeue(clientId: string): void {
    this._set(clientId, 'queued', null);
  }

  failed(clientId: string, error: IProtocolError): void {
    this._set(clientId, 'failed', error);
  }

  /** Forget a message (the user discarded it); false when it was not there. */
  discard(clientId: string): boolean {
    const removed = this._pending.delete(clientId);
    if (removed) {
      this._onChange();
    }
    return removed;
  }

  /** Remember that the server holds one of our client ids (never pend it again). */
  noteConfirmed(clientId: string): void {
    this._confirmed.add(clientId);
  }

  /**
   * The server's copy of a message arrived: drop our pending copy when it is ours
   * (same client id and, once we know who we are, same user). True when one was dropped.
   * Does not call `onChange`: the caller reports the change with the message it added.
   */
  confirm(message: IMessage, ownUsername: string | null): boolean {
    if (!this._pending.has(message.client_id)) {
      return false;
    }
    if (ownUsername !== null && message.user.username !== ownUsername) {
      return false;
    }
    this._pending.delete(message.client_id);
    this._confirmed.add(message.client_id);
    return true;
  }

  private _set(
    clientId: string,
    status: IPendingMessage['status'],
    error: IProtocolError | null
  ): void {
    const entry = this._pending.get(clientId);
    if (!entry) {
      return;
    }
    this._pending.set(clientId, { ...entry, status, error });
    this._onChange();
  }

  private _onChange: () => void;
  private _pending = new Map<string, IPendingMessage>();
  private _confirmed = new Set<string>();
}

/** The error the server would answer for this text, or null when it is acceptable. */
export function textError(text: string): IProtocolError | null {
  if (!text.trim()) {
    return { code: 'invalid_text', message: trans.__('the text is empty') };
  }
  if (text.length > MAX_TEXT_LENGTH) {
    return {
      code: 'invalid_text',
      message: trans.__('the text is longer than %1 characters', MAX_TEXT_LENGTH)
    };
  }
  return null;
}
