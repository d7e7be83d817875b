/**
 * The Network pane's parts: the capture (bounded buffer, acks and pongs matched with their
 * round trip, filter, export), the engine tap (handshake always, packets only while captured)
 * and the pane itself (closed: no listener, no packet kept; text only).
 */
import { Signal } from '@lumino/signaling';
import type { Manager } from 'socket.io-client';

import { EngineTap } from '../inspector/engineTap';
import { matchesFilter, PacketLog } from '../inspector/packetLog';
import type { ICollabConnection, IRawPacket, TransportMode } from '../tokens';
import { NetworkPane } from '../view/networkPane';

type Handler = (...args: unknown[]) => void;

/** Just enough of socket.io-client's emitters: on, off, emit, and a listener count. */
class FakeEmitter {
  on(event: string, fn: Handler): this {
    const set = this._handlers.get(event) ?? new Set<Handler>();
    set.add(fn);
    this._handlers.set(event, set);
    return this;
  }
  off(event: string, fn: Handler): this {
    this._handlers.get(event)?.delete(fn);
    return this;
  }
  emit(event: string, ...args: unknown[]): void {
    for (const fn of [...(this._handlers.get(event) ?? [])]) {
      fn(...args);
    }
  }
  listeners(event: string): number {
    return this._handlers.get(event)?.size ?? 0;
  }
  private _handlers = new Map<string, Set<Handler>>();
}

class FakeEngine extends FakeEmitter {
  transport = { name: 'polling' };
}

class FakeManager extends FakeEmitter {
  engine: FakeEngine | undefined = undefined;
  opts: { transports: string[]; upgrade: boolean } = {
    transports: ['polling', 'websocket'],
    upgrade: true
  };
}

const OPEN = { sid: 'eio-1', upgrades: ['websocket'], pingInterval: 25000, pingTimeout: 20000 };

let now = 1_700_000_000_000;
const clock = (): number => now;

function setup(): { manager: FakeManager; engine: FakeEngine; tap: EngineTap } {
  const manager = new FakeManager();
  const tap = new EngineTap(clock);
  tap.watch(manager as unknown as Manager);
  const engine = new FakeEngine();
  manager.engine = engine;
  tap.follow();
  return { manager, engine, tap };
}

function packet(dir: 'in' | 'out', type: string, data?: unknown, ts = now): IRawPacket {
  return { dir, type, data, ts, transport: 'websocket' };
}

