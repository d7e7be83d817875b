/**
 * RoomRenderer: one view of a room, composed of its panes (header, classroom mode, members,
 * chat, the teacher's panel, log and the collapsed Network pane), each re-rendered on the
 * session changes that concern it. The members and the log are drawn once per animation
 * frame, however many changes came; presence changes (others' batches, this tab's moves) at
 * most LOCATIONS_PER_SECOND times a second (the latest state wins), as nobody reads 300
 * "where" lines any faster and each redraw costs the page a layout. On screen, only the member
 * rows in view of the list are updated; off screen (an IntersectionObserver tells: scrolled
 * away in its notebook, or in a hidden side panel) every row is, without any layout read.
 */
import { FrameScheduler, frames as tabFrames, ThrottledTask } from '../frame';
import { trans } from '../i18n';
import type {
  IClassroomLab,
  ICollabConnection,
  ICollabPresence,
  IRoomSession,
  RoomChange,
  TransportMode
} from '../tokens';
import { ChatPane } from './chatPane';
import { ClassroomPane } from './classroomPane';
import { h } from './dom';
import { HeaderPane } from './headerPane';
import { LogPane } from './logPane';
import { MembersPane } from './membersPane';
import { NetworkPane } from './networkPane';

/** How often the members' locations and the classroom's presence parts are drawn, at most. */
export const LOCATIONS_PER_SECOND = 4;
/** How long (ms) the locations may wait for a frame that runs anyway. */
const LOCATIONS_SLACK = 60;
/** How near the viewport (px) the view counts as on screen. */
const IN_VIEW_MARGIN = 100;

export class RoomRenderer {
  /**
   * @param host the element to render into (the widget view's node).
   * @param connection the tab's connection (its state shows in the header).
   * @param presence cursor presence, when the app has it (share switch, locations).
   * @param onTransport the Network pane's transport switch (default: switch the connection).
   * @param classroom classroom mode's JupyterLab side (insert a snippet, follow), when present.
   * @param frames the frame scheduler (the tab's by default).
   */
  constructor(
    host: HTMLElement,
    connection: ICollabConnection,
    presence: ICollabPresence | null = null,
    onTransport: (mode: TransportMode) => void = mode => connection.setTransportMode(mode),
    classroom: IClassroomLab | null = null,
    frames: FrameScheduler = tabFrames
  ) {
    this._classroom = classroom;
    this._frames = frames;
    // Drawn in a frame that runs anyway (the carets', up to PRESENCE_FPS a second) when one
    // comes within LOCATIONS_SLACK ms: no frame of its own.
    this._locations = new ThrottledTask(
      this._measureLocations,
      1000 / LOCATIONS_PER_SECOND,
      frames,
      'read',
      LOCATIONS_SLACK
    );
    this._host = host;
    this._connection = connection;
    this._presence = presence;
    host.classList.add('jp-CollabRoom');
    host.dataset.testid = 'collab-room';
    host.setAttribute('role', 'region');
    this._header = new HeaderPane(presence !== null, on => {
      if (this._session && this._presence) {
        this._presence.setSharing(this._session.name, on);
      }
    });
    this._classroomPane = new ClassroomPane(connection, presence, classroom);
    this._members = new MembersPane(
      presence,
      classroom,
      text => this._classroomPane.showError(text),
      frames
    );
    this._chat = new ChatPane(classroom);
    this._log = new LogPane();
    this._network = new NetworkPane(connection, onTransport);
    host.append(
      this._header.node,
      this._classroomPane.node,
      h('div', { className: 'jp-CollabRoom-body' }, this._members.node, this._chat.node),
      this._classroomPane.teacherNode,
      this._log.node,
      this._network.node
    );
    connection.statusChanged.connect(this._onStatus, this);
    if (presence) {
      presence.localChanged.connect(this._scheduleLocations, this);
      presence.sharingChanged.connect(this._onSharingChanged, this);
      presence.notebooksChanged.connect(this._scheduleLocations, this);
    }
    classroom?.followingChanged.connect(this._onFollowing, this);
    if (typeof IntersectionObserver !== 'undefined') {
      this._viewport = new IntersectionObserver(this._onIntersection, {
        rootMargin: `${IN_VIEW_MARGIN}px`
      });
      this._viewport.observe(host);
    }
    this._renderHeader();
  }

  /** Show a room session (or switch to another). */
  setSession(session: IRoomSession): void {
    this._unwatch();
    this._session = session;
    this._chat.setSession(session);
    this._classroomPane.setSession(session);
    this._log.clear();
    session.changed.connect(this._onChanged, this);
    session.presenceChanged.connect(this._scheduleLocations, this);
    this._renderHeader();
    this._members.render(session);
    this._chat.render(false);
    this._log.render(session);
    this.scrollToBottom();
  }

