import { ISignal, Signal } from '@lumino/signaling';
import { io, ManagerOptions, Socket, SocketOptions } from 'socket.io-client';

import { trans } from './i18n';
import { EngineTap } from './inspector/engineTap';
import { IClientToServerEvents, IServerToClientEvents, IServiceEvent } from './protocol';
import { RoomLeases } from './room/roomLeases';
import { RoomSession } from './room/roomSession';
import { RttProbe } from './rtt';
import {
  ConnectionState,
  ICollabConnection,
  ILogEntry,
  INetworkTap,
  IRoomLease,
  IRoomSession,
  ServiceState,
  TransportMode
} from './tokens';
import { getCookie, socketEndpoint } from './util';

type CollabSocket = Socket<IServerToClientEvents, IClientToServerEvents>;

/** The transports of each mode (`websocket` after `polling`: start polling, then upgrade). */
const FIRST_TRANSPORTS = ['websocket', 'polling'];
const UPGRADE_TRANSPORTS = ['polling', 'websocket'];
const POLLING_TRANSPORTS = ['polling'];

export interface ICollabConnectionOptions {
  /** The server's base URL, e.g. `http://host:8888/user/x/` (JupyterLab's serverSettings.baseUrl). */
  baseUrl: string;
  /** Extra socket.io options (tests). */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
}

/**
 * The tab's single Socket.IO connection: WebSocket first, HTTP long-polling as a fallback,
 * reconnection with backoff, rooms re-joined with `since` after a reconnect.
 */
export class CollabConnection implements ICollabConnection {
  constructor(options: ICollabConnectionOptions) {
    const { origin, path } = socketEndpoint(options.baseUrl);
    this.socket = io(origin, {
      path,
      transports: FIRST_TRANSPORTS,
      tryAllTransports: true,
      upgrade: true,
      withCredentials: true,
      extraHeaders: this._headers(),
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
      timeout: 10000,
      // Connect when the first room is joined, not on every page load.
      autoConnect: false,
      ...options.socketOptions
    });
    this._tap.watch(this.socket.io);
    this._wire();
    this._rtt = new RttProbe(this.socket, () => this._statusChanged.emit(undefined));
    window.addEventListener('online', this._onOnline);
    window.addEventListener('offline', this._onOffline);
  }

  /** The socket. Features talk to rooms through their RoomSession, never to this. */
  readonly socket: CollabSocket;

  get state(): ConnectionState {
    return this._state;
  }
  get transport(): string {
    return this._transport;
  }
  get serviceState(): ServiceState {
    return this._serviceState;
  }

  get rtt(): number | null {
    return this._rtt.value;
  }
  get sid(): string | null {
    return this.socket.id ?? null;
  }
  get statusChanged(): ISignal<ICollabConnection, void> {
    return this._statusChanged;
  }
  get stateChanged(): ISignal<ICollabConnection, ConnectionState> {
    return this._stateChanged;
  }
  get logged(): ISignal<ICollabConnection, ILogEntry> {
    return this._logged;
  }
  get pinged(): ISignal<ICollabConnection, void> {
    return this._pinged;
  }
  get network(): INetworkTap {
    return this._tap;
  }
  get transportMode(): TransportMode {
    return this._mode;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }

  connect(): void {
    if (!this._started && !this._disposed) {
      this._started = true;
      this._open();
    }
  }

  setTransportMode(mode: TransportMode): void {
    if (mode === this._mode || this._disposed) {
      return;
    }
    this._mode = mode;
    // Back from polling-only: start on polling again, so the upgrade can be watched.
    this.socket.io.opts.transports = mode === 'polling' ? POLLING_TRANSPORTS : UPGRADE_TRANSPORTS;
    this._statusChanged.emit(undefined);
    if (!this._started) {
      return;
    }
    this._log(
      'transport',
      mode === 'polling'
        ? trans.__('reconnecting with long-polling only')
        : trans.__('reconnecting with long-polling, upgrade to WebSocket')
    );
    if (this._manualTimer !== null) {
      window.clearTimeout(this._manualTimer);
      this._manualTimer = null;
    }
    this.socket.disconnect();
    this._open();
    this._setState('reconnecting');
  }

  acquire(room: string): IRoomLease {
    this.connect();
    return this._leases.acquire(room);
  }

  getSession(room: string): IRoomSession | undefined {
    return this._leases.get(room);
  }