describe('PacketLog', () => {
  it('matches an ACK to its EVENT by ack id, with the round trip', () => {
    const log = new PacketLog();
    const event = log.add(packet('out', 'message', '27["send",{"text":"hi"}]', 1000)).record;
    log.add(packet('out', 'message', '28["rooms",{}]', 1001));
    const { record: ack, matched } = log.add(packet('in', 'message', '37[{"ok":true}]', 1012.54));
    expect(matched).toBe(event);
    expect(ack).toMatchObject({ socket: 'ACK', ackId: 7, event: 'send', rtt: 12.5 });
    expect(event).toMatchObject({ rtt: 12.5, match: ack.id });
    expect(ack.match).toBe(event.id);
    // An ACK nobody waits for (or sent twice) matches nothing.
    expect(log.add(packet('in', 'message', '37[{"ok":true}]')).matched).toBeNull();
    expect(log.add(packet('in', 'message', '399[{"ok":true}]')).matched).toBeNull();
  });

  it('matches an event of the server that wants an ack with our ACK, per namespace', () => {
    const log = new PacketLog();
    const inRoot = log.add(packet('in', 'message', '24["ask"]', 10)).record;
    const inAdmin = log.add(packet('in', 'message', '2/admin,4["ask"]', 11)).record;
    const ack = log.add(packet('out', 'message', '3/admin,4[true]', 15));
    expect(ack.matched).toBe(inAdmin);
    expect(ack.record.rtt).toBe(4);
    expect(inRoot.rtt).toBeNull();
    // Our own event with the same id does not answer the server's.
    expect(log.add(packet('out', 'message', '34[true]', 20)).matched).toBe(inRoot);
  });

  it("times this tab's pong after the server's ping; probes are not heartbeats", () => {
    const log = new PacketLog();
    const ping = log.add(packet('in', 'ping', undefined, 100)).record;
    log.add({ ...packet('out', 'ping', 'probe', 101), note: 'probe' });
    log.add({ ...packet('in', 'pong', 'probe', 101), note: 'probe' });
    const pong = log.add(packet('out', 'pong', undefined, 100.3));
    expect(pong.matched).toBe(ping);
    expect(pong.record.rtt).toBe(0.3);
    expect(ping.rtt).toBe(0.3);
  });

  it('keeps only the newest packets', () => {
    const log = new PacketLog(3);
    const dropped: number[] = [];
    for (let i = 0; i < 5; i++) {
      dropped.push(...log.add(packet('in', 'noop')).dropped.map(r => r.id));
    }
    expect(log.records.map(r => r.id)).toEqual([3, 4, 5]);
    expect(dropped).toEqual([1, 2]);
    expect(log.dropped).toBe(2);
    log.clear();
    expect(log.records).toEqual([]);
    expect(log.dropped).toBe(0);
  });

  it('exports JSON with the handshake and every kept packet', () => {
    const log = new PacketLog();
    log.add(packet('out', 'message', '21["send",{"text":"<b>x</b>"}]'));
    const handshake = {
      ts: 1,
      sid: 's',
      upgrades: [],
      pingInterval: 1,
      pingTimeout: 1,
      maxPayload: null,
      transport: 'websocket',
      steps: []
    };
    const parsed = JSON.parse(JSON.stringify(log.toJSON(handshake, 0)));
    expect(parsed).toMatchObject({
      format: 'collab-widget network capture 1',
      exported_at: '1970-01-01T00:00:00.000Z',
      limit: 500,
      handshake: { sid: 's' },
      packets: [{ id: 1, socket: 'EVENT', event: 'send', wire: '421["send",{"text":"<b>x</b>"}]' }]
    });
  });

  it('filters by event name (acks by the event they answer) or type', () => {
    const log = new PacketLog();
    const send = log.add(packet('out', 'message', '21["send",{}]')).record;
    const ack = log.add(packet('in', 'message', '31[{}]')).record;
    const ping = log.add(packet('in', 'ping')).record;
    expect([send, ack, ping].map(r => matchesFilter(r, 'SEN'))).toEqual([true, true, false]);
    expect([send, ack, ping].map(r => matchesFilter(r, 'ack'))).toEqual([false, true, false]);
    expect([send, ack, ping].map(r => matchesFilter(r, ' '))).toEqual([true, true, true]);
    expect(matchesFilter(ping, 'ping')).toBe(true);
  });
});

