/**
 * "Share code": a text area for a code snippet and its Share button (teachers, and students
 * when the room allows it). The snippet goes to the chat as a code card.
 */
import { trans } from '../i18n';
import { MAX_TEXT_LENGTH } from '../limits';
import type { IRoomSession } from '../tokens';
import { errorText } from './classroomInfo';
import { h, keepKeys, smallButton } from './dom';

export class SnippetComposer {
  constructor() {
    this._code = h('textarea', {
      className: 'jp-CollabClass-codeInput',
      testid: 'collab-snippet-input',
      attrs: {
        rows: '4',
        spellcheck: 'false',
        placeholder: trans.__('Code to share (Ctrl+Enter to share)'),
        'aria-label': trans.__('Code to share'),
        maxlength: String(MAX_TEXT_LENGTH)
      }
    });
    keepKeys(this._code);
    this._shareButton = smallButton('collab-snippet-share', trans.__('Share'), {
      className: 'jp-mod-accept',
      title: trans.__('Share this code in the chat: nobody runs it unless they choose to')
    });
    this._error = h('span', {
      className: 'jp-CollabClass-error',
      testid: 'collab-snippet-error',
      attrs: { role: 'alert' }
    });
    this.node = h(
      'div',
      { className: 'jp-CollabClass-composer', testid: 'collab-snippet-compose' },
      this._code,
      h('div', { className: 'jp-CollabClass-actions' }, this._shareButton, this._error)
    );
    this.node.hidden = true;
    this._shareButton.addEventListener('click', this._onShare);
    this._code.addEventListener('keydown', this._onKeyDown);
  }

  readonly node: HTMLElement;

  setSession(session: IRoomSession | null): void {
    this._session = session;
  }

  /** Show (focused) or hide the composer. */
  toggle(show: boolean = this.node.hidden): void {
    this.node.hidden = !show;
    if (show) {
      this._code.focus();
    }
  }

  dispose(): void {
    this._shareButton.removeEventListener('click', this._onShare);
    this._code.removeEventListener('keydown', this._onKeyDown);
    this._session = null;
  }

  private async _share(): Promise<void> {
    const session = this._session;
    const code = this._code.value;
    if (!session || !code.trim() || this._shareButton.disabled) {
      return;
    }
    this._shareButton.disabled = true;
    this._error.textContent = '';
    const error = await session.shareSnippet(code);
    this._shareButton.disabled = false;
    if (error) {
      this._error.textContent = errorText(error);
      return;
    }
    this._code.value = '';
    this.toggle(false);
  }

  private _onShare = (): void => {
    void this._share();
  };

  private _onKeyDown = (event: KeyboardEvent): void => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      void this._share();
    }
  };

  private _session: IRoomSession | null = null;
  private _code: HTMLTextAreaElement;
  private _shareButton: HTMLButtonElement;
  private _error: HTMLElement;
}
