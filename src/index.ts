import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog, Notification, WidgetTracker } from '@jupyterlab/apputils';
import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';
import { PageConfig } from '@jupyterlab/coreutils';
import { IEditorExtensionRegistry, IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { usersIcon } from '@jupyterlab/ui-components';
import { ITranslator } from '@jupyterlab/translation';

import { ClassroomLab } from './classroom/lab';
import { addCommands, commandCategory, CommandIDs, PALETTE_COMMANDS } from './commands';
import { CollabConnection } from './connection';
import { setTranslator, trans } from './i18n';
import { MentionNotifier } from './mentions';
import { CollabPresence } from './presence/collabPresence';
import { LOG_CAP, setLogCap } from './room/roomLog';
import { RoomPanel, SidePanels } from './sidePanel';
import { IClassroomLab, ICollabConnection, ICollabPresence } from './tokens';
import { setPopOutHandler } from './view/headerPane';
import { MODULE_NAME, MODULE_VERSION, RoomModel, RoomView, setWidgetContext } from './widget';
import { collabMetadataOf } from './widgetBridge';

export * from './tokens';
export * from './limits';
export * from './protocol';
export { CollabConnection } from './connection';
export { socketEndpoint } from './util';
export { clampPosition, clampToText, formatLocation, textColorOn } from './presence/state';

/**
 * One Socket.IO connection per browser tab, shared by every feature of collab-widget.
 * Works in JupyterLab and Notebook 7 (it needs no shell).
 */
const connectionPlugin: JupyterFrontEndPlugin<ICollabConnection> = {
  id: 'collab-widget:connection',
  description: 'The tab-wide Socket.IO connection to the collab-widget server extension.',
  autoStart: true,
  provides: ICollabConnection,
  // The first plugin to activate: every later view gets the app's language.
  optional: [ITranslator],
  activate: (app: JupyterFrontEnd, translator: ITranslator | null): ICollabConnection => {
    if (translator) {
      setTranslator(translator);
    }
    const connection = new CollabConnection({
      baseUrl: app.serviceManager.serverSettings.baseUrl
    });
    // Leave cleanly when the tab goes away (others see it at once, not after a ping timeout).
    window.addEventListener('pagehide', event => {
      if (!event.persisted) {
        connection.dispose();
      }
    });
    // Same switch as `window.jupyterapp` (LabApp.expose_app_in_browser): a handle for tests.
    if (PageConfig.getOption('exposeAppInBrowser').toLowerCase() === 'true') {
      (window as unknown as { collabConnection?: ICollabConnection }).collabConnection = connection;
    }
    return connection;
  }
};

/**
 * Cursor presence: tracks where this tab's user is and sends it to the rooms the tab joined
 * through a widget; draws the others' carets and cell markers in open notebooks.
 * INotebookTracker and IEditorExtensionRegistry are optional (JupyterLab and Notebook 7);
 * without ISettingRegistry the presence settings keep their defaults.
 */
const presencePlugin: JupyterFrontEndPlugin<ICollabPresence> = {
  id: 'collab-widget:presence',
  description: 'Cursor presence: who is where, remote cursors in notebook cells.',
  autoStart: true,
  provides: ICollabPresence,
  requires: [ICollabConnection],
  optional: [INotebookTracker, IEditorExtensionRegistry, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    connection: ICollabConnection,
    notebooks: INotebookTracker | null,
    editorExtensions: IEditorExtensionRegistry | null,
    settings: ISettingRegistry | null
  ): ICollabPresence => {
    const presence = new CollabPresence({ app, connection, notebooks, editorExtensions, settings });
    if (PageConfig.getOption('exposeAppInBrowser').toLowerCase() === 'true') {
      // A handle for tests: the service, its local part (whose timings tests shorten), its
      // settings (and the registry they come from) and the colour sync beside real-time
      // collaboration.
      (window as unknown as { collabPresence?: unknown }).collabPresence = {
        service: presence,
        local: presence.local,
        settings: presence.settings,
        registry: settings,
        rtcColors: presence.rtcColors
      };
    }
    return presence;
  }
};

/**
 * Classroom mode's JupyterLab side (IClassroomLab): insert a snippet below the active cell,
 * highlight code, follow a member (the follow bar), make an own copy of a shared notebook.
 * Everything but the connection is optional (Notebook 7, no presence, no editor languages).
 */
const classroomPlugin: JupyterFrontEndPlugin<IClassroomLab> = {
  id: 'collab-widget:classroom',
  description: "Classroom mode's JupyterLab side: insert a snippet, follow a member, own copies.",
  autoStart: true,
  provides: IClassroomLab,
  requires: [ICollabConnection],
  optional: [INotebookTracker, ICollabPresence, IEditorLanguageRegistry],
  activate: (
    app: JupyterFrontEnd,
    connection: ICollabConnection,
    notebooks: INotebookTracker | null,
    presence: ICollabPresence | null,
    languages: IEditorLanguageRegistry | null
  ): IClassroomLab => {
    // `following` goes out with the tab's presence state (LocalPresence).
    const local = presence instanceof CollabPresence ? presence.local : null;
    const classroom = new ClassroomLab({
      app,
      connection,
      notebooks,
      languages,
      setFollowing: local ? username => local.setFollowing(username) : undefined
    });
    if (PageConfig.getOption('exposeAppInBrowser').toLowerCase() === 'true') {
      (window as unknown as { collabClassroom?: ClassroomLab }).collabClassroom = classroom;
    }
    return classroom;
  }
};

/**
 * The Room ipywidget. A separate plugin: without jupyterlab_widgets only this one fails.
 */
const widgetPlugin: JupyterFrontEndPlugin<void> = {
  id: 'collab-widget:widget',
  description: 'The collab-widget Room ipywidget.',
  autoStart: true,
  requires: [IJupyterWidgetRegistry, ICollabConnection],
  optional: [INotebookTracker, ICollabPresence, IClassroomLab],
  activate: (
    app: JupyterFrontEnd,
    registry: IJupyterWidgetRegistry,
    connection: ICollabConnection,
    tracker: INotebookTracker | null,
    presence: ICollabPresence | null,
    classroom: IClassroomLab | null
  ): void => {
    setWidgetContext({ connection, tracker, presence, classroom });
    registry.registerWidget({
      name: MODULE_NAME,
      version: MODULE_VERSION,
      exports: { RoomModel, RoomView }
    });
  }
};

/** The id of the settings schema (schema/settings.json) and of the plugin that applies it. */
const SETTINGS_ID = 'collab-widget:settings';

/**
 * JupyterLab's side of the rooms: the settings (Settings Editor: "Collaboration rooms"), the
 * commands in the palette, rooms in the right side panel (the widgets' "pop out" button) and
 * a notification when someone mentions you in a room whose views are out of view.
 * Everything but the connection is optional (no settings registry: the defaults).
 */
/** Mentions of one room within this many milliseconds share one notification. */
const MENTION_MERGE_MS = 10000;

const settingsPlugin: JupyterFrontEndPlugin<void> = {
  id: SETTINGS_ID,
  description: 'Settings, commands, the side panel and mention notifications of collab-widget.',
  autoStart: true,
  requires: [ICollabConnection],
  optional: [
    ISettingRegistry,
    ICommandPalette,
    INotebookTracker,
    ICollabPresence,
    IClassroomLab,
    ILayoutRestorer
  ],
  activate: (
    app: JupyterFrontEnd,
    connection: ICollabConnection,
    registry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    notebooks: INotebookTracker | null,
    presence: ICollabPresence | null,
    classroom: IClassroomLab | null,
    restorer: ILayoutRestorer | null
  ): void => {
    // The open side panels come back after a reload (the command re-opens each room).
    const tracker = new WidgetTracker<RoomPanel>({ namespace: 'collab-side-panel' });
    if (restorer) {
      void restorer.restore(tracker, {
        command: CommandIDs.openSidePanel,
        args: panel => ({ room: panel.room }),
        name: panel => panel.room
      });
    }
    const panels = new SidePanels({
      shell: app.shell,
      connection,
      presence,
      classroom,
      icon: usersIcon,
      added: panel => void tracker.add(panel)
    });
    addCommands({
      commands: app.commands,
      connection,
      presence,
      openPanel: room => panels.open(room),
      currentNotebook: () => {
        const panel = notebooks?.currentWidget;
        return panel
          ? {
              path: panel.context.path,
              metadata: collabMetadataOf(panel.context.model),
              node: panel.node
            }
          : null;
      },
      dialogs: {
        getText: async ({ title, label, text }) => {
          const result = await InputDialog.getText({ title, label, text });
          return result.button.accept ? result.value : null;
        },
        getItem: async ({ title, label, items }) => {
          const result = await InputDialog.getItem({ title, label, items });
          return result.button.accept ? result.value : null;
        }
      },
      warn: text => {
        Notification.warning(text, { autoClose: 5000 });
      }
    });
    if (palette) {
      for (const command of PALETTE_COMMANDS) {
        palette.addItem({ command, category: commandCategory() });
      }
    }
    // The widgets' "pop out" button.
    setPopOutHandler(room => {
      void app.commands.execute(CommandIDs.popOut, { room });
    });

    const recentMentions = new Map<string, { id: string; count: number; at: number }>();
    const notifier = new MentionNotifier({
      connection,
      notify: (text, room) => {
        const actions = [
          {
            label: trans.__('Open'),
            caption: trans.__('Show %1 in the side panel', room),
            callback: () => {
              void app.commands.execute(CommandIDs.openSidePanel, { room });
            }
          }
        ];
        // Several mentions in a row (or replayed after a reconnect): one notification per
        // room, updated, not a toast each.
        const now = Date.now();
        const last = recentMentions.get(room);
        if (last && now - last.at < MENTION_MERGE_MS) {
          last.count += 1;
          last.at = now;
          const merged = trans._n('%2 (%1 more)', '%2 (%1 more)', last.count - 1, text);
          if (Notification.update({ id: last.id, message: merged, autoClose: 8000, actions })) {
            return;
          }
        }
        const id = Notification.info(text, { autoClose: 8000, actions });
        recentMentions.set(room, { id, count: 1, at: now });
      }
    });

    const expose = PageConfig.getOption('exposeAppInBrowser').toLowerCase() === 'true';
    if (expose) {
      (window as unknown as { collabSidePanels?: SidePanels }).collabSidePanels = panels;
    }
    if (!registry) {
      return;
    }
    const apply = (settings: ISettingRegistry.ISettings): void => {
      const length = settings.get('eventLogLength').composite;
      setLogCap(typeof length === 'number' ? length : LOG_CAP);
      notifier.enabled = settings.get('notifications').composite !== false;
    };
    registry
      .load(SETTINGS_ID)
      .then(settings => {
        apply(settings);
        settings.changed.connect(apply);
        if (expose) {
          // A handle for tests: `await window.collabSettings.set('eventLogLength', 10)`.
          (window as unknown as { collabSettings?: ISettingRegistry.ISettings }).collabSettings =
            settings;
        }
      })
      .catch((reason: unknown) => {
        console.warn('collab-widget: could not load the settings', reason);
      });
  }
};

export default [connectionPlugin, presencePlugin, classroomPlugin, widgetPlugin, settingsPlugin];