  /** Shown before a room is known. */
  setWaiting(text: string): void {
    this._header.setWaiting(text);
  }

  scrollToBottom(): void {
    this._chat.scrollToBottom();
    this._log.scrollToBottom();
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._locations.cancel();
    this._frames.cancel(this._renderLocations);
    this._viewport?.disconnect();
    this._frames.cancel(this._renderLog);
    this._frames.cancel(this._renderMembers);
    this._unwatch();
    this._connection.statusChanged.disconnect(this._onStatus, this);
    if (this._presence) {
      this._presence.localChanged.disconnect(this._scheduleLocations, this);
      this._presence.sharingChanged.disconnect(this._onSharingChanged, this);
      this._presence.notebooksChanged.disconnect(this._scheduleLocations, this);
    }
    this._classroom?.followingChanged.disconnect(this._onFollowing, this);
    this._header.dispose();
    this._members.dispose();
    this._chat.dispose();
    this._classroomPane.dispose();
    this._network.dispose();
    this._session = null;
  }

  private _unwatch(): void {
    this._session?.changed.disconnect(this._onChanged, this);
    this._session?.presenceChanged.disconnect(this._scheduleLocations, this);
  }

  private _onChanged(_: IRoomSession, change: RoomChange): void {
    switch (change) {
      case 'log':
        // Once per frame: a join into a big room logs a line per member.
        this._frames.schedule(this._renderLog, 'write');
        break;
      case 'members':
        // Once per frame: members come and go in bursts in a big room (a lecture starts).
        this._frames.schedule(this._renderMembers, 'write');
        break;
      case 'classroom':
        this._classroomPane.render();
        this._members.renderClassroom();
        this._chat.renderCards();
        break;
      case 'state':
        this._renderHeader();
        this._chat.renderOlder();
        break;
      case 'history':
        this._chat.render(true);
        break;
      default: // messages, pending
        this._chat.render(false);
    }
  }

  private _renderHeader(): void {
    const session = this._session;
    const name = session?.name ?? '…';
    this._host.setAttribute('aria-label', trans.__('Collaboration room %1', name));
    const sharing = session && this._presence ? this._presence.isSharing(session.name) : null;
    this._header.render(this._connection, session, sharing);
  }

  private _renderLog = (): void => {
    if (!this._disposed) {
      this._log.render(this._session);
    }
  };

  private _renderMembers = (): void => {
    if (this._disposed) {
      return;
    }
    this._members.render(this._session);
    this._renderHeader();
    // Roles come with the members: what the classroom parts show may change.
    this._classroomPane.render();
    this._chat.renderCards();
  };

  /** Presence changed: draw where people are soon (once for many batches; throttled). */
  private _scheduleLocations(): void {
    if (!this._disposed) {
      this._locations.schedule();
    }
  }

  /** Read phase (throttled): which member rows are in view (none when off screen). */
  private _measureLocations = (): void => {
    if (this._disposed) {
      return;
    }
    this._members.measure(this._inView);
    this._frames.schedule(this._renderLocations, 'write');
  };

  private _renderLocations = (): void => {
    if (this._disposed) {
      return;
    }
    this._members.renderLocations();
    this._classroomPane.renderPresence();
  };

  /** The view came on screen or went off it. */
  private _onIntersection = (entries: IntersectionObserverEntry[]): void => {
    const last = entries[entries.length - 1];
    if (!last) {
      return;
    }
    const was = this._inView;
    this._inView = last.isIntersecting;
    if (this._inView && !was) {
      this._locations.schedule();
    }
  };

  private _onStatus(): void {
    this._renderHeader();
    this._classroomPane.renderPresence(); // the own-copy offer depends on the server kind
  }

  /** Whom this tab follows changed: the members' Follow buttons and the follow request. */
  private _onFollowing(): void {
    this._members.renderClassroom();
    this._classroomPane.renderPresence();
  }

  private _onSharingChanged(_: ICollabPresence, room: string): void {
    if (this._session?.name === room) {
      this._header.setSharing(this._presence?.isSharing(room) ?? true);
      this._members.renderLocations();
    }
  }

  private _host: HTMLElement;
  private _connection: ICollabConnection;
  private _presence: ICollabPresence | null;
  private _classroom: IClassroomLab | null;
  private _session: IRoomSession | null = null;
  private _header: HeaderPane;
  private _classroomPane: ClassroomPane;
  private _members: MembersPane;
  private _chat: ChatPane;
  private _log: LogPane;
  private _network: NetworkPane;
  private _frames: FrameScheduler;
  private _locations: ThrottledTask;
  private _viewport: IntersectionObserver | null = null;
  /** Whether the view is on screen (or near it); always without IntersectionObserver. */
  private _inView = true;
  private _disposed = false;
}