describe('EngineTap', () => {
  it('remembers the handshake and the upgrade, without listening to packets', () => {
    const { engine, tap } = setup();
    const seen: IRawPacket[] = [];
    tap.packet.connect((_, p) => seen.push(p));
    engine.emit('handshake', OPEN);
    expect(tap.handshake).toMatchObject({
      sid: 'eio-1',
      upgrades: ['websocket'],
      pingInterval: 25000,
      pingTimeout: 20000,
      maxPayload: null,
      transport: 'polling'
    });
    expect(tap.handshake?.steps.map(s => s.kind)).toEqual(['open', 'probe']);
    now += 5;
    engine.emit('upgrading', { name: 'websocket' });
    engine.transport = { name: 'websocket' };
    engine.emit('upgrade', { name: 'websocket' });
    const steps = tap.handshake?.steps ?? [];
    expect(steps.map(s => s.kind)).toEqual(['open', 'probe', 'upgrading', 'upgrade']);
    expect(steps[3]).toMatchObject({ transport: 'websocket', ts: now });
    engine.emit('packet', { type: 'message', data: '2["x"]' });
    expect(engine.listeners('packet') + engine.listeners('packetCreate')).toBe(0);
    expect(seen).toEqual([]);
    expect(tap.capturing).toBe(0);
  });

  it('reports packets in and out only while captured', () => {
    const { engine, tap } = setup();
    const seen: IRawPacket[] = [];
    tap.packet.connect((_, p) => seen.push(p));
    const first = tap.capture();
    const second = tap.capture();
    expect(engine.listeners('packet')).toBe(1);
    engine.emit('packet', { type: 'message', data: '2["message",{}]' });
    engine.emit('packetCreate', { type: 'pong', options: {} });
    engine.emit('upgrading', { name: 'websocket' });
    engine.emit('upgrade', { name: 'websocket' });
    expect(seen.map(p => [p.dir, p.type, p.data ?? null, p.note ?? ''])).toEqual([
      ['in', 'message', '2["message",{}]', ''],
      ['out', 'pong', null, ''],
      ['out', 'ping', 'probe', 'probe'],
      ['in', 'pong', 'probe', 'probe'],
      ['out', 'upgrade', null, 'probe']
    ]);
    first.dispose();
    first.dispose();
    expect(tap.capturing).toBe(1);
    expect(engine.listeners('packetCreate')).toBe(1);
    second.dispose();
    expect(tap.capturing).toBe(0);
    expect(engine.listeners('packet') + engine.listeners('packetCreate')).toBe(0);
    engine.emit('packet', { type: 'noop' });
    expect(seen).toHaveLength(5);
  });

  it("follows the manager's new engine on a reconnect, before it receives anything", async () => {
    const { manager, engine, tap } = setup();
    const capture = tap.capture();
    const next = new FakeEngine();
    manager.emit('reconnect_attempt', 1);
    manager.engine = next; // the manager opens the new engine right after the event
    await Promise.resolve();
    expect(engine.listeners('handshake') + engine.listeners('packet')).toBe(0);
    expect(next.listeners('handshake')).toBe(1);
    expect(next.listeners('packet')).toBe(1);
    manager.opts.transports = ['polling'];
    next.emit('handshake', { ...OPEN, sid: 'eio-2' });
    // Polling only: the server offers websocket, but the engine will not probe it.
    expect(tap.handshake).toMatchObject({ sid: 'eio-2' });
    expect(tap.handshake?.steps.map(s => s.kind)).toEqual(['open']);
    capture.dispose();
    tap.dispose();
    expect(next.listeners('handshake')).toBe(0);
    expect(manager.listeners('reconnect_attempt')).toBe(0);
  });
});

interface IFakeConnection {
  network: EngineTap;
  transport: string;
  transportMode: TransportMode;
  statusChanged: Signal<IFakeConnection, void>;
}

function fakeConnection(tap: EngineTap): IFakeConnection {
  const connection = { network: tap, transport: 'polling', transportMode: 'websocket' };
  return Object.assign(connection, {
    statusChanged: new Signal<IFakeConnection, void>(connection as IFakeConnection)
  }) as IFakeConnection;
}

/** The pane needs only these of a connection. */
function asConnection(fake: IFakeConnection): ICollabConnection {
  return fake as unknown as ICollabConnection;
}

