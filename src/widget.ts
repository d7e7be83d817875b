import {
  DOMWidgetModel,
  DOMWidgetView,
  IBackboneModelOptions,
  ISerializers
} from '@jupyter-widgets/base';
import type { ObjectHash } from 'backbone';
import type { INotebookTracker } from '@jupyterlab/notebook';
import { Message } from '@lumino/messaging';

import { trans } from './i18n';
import { IHandEvent, IMember, IMessage, IPoll, IProtocolError, IUser } from './protocol';
import {
  ICollabConnection,
  IClassroomLab,
  ICollabPresence,
  IRoomLease,
  IRoomSession,
  RoomChange,
  TransportMode
} from './tokens';
import { displayName, formatClock } from './util';
import { RoomRenderer } from './view/roomRenderer';
import {
  actsHere,
  canRunNow,
  ClassroomRequest,
  collabMetadataOf,
  defaultRoomName,
  handEvent,
  handJson,
  IKernelEvent,
  KernelRequest,
  memberJson,
  messageJson,
  notePollClientIds,
  parseKernelRequest,
  requestOrigin,
  stableTabId,
  PollAnswerTracker,
  pollIdByClientId,
  pollJson,
  RequestQueue,
  requestIdOf,
  userJson
} from './widgetBridge';

export const MODULE_NAME = 'collab-widget';
export const MODULE_VERSION = '0.1.0';

/** How many messages the `messages` traitlet carries. */
const MESSAGES_WINDOW = 100;
/** How often, at most, the state is written back to the kernel. */
const SYNC_DELAY = 150;
/**
 * How long a request from Python (a send, a raised hand, a poll...) waits for a view to appear
 * in this tab, and a classroom request for its room to be joined.
 */
const QUEUED_SEND_TTL = 10000;

/** The kernel client session id of a widget manager's kernel connection, if it has one. */
function kernelClientId(manager: unknown): string | null {
  const kernel = (manager as { kernel?: { clientId?: unknown } } | null)?.kernel;
  return typeof kernel?.clientId === 'string' ? kernel.clientId : null;
}

