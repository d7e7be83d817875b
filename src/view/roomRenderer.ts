/**
 * RoomRenderer: one view of a room, composed of its panes (header, classroom mode, members,
 * chat, the teacher's panel, log and the collapsed Network pane), each re-rendered on the
 * session changes that concern it.
 */
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

export class RoomRenderer {
  /**
   * @param host the element to render into (the widget view's node).
   * @param connection the tab's connection (its state shows in the header).
   * @param presence cursor presence, when the app has it (share switch, locations).
   * @param onTransport the Network pane's transport switch (default: switch the connection).
   * @param classroom classroom mode's JupyterLab side (insert a snippet, follow), when present.
   */
  constructor(
    host: HTMLElement,
    connection: ICollabConnection,
    presence: ICollabPresence | null = null,
    onTransport: (mode: TransportMode) => void = mode => connection.setTransportMode(mode),
    classroom: IClassroomLab | null = null
  ) {
    this._classroom = classroom;
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
    this._members = new MembersPane(presence, classroom, text =>
      this._classroomPane.showError(text)
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
      presence.localChanged.connect(this._renderLocations, this);
      presence.sharingChanged.connect(this._onSharingChanged, this);
      presence.notebooksChanged.connect(this._renderLocations, this);
    }
    classroom?.followingChanged.connect(this._onFollowing, this);
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
    session.presenceChanged.connect(this._renderLocations, this);
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
    this._unwatch();
    this._connection.statusChanged.disconnect(this._onStatus, this);
    if (this._presence) {
      this._presence.localChanged.disconnect(this._renderLocations, this);
      this._presence.sharingChanged.disconnect(this._onSharingChanged, this);
      this._presence.notebooksChanged.disconnect(this._renderLocations, this);
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
    this._session?.presenceChanged.disconnect(this._renderLocations, this);
  }

  private _onChanged(_: IRoomSession, change: RoomChange): void {
    switch (change) {
      case 'log':
        this._log.render(this._session);
        break;
      case 'members':
        this._members.render(this._session);
        this._renderHeader();
        // Roles come with the members: what the classroom parts show may change.
        this._classroomPane.render();
        this._chat.renderCards();
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

  private _renderLocations(): void {
    this._members.renderLocations();
    this._classroomPane.renderPresence();
  }

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
  private _disposed = false;
}