  get sessions(): ReadonlyArray<IRoomSession> {
    return this._leases.all();
  }

  get sessionsChanged(): ISignal<ICollabConnection, void> {
    return this._sessionsChanged;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._rtt.dispose();
    if (this._manualTimer !== null) {
      window.clearTimeout(this._manualTimer);
    }
    window.removeEventListener('online', this._onOnline);
    window.removeEventListener('offline', this._onOffline);
    this._leases.dispose();
    this.socket.disconnect();
    this._tap.dispose();
    Signal.clearData(this);
  }

  // ---- private ----

  /** Connect, and follow the new engine at once (the inspector sees its handshake). */
  private _open(): void {
    this.socket.connect();
    this._tap.follow();
  }

  /** A room acquired for the first time: its log starts with the connection's state. */
  private _newSession(room: string): RoomSession {
    const session = new RoomSession(room, () => this.socket);
    this._seedLog(session);
    session.join();
    return session;
  }

  private _headers(): Record<string, string> {
    const xsrf = getCookie('_xsrf');
    // Only polling requests can carry headers; the WebSocket upgrade relies on the cookie.
    return xsrf ? { 'X-XSRFToken': xsrf } : {};
  }

  private _log(kind: string, text: string): void {
    const entry: ILogEntry = { id: ++this._logId, ts: Date.now(), kind, text };
    this._logged.emit(entry);
    for (const session of this._leases.all()) {
      session.addLog(kind, text, entry.ts);
    }
  }

  /** A new room session starts its log with the connection's current state. */
  private _seedLog(session: RoomSession): void {
    if (this._state === 'connected') {
      session.addLog('connect', this._connectedText());
    } else {
      session.addLog('state', stateText(this._state));
    }
    if (this._serviceState === 'connected') {
      session.addLog('connect', trans.__('connected to the class service'));
    } else if (this._serviceState === 'reconnecting') {
      session.addLog('state', trans.__('reconnecting to the class service…'));
    }
  }

  private _connectedText(): string {
    const sid = this.socket.id ?? '';
    const short = sid.length > 8 ? `${sid.slice(0, 8)}…` : sid;
    return trans.__('connected via %1, sid %2', this._transport, short);
  }

  private _setState(state: ConnectionState): void {
    if (this._state === state) {
      return;
    }
    this._state = state;
    this._stateChanged.emit(state);
    this._statusChanged.emit(undefined);
  }

  private _setTransport(name: string): void {
    if (this._transport !== name) {
      this._transport = name;
      this._statusChanged.emit(undefined);
    }
  }

  private _wire(): void {
    const socket = this.socket;
    const manager = socket.io;

    manager.on('open', () => {
      const engine = manager.engine;
      this._setTransport(engine.transport.name);
      engine.on('upgrade', transport => {
        this._setTransport(transport.name);
        this._log('upgrade', trans.__('transport upgraded to %1', transport.name));
      });
    });
    manager.on('ping', () => this._pinged.emit(undefined));
    manager.on('reconnect_attempt', attempt => {
      // The _xsrf cookie may have been renewed since the page loaded.
      manager.opts.extraHeaders = this._headers();
      this._setState(navigator.onLine === false ? 'offline' : 'reconnecting');
      this._log('reconnect', trans.__('reconnect attempt %1', attempt));
    });
    manager.on('reconnect_failed', () => {
      this._setState('offline');
      this._log('error', trans.__('gave up reconnecting'));
    });

    socket.on('connect', () => {
      this._manualDelay = 1000;
      this._setTransport(manager.engine.transport.name);
      this._setState('connected');
      this._log('connect', this._connectedText());
      for (const session of this._leases.all()) {
        session.join();
      }
      this._rtt.measure();
    });
    socket.on('disconnect', reason => {
      for (const session of this._leases.all()) {
        session.onDisconnected();
      }
      this._setTransport('');
      this._serviceState = ''; // told again by the server after the reconnect
      this._rtt.reset();
      this._log('disconnect', trans.__('disconnected (%1)', reason));
      if (socket.active) {
        this._setState(navigator.onLine === false ? 'offline' : 'reconnecting');
      } else {
        this._setState('offline');
        if (reason === 'io server disconnect') {
          this._scheduleManualReconnect();
        }
      }
    });
    socket.on('connect_error', err => {
      if (socket.active) {
        // The manager retries by itself; a failed first attempt is worth a line.
        if (this._state === 'connecting') {
          this._log('error', trans.__('connection failed (%1), retrying', err.message));
          this._setState('reconnecting');
        }
      } else {
        // The server refused the Socket.IO connection: try again later, more slowly.
        this._setState('offline');
        this._log('error', trans.__('connection refused (%1)', err.message));
        this._scheduleManualReconnect();
      }
    });

    socket.on('message', message => {
      this._leases.get(message.room)?.onMessageEvent(message);
    });
    socket.on('joined', event => {
      this._leases.get(event.room)?.onJoinedEvent(event);
    });
    socket.on('left', event => {
      this._leases.get(event.room)?.onLeftEvent(event);
    });
    socket.on('presence', event => {
      this._leases.get(event.room)?.onPresenceEvent(event);
    });
    socket.on('service', event => this._onService(event));
    // Classroom mode (protocol 1.1).
    socket.on('role', event => {
      this._leases.get(event.room)?.onRoleEvent(event);
    });
    socket.on('hand', event => {
      this._leases.get(event.room)?.onHandEvent(event);
    });
    socket.on('follow', event => {
      this._leases.get(event.room)?.onFollowEvent(event);
    });
    socket.on('poll', event => {
      this._leases.get(event.room)?.onPollEvent(event);
    });
    socket.on('classroom', event => {
      this._leases.get(event.room)?.onClassroomEvent(event);
    });
  }