describe('NetworkPane', () => {
  it('is closed by default, listens to nothing and keeps no packet', () => {
    const { engine, tap } = setup();
    const pane = new NetworkPane(asConnection(fakeConnection(tap)), () => undefined);
    expect(pane.node.open).toBe(false);
    engine.emit('handshake', OPEN);
    engine.emit('packet', { type: 'message', data: '2["message",{}]' });
    expect(pane.records).toEqual([]);
    expect(pane.node.dataset.packetCount).toBe('0');
    expect(tap.capturing).toBe(0);
    expect(engine.listeners('packet')).toBe(0);
    pane.dispose();
  });

  it('lists packets as text while open, and forgets them when closed', () => {
    const { engine, tap } = setup();
    engine.emit('handshake', OPEN);
    const pane = new NetworkPane(asConnection(fakeConnection(tap)), () => undefined);
    document.body.append(pane.node);
    pane.setOpen(true);
    expect(pane.node.querySelector('[data-testid=handshake-sid]')?.textContent).toBe('eio-1');
    expect(pane.node.querySelector('[data-field=pingInterval]')?.textContent).toBe('25000 ms');
    const evil = '<img src=x onerror="window.__pwned=1">';
    engine.emit('packetCreate', {
      type: 'message',
      data: `20["send",${JSON.stringify({ text: evil })}]`
    });
    now += 8;
    engine.emit('packet', { type: 'message', data: '30[{"ok":true}]' });
    const rows = pane.node.querySelectorAll<HTMLElement>('[data-testid=packet]');
    expect(rows).toHaveLength(2);
    expect(pane.node.querySelector('img')).toBeNull();
    expect(rows[0].textContent).toContain('<img src=x onerror=');
    expect(rows[0].dataset).toMatchObject({ dir: 'out', socket: 'EVENT', event: 'send' });
    expect(rows[0].querySelector('[data-testid=packet-rtt]')?.textContent).toBe('acked 8 ms');
    expect(rows[1].dataset).toMatchObject({ dir: 'in', socket: 'ACK', event: 'send' });
    expect(rows[1].querySelector('[data-testid=packet-rtt]')?.textContent).toBe('↩ 8 ms');
    expect(pane.node.dataset.packetCount).toBe('2');

    // Filter: only what matches stays visible.
    const filter = pane.node.querySelector<HTMLInputElement>('[data-testid=packet-filter]')!;
    filter.value = 'ack';
    filter.dispatchEvent(new Event('input'));
    expect([...rows].map(r => r.hidden)).toEqual([true, false]);

    // Pause: nothing more is kept until resumed.
    const pause = pane.node.querySelector<HTMLButtonElement>('[data-testid=packet-pause]')!;
    pause.click();
    engine.emit('packet', { type: 'ping' });
    expect(pane.records).toHaveLength(2);
    expect(pane.node.querySelector('[data-testid=packet-count]')?.textContent).toContain(
      '1 not captured while paused'
    );
    pause.click();
    engine.emit('packet', { type: 'ping' });
    expect(pane.records).toHaveLength(3);

    pane.node.querySelector<HTMLButtonElement>('[data-testid=packet-clear]')!.click();
    expect(pane.records).toHaveLength(0);
    expect(pane.node.querySelectorAll('[data-testid=packet]')).toHaveLength(0);

    engine.emit('packet', { type: 'noop' });
    pane.setOpen(false);
    expect(pane.records).toEqual([]);
    expect(pane.node.dataset.packetCount).toBe('0');
    expect(tap.capturing).toBe(0);
    expect(engine.listeners('packet')).toBe(0);
    pane.dispose();
    pane.node.remove();
  });

  it('asks to switch the transport, and exports the capture as a JSON download', async () => {
    const { engine, tap } = setup();
    const connection = fakeConnection(tap);
    const asked: TransportMode[] = [];
    const pane = new NetworkPane(asConnection(connection), mode => asked.push(mode));
    pane.setOpen(true);
    const button = pane.node.querySelector<HTMLButtonElement>('[data-testid=transport-switch]')!;
    expect(button.textContent).toBe('Use long-polling');
    button.click();
    expect(asked).toEqual(['polling']);
    connection.transportMode = 'polling';
    connection.statusChanged.emit(undefined);
    expect(button.textContent).toBe('Allow WebSocket upgrade');
    button.click();
    expect(asked).toEqual(['polling', 'websocket']);

    engine.emit('packet', { type: 'message', data: '2["message",{"text":"hi"}]' });
    let blob: Blob | null = null;
    const create = jest.fn((b: Blob) => {
      blob = b;
      return 'blob:x';
    });
    Object.assign(URL, { createObjectURL: create, revokeObjectURL: jest.fn() });
    const noNavigation = (e: Event): void => e.preventDefault(); // jsdom cannot navigate
    document.addEventListener('click', noNavigation, true);
    pane.node.querySelector<HTMLButtonElement>('[data-testid=packet-export]')!.click();
    document.removeEventListener('click', noNavigation, true);
    expect(create).toHaveBeenCalledTimes(1);
    const text = await new Promise<string>(resolve => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.readAsText(blob as unknown as Blob);
    });
    expect(JSON.parse(text).packets).toMatchObject([{ event: 'message', dir: 'in' }]);
    pane.dispose();
  });
});
