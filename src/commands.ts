/**
 * collab-widget's commands (the command palette's "Collaboration rooms" category): open a room
 * in the side panel, pop the current room out, toggle sharing my cursor, jump to a member.
 * The dialogs and the warnings come in as functions, so the commands can be tested with fakes.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { DisposableDelegate, DisposableSet, IDisposable } from '@lumino/disposable';

import { trans } from './i18n';
import type { IPresenceState } from './protocol';
import { formatLocation } from './presence/state';
import type { ICollabConnection, ICollabPresence } from './tokens';
import { displayName } from './util';
import { latestByUser } from './view/locations';
import { defaultRoomName } from './widgetBridge';

export namespace CommandIDs {
  export const openSidePanel = 'collab-widget:open-side-panel';
  export const popOut = 'collab-widget:pop-out';
  export const toggleSharing = 'collab-widget:toggle-share-cursor';
  export const jumpToMember = 'collab-widget:jump-to-member';
}

/** The command palette's category of these commands. */
export function commandCategory(): string {
  return trans.__('Collaboration rooms');
}

/** Every command, in the palette's order. */
export const PALETTE_COMMANDS = [
  CommandIDs.openSidePanel,
  CommandIDs.popOut,
  CommandIDs.toggleSharing,
  CommandIDs.jumpToMember
];

/** The notebook the user works in, as the commands need it. */
export interface ICurrentNotebook {
  readonly path: string;
  /** Its `collab_widget` metadata (an own copy's room). */
  readonly metadata: unknown;
  /** Its node: the Room views it shows are inside. */
  readonly node: HTMLElement;
}

/** The dialogs the commands ask with (JupyterLab's InputDialog; fakes in tests). */
export interface ICommandDialogs {
  /** Ask for a text; null when cancelled. */
  getText(options: { title: string; label: string; text: string }): Promise<string | null>;
  /** Pick one of `items`; null when cancelled. */
  getItem(options: { title: string; label: string; items: string[] }): Promise<string | null>;
}

export interface ICommandsOptions {
  commands: JupyterFrontEnd['commands'];
  connection: Pick<ICollabConnection, 'sessions' | 'getSession'>;
  presence: ICollabPresence | null;
  /** Shows a room in the side panel. */
  openPanel: (room: string) => void;
  /** The current notebook, if any. */
  currentNotebook: () => ICurrentNotebook | null;
  dialogs: ICommandDialogs;
  /** Tells the user why a command did nothing (JupyterLab's Notification.warning). */
  warn: (text: string) => void;
}

/**
 * The rooms of a notebook: those its Room views show (in the notebook's order), else the room
 * `Room()` would join there (its metadata's, else its path's).
 */
export function notebookRooms(notebook: ICurrentNotebook | null): string[] {
  if (!notebook) {
    return [];
  }
  const rooms: string[] = [];
  const headers = notebook.node.querySelectorAll<HTMLElement>('.jp-CollabRoom-header[data-room]');
  for (const header of Array.from(headers)) {
    const room = header.dataset.room;
    if (room && !rooms.includes(room)) {
      rooms.push(room);
    }
  }
  if (rooms.length === 0) {
    const room = defaultRoomName(notebook.metadata, notebook.path);
    if (room) {
      rooms.push(room);
    }
  }
  return rooms;
}

/** Someone to jump to: a member of a joined room with a location. */
export interface IJumpTarget {
  readonly room: string;
  readonly username: string;
  readonly name: string;
  readonly state: IPresenceState;
  /** What the picker shows. */
  readonly label: string;
}

/**
 * The members of the tab's rooms (not the user) who share where they are, by room then name;
 * labels are unique (a username is added where two display names would read the same).
 */
export function jumpTargets(connection: Pick<ICollabConnection, 'sessions'>): IJumpTarget[] {
  const found: Omit<IJumpTarget, 'label'>[] = [];
  for (const session of connection.sessions) {
    const you = session.you?.username;
    const latest = latestByUser(session.presence.values());
    for (const m of session.members) {
      const state = latest.get(m.username)?.state;
      if (m.username === you || !state?.path) {
        continue;
      }
      found.push({ room: session.name, username: m.username, name: displayName(m), state });
    }
  }
  found.sort((a, b) => a.room.localeCompare(b.room) || a.name.localeCompare(b.name));
  const labelOf = (t: Omit<IJumpTarget, 'label'>): string =>
    trans.__('%1 — %2 (%3)', t.name, formatLocation(t.state), t.room);
  const counts = new Map<string, number>();
  for (const t of found) {
    counts.set(labelOf(t), (counts.get(labelOf(t)) ?? 0) + 1);
  }
  return found.map(t => {
    const label = labelOf(t);
    return { ...t, label: (counts.get(label) ?? 0) > 1 ? `${label} [${t.username}]` : label };
  });
}

