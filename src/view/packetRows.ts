/**
 * The Network pane's DOM pieces: one captured packet as a list row, and the handshake.
 * Everything that came over the wire goes in through textContent only.
 */
import { trans } from '../i18n';
import type { IPacketRecord } from '../inspector/packets';
import type { IHandshakeInfo } from '../tokens';
import { formatClock } from '../util';
import { h } from './dom';

/** HH:MM:SS.mmm in local time. */
export function formatClockMs(ts: number): string {
  const ms = Math.floor(ts % 1000);
  return `${formatClock(ts)}.${String(ms).padStart(3, '0')}`;
}

/** "message · EVENT", "ping", "message · binary". */
export function typeText(r: IPacketRecord): string {
  return r.socket ? `${r.engine} · ${r.socket}` : r.engine;
}

/** The round-trip cell's text and tooltip, once the record is matched. */
export function rttText(r: IPacketRecord): { text: string; title: string } {
  if (r.rtt === null) {
    const waiting = r.ackId !== null && (r.socket === 'EVENT' || r.socket === 'BINARY_EVENT');
    return waiting
      ? { text: trans.__('ack #%1…', r.ackId ?? ''), title: trans.__('waiting for its ACK') }
      : blank;
  }
  const ms = trans.__('%1 ms', r.rtt);
  if (r.engine === 'ping') {
    return {
      text: trans.__('pong in %1', ms),
      title: trans.__('this tab answered with a pong %1 later', ms)
    };
  }
  if (r.engine === 'pong') {
    return { text: `+${ms}`, title: trans.__("answers the server's ping of %1 before", ms) };
  }
  if (r.socket === 'ACK' || r.socket === 'BINARY_ACK') {
    return {
      text: `↩ ${ms}`,
      title: trans.__('round trip: this ACK came %1 after its EVENT', ms)
    };
  }
  return {
    text: trans.__('acked %1', ms),
    title: trans.__('round trip: its ACK came %1 later', ms)
  };
}

const blank = { text: '', title: '' };

/** One packet as a list item (data attributes for styling, filtering and tests). */
export function packetRow(r: IPacketRecord): HTMLLIElement {
  const li = h('li', {
    className: `jp-CollabNet-packet jp-mod-${r.dir}`,
    testid: 'packet',
    attrs: { title: r.wire }
  });
  const data = li.dataset;
  data.id = String(r.id);
  data.dir = r.dir;
  data.engine = r.engine;
  data.transport = r.transport;
  if (r.socket) {
    data.socket = r.socket;
  }
  if (r.event !== null) {
    data.event = r.event;
  }
  if (r.ackId !== null) {
    data.ackId = String(r.ackId);
  }
  if (r.note) {
    data.note = r.note;
  }
  const arrow = r.dir === 'out' ? `↑ ${trans.__('out')}` : `↓ ${trans.__('in')}`;
  const rtt = rttText(r);
  li.append(
    h('time', { className: 'jp-CollabNet-time', text: formatClockMs(r.ts) }),
    h('span', { className: 'jp-CollabNet-dir', text: arrow }),
    h('span', { className: 'jp-CollabNet-via', text: r.transport }),
    h('span', { className: 'jp-CollabNet-size', text: trans.__('%1 B', r.size) }),
    h('span', { className: 'jp-CollabNet-type', testid: 'packet-type', text: typeText(r) }),
    h('span', { className: 'jp-CollabNet-event', testid: 'packet-event', text: r.event ?? '' }),
    h(
      'span',
      { className: 'jp-CollabNet-payload' },
      h('code', { className: 'jp-CollabNet-head', text: r.head }),
      h('span', { className: 'jp-CollabNet-preview', testid: 'packet-preview', text: r.preview }),
      r.note ? h('span', { className: 'jp-CollabNet-note', text: ` ${r.note}` }) : null
    ),
    h('span', {
      className: 'jp-CollabNet-rtt',
      testid: 'packet-rtt',
      text: rtt.text,
      attrs: { title: rtt.title }
    })
  );
  return li;
}

/** Refresh a row's round trip (its EVENT or ping got its answer). */
export function updateRtt(li: HTMLElement, r: IPacketRecord): void {
  const cell = li.querySelector<HTMLElement>('.jp-CollabNet-rtt');
  if (cell) {
    const rtt = rttText(r);
    cell.textContent = rtt.text;
    cell.title = rtt.title;
  }
  if (r.event !== null) {
    li.dataset.event = r.event;
    const name = li.querySelector<HTMLElement>('.jp-CollabNet-event');
    if (name) {
      name.textContent = r.event;
    }
  }
}

/** Fill the handshake block: the fields of the `open` packet and the upgrade steps. */
export function renderHandshake(
  target: HTMLElement,
  hs: IHandshakeInfo | null,
  transport: string
): void {
  target.textContent = '';
  // [key (data-field), label, value]; the labels are Engine.IO's names of the fields.
  const fields: [string, string, string][] = [
    ['transport', 'transport', transport || trans.__('not connected')]
  ];
  if (hs) {
    fields.push(
      ['sid', 'sid', hs.sid],
      ['upgrades', 'upgrades', JSON.stringify(hs.upgrades)],
      ['pingInterval', 'pingInterval', trans.__('%1 ms', hs.pingInterval)],
      ['pingTimeout', 'pingTimeout', trans.__('%1 ms', hs.pingTimeout)],
      [
        'maxPayload',
        'maxPayload',
        hs.maxPayload === null ? '—' : trans._n('%1 byte', '%1 bytes', hs.maxPayload)
      ],
      [
        'opened',
        trans.__('open packet'),
        trans.__('%1 over %2', formatClockMs(hs.ts), hs.transport)
      ]
    );
  }
  const list = h('dl', { className: 'jp-CollabNet-fields' });
  for (const [key, label, value] of fields) {
    const dd = h('dd', { testid: `handshake-${key}`, text: value });
    dd.dataset.field = key;
    list.append(h('dt', { text: label }), dd);
  }
  target.append(list);
  if (!hs) {
    target.append(h('p', { className: 'jp-CollabNet-hint', text: trans.__('No handshake yet.') }));
    return;
  }
  const steps = h('ol', { className: 'jp-CollabNet-steps', testid: 'handshake-steps' });
  for (const step of hs.steps) {
    const li = h(
      'li',
      { className: `jp-CollabNet-step jp-mod-${step.kind}`, testid: 'handshake-step' },
      h('time', { className: 'jp-CollabNet-time', text: formatClockMs(step.ts) }),
      document.createTextNode(' '),
      h('span', { text: step.text })
    );
    li.dataset.kind = step.kind;
    li.dataset.transport = step.transport;
    steps.append(li);
  }
  target.append(steps);
}
