/**
 * Translations (src/i18n.ts): English by default, placeholders and plurals as JupyterLab's
 * gettext does them, and a translator set with setTranslator changing what the views show
 * and the log lines the room composes (a French bundle loaded like a language pack's).
 */
import { Signal } from '@lumino/signaling';
import { Gettext, ITranslator, nullTranslator } from '@jupyterlab/translation';

import { setTranslator, trans, TRANSLATION_DOMAIN } from '../i18n';
import type { ICollabConnection } from '../tokens';
import { timeAgo } from '../view/classroomInfo';
import { ClassroomPane } from '../view/classroomPane';
import { pollCard, updatePollCard } from '../view/pollCard';
import {
  ana,
  ben,
  classroom,
  flush,
  hand,
  joined,
  lee,
  poll,
  pollMessage
} from './classroomFixtures';

/** French for a few of collab-widget's strings, as a language pack's collab_widget.json. */
const FRENCH = {
  '': { domain: 'collab_widget', language: 'fr', pluralForms: 'nplurals=2; plural=(n > 1);' },
  'Raise hand': ['Lever la main'],
  'Lower hand': ['Baisser la main'],
  'Lower your hand': ['Baisser votre main'],
  Classroom: ['Classe'],
  '%1 raised a hand': ['%1 a levé la main'],
  '%1 of %2 answered': ['%1 sur %2 ont répondu'],
  'Not answered: %1': ['Sans réponse : %1'],
  'Close poll': ['Clore le sondage'],
  poll: ['sondage'],
  open: ['ouvert'],
  '%1 min ago': ['il y a %1 min', 'il y a %1 min'],
  '%1 raised hand': ['%1 main levée', '%1 mains levées']
};

/** An ITranslator whose bundles are Gettext instances with FRENCH; records the domains. */
function frenchTranslator(): ITranslator & { domains: string[] } {
  const domains: string[] = [];
  return {
    languageCode: 'fr',
    domains,
    load(domain: string) {
      domains.push(domain);
      const bundle = new Gettext({ domain, locale: 'fr' });
      bundle.loadJSON(FRENCH, domain);
      return bundle;
    }
  };
}

function fakeConnection(): ICollabConnection {
  return {
    state: 'connected',
    transport: 'websocket',
    serviceState: '',
    statusChanged: new Signal<object, void>({})
  } as unknown as ICollabConnection;
}

function q<T extends HTMLElement = HTMLElement>(root: ParentNode, testid: string): T {
  const el = root.querySelector<T>(`[data-testid="${testid}"]`);
  if (!el) {
    throw new Error(`no ${testid}`);
  }
  return el;
}

afterEach(() => {
  setTranslator(null);
});

describe('trans', () => {
  it('is English by default, with placeholders and plurals', () => {
    expect(trans.__('Raise hand')).toBe('Raise hand');
    expect(trans.__('%1 raised a hand', 'Ana')).toBe('Ana raised a hand');
    expect(trans.__('%1 is in %2.', 'Ana', 'a.ipynb')).toBe('Ana is in a.ipynb.');
    expect(trans._n('%1 tab', '%1 tabs', 1)).toBe('1 tab');
    expect(trans._n('%1 tab', '%1 tabs', 3)).toBe('3 tabs');
    expect(trans._n('%1 packet (last %2 kept)', '%1 packets (last %2 kept)', 2, 500)).toBe(
      '2 packets (last 500 kept)'
    );
    // a placeholder's value is never read as a placeholder
    expect(trans.__('Not answered: %1', '%2 and %1')).toBe('Not answered: %2 and %1');
    expect(trans()).toBe(nullTranslator.load(TRANSLATION_DOMAIN));
  });

  it('loads the collab_widget domain of the translator it is given', () => {
    const french = frenchTranslator();
    setTranslator(french);
    expect(french.domains).toEqual(['collab_widget']);
    expect(trans.__('Raise hand')).toBe('Lever la main');
    expect(trans.__('%1 raised a hand', 'Ana')).toBe('Ana a levé la main');
    // French plural rule: 0 and 1 are singular
    expect(trans._n('%1 raised hand', '%1 raised hands', 0)).toBe('0 main levée');
    expect(trans._n('%1 raised hand', '%1 raised hands', 2)).toBe('2 mains levées');
    expect(timeAgo(0, 120_000)).toBe('il y a 2 min');
    // what the pack lacks stays English
    expect(trans.__('Share code')).toBe('Share code');
    setTranslator(null);
    expect(trans.__('Raise hand')).toBe('Raise hand');
  });
});

describe('a translated view', () => {
  it('shows the hand toggle in the language of the translator', async () => {
    setTranslator(frenchTranslator());
    const { s, socket } = joined(ana);
    const pane = new ClassroomPane(fakeConnection(), null, null);
    pane.setSession(s);
    const toggle = q<HTMLButtonElement>(pane.node, 'collab-hand-toggle');
    expect(toggle.textContent).toBe('✋ Lever la main');
    expect(pane.node.querySelector('[role=toolbar]')?.getAttribute('aria-label')).toBe('Classe');
    toggle.click();
    socket.answer('hand', { ok: true, hands: [hand('ana', 5)] });
    await flush();
    expect(toggle.textContent).toBe('Baisser la main');
    expect(toggle.title).toBe('Baisser votre main');
    pane.dispose();
  });

  it('shows a poll card in the language of the translator', () => {
    setTranslator(frenchTranslator());
    const view = poll(7, { counts: [1, 0], answers: { ana: 0 }, answered: 1 });
    const { s } = joined(lee, [lee, ana, ben], classroom({ polls: [view] }));
    const m = pollMessage(7);
    const el = pollCard(m, false);
    updatePollCard(el, m, s.classroom.polls[0], { teacher: true, students: [ana, ben] });
    expect(el.querySelector('.jp-CollabClass-cardKind')?.textContent).toBe('sondage');
    expect(q(el, 'collab-poll-state').textContent).toBe('ouvert');
    expect(q(el, 'collab-poll-answered').textContent).toBe('1 sur 2 ont répondu');
    expect(q(el, 'collab-poll-missing').textContent).toBe('Sans réponse : Ben');
    expect(q(el, 'collab-poll-close').textContent).toBe('Clore le sondage');
    // the user's own words are not translated
    expect(q(el, 'collab-poll-question').textContent).toBe('Done?');
  });

  it('writes the log lines the room composes in that language', () => {
    setTranslator(frenchTranslator());
    const { s } = joined(lee, [lee, ana]);
    s.onHandEvent({ room: 'r', hand: hand('ana', 5, 'Ana'), raised: true, by: 'ana', ts: 5 });
    expect(s.log[s.log.length - 1].text).toBe('Ana a levé la main');
  });
});
