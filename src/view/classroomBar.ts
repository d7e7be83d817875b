/**
 * Classroom mode's toolbar: "Raise hand" / "Lower hand" for everyone; "Share code" for those
 * who may; for teachers "Ask everyone to follow me", "New poll" and "Students may share code".
 * A refused request shows on its line.
 */
import { trans } from '../i18n';
import type { IProtocolError } from '../protocol';
import type { IRoomSession } from '../tokens';
import { errorText } from './classroomInfo';
import { h, smallButton } from './dom';

/** What the bar's two panel buttons open (the composer and the poll form belong to the pane). */
export interface IClassroomBarPanels {
  /** "Share code": show or hide the snippet composer. */
  toggleComposer(): void;
  /** "New poll": show or hide the poll form. */
  togglePollForm(): void;
}

export class ClassroomBar {
  constructor(panels: IClassroomBarPanels) {
    this._panels = panels;
    this._hand = smallButton('collab-hand-toggle', trans.__('Raise hand'), {
      className: 'jp-CollabClass-handToggle'
    });
    this._follow = smallButton('collab-follow-ask', trans.__('Ask everyone to follow me'));
    this._share = smallButton('collab-snippet-open', trans.__('Share code'), {
      title: trans.__('Share a code snippet in the chat')
    });
    this._poll = smallButton('collab-poll-open', trans.__('New poll'), {
      title: trans.__('Ask the room a quick question')
    });
    this._snippets = h('input', {
      testid: 'collab-student-snippets',
      attrs: { type: 'checkbox', 'data-lm-suppress-shortcuts': 'true' }
    });
    this._snippetsLabel = h(
      'label',
      {
        className: 'jp-CollabClass-check',
        attrs: { title: trans.__('Let students share code snippets in the chat too') }
      },
      this._snippets,
      h('span', { text: trans.__('Students may share code') })
    );
    this._error = h('span', {
      className: 'jp-CollabClass-error',
      testid: 'collab-classroom-error',
      attrs: { role: 'alert' }
    });
    this.node = h(
      'div',
      {
        className: 'jp-CollabClass-toolbar',
        attrs: { role: 'toolbar', 'aria-label': trans.__('Classroom') }
      },
      this._hand,
      this._follow,
      this._share,
      this._poll,
      this._snippetsLabel,
      this._error
    );
    this._hand.addEventListener('click', this._onHand);
    this._follow.addEventListener('click', this._onFollow);
    this._share.addEventListener('click', this._onShare);
    this._poll.addEventListener('click', this._onPoll);
    this._snippets.addEventListener('change', this._onSnippets);
  }

  readonly node: HTMLElement;

  /** Show the controls this user has (role, raised hand, follow request, settings). */
  render(session: IRoomSession | null): void {
    this._session = session;
    const classroom = session?.classroom;
    const you = session?.you?.username ?? null;
    if (!session || !classroom || !you) {
      return;
    }
    const teacher = session.role === 'teacher';
    const raised = classroom.hands.some(x => x.user === you);
    this._hand.textContent = raised ? trans.__('Lower hand') : `✋ ${trans.__('Raise hand')}`;
    this._hand.title = raised
      ? trans.__('Lower your hand')
      : trans.__('Raise your hand: the teacher sees it');
    this._hand.setAttribute('aria-pressed', String(raised));
    this._hand.dataset.raised = String(raised);
    const asking = classroom.follow?.user === you;
    this._follow.hidden = !teacher;
    this._follow.textContent = asking
      ? trans.__('Stop asking')
      : trans.__('Ask everyone to follow me');
    this._follow.title = asking
      ? trans.__('Stop asking the room to follow you')
      : trans.__('Ask everyone to follow you: each of them may accept or not');
    this._follow.setAttribute('aria-pressed', String(asking));
    this._share.hidden = !(teacher || classroom.studentSnippets);
    this._poll.hidden = !teacher;
    this._snippetsLabel.hidden = !teacher;
    this._snippets.checked = classroom.studentSnippets;
  }

  /** Show a refusal (or clear it with ''). */
  showError(text: string): void {
    this._error.textContent = text;
  }

  dispose(): void {
    this._hand.removeEventListener('click', this._onHand);
    this._follow.removeEventListener('click', this._onFollow);
    this._share.removeEventListener('click', this._onShare);
    this._poll.removeEventListener('click', this._onPoll);
    this._snippets.removeEventListener('change', this._onSnippets);
    this._session = null;
  }

  /** Run a request with its control disabled; show a refusal. */
  private async _run(
    control: HTMLButtonElement | HTMLInputElement,
    request: Promise<IProtocolError | null>
  ): Promise<void> {
    control.disabled = true;
    this.showError('');
    const error = await request;
    control.disabled = false;
    if (error) {
      this.showError(errorText(error));
    }
    this.render(this._session);
  }

  private _onHand = (): void => {
    const session = this._session;
    if (session?.you) {
      const raised = session.classroom.hands.some(x => x.user === session.you?.username);
      void this._run(this._hand, session.raiseHand(!raised));
    }
  };

  private _onFollow = (): void => {
    const session = this._session;
    if (session?.you) {
      const asking = session.classroom.follow?.user === session.you.username;
      void this._run(this._follow, session.askToFollow(!asking));
    }
  };

  private _onShare = (): void => {
    this._panels.toggleComposer();
  };

  private _onPoll = (): void => {
    this._panels.togglePollForm();
  };

  private _onSnippets = (): void => {
    const session = this._session;
    if (session) {
      void this._run(this._snippets, session.setStudentSnippets(this._snippets.checked));
    }
  };

  private _panels: IClassroomBarPanels;
  private _session: IRoomSession | null = null;
  private _hand: HTMLButtonElement;
  private _follow: HTMLButtonElement;
  private _share: HTMLButtonElement;
  private _poll: HTMLButtonElement;
  private _snippets: HTMLInputElement;
  private _snippetsLabel: HTMLElement;
  private _error: HTMLElement;
}
