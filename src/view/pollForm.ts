/**
 * "New poll" (teachers): a question and its options, one per line; "Done?" / "yes", "not yet"
 * by default. The poll goes to the chat as a poll card.
 */
import { trans } from '../i18n';
import { MAX_POLL_OPTIONS, MAX_POLL_QUESTION } from '../limits';
import { pollError } from '../room/classroom';
import type { IRoomSession } from '../tokens';
import { errorText } from './classroomInfo';
import { h, keepKeys, smallButton } from './dom';

/** The form's defaults (in the user's language). */
export function defaultPoll(): { question: string; options: string[] } {
  return { question: trans.__('Done?'), options: [trans.__('yes'), trans.__('not yet')] };
}

/** The options written one per line: trimmed, blank lines left out. */
export function parseOptions(text: string): string[] {
  return text
    .split('\n')
    .map(line => line.trim())
    .filter(line => line.length > 0);
}

export class PollForm {
  constructor() {
    this._question = h('input', {
      className: 'jp-CollabClass-textInput',
      testid: 'collab-poll-question-input',
      attrs: {
        type: 'text',
        'aria-label': trans.__('Question'),
        placeholder: trans.__('Question'),
        maxlength: String(MAX_POLL_QUESTION)
      }
    });
    this._options = h('textarea', {
      className: 'jp-CollabClass-textInput',
      testid: 'collab-poll-options',
      attrs: {
        rows: '3',
        'aria-label': trans.__('Options, one per line (2-%1)', MAX_POLL_OPTIONS),
        placeholder: trans.__('Options, one per line')
      }
    });
    keepKeys(this._question);
    keepKeys(this._options);
    this._submit = smallButton('collab-poll-submit', trans.__('Ask'), {
      className: 'jp-mod-accept',
      title: trans.__('Post the poll in the chat')
    });
    this._cancel = smallButton('collab-poll-cancel', trans.__('Cancel'));
    this._error = h('span', {
      className: 'jp-CollabClass-error',
      testid: 'collab-poll-form-error',
      attrs: { role: 'alert' }
    });
    this.node = h(
      'form',
      {
        className: 'jp-CollabClass-pollForm',
        testid: 'collab-poll-new',
        attrs: { 'aria-label': trans.__('New poll') }
      },
      h(
        'label',
        { className: 'jp-CollabClass-field' },
        h('span', { text: trans.__('Question') }),
        this._question
      ),
      h(
        'label',
        { className: 'jp-CollabClass-field' },
        h('span', { text: trans.__('Options, one per line') }),
        this._options
      ),
      h('div', { className: 'jp-CollabClass-actions' }, this._submit, this._cancel, this._error)
    );
    this.node.hidden = true;
    this._reset();
    this.node.addEventListener('submit', this._onSubmit);
    this._submit.addEventListener('click', this._onSubmit);
    this._cancel.addEventListener('click', this._onCancel);
  }

  readonly node: HTMLFormElement;

  setSession(session: IRoomSession | null): void {
    this._session = session;
  }

  /** Show (focused) or hide the form. */
  toggle(show: boolean = this.node.hidden): void {
    this.node.hidden = !show;
    if (show) {
      this._question.focus();
    }
  }

  dispose(): void {
    this.node.removeEventListener('submit', this._onSubmit);
    this._submit.removeEventListener('click', this._onSubmit);
    this._cancel.removeEventListener('click', this._onCancel);
    this._session = null;
  }

  private _reset(): void {
    const defaults = defaultPoll();
    this._question.value = defaults.question;
    this._options.value = defaults.options.join('\n');
    this._error.textContent = '';
  }

  private async _post(): Promise<void> {
    const session = this._session;
    if (!session || this._submit.disabled) {
      return;
    }
    const question = this._question.value.trim();
    const options = parseOptions(this._options.value);
    const invalid = pollError(question, options);
    if (invalid) {
      this._error.textContent = invalid.message;
      return;
    }
    this._submit.disabled = true;
    this._error.textContent = '';
    const error = await session.createPoll(question, options);
    this._submit.disabled = false;
    if (error) {
      this._error.textContent = errorText(error);
      return;
    }
    this._reset();
    this.toggle(false);
  }

  private _onSubmit = (event: Event): void => {
    event.preventDefault();
    void this._post();
  };

  private _onCancel = (): void => {
    this._reset();
    this.toggle(false);
  };

  private _session: IRoomSession | null = null;
  private _question: HTMLInputElement;
  private _options: HTMLTextAreaElement;
  private _submit: HTMLButtonElement;
  private _cancel: HTMLButtonElement;
  private _error: HTMLElement;
}
