/**
 * EngineTap: listens to socket.io-client's own hooks for the Network pane, without patching it.
 *
 * - Always (a few listeners, a few fields): the engine's `handshake` (the data of the Engine.IO
 *   `open` packet) and its `upgrading` / `upgrade` / `upgradeError` events, kept as the last
 *   handshake with its steps and their times.
 * - Only while a capture is held: the engine's `packet` (every packet received) and
 *   `packetCreate` (every packet sent) events, passed on as `IRawPacket`s. With no capture,
 *   nothing listens to them and nothing is kept.
 *
 * A new engine is made for every (re)connection: `follow()` attaches to the manager's current
 * one (the connection calls it right after `socket.connect()`; the manager's own reconnects
 * are followed from its `reconnect_attempt` event, before the new engine can receive anything).
 * The probe packets of an upgrade (`2probe`, `3probe`, `5`) travel on the new transport before
 * it becomes the engine's, so the engine reports them only through its upgrade events: they are
 * listed from those, with the note `probe`.
 */
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import type { Manager } from 'socket.io-client';

import { trans } from '../i18n';
import type { IHandshakeInfo, IHandshakeStep, INetworkTap, IRawPacket } from '../tokens';

type Engine = Manager['engine'];

/** The data of the Engine.IO `open` packet. */
interface IOpenData {
  sid: string;
  upgrades: string[];
  pingInterval: number;
  pingTimeout: number;
  maxPayload?: number;
}

/** What the engine passes to `packet` / `packetCreate` listeners. */
interface IEnginePacket {
  type: string;
  data?: unknown;
}

/** How many handshake steps are kept (a reconnect starts a new handshake). */
const MAX_STEPS = 12;

