/**
 * The aml_jupyter JupyterLab extension: the "aml" sidebar (Runs), run details and compare in the
 * main area, "Submit as aml run" for notebooks and scripts, and the `IAmlRuns` token.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, IThemeManager, MainAreaWidget, ToolbarButton, WidgetTracker } from '@jupyterlab/apputils';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { ReadonlyPartialJSONValue } from '@lumino/coreutils';

import { AmlApiError, AmlClient, IResponseLike } from './client';
import { CompareView, MAX_COMPARED } from './compare';
import { RunDetails } from './details';
import { addCommands, CommandIDs } from './commands';
import { EventStream, ISocketLike } from './events';
import { amlIcon } from './icons';
import { RunsModel } from './runsModel';
import { AmlSidebar, DEFAULT_SETTINGS, IRunsSettings, RunsSection } from './sidebar';
import { IAmlRuns, PLUGIN_ID } from './tokens';

export { IAmlRuns } from './tokens';

function makeTransport(settings: ServerConnection.ISettings) {
  return async (path: string, init: { method: string; body?: string }): Promise<IResponseLike> => {
    const url = URLExt.join(settings.baseUrl, 'aml', path);
    const headers = init.body !== undefined ? { 'Content-Type': 'application/json' } : undefined;
    const response = await ServerConnection.makeRequest(url, { method: init.method, body: init.body, headers }, settings);
    return response;
  };
}

const plugin: JupyterFrontEndPlugin<IAmlRuns> = {
  id: PLUGIN_ID,
  description: 'aml runs in JupyterLab: the sidebar, run details, compare and submit.',
  autoStart: true,
  provides: IAmlRuns,
  optional: [
    ITranslator,
    ILayoutRestorer,
    ISettingRegistry,
    INotebookTracker,
    IFileBrowserFactory,
    IThemeManager,
    ICommandPalette,
    ILauncher,
    IStateDB
  ],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    notebooks: INotebookTracker | null,
    browsers: IFileBrowserFactory | null,
    themes: IThemeManager | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    state: IStateDB | null
  ): IAmlRuns => {
    const trans = (translator ?? nullTranslator).load('aml_jupyter');
    const serverSettings = app.serviceManager.serverSettings;
    const client = new AmlClient(makeTransport(serverSettings));
    const settings: IRunsSettings = { ...DEFAULT_SETTINGS };
    const model = new RunsModel(client, { pageSize: settings.pageSize });
    const events = new EventStream(() => {
      let url = URLExt.join(serverSettings.wsUrl, 'aml', 'api', 'v1', 'events');
      const token = serverSettings.token || PageConfig.getToken();
      if (token && serverSettings.appendToken) {
        url += `?token=${encodeURIComponent(token)}`;
      }
      return new WebSocket(url) as unknown as ISocketLike;
    });
    const sidebar = new AmlSidebar(translator ?? nullTranslator);
    const runs = new RunsSection(client, model, events, trans, settings);
    if (state) {
      // Kept in the Lab's state database, which the server keeps with the workspace: a reload or
      // another window of the same Lab finds each experiment's columns as they were left.
      const key = (experiment: string) => `${PLUGIN_ID}:columns:${experiment || '*'}`;
      runs.columnMemory = {
        load: experiment => state.fetch(key(experiment)),
        save: (experiment, columns) => void state.save(key(experiment), columns as unknown as ReadonlyPartialJSONValue)
      };
    }
    sidebar.addSection(runs);
    app.shell.add(sidebar, 'left', { rank: 650 });
    restorer?.add(sidebar, 'aml-sidebar');

    let actions = new Set<string>(['read']);
    let available = false;
    const url = (path: string) => URLExt.join(serverSettings.baseUrl, 'aml', path);

    const details = new WidgetTracker<MainAreaWidget<RunDetails>>({ namespace: 'aml-run' });
    const compares = new WidgetTracker<MainAreaWidget<CompareView>>({ namespace: 'aml-compare' });

    const openRun = async (id: string): Promise<void> => {
      const open = details.find(w => w.content.runId === id);
      if (open) {
        app.shell.activateById(open.id);
        return;
      }
      const content = new RunDetails(id, { client, events, trans, url, openRun: rid => void openRun(rid) });
      const widget = new MainAreaWidget({ content });
      widget.id = `aml-run-${id}`;
      widget.title.icon = amlIcon;
      widget.title.label = id.slice(0, 8);
      await details.add(widget);
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
      await content.refresh();
      widget.title.label = content.title.label;
      widget.title.caption = content.title.caption;
    };

    const compare = async (ids: string[]): Promise<void> => {
      const unique = [...new Set(ids)].slice(0, MAX_COMPARED);
      const content = new CompareView(unique, {
        client,
        trans,
        url,
        openRun: id => void openRun(id),
        filterTable: picked => {
          runs.applyFilter(picked.length ? `attributes.run_id IN (${picked.map(p => `'${p}'`).join(', ')})` : '');
          app.shell.activateById(sidebar.id);
        }
      });
      const widget = new MainAreaWidget({ content });
      widget.id = `aml-compare-${Date.now()}`;
      widget.title.icon = amlIcon;
      widget.title.label = content.title.label;
      await compares.add(widget);
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
      await content.refresh();
    };

    runs.opened.connect((_, run) => void openRun(run.id));

    addCommands({
      app,
      trans,
      client,
      model,
      runs,
      notebooks,
      browsers,
      sidebarId: sidebar.id,
      openRun,
      compare,
      access: () => ({ available, actions })
    });
    const { commands } = app;

    const category = 'aml';
    for (const command of [CommandIDs.openSidebar, CommandIDs.open, CommandIDs.compare, CommandIDs.submit, CommandIDs.refresh, CommandIDs.newProject]) {
      palette?.addItem({ command, category });
    }
    launcher?.add({ command: CommandIDs.newProject, category: trans.__('aml'), rank: 1, args: { isLauncher: true } });
    const rowSelector = '.aml-RunsTable-row';
    let rank = 0;
    for (const command of [CommandIDs.open, CommandIDs.compare, CommandIDs.cancel, CommandIDs.rerun, CommandIDs.restore, CommandIDs.copyId, CommandIDs.insertCode]) {
      app.contextMenu.addItem({ command, selector: rowSelector, rank: rank++ });
    }
    app.contextMenu.addItem({ command: CommandIDs.submit, args: { fromBrowser: true }, selector: '.jp-DirListing-item[data-file-type="notebook"]', rank: 90 });
    app.contextMenu.addItem({ command: CommandIDs.submit, args: { fromBrowser: true }, selector: '.jp-DirListing-item[data-file-type="python"]', rank: 90 });
    commands.addKeyBinding({ command: CommandIDs.copyId, keys: ['Accel C'], selector: rowSelector });
    commands.addKeyBinding({ command: CommandIDs.compare, keys: ['Shift Enter'], selector: '.aml-RunsTable' });
    commands.addKeyBinding({ command: CommandIDs.openSidebar, keys: ['Accel Shift M'], selector: 'body' });

    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: NotebookPanel) => {
        const button = new ToolbarButton({
          icon: amlIcon,
          tooltip: trans.__('Submit as aml run'),
          onClick: () => void commands.execute(CommandIDs.submit, { path: panel.context.path })
        });
        button.addClass('aml-SubmitButton');
        panel.toolbar.insertItem(10, 'amlSubmit', button);
        return button;
      }
    });

    if (restorer) {
      void restorer.restore(details, { command: CommandIDs.open, args: w => ({ id: w.content.runId }), name: w => w.content.runId });
      void restorer.restore(compares, {
        command: CommandIDs.compare,
        args: w => ({ ids: w.content.runIds }),
        name: w => w.content.runIds.join(',')
      });
    }
    themes?.themeChanged.connect(() => {
      requestAnimationFrame(() => {
        details.forEach(w => w.content.recolor());
        compares.forEach(w => w.content.recolor());
      });
    });
    model.selectionChanged.connect(() => commands.notifyCommandChanged(CommandIDs.compare));

    const applySettings = (s: ISettingRegistry.ISettings) => {
      const c = s.composite as Partial<IRunsSettings>;
      runs.updateSettings({ ...DEFAULT_SETTINGS, ...c });
    };
    if (settingRegistry) {
      void settingRegistry
        .load(PLUGIN_ID)
        .then(s => {
          applySettings(s);
          s.changed.connect(applySettings);
        })
        .catch(() => undefined);
    }

    // First contact: without the server extension the panel says so once, and asks nothing more.
    void (async () => {
      try {
        await client.health();
      } catch (err) {
        const e = err as AmlApiError;
        if (e.status === 503) {
          sidebar.showNotice(e.message, trans.__('start Jupyter in an aml workspace (aml init), or set AML_WORKSPACE'));
        } else {
          sidebar.showNotice(
            trans.__('This Jupyter server has no aml extension.'),
            'pip install "aml_jupyter[jupyter]" && jupyter server extension enable aml_jupyter'
          );
        }
        sidebar.node.dataset.state = 'unavailable';
        return;
      }
      available = true;
      sidebar.node.dataset.state = 'ready';
      try {
        actions = new Set((await client.me()).actions);
      } catch {
        // an older server: every action offered, the server still refuses what it must
        actions = new Set(['read', 'write', 'execute', 'admin']);
      }
      sidebar.node.dataset.actions = [...actions].sort().join(' ');
      for (const id of Object.values(CommandIDs)) {
        commands.notifyCommandChanged(id);
      }
      events.start();
      await runs.start();
    })();

    return {
      client,
      model,
      events,
      get current() {
        return runs.table.current;
      },
      addColumn: column => {
        runs.cells.add(column.id, column.text);
        runs.addColumn(column.id, column.header);
      },
      addRowAction: (command, r = 50) => {
        app.contextMenu.addItem({ command, selector: rowSelector, rank: r });
      },
      openRun,
      compare
    };
  }
};

export default plugin;
