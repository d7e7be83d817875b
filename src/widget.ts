import {
  DOMWidgetModel,
  DOMWidgetView,
  IBackboneModelOptions,
  ISerializers
} from '@jupyter-widgets/base';
import type { ObjectHash } from 'backbone';
import type { INotebookTracker } from '@jupyterlab/notebook';
import { Message } from '@lumino/messaging';

import { IMember, IMessage, IUser, toRoomName } from './protocol';
import {
  ICollabConnection,
  ICollabPresence,
  IRoomLease,
  IRoomSession,
  RoomChange,
  TransportMode
} from './tokens';
import { formatClock } from './util';
import { RoomRenderer } from './view/roomRenderer';

export const MODULE_NAME = 'collab-widget';
export const MODULE_VERSION = '0.1.0';

/** How many messages the `messages` traitlet carries. */
const MESSAGES_WINDOW = 100;
/** How often, at most, the state is written back to the kernel. */
const SYNC_DELAY = 150;
/** How long a send from Python waits for a view to appear in this tab. */
const QUEUED_SEND_TTL = 10000;

/** What the widget classes need from the application (set by the widget plugin). */
export interface IWidgetContext {
  connection: ICollabConnection;
  tracker: INotebookTracker | null;
  /** Cursor presence (the member locations and the share switch), when available. */
  presence: ICollabPresence | null;
}

let widgetContext: IWidgetContext | null = null;

export function setWidgetContext(context: IWidgetContext): void {
  widgetContext = context;
}

function getContext(): IWidgetContext {
  if (!widgetContext) {
    throw new Error('collab-widget: the widget plugin is not activated');
  }
  return widgetContext;
}

/** Custom messages from the kernel. */
interface ISendRequest {
  type: 'send';
  text: string;
  client_id: string;
}

/** The `transport` trait's value, when it is one the connection knows. */
function transportModeOf(value: unknown): TransportMode | null {
  return value === 'polling' || value === 'websocket' ? value : null;
}

function isSendRequest(content: unknown): content is ISendRequest {
  if (typeof content !== 'object' || content === null) {
    return false;
  }
  const c = content as Record<string, unknown>;
  return c.type === 'send' && typeof c.text === 'string' && typeof c.client_id === 'string';
}

/** Plain JSON copies of protocol objects, for the traitlets. */
function userJson(u: IUser): Record<string, string | null> {
  return {
    username: u.username,
    name: u.name,
    display_name: u.display_name,
    initials: u.initials,
    avatar_url: u.avatar_url,
    color: u.color
  };
}

function memberJson(m: IMember): Record<string, string | number | null> {
  return { ...userJson(m), sessions: m.sessions };
}

function messageJson(m: IMessage): Record<string, unknown> {
  return {
    room: m.room,
    seq: m.seq,
    client_id: m.client_id,
    user: userJson(m.user),
    text: m.text,
    ts: m.ts
  };
}

/**
 * The Room model. One per widget per tab: it reports the room's state and events to the
 * kernel once, however many views of it the tab shows (the first view is the primary one).
 */
export class RoomModel extends DOMWidgetModel {
  defaults(): ObjectHash {
    return {
      ...super.defaults(),
      _model_name: 'RoomModel',
      _model_module: MODULE_NAME,
      _model_module_version: MODULE_VERSION,
      _view_name: 'RoomView',
      _view_module: MODULE_NAME,
      _view_module_version: MODULE_VERSION,
      room: '',
      connected: false,
      transport: 'websocket',
      current_transport: '',
      members: [],
      messages: [],
      log: [],
      you: null
    };
  }

  static serializers: ISerializers = {
    ...DOMWidgetModel.serializers
  };

  initialize(attributes: ObjectHash, options: IBackboneModelOptions): void {
    super.initialize(attributes, options);
    this.on('msg:custom', this._onCustom, this);
    this.on('change:transport', this._onTransportChanged, this);
  }

  /**
   * Before a view connects: `Room(..., transport="polling")` switches the tab to long-polling.
   * The default ("websocket") leaves the tab's connection as it is.
   */
  requestTransport(): void {
    if (transportModeOf(this.get('transport')) === 'polling') {
      getContext().connection.setTransportMode('polling');
    }
  }

  /** The trait changed (from Python, or the Network pane's switch): switch the tab. */
  private _onTransportChanged(): void {
    const mode = transportModeOf(this.get('transport'));
    if (mode) {
      getContext().connection.setTransportMode(mode);
    }
  }

  /** A view of this model started showing `session`. */
  addView(view: RoomView, session: IRoomSession): void {
    this._views.add(view);
    this._bind(session);
  }

  /** A view went away (or switched rooms). */
  removeView(view: RoomView): void {
    this._views.delete(view);
    const first = this._views.values().next();
    if (first.done) {
      this._unbind();
    } else {
      this._bind(first.value.session);
    }
  }

  /** The session this model reports about (the primary view's). */
  private _bind(session: IRoomSession | null): void {
    if (!session || this._session === session) {
      return;
    }
    this._unbind();
    this._session = session;
    session.changed.connect(this._onChanged, this);
    session.messageReceived.connect(this._onMessage, this);
    session.memberJoined.connect(this._onJoined, this);
    session.memberLeft.connect(this._onLeft, this);
    getContext().connection.statusChanged.connect(this._scheduleSync, this);
    this._scheduleSync();
    // Python sends that arrived just before the view was shown (display + send in one cell).
    const queued = this._queuedSends.splice(0);
    const now = Date.now();
    for (const { request, at } of queued) {
      if (now - at < QUEUED_SEND_TTL) {
        session.send(request.text, request.client_id);
      }
    }
  }

