import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';
import { PageConfig } from '@jupyterlab/coreutils';
import { INotebookTracker } from '@jupyterlab/notebook';

import { CollabConnection } from './connection';
import { ICollabConnection } from './tokens';
import {
  MODULE_NAME,
  MODULE_VERSION,
  RoomModel,
  RoomView,
  setWidgetContext
} from './widget';

export * from './tokens';
export * from './protocol';
export { CollabConnection, socketEndpoint } from './connection';

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
      (window as unknown as { collabConnection?: ICollabConnection }).collabConnection =
        connection;
    }
    return connection;
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
  optional: [INotebookTracker],
  activate: (
    app: JupyterFrontEnd,
    registry: IJupyterWidgetRegistry,
    connection: ICollabConnection,
    tracker: INotebookTracker | null
  ): void => {
    setWidgetContext({ connection, tracker });
    registry.registerWidget({
      name: MODULE_NAME,
      version: MODULE_VERSION,
      exports: { RoomModel, RoomView }
    });
  }
};

export default [connectionPlugin, widgetPlugin];