  /** The server's link to the JupyterHub class service changed (see IServiceEvent). */
  private _onService(event: IServiceEvent): void {
    const previous = this._serviceState;
    const state = event?.state;
    if (state !== 'connected' && state !== 'reconnecting' && state !== 'refused') {
      return;
    }
    this._serviceState = state;
    this._statusChanged.emit(undefined);
    if (state === 'refused') {
      this._log(
        'error',
        trans.__('the class service refused this session: %1', event.message ?? '')
      );
    } else if (state === 'reconnecting') {
      this._log('disconnect', trans.__('reconnecting to the class service'));
      for (const session of this._leases.all()) {
        session.onDisconnected();
      }
    } else if (previous !== 'connected') {
      this._log('connect', trans.__('connected to the class service'));
      if (previous === 'reconnecting') {
        for (const session of this._leases.all()) {
          session.join();
        }
      }
    }
  }

  private _scheduleManualReconnect(): void {
    if (this._manualTimer !== null || this._disposed) {
      return;
    }
    const delay = this._manualDelay;
    this._manualDelay = Math.min(this._manualDelay * 2, 30000);
    this._manualTimer = window.setTimeout(() => {
      this._manualTimer = null;
      if (!this.socket.connected && !this._disposed) {
        this.socket.io.opts.extraHeaders = this._headers();
        this._setState('reconnecting');
        this._log('reconnect', trans.__('reconnecting'));
        this._open();
      }
    }, delay);
  }

  private _onOnline = (): void => {
    if (!this.socket.connected) {
      this._setState('reconnecting');
      if (!this.socket.active) {
        this._open();
      }
    }
  };

  private _onOffline = (): void => {
    if (!this.socket.connected) {
      this._setState('offline');
    }
  };

  private _started = false;
  private _state: ConnectionState = 'connecting';
  private _transport = '';
  private _serviceState: ServiceState = '';
  private _rtt: RttProbe;
  private _manualTimer: number | null = null;
  private _manualDelay = 1000;
  private _logId = 0;
  private _disposed = false;
  private _mode: TransportMode = 'websocket';
  private _tap = new EngineTap();
  private _leases = new RoomLeases(
    room => this._newSession(room),
    () => this._sessionsChanged.emit(undefined)
  );
  private _statusChanged = new Signal<ICollabConnection, void>(this);
  private _stateChanged = new Signal<ICollabConnection, ConnectionState>(this);
  private _logged = new Signal<ICollabConnection, ILogEntry>(this);
  private _sessionsChanged = new Signal<ICollabConnection, void>(this);
  private _pinged = new Signal<ICollabConnection, void>(this);
}

/** The log line of a connection state other than `connected` ("reconnecting…"). */
function stateText(state: ConnectionState): string {
  switch (state) {
    case 'connecting':
      return trans.__('connecting…');
    case 'reconnecting':
      return trans.__('reconnecting…');
    case 'offline':
      return trans.__('offline…');
    default:
      return trans.__('connected…');
  }
}