/** Add the commands; dispose the result to remove them. */
export function addCommands(options: ICommandsOptions): IDisposable {
  const { commands, connection, presence, dialogs, warn } = options;
  const set = new DisposableSet();

  /** The rooms of the current notebook this tab is in (what "toggle sharing" switches). */
  const sharedRooms = (): string[] =>
    notebookRooms(options.currentNotebook()).filter(room => connection.getSession(room));

  set.add(
    commands.addCommand(CommandIDs.openSidePanel, {
      label: () => trans.__('Open room in the side panel'),
      caption: () => trans.__("Show a room in JupyterLab's right side panel"),
      describedBy: {
        args: {
          type: 'object',
          properties: { room: { type: 'string', description: 'The room (else asked for)' } }
        }
      },
      execute: async args => {
        let room = typeof args.room === 'string' ? args.room.trim() : '';
        if (!room) {
          const asked = await dialogs.getText({
            title: trans.__('Open room in the side panel'),
            label: trans.__('Room name'),
            text: notebookRooms(options.currentNotebook())[0] ?? ''
          });
          room = asked?.trim() ?? '';
        }
        if (room) {
          options.openPanel(room);
        }
      }
    })
  );

  set.add(
    commands.addCommand(CommandIDs.popOut, {
      label: () => trans.__('Pop this room out into the side panel'),
      caption: () =>
        trans.__(
          "Show the current notebook's room in the right side panel, in sight while the notebook scrolls"
        ),
      execute: async args => {
        const room =
          typeof args.room === 'string' && args.room
            ? args.room
            : notebookRooms(options.currentNotebook())[0];
        if (room) {
          options.openPanel(room);
        } else {
          await commands.execute(CommandIDs.openSidePanel);
        }
      }
    })
  );

  set.add(
    commands.addCommand(CommandIDs.toggleSharing, {
      label: () => trans.__('Toggle sharing my cursor'),
      caption: () =>
        trans.__(
          'Show or hide where you are (notebook, cell, line) to the rooms of the current notebook'
        ),
      isEnabled: () => presence !== null,
      isToggled: () => {
        const rooms = sharedRooms();
        return presence !== null && rooms.length > 0 && rooms.every(r => presence.isSharing(r));
      },
      execute: () => {
        if (!presence) {
          return;
        }
        const rooms = sharedRooms();
        if (rooms.length === 0) {
          warn(trans.__('The current notebook shows no room you are in.'));
          return;
        }
        const on = !rooms.every(r => presence.isSharing(r));
        for (const room of rooms) {
          presence.setSharing(room, on);
        }
      }
    })
  );

  set.add(
    commands.addCommand(CommandIDs.jumpToMember, {
      label: () => trans.__('Jump to member…'),
      caption: () => trans.__('Go to where a member of one of your rooms is'),
      isEnabled: () => presence !== null,
      describedBy: {
        args: {
          type: 'object',
          properties: {
            room: { type: 'string', description: 'The room of the member' },
            username: { type: 'string', description: 'The member (else picked from a list)' }
          }
        }
      },
      execute: async args => {
        if (!presence) {
          return;
        }
        const targets = jumpTargets(connection);
        let target: IJumpTarget | undefined;
        if (typeof args.username === 'string' && args.username) {
          target = targets.find(
            t =>
              t.username === args.username &&
              (typeof args.room !== 'string' || !args.room || t.room === args.room)
          );
          if (!target) {
            warn(trans.__('%1 shares no location in your rooms.', args.username));
            return;
          }
        } else {
          if (targets.length === 0) {
            warn(trans.__('Nobody in your rooms shares where they are.'));
            return;
          }
          const picked = await dialogs.getItem({
            title: trans.__('Jump to member'),
            label: trans.__('Go to'),
            items: targets.map(t => t.label)
          });
          target = targets.find(t => t.label === picked);
        }
        if (target && !(await presence.jumpTo(target.state))) {
          warn(trans.__('Open %1 to go to %2.', target.state.path ?? '', target.name));
        }
      }
    })
  );

  if (presence) {
    const onSharing = (): void => commands.notifyCommandChanged(CommandIDs.toggleSharing);
    presence.sharingChanged.connect(onSharing);
    set.add(new DisposableDelegate(() => presence.sharingChanged.disconnect(onSharing)));
  }
  return set;
}