/** What the widget classes need from the application (set by the widget plugin). */
export interface IWidgetContext {
  connection: ICollabConnection;
  tracker: INotebookTracker | null;
  /** Cursor presence (the member locations and the share switch), when available. */
  presence: ICollabPresence | null;
  /** Classroom mode's JupyterLab side (insert a snippet, follow, own copy), when available. */
  classroom: IClassroomLab | null;
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

/** The `transport` trait's value, when it is one the connection knows. */
function transportModeOf(value: unknown): TransportMode | null {
  return value === 'polling' || value === 'websocket' ? value : null;
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
      you: null,
      role: '',
      hands: [],
      polls: [],
      _owner: ''
    };
  }

  static serializers: ISerializers = {
    ...DOMWidgetModel.serializers
  };

  initialize(attributes: ObjectHash, options: IBackboneModelOptions): void {
    super.initialize(attributes, options);
    this.on('msg:custom', this._onCustom, this);
    this.on('change:transport', this._onTransportChanged, this);
    this.on('change:_owner', this._scheduleSync, this);
  }

  /**
   * Tell the kernel which tab this is, once, when a view first shows here: the owner tab (the
   * kernel knows it by its client id) is then known after a page reload too.
   */
  claim(): void {
    if (this._claimed || !this.comm_live) {
      return;
    }
    this._claimed = true;
    this.send({ type: 'claim', tab: stableTabId(window.sessionStorage) });
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
    session.handChanged.connect(this._onHand, this);
    session.pollChanged.connect(this._onPoll, this);
    getContext().connection.statusChanged.connect(this._scheduleSync, this);
    this._pollAnswers.reset();
    if (session.joined) {
      this._pollAnswers.noteUnseen(session.classroom.polls);
    }
    this._scheduleSync();
    // Python requests that arrived just before the view was shown (display + send in one cell).
    this._flush();
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
    session.handChanged.disconnect(this._onHand, this);
    session.pollChanged.disconnect(this._onPoll, this);
    getContext().connection.statusChanged.disconnect(this._scheduleSync, this);
    this._session = null;
    this._scheduleSync();
  }

  private _onCustom(content: unknown): void {
    const request = parseKernelRequest(content);
    if (!request) {
      return;
    }
    // On a kernel several people's tabs share, only the tab that ran the code acts on it.
    const origin = requestOrigin(content);
    const clientId = kernelClientId(this.widget_manager);
    if (!actsHere(origin, clientId)) {
      return;
    }
    this._ranHere = origin !== null && origin === clientId;
    // No view in this tab (yet), or (a classroom request) its room is not joined yet. Another
    // tab showing the widget may act on it; if this one can soon, it does (same client id:
    // the server stores a snippet or a poll once per user; hands and closes are idempotent).
    this._queue.push(request, Date.now());
    this._flush();
  }

  /**
   * Act on the queued kernel requests this tab can act on now: through this widget's view,
   * or, for code this tab ran while showing no view of this widget (another person's `Room`
   * on a shared kernel), through the tab's own session of the same room, if it has joined it.
   */
  private _flush(): void {
    const room = (this.get('room') as string | undefined) ?? '';
    const own = this._ranHere && room ? getContext().connection.getSession(room) : undefined;
    const session = this._session ?? own ?? null;
    if (!session || this._queue.length === 0) {
      return;
    }
    notePollClientIds(session.messages, this._pollClientIds);
    const pollIdOf = (clientId: string): number | null =>
      pollIdByClientId(this._pollClientIds, clientId);
    const canRun = (request: KernelRequest): boolean => canRunNow(request, session.ready, pollIdOf);
    for (const request of this._queue.take(canRun, Date.now())) {
      if (request.type === 'send') {
        session.send(request.text, request.client_id);
      } else {
        this._perform(session, request);
      }
    }
  }

  /** Run a classroom request; a refusal is reported to the kernel (`on_error`, `Poll.error`). */
  private _perform(session: IRoomSession, request: ClassroomRequest): void {
    let result: Promise<IProtocolError | null>;
    switch (request.type) {
      case 'hand':
        result = session.raiseHand(request.raised, request.user);
        break;
      case 'snippet':
        result = session.shareSnippet(request.code, request.language, request.client_id);
        break;
      case 'poll':
        result = session.createPoll(request.question, request.options, request.client_id);
        break;
      case 'poll_close': {
        const id =
          request.poll_id ??
          (request.client_id ? pollIdByClientId(this._pollClientIds, request.client_id) : null);
        result = id
          ? session.closePoll(id)
          : Promise.resolve({ code: 'unknown_poll', message: 'no such poll' });
        break;
      }
    }
    void result.then(
      error => {
        if (error) {
          this._refused(request, error);
        }
      },
      (reason: unknown) => {
        this._refused(request, { code: 'internal_error', message: String(reason) });
      }
    );
  }

  private _refused(request: KernelRequest, error: IProtocolError): void {
    const requestId = requestIdOf(request);
    this._event({
      event: 'refused',
      key: `x:${requestId}`,
      data: {
        action: request.type,
        request_id: requestId,
        code: error.code,
        message: error.message
      }
    });
  }

  private _onChanged(session: IRoomSession, change: RoomChange): void {
    if (!session.joined) {
      // A re-join brings the new baseline of the polls' answers.
      this._pollAnswers.reset();
    } else if (change === 'classroom') {
      this._pollAnswers.noteUnseen(session.classroom.polls);
    }
    this._flush();
    if (change !== 'pending') {
      this._scheduleSync();
    }
  }

  private _onMessage(_: IRoomSession, message: IMessage): void {
    this._event({
      event: 'message',
      key: `m:${message.room}:${message.seq}`,
      data: messageJson(message)
    });
  }

  private _onJoined(_: IRoomSession, args: { user: IMember; ts: number }): void {
    this._event({
      event: 'join',
      key: `j:${args.user.username}:${args.ts}`,
      data: memberJson(args.user)
    });
  }

  private _onLeft(_: IRoomSession, args: { user: IUser; ts: number }): void {
    this._event({
      event: 'leave',
      key: `l:${args.user.username}:${args.ts}`,
      data: userJson(args.user)
    });
  }

  private _onHand(_: IRoomSession, event: IHandEvent): void {
    this._event(handEvent(event));
  }

  /** A teacher's view of a poll changed: who answered (or changed their answer). */
  private _onPoll(session: IRoomSession, poll: IPoll): void {
    const nameOf = (username: string): string => {
      const member = session.members.find(m => m.username === username);
      return member ? displayName(member) : username;
    };
    for (const event of this._pollAnswers.changed(session.name, poll, nameOf)) {
      this._event(event);
    }
  }

  /**
   * Whether this tab writes the room's state back to the kernel and reports its events: the
   * tab that created the widget or last displayed it (the kernel's `_owner`: its kernel
   * client id) does; other tabs showing it (a notebook shared in real time) or holding its
   * model (a kernel shared by several people's tabs) do not, so the kernel mirrors one
   * person's view. Every tab does when the kernel or this tab does not say.
   */
  private _writesState(): boolean {
    const owner = (this.get('_owner') as string | undefined) ?? '';
    return actsHere(owner || null, kernelClientId(this.widget_manager));
  }

  private _event({ event, key, data }: IKernelEvent): void {
    if (this.comm_live && this._writesState()) {
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
    if (!this.comm_live || !this._writesState()) {
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
    const classroom = session.classroom;
    notePollClientIds(session.messages, this._pollClientIds);
    const state: ObjectHash = {
      connected: connection.state === 'connected' && session.joined,
      current_transport: connection.transport,
      members: session.members.map(memberJson),
      messages,
      log,
      you: session.you ? { ...userJson(session.you), session: session.you.session } : null,
      role: session.joined && classroom.available ? session.role : '',
      hands: classroom.hands.map(handJson),
      polls: classroom.polls.map(p => pollJson(p, this._pollClientIds.get(p.id) ?? null))
    };
    if (this.get('room') !== session.name) {
      state.room = session.name;
    }
    this.set(state);
    this.save_changes();
  }

  private _views = new Set<RoomView>();
  private _session: IRoomSession | null = null;
  /** The last kernel request came from code this tab ran (its `origin` is our client id). */
  private _ranHere = false;
  private _claimed = false;
  private _queue = new RequestQueue(QUEUED_SEND_TTL);
  private _pollAnswers = new PollAnswerTracker();
  /** A poll's id (its message's seq) -> the client id it was asked with. */
  private _pollClientIds = new Map<number, string>();
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
    (this.model as RoomModel).claim();
    const { connection, presence, classroom } = getContext();
    // The Network pane's switch sets this widget's `transport` trait (Python sees it), which
    // switches the tab's connection.
    this._renderer = new RoomRenderer(
      this.el,
      connection,
      presence,
      mode => {
        this.model.set('transport', mode);
        this.touch();
      },
      classroom
    );
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

  /**
   * The room named in the model; when the name is empty, the room of the notebook: the one
   * its metadata names (an own copy stays in the original's room), else its path's.
   */
  private _resolveRoom(): string | null {
    const name = (this.model.get('room') as string | undefined) ?? '';
    if (name) {
      return name;
    }
    const notebook = this._notebook();
    return notebook ? defaultRoomName(notebook.metadata, notebook.path) : null;
  }

  /** The path of the notebook showing this view, and its `collab_widget` metadata. */
  private _notebook(): { path: string; metadata: unknown } | null {
    // The notebook widget manager knows its document context.
    const manager = this.model.widget_manager as unknown as {
      context?: { path?: unknown; model?: unknown };
    };
    const ctx = manager?.context;
    if (ctx && typeof ctx.path === 'string' && ctx.path) {
      return { path: ctx.path, metadata: collabMetadataOf(ctx.model) };
    }
    const tracker = getContext().tracker;
    if (tracker) {
      const panel = tracker.find(p => p.node.contains(this.el));
      if (panel) {
        return { path: panel.context.path, metadata: collabMetadataOf(panel.context.model) };
      }
    }
    return null;
  }

  private _onRoomChanged(): void {
    const room = this._resolveRoom();
    if (!room) {
      this._renderer?.setWaiting(trans.__('waiting for the notebook path…'));
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
