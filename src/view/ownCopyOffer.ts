/**
 * Own copies on a shared server (students): when others have the same notebook file open on
 * this one server, without real-time collaboration, they share its kernel and overwrite each
 * other's saves. The offer: "Make my own copy".
 */
import { trans } from '../i18n';
import type { IClassroomLab, ICollabConnection, IRoomSession } from '../tokens';
import { othersAt } from './classroomInfo';
import { h, smallButton } from './dom';

/**
 * The notebook and how many others have it open on this server, when the offer applies (a
 * student, one server rather than a JupyterHub, no real-time collaboration on that notebook,
 * someone else there); else null.
 */
export function ownCopyOthers(
  session: IRoomSession,
  connection: Pick<ICollabConnection, 'serviceState'>,
  classroom: IClassroomLab | null
): { path: string; others: number } | null {
  const path = classroom?.currentPath ?? null;
  if (
    !classroom ||
    !path ||
    !session.classroom.available ||
    session.role !== 'student' ||
    connection.serviceState !== '' ||
    classroom.isRealTime(path)
  ) {
    return null;
  }
  const others = othersAt(path, session.presence.values(), session.you?.username ?? null);
  return others > 0 ? { path, others } : null;
}

export class OwnCopyOffer {
  /** @param classroom classroom mode's JupyterLab side (it makes the copy), when present. */
  constructor(connection: ICollabConnection, classroom: IClassroomLab | null) {
    this._connection = connection;
    this._classroom = classroom;
    this._text = h('span', { className: 'jp-CollabClass-bannerText' });
    this._make = smallButton('collab-own-copy-make', trans.__('Make my own copy'), {
      className: 'jp-mod-accept',
      title: trans.__('Duplicate this notebook under a name with yours and open the copy')
    });
    this._dismiss = smallButton('collab-own-copy-dismiss', trans.__('Dismiss'));
    this._result = h('span', {
      className: 'jp-CollabClass-result',
      testid: 'collab-own-copy-result',
      attrs: { role: 'status' }
    });
    this.node = h(
      'div',
      { className: 'jp-CollabClass-banner jp-mod-warn', testid: 'collab-own-copy' },
      this._text,
      this._make,
      this._dismiss,
      this._result
    );
    this.node.hidden = true;
    this._make.addEventListener('click', this._onMake);
    this._dismiss.addEventListener('click', this._onDismiss);
  }

  readonly node: HTMLElement;

  /** Show the offer when it applies (or the copy's outcome until dismissed). */
  render(session: IRoomSession | null): void {
    this._session = session;
    if (this._done) {
      return; // the outcome stays until dismissed
    }
    const offer = session ? ownCopyOthers(session, this._connection, this._classroom) : null;
    const show = offer !== null && offer.path !== this._dismissed;
    this.node.hidden = !show;
    this._path = show && offer ? offer.path : null;
    if (show && offer) {
      const n = offer.others;
      this._text.textContent = trans._n(
        '%1 other has this notebook open on this server: you share its kernel and its saves.',
        '%1 others have this notebook open on this server: you share its kernel and its saves.',
        n
      );
    }
  }

  dispose(): void {
    this._make.removeEventListener('click', this._onMake);
    this._dismiss.removeEventListener('click', this._onDismiss);
    this._session = null;
  }

  private async _makeCopy(): Promise<void> {
    const path = this._path;
    if (!path || !this._classroom || this._make.disabled) {
      return;
    }
    this._make.disabled = true;
    this._result.textContent = trans.__('Copying…');
    this._result.dataset.failed = 'false';
    try {
      const copy = await this._classroom.makeOwnCopy(path);
      this._done = true;
      this._make.hidden = true;
      this._text.textContent = '';
      this._result.textContent = trans.__('Your own copy: %1', copy);
    } catch (e) {
      this._result.textContent = e instanceof Error ? e.message : String(e);
      this._result.dataset.failed = 'true';
    } finally {
      this._make.disabled = false;
    }
  }

  private _onMake = (): void => {
    void this._makeCopy();
  };

  private _onDismiss = (): void => {
    this._dismissed = this._path;
    this._done = false;
    this._make.hidden = false;
    this._result.textContent = '';
    this.node.hidden = true;
    this.render(this._session);
  };

  private _connection: ICollabConnection;
  private _classroom: IClassroomLab | null;
  private _session: IRoomSession | null = null;
  /** The notebook the offer is about. */
  private _path: string | null = null;
  /** The notebook whose offer was dismissed. */
  private _dismissed: string | null = null;
  /** A copy was made: its outcome shows until dismissed. */
  private _done = false;
  private _text: HTMLElement;
  private _make: HTMLButtonElement;
  private _dismiss: HTMLButtonElement;
  private _result: HTMLElement;
}
