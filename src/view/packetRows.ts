/**
 * The Network pane's DOM pieces: one captured packet as a list row, and the handshake.
 * Everything that came over the wire goes in through textContent only.
 */
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
    return waiting ? { text: `ack #${r.ackId}…`, title: 'waiting for its ACK' } : blank;
  }
  const ms = `${r.rtt} ms`;
  if (r.engine === 'ping') {
    return { text: `pong in ${ms}`, title: `this tab answered with a pong ${ms} later` };
  }
  if (r.engine === 'pong') {
    return { text: `+${ms}`, title: `answers the server's ping of ${ms} before` };
  }
  if (r.socket === 'ACK' || r.socket === 'BINARY_ACK') {
    return { text: `↩ ${ms}`, title: `round trip: this ACK came ${ms} after its EVENT` };
  }
  return { text: `acked ${ms}`, title: `round trip: its ACK came ${ms} later` };
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
  const arrow = r.dir === 'out' ? '↑ out' : '↓ in';
  const rtt = rttText(r);
  li.append(
    h('time', { className: 'jp-CollabNet-time', text: formatClockMs(r.ts) }),
    h('span', { className: 'jp-CollabNet-dir', text: arrow }),
    h('span', { className: 'jp-CollabNet-via', text: r.transport }),
    h('span', { className: 'jp-CollabNet-size', text: `${r.size} B` }),
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
  const fields: [string, string, string][] = [
    ['transport', 'transport', transport || 'not connected']
  ];
  if (hs) {
    fields.push(
      ['sid', 'sid', hs.sid],
      ['upgrades', 'upgrades', JSON.stringify(hs.upgrades)],
      ['pingInterval', 'pingInterval', `${hs.pingInterval} ms`],
      ['pingTimeout', 'pingTimeout', `${hs.pingTimeout} ms`],
      ['maxPayload', 'maxPayload', hs.maxPayload === null ? '—' : `${hs.maxPayload} bytes`],
      ['opened', 'open packet', `${formatClockMs(hs.ts)} over ${hs.transport}`]
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
    target.append(h('p', { className: 'jp-CollabNet-hint', text: 'No handshake yet.' }));
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
