/**
 * The translations of collab-widget's user interface, for JupyterLab language packs.
 *
 * Every string a person reads in the front end goes through `trans`:
 *
 *     import { trans } from '../i18n';
 *     trans.__('Raise hand');
 *     trans.__('%1 raised a hand', name);              // placeholders %1, %2, ...
 *     trans._n('%1 member', '%1 members', n);          // %1 is n
 *     trans._n('%1 packet (last %2 kept)', '%1 packets (last %2 kept)', n, limit); // %2 on
 *
 * The domain is `collab_widget`, the Python package's name, as JupyterLab's language packs
 * name the domain of an extension (a pack ships `locale/<lang>/LC_MESSAGES/collab_widget.po`).
 * Until `setTranslator` is called the strings stay English (JupyterLab's `nullTranslator`);
 * the connection plugin, the first to activate, calls it with the app's `ITranslator`, before
 * any view exists. Views read `trans` whenever they render, so they use the current bundle.
 *
 * Write `trans.__('literal', ...)` (not a template string, nor a variable, as the message):
 * jupyterlab-translate extracts the literals of calls to `trans.__`, `trans._n`, `trans._p`
 * and `trans._np`. Names, paths and numbers go in as placeholders, never into the message.
 * `trans()` returns the bundle itself (a TranslationBundle), for code that wants one.
 */
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';

/** The translation domain of collab-widget (its Python package's name). */
export const TRANSLATION_DOMAIN = 'collab_widget';

/** A value for a placeholder `%1`, `%2`, ... */
export type TranslationArg = string | number;

/** The current bundle as a function (`trans()`), and its gettext shorthands. */
export interface ITrans {
  /** The current translation bundle of the `collab_widget` domain. */
  (): TranslationBundle;
  /** Translate `msgid`, then fill its placeholders `%1`, `%2`, ... with `args`. */
  __(msgid: string, ...args: TranslationArg[]): string;
  /** Translate by number: `%1` is `n`, `%2`, ... are `args`. */
  _n(msgid: string, msgidPlural: string, n: number, ...args: TranslationArg[]): string;
  /** Translate `msgid` in a context (the same English word meaning two things). */
  _p(msgctxt: string, msgid: string, ...args: TranslationArg[]): string;
  /** Translate by number, in a context. */
  _np(
    msgctxt: string,
    msgid: string,
    msgidPlural: string,
    n: number,
    ...args: TranslationArg[]
  ): string;
}

let bundle: TranslationBundle = nullTranslator.load(TRANSLATION_DOMAIN);

/**
 * Translate collab-widget with `translator` (JupyterLab's ITranslator) from now on; null goes
 * back to English. Strings already shown stay as they are until their view renders them again.
 */
export function setTranslator(translator: ITranslator | null): void {
  bundle = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
}

/**
 * collab-widget's translations: `trans.__(...)`, `trans._n(...)`, ... always use the bundle
 * of the translator set last (see the module's documentation); `trans()` returns that bundle.
 */
export const trans: ITrans = Object.assign((): TranslationBundle => bundle, {
  __: (msgid: string, ...args: TranslationArg[]): string => bundle.__(msgid, ...args),
  _n: (msgid: string, msgidPlural: string, n: number, ...args: TranslationArg[]): string =>
    bundle._n(msgid, msgidPlural, n, ...args),
  _p: (msgctxt: string, msgid: string, ...args: TranslationArg[]): string =>
    bundle._p(msgctxt, msgid, ...args),
  _np: (
    msgctxt: string,
    msgid: string,
    msgidPlural: string,
    n: number,
    ...args: TranslationArg[]
  ): string => bundle._np(msgctxt, msgid, msgidPlural, n, ...args)
});
