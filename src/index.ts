import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';
import { PageConfig } from '@jupyterlab/coreutils';
import { IEditorExtensionRegistry, IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { INotebookTracker } from '@jupyterlab/notebook';

import { ClassroomLab } from './classroom/lab';
import { CollabConnection } from './connection';
import { CollabPresence } from './presence/collabPresence';
import { IClassroomLab, ICollabConnection, ICollabPresence } from './tokens';
import { MODULE_NAME, MODULE_VERSION, RoomModel, RoomView, setWidgetContext } from './widget';

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
  activate: (app: JupyterFrontEnd): ICollabConnection => {
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
 * INotebookTracker and IEditorExtensionRegistry are optional (JupyterLab and Notebook 7).
 */
const presencePlugin: JupyterFrontEndPlugin<ICollabPresence> = {
  id: 'collab-widget:presence',
  description: 'Cursor presence: who is where, remote cursors in notebook cells.',
  autoStart: true,
  provides: ICollabPresence,
  requires: [ICollabConnection],
  optional: [INotebookTracker, IEditorExtensionRegistry],
  activate: (
    app: JupyterFrontEnd,
    connection: ICollabConnection,
    notebooks: INotebookTracker | null,
    editorExtensions: IEditorExtensionRegistry | null
  ): ICollabPresence => {
    const presence = new CollabPresence({ app, connection, notebooks, editorExtensions });
    if (PageConfig.getOption('exposeAppInBrowser').toLowerCase() === 'true') {
      // A handle for tests: the service and its local part (whose timings tests shorten).
      (window as unknown as { collabPresence?: unknown }).collabPresence = {
        service: presence,
        local: presence.local
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

export default [connectionPlugin, presencePlugin, classroomPlugin, widgetPlugin];
