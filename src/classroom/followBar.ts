/**
 * FollowBar: the bar over the followed notebook. "Following Ms Lee" with Stop; once paused
 * "Following Ms Lee — paused" with Resume and Stop; the follower's notice (a refusal, why
 * following stopped, a notebook this server does not have) with Dismiss.
 *
 * It sits in the followed notebook panel's content header (between its toolbar and its
 * cells); without a notebook panel it floats at the top of the page.
 */
import type { Panel } from '@lumino/widgets';
import { Widget } from '@lumino/widgets';

import { trans } from '../i18n';
import type { Follower } from './follow';

/** Where the bar can go. */
export interface IBarSlots {
  /**
   * The content header of the notebook panel open at `path` (null: the current notebook's),
   * or null: the bar floats at the top of the page.
   */
  slotFor(path: string | null): Panel | null;
}

export interface IFollowBarOptions {
  /** How long a notice stays once nobody is followed (ms). */
  noticeMs?: number;
}

/** What the bar shows (also its `data-state`). */
export type FollowBarState = 'hidden' | 'following' | 'paused' | 'notice';

/** The default time a notice stays after following stopped. */
export const NOTICE_MS = 15000;

export class FollowBar extends Widget {
  constructor(follower: Follower, slots: IBarSlots, options: IFollowBarOptions = {}) {
    super();
    this._follower = follower;
    this._slots = slots;
    this._noticeMs = options.noticeMs ?? NOTICE_MS;
    this.addClass('jp-CollabFollowBar');
    const node = this.node;
    node.dataset.testid = 'collab-follow-bar';
    node.setAttribute('role', 'region');
    node.setAttribute('aria-label', trans.__('Following'));

    this._label = part('span', 'jp-CollabFollowBar-label', 'collab-follow-label');
    this._notice = part('span', 'jp-CollabFollowBar-notice', 'collab-follow-notice');
    this._notice.setAttribute('role', 'status');
    this._notice.setAttribute('aria-live', 'polite');
    const text = part('div', 'jp-CollabFollowBar-text', null);
    text.append(this._label, this._notice);

    this._resume = button(
      trans.__('Resume'),
      'collab-follow-resume',
      trans.__('Jump to where they are now')
    );
    this._stop = button(trans.__('Stop'), 'collab-follow-stop', trans.__('Stop following'));
    this._dismiss = button(
      trans.__('Dismiss'),
      'collab-follow-dismiss',
      trans.__('Hide this message')
    );
    this._resume.classList.add('jp-mod-accept');
    this._resume.addEventListener('click', () => this._follower.resume());
    this._stop.addEventListener('click', () => this._follower.stop());
    this._dismiss.addEventListener('click', () => this._follower.dismissNotice());
    const actions = part('div', 'jp-CollabFollowBar-actions', null);
    actions.append(this._resume, this._stop, this._dismiss);
    node.append(text, actions);

    follower.changed.connect(this.refresh, this);
    this.refresh();
  }

  /** What is shown now. */
  get state(): FollowBarState {
    return this._state;
  }

  /** Render the follower's state and put the bar where it belongs. */
  refresh(): void {
    if (this.isDisposed) {
      return;
    }
    const following = this._follower.following;
    const notice = this._follower.notice;
    let state: FollowBarState = 'hidden';
    if (following) {
      state = following.paused ? 'paused' : 'following';
    } else if (notice) {
      state = 'notice';
    }
    this._state = state;
    this.node.dataset.state = state;
    this._label.textContent = following
      ? following.paused
        ? trans.__('Following %1 — paused', following.name)
        : trans.__('Following %1', following.name)
      : '';
    this._label.hidden = !following;
    this._notice.textContent = notice ?? '';
    this._notice.title = notice ?? '';
    this._notice.hidden = !notice;
    this._resume.hidden = state !== 'paused';
    this._stop.hidden = !following;
    this._dismiss.hidden = state !== 'notice';
    this.toggleClass('jp-mod-paused', state === 'paused');
    this.toggleClass('jp-mod-notice', state === 'notice');
    this.toggleClass('jp-mod-twoLines', !!following && !!notice);
    this._scheduleDismiss(state === 'notice' ? notice : null);
    this._place(state !== 'hidden');
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._follower.changed.disconnect(this.refresh, this);
    this._scheduleDismiss(null);
    super.dispose();
  }

  /** Show the bar in its slot (or floating), or take it away. */
  private _place(visible: boolean): void {
    const slot = visible ? this._slots.slotFor(this._follower.path) : null;
    const oldParent = this.parent;
    if (!visible || slot !== oldParent) {
      if (oldParent) {
        this.parent = null;
        oldParent.fit();
      } else if (this.isAttached) {
        Widget.detach(this);
      }
    }
    this.toggleClass('jp-mod-floating', visible && !slot);
    if (!visible) {
      return;
    }
    if (slot) {
      if (this.parent !== slot) {
        slot.insertWidget(0, this);
      }
      slot.fit();
    } else if (!this.isAttached) {
      Widget.attach(this, document.body);
    }
  }

  /** Take the notice away after a while once nobody is followed. */
  private _scheduleDismiss(notice: string | null): void {
    if (notice === this._timedNotice) {
      return;
    }
    if (this._timer !== null) {
      window.clearTimeout(this._timer);
      this._timer = null;
    }
    this._timedNotice = notice;
    if (notice !== null) {
      this._timer = window.setTimeout(() => {
        this._timer = null;
        if (this._follower.notice === notice && !this._follower.following) {
          this._follower.dismissNotice();
        }
      }, this._noticeMs);
    }
  }

  private _follower: Follower;
  private _slots: IBarSlots;
  private _noticeMs: number;
  private _label: HTMLElement;
  private _notice: HTMLElement;
  private _resume: HTMLButtonElement;
  private _stop: HTMLButtonElement;
  private _dismiss: HTMLButtonElement;
  private _state: FollowBarState = 'hidden';
  private _timer: number | null = null;
  private _timedNotice: string | null = null;
}

/** An element with a class and, when given, a test id. */
function part<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  testid: string | null
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  el.className = className;
  if (testid) {
    el.dataset.testid = testid;
  }
  return el;
}

function button(label: string, testid: string, title: string): HTMLButtonElement {
  const el = part('button', 'jp-CollabFollowBar-button', testid);
  el.type = 'button';
  el.textContent = label;
  el.title = title;
  return el;
}
