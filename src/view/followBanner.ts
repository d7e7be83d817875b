/**
 * A teacher's "follow me" request, as everyone else sees it: "Ms Lee asks you to follow them:
 * Follow / Not now". Never forced: following starts only on "Follow"; "Not now" hides this
 * request until a new one comes.
 */
import { trans } from '../i18n';
import type { IClassroomLab, IRoomSession } from '../tokens';
import { displayName } from '../util';
import { followingOf } from './classroomInfo';
import { h, smallButton } from './dom';

/** What the banner shows; null: nothing. */
export interface IFollowOffer {
  /** The request's user (whom to follow) and their name. */
  readonly username: string;
  readonly name: string;
  /** Identifies the request: "Not now" hides it until the key changes. */
  readonly key: string;
  /** Why "Follow" cannot work here ('' when it can). */
  readonly blocked: string;
}

/**
 * The request to show, if any: there is one, by someone else, not dismissed, and this tab
 * does not already follow them.
 *
 * @param dismissed the key of the request the user answered "Not now".
 */
export function followOffer(
  session: IRoomSession,
  classroom: IClassroomLab | null,
  dismissed: string | null
): IFollowOffer | null {
  const request = session.classroom.follow;
  const you = session.you?.username;
  if (!session.classroom.available || !request || !you || request.user === you) {
    return null;
  }
  const key = `${request.user}\u0000${request.ts}`;
  if (key === dismissed) {
    return null;
  }
  const following = classroom?.following;
  if (following && following.room === session.name && following.username === request.user) {
    return null;
  }
  const member = session.members.find(m => m.username === request.user);
  const name = member ? displayName(member) : request.user;
  let blocked = '';
  if (!classroom) {
    blocked = trans.__('Following needs JupyterLab');
  } else if (followingOf(session.presence.values(), request.user) === you) {
    blocked = trans.__('%1 follows you: two people cannot follow each other', name);
  }
  return { username: request.user, name, key, blocked };
}

export class FollowBanner {
  /** @param classroom classroom mode's JupyterLab side (it follows), when present. */
  constructor(classroom: IClassroomLab | null) {
    this._classroom = classroom;
    this._text = h('span', { className: 'jp-CollabClass-bannerText' });
    this._accept = smallButton('collab-follow-accept', trans.__('Follow'), {
      className: 'jp-mod-accept'
    });
    this._decline = smallButton('collab-follow-decline', trans.__('Not now'));
    this.node = h(
      'div',
      {
        className: 'jp-CollabClass-banner',
        testid: 'collab-follow-request',
        attrs: { role: 'status' }
      },
      this._text,
      this._accept,
      this._decline
    );
    this.node.hidden = true;
    this._accept.addEventListener('click', this._onAccept);
    this._decline.addEventListener('click', this._onDecline);
  }

  readonly node: HTMLElement;

  /** Show the room's current request (or hide the banner). */
  render(session: IRoomSession | null): void {
    this._session = session;
    const offer = session ? followOffer(session, this._classroom, this._dismissed) : null;
    this._offer = offer;
    const key = offer ? JSON.stringify(offer) : '';
    if (this.node.dataset.key === key) {
      return;
    }
    this.node.dataset.key = key;
    this.node.hidden = offer === null;
    if (!offer) {
      return;
    }
    this._text.textContent = trans.__('%1 asks you to follow them:', offer.name);
    this._accept.disabled = offer.blocked !== '';
    this._accept.title =
      offer.blocked || trans.__("Open %1's notebook and keep their cell in view", offer.name);
  }

  dispose(): void {
    this._accept.removeEventListener('click', this._onAccept);
    this._decline.removeEventListener('click', this._onDecline);
    this._session = null;
  }

  private _onAccept = (): void => {
    const session = this._session;
    const offer = this._offer;
    if (session && offer && this._classroom && !offer.blocked) {
      this._classroom.follow({ session, username: offer.username });
      // Answered: the banner stays away for this request, followed or not.
      this._dismissed = offer.key;
      this.render(session);
    }
  };

  private _onDecline = (): void => {
    if (this._offer) {
      this._dismissed = this._offer.key;
      this.render(this._session);
    }
  };

  private _classroom: IClassroomLab | null;
  private _session: IRoomSession | null = null;
  private _offer: IFollowOffer | null = null;
  private _dismissed: string | null = null;
  private _text: HTMLElement;
  private _accept: HTMLButtonElement;
  private _decline: HTMLButtonElement;
}