/** Milliseconds since the epoch, with a fraction. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

export class EngineTap implements INetworkTap, IDisposable {
  constructor(clock: () => number = preciseNow) {
    this._clock = clock;
  }

  get handshake(): IHandshakeInfo | null {
    return this._handshake;
  }
  get handshakeChanged(): ISignal<INetworkTap, IHandshakeInfo | null> {
    return this._handshakeChanged;
  }
  get packet(): ISignal<INetworkTap, IRawPacket> {
    return this._packet;
  }
  get capturing(): number {
    return this._captures;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Follow the engines of `manager`: its first one and every reconnect's. */
  watch(manager: Manager): void {
    this._manager = manager;
    manager.on('reconnect_attempt', this._onAttempt);
    // A safety net: an engine opened some other way is at least followed from now on.
    manager.on('open', this._follow);
  }

  /** Attach to the manager's current engine (idempotent). */
  follow(): void {
    const engine = this._manager?.engine as Engine | undefined;
    if (engine && engine !== this._engine && !this._disposed) {
      this._detach();
      this._engine = engine;
      engine.on('handshake', this._onHandshake);
      engine.on('upgrading', this._onUpgrading);
      engine.on('upgrade', this._onUpgrade);
      engine.on('upgradeError', this._onUpgradeError);
      if (this._captures > 0) {
        this._listenPackets(engine);
      }
    }
  }

  capture(): IDisposable {
    this._captures++;
    if (this._captures === 1 && this._engine) {
      this._listenPackets(this._engine);
    }
    let disposed = false;
    return {
      get isDisposed() {
        return disposed;
      },
      dispose: () => {
        if (disposed) {
          return;
        }
        disposed = true;
        this._captures--;
        if (this._captures === 0 && this._engine) {
          this._unlistenPackets(this._engine);
        }
      }
    };
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._detach();
    this._manager?.off('reconnect_attempt', this._onAttempt);
    this._manager?.off('open', this._follow);
    this._manager = null;
    Signal.clearData(this);
  }

  // ---- private ----

  private _detach(): void {
    const engine = this._engine;
    if (!engine) {
      return;
    }
    engine.off('handshake', this._onHandshake);
    engine.off('upgrading', this._onUpgrading);
    engine.off('upgrade', this._onUpgrade);
    engine.off('upgradeError', this._onUpgradeError);
    this._unlistenPackets(engine);
    this._engine = null;
  }

  private _listenPackets(engine: Engine): void {
    engine.on('packet', this._onPacketIn);
    engine.on('packetCreate', this._onPacketOut);
  }

  private _unlistenPackets(engine: Engine): void {
    engine.off('packet', this._onPacketIn);
    engine.off('packetCreate', this._onPacketOut);
  }

  private _transportName(): string {
    return this._engine?.transport?.name ?? '';
  }

  /** The transports this engine will probe after the handshake (as engine.io-client does). */
  private _probes(upgrades: ReadonlyArray<string>, current: string): string[] {
    const opts = this._manager?.opts;
    if (!opts || opts.upgrade === false) {
      return [];
    }
    const allowed = (opts.transports ?? ['polling', 'websocket', 'webtransport']).filter(
      (t): t is string => typeof t === 'string'
    );
    return upgrades.filter(u => u !== current && allowed.includes(u));
  }

  private _addStep(kind: IHandshakeStep['kind'], transport: string, text: string): void {
    const handshake = this._handshake;
    if (!handshake) {
      return;
    }
    const step: IHandshakeStep = { ts: this._clock(), kind, transport, text };
    const steps = [...handshake.steps, step].slice(-MAX_STEPS);
    this._handshake = { ...handshake, steps };
    this._handshakeChanged.emit(this._handshake);
  }

  private _emitPacket(dir: 'in' | 'out', packet: IEnginePacket, transport?: string): void {
    this._packet.emit({
      dir,
      type: packet.type,
      data: packet.data,
      ts: this._clock(),
      transport: transport ?? this._transportName(),
      ...(transport ? { note: 'probe' } : {})
    });
  }

  private _onAttempt = (): void => {
    // The manager makes the new engine right after this event, in the same task: follow it
    // before the network can deliver anything to it.
    queueMicrotask(this._follow);
  };

  private _follow = (): void => {
    this.follow();
  };

  private _onHandshake = (data: IOpenData): void => {
    const ts = this._clock();
    const transport = this._transportName();
    const upgrades = Array.isArray(data.upgrades) ? data.upgrades.map(String) : [];
    const steps: IHandshakeStep[] = [
      { ts, kind: 'open', transport, text: trans.__('open packet received over %1', transport) }
    ];
    for (const name of this._probes(upgrades, transport)) {
      steps.push({
        ts,
        kind: 'probe',
        transport: name,
        text: trans.__('probing %1: opening it next to %2 to send 2probe', name, transport)
      });
    }
    this._handshake = {
      ts,
      sid: String(data.sid),
      upgrades,
      pingInterval: Number(data.pingInterval),
      pingTimeout: Number(data.pingTimeout),
      maxPayload: typeof data.maxPayload === 'number' ? data.maxPayload : null,
      transport,
      steps
    };
    this._handshakeChanged.emit(this._handshake);
  };

  private _onUpgrading = (transport: { name: string }): void => {
    if (this._captures > 0) {
      this._emitPacket('out', { type: 'ping', data: 'probe' }, transport.name);
      this._emitPacket('in', { type: 'pong', data: 'probe' }, transport.name);
    }
    this._addStep(
      'upgrading',
      transport.name,
      trans.__(
        '2probe sent, 3probe received over %1: it works, the old transport drains',
        transport.name
      )
    );
  };

  private _onUpgrade = (transport: { name: string }): void => {
    if (this._captures > 0) {
      this._emitPacket('out', { type: 'upgrade' }, transport.name);
    }
    this._addStep(
      'upgrade',
      transport.name,
      trans.__('5 (upgrade) sent: now on %1', transport.name)
    );
  };

  private _onUpgradeError = (err: Error): void => {
    this._addStep('upgrade-error', '', trans.__('probe failed: %1', err?.message ?? String(err)));
  };

  private _onPacketIn = (packet: IEnginePacket): void => {
    this._emitPacket('in', packet);
  };

  private _onPacketOut = (packet: IEnginePacket): void => {
    this._emitPacket('out', packet);
  };

  private _clock: () => number;
  private _manager: Manager | null = null;
  private _engine: Engine | null = null;
  private _captures = 0;
  private _disposed = false;
  private _handshake: IHandshakeInfo | null = null;
  private _handshakeChanged = new Signal<INetworkTap, IHandshakeInfo | null>(this);
  private _packet = new Signal<INetworkTap, IRawPacket>(this);
}