  private _unbind(): void {
    const session = this._session;
    if (!session) {
      return;
    }
    session.changed.disconnect(this._onChanged, this);
    session.messageReceived.disconnect(this._onMessage, this);
    session.memberJoined.disconnect(this._onJoined, this);
    session.memberLeft.disconnect(this._onLeft, this);
    getContext().connection.statusChanged.disconnect(this._scheduleSync, this);
    this._session = null;
    this._scheduleSync();
  }

  private _onCustom(content: unknown): void {
    if (!isSendRequest(content)) {
      return;
    }
    if (this._session) {
      this._session.send(content.text, content.client_id);
    } else if (this._queuedSends.length < 50) {
      // No view in this tab (yet). Another tab showing the widget sends it; if a view appears
      // here soon, this tab sends it (same client id: the server stores it once per user).
      this._queuedSends.push({ request: content, at: Date.now() });
    }
  }

  private _onChanged(_: IRoomSession, change: RoomChange): void {
    if (change !== 'pending') {
      this._scheduleSync();
    }
  }

  private _onMessage(_: IRoomSession, message: IMessage): void {
    this._event('message', `m:${message.room}:${message.seq}`, messageJson(message));
  }

  private _onJoined(_: IRoomSession, args: { user: IMember; ts: number }): void {
    this._event('join', `j:${args.user.username}:${args.ts}`, memberJson(args.user));
  }

  private _onLeft(_: IRoomSession, args: { user: IUser; ts: number }): void {
    this._event('leave', `l:${args.user.username}:${args.ts}`, userJson(args.user));
  }

  private _event(event: string, key: string, data: Record<string, unknown>): void {
    if (this.comm_live) {
      this.send({ type: 'event', event, key, data: JSON.parse(JSON.stringify(data)) });
    }
  }

  private _scheduleSync(): void {
    if (this._syncTimer !== null) {
      return;
    }
    this._syncTimer = window.setTimeout(() => {
      this._syncTimer = null;
      this._sync();
    }, SYNC_DELAY);
  }

  /** Write the room's state to the traitlets (only this tab's primary view's session). */
  private _sync(): void {
    if (!this.comm_live) {
      return;
    }
    const session = this._session;
    const connection = getContext().connection;
    if (!session) {
      this.set({ connected: false, current_transport: '' });
      this.save_changes();
      return;
    }
    const messages = session.messages.slice(-MESSAGES_WINDOW).map(messageJson);
    const log = session.log.map(e => `${formatClock(e.ts)} ${e.text}`);
    const state: ObjectHash = {
      connected: connection.state === 'connected' && session.joined,
      current_transport: connection.transport,
      members: session.members.map(memberJson),
      messages,
      log,
      you: session.you ? { ...userJson(session.you), session: session.you.session } : null
    };
    if (this.get('room') !== session.name) {
      state.room = session.name;
    }
    this.set(state);
    this.save_changes();
  }

  private _views = new Set<RoomView>();
  private _session: IRoomSession | null = null;
  private _queuedSends: { request: ISendRequest; at: number }[] = [];
  private _syncTimer: number | null = null;
}

/**
 * The Room view: header, members, chat and event log of the room, over the tab's connection.
 */
export class RoomView extends DOMWidgetView {
  get session(): IRoomSession | null {
    return this._lease?.session ?? null;
  }

  render(): void {
    super.render();
    const { connection, presence } = getContext();
    // The Network pane's switch sets this widget's `transport` trait (Python sees it), which
    // switches the tab's connection.
    this._renderer = new RoomRenderer(this.el, connection, presence, mode => {
      this.model.set('transport', mode);
      this.touch();
    });
    this.listenTo(this.model, 'change:room', this._onRoomChanged);
    this._onRoomChanged();
  }

  processLuminoMessage(msg: Message): void {
    super.processLuminoMessage(msg);
    if (msg.type === 'after-attach') {
      if (!this._lease) {
        // Room(): the notebook path may only be known once the view is in the notebook.
        this._onRoomChanged();
      }
      this._renderer?.scrollToBottom();
    }
  }

  remove(): void {
    this._release();
    this._renderer?.dispose();
    this._renderer = null;
    return super.remove();
  }

  /** The room named in the model, or the notebook's path when the name is empty. */
  private _resolveRoom(): string | null {
    const name = (this.model.get('room') as string | undefined) ?? '';
    if (name) {
      return name;
    }
    const path = this._notebookPath();
    return path ? toRoomName(path) : null;
  }

  private _notebookPath(): string | null {
    // The notebook widget manager knows its document context.
    const manager = this.model.widget_manager as unknown as {
      context?: { path?: unknown };
    };
    const ctxPath = manager?.context?.path;
    if (typeof ctxPath === 'string' && ctxPath) {
      return ctxPath;
    }
    const tracker = getContext().tracker;
    if (tracker) {
      const panel = tracker.find(p => p.node.contains(this.el));
      if (panel) {
        return panel.context.path;
      }
    }
    return null;
  }

  private _onRoomChanged(): void {
    const room = this._resolveRoom();
    if (!room) {
      this._renderer?.setWaiting('waiting for the notebook path…');
      return;
    }
    if (this._lease && this._lease.session.name === room) {
      return;
    }
    this._release();
    const { connection } = getContext();
    (this.model as RoomModel).requestTransport();
    this._lease = connection.acquire(room);
    (this.model as RoomModel).addView(this, this._lease.session);
    this._renderer?.setSession(this._lease.session);
    if (!this.model.get('room')) {
      // Tell Python which room "Room()" ended up in.
      this.model.set('room', room);
      this.touch();
    }
  }

  private _release(): void {
    if (this._lease) {
      (this.model as RoomModel).removeView(this);
      this._lease.dispose();
      this._lease = null;
    }
  }

  private _lease: IRoomLease | null = null;
  private _renderer: RoomRenderer | null = null;
}
