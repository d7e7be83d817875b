/**
 * Classroom mode in the Room view (protocol 1.1): above the chat, the toolbar, the follow
 * request, the own-copy offer, the snippet composer and the poll form; below it, for teachers,
 * the hand queue and the overview. Hidden altogether when the server has no classroom mode.
 */
import type { IClassroomLab, ICollabConnection, ICollabPresence, IRoomSession } from '../tokens';
import { ClassroomBar } from './classroomBar';
import { h } from './dom';
import { FollowBanner } from './followBanner';
import { HandsPane } from './handsPane';
import { OverviewPane } from './overviewPane';
import { OwnCopyOffer } from './ownCopyOffer';
import { PollForm } from './pollForm';
import { SnippetComposer } from './snippetComposer';

export class ClassroomPane {
  /**
   * @param connection the tab's connection (one server or a JupyterHub: the own-copy offer).
   * @param presence cursor presence, when the app has it.
   * @param classroom classroom mode's JupyterLab side, when present.
   */
  constructor(
    connection: ICollabConnection,
    presence: ICollabPresence | null,
    classroom: IClassroomLab | null
  ) {
    this._composer = new SnippetComposer();
    this._pollForm = new PollForm();
    this._bar = new ClassroomBar({
      toggleComposer: () => {
        this._pollForm.toggle(false);
        this._composer.toggle();
      },
      togglePollForm: () => {
        this._composer.toggle(false);
        this._pollForm.toggle();
      }
    });
    this._banner = new FollowBanner(classroom);
    this._offer = new OwnCopyOffer(connection, classroom);
    this._hands = new HandsPane(presence);
    this._overview = new OverviewPane(presence, classroom);
    this.node = h(
      'div',
      { className: 'jp-CollabClass', testid: 'collab-classroom' },
      this._bar.node,
      this._banner.node,
      this._offer.node,
      this._composer.node,
      this._pollForm.node
    );
    this.teacherNode = h(
      'div',
      { className: 'jp-CollabClass-teacher', testid: 'collab-teacher-panel' },
      this._hands.node,
      this._overview.node
    );
    this.node.hidden = true;
    this.teacherNode.hidden = true;
  }

  /** The part above the chat (everyone). */
  readonly node: HTMLElement;
  /** The part below the chat (teachers): hand queue and overview. */
  readonly teacherNode: HTMLElement;

  /** Show another room. */
  setSession(session: IRoomSession | null): void {
    this._session = session;
    this._composer.setSession(session);
    this._pollForm.setSession(session);
    this._composer.toggle(false);
    this._pollForm.toggle(false);
    this._bar.showError('');
    this.render();
  }

  /** The classroom state, the members or the roles changed. */
  render(): void {
    const session = this._session;
    const available = !!session?.classroom.available;
    const teacher = available && session?.role === 'teacher';
    const canShare = teacher || !!session?.classroom.studentSnippets;
    this.node.hidden = !available;
    this.teacherNode.hidden = !teacher;
    if (!canShare) {
      this._composer.toggle(false);
    }
    if (!teacher) {
      this._pollForm.toggle(false);
    }
    if (!available) {
      this._hands.render(null);
      return;
    }
    this._bar.render(session);
    this._banner.render(session);
    this._offer.render(session);
    if (teacher) {
      this._hands.render(session);
      this._overview.render(session);
    } else {
      this._hands.render(null);
    }
  }

  /**
   * Presence changed (others', or this tab's: its notebook), or whom this tab follows, or the
   * connection: the parts that depend on where people are.
   */
  renderPresence(): void {
    const session = this._session;
    if (!session?.classroom.available) {
      return;
    }
    this._banner.render(session);
    this._offer.render(session);
    if (session.role === 'teacher') {
      this._hands.renderLocations();
      this._overview.render(session);
    }
  }

  /** Show a refused request (from elsewhere in the view, e.g. the members list). */
  showError(text: string): void {
    this._bar.showError(text);
  }

  dispose(): void {
    this._bar.dispose();
    this._banner.dispose();
    this._offer.dispose();
    this._composer.dispose();
    this._pollForm.dispose();
    this._hands.dispose();
    this._session = null;
  }

  private _session: IRoomSession | null = null;
  private _bar: ClassroomBar;
  private _banner: FollowBanner;
  private _offer: OwnCopyOffer;
  private _composer: SnippetComposer;
  private _pollForm: PollForm;
  private _hands: HandsPane;
  private _overview: OverviewPane;
}
