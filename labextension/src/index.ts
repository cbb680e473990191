/**
 * The aml_jupyter JupyterLab extension: the "aml" sidebar (Runs), run details and compare in the
 * main area, "Submit as aml run" for notebooks and scripts, and the `IAmlRuns` token.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  Clipboard,
  ICommandPalette,
  IThemeManager,
  MainAreaWidget,
  Notification,
  showDialog,
  Dialog,
  ToolbarButton,
  WidgetTracker
} from '@jupyterlab/apputils';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { AmlApiError, AmlClient, IResponseLike } from './client';
import { EXTRA_CELLS } from './columns';
import { CompareView, MAX_COMPARED } from './compare';
import { RunDetails } from './details';
import { EventStream, ISocketLike } from './events';
import { amlIcon } from './icons';
import { isLive, RunsModel } from './runsModel';
import { AmlSidebar, DEFAULT_SETTINGS, IRunsSettings, RunsSection } from './sidebar';
import { askNewProject } from './projects';
import { askRerun, askSubmit } from './submit';
import { IAmlRuns, PLUGIN_ID } from './tokens';

export { IAmlRuns } from './tokens';

const CommandIDs = {
  openSidebar: 'aml:open-sidebar',
  open: 'aml:open-run',
  compare: 'aml:compare-runs',
  submit: 'aml:submit-notebook',
  cancel: 'aml:cancel-run',
  rerun: 'aml:rerun-run',
  restore: 'aml:restore-snapshot',
  copyId: 'aml:copy-run-id',
  insertCode: 'aml:insert-run-code',
  refresh: 'aml:refresh-runs',
  newProject: 'aml:new-project'
};

/** What each action needs of the caller's role (the server says so in `GET me`). */
const NEEDS: Record<string, string> = {
  [CommandIDs.cancel]: 'execute',
  [CommandIDs.rerun]: 'execute',
  [CommandIDs.submit]: 'execute',
  [CommandIDs.restore]: 'write',
  [CommandIDs.newProject]: 'write'
};

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
    ILauncher
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
    launcher: ILauncher | null
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

    // The run a command acts on: its args' id, else the focused row.
    const runId = (args: { id?: unknown }): string | undefined =>
      typeof args.id === 'string' && args.id ? args.id : runs.table.current?.id;

    const why = (command: string): string => {
      const need = NEEDS[command];
      if (!available) {
        return trans.__('the aml server extension is not available');
      }
      return need && !actions.has(need) ? trans.__('your role does not allow %1', need) : '';
    };

    const failed = (err: unknown) => {
      const e = err as AmlApiError;
      void showDialog({
        title: e.forbidden ? trans.__('Not allowed') : trans.__('aml'),
        body: e.message ?? String(err),
        buttons: [Dialog.okButton({ label: trans.__('OK') })]
      });
    };

    const { commands } = app;
    commands.addCommand(CommandIDs.openSidebar, {
      label: trans.__('Show the aml sidebar'),
      icon: amlIcon,
      execute: () => app.shell.activateById(sidebar.id)
    });
    commands.addCommand(CommandIDs.open, {
      label: trans.__('Open Run Details'),
      caption: trans.__('Open the details of a run (args: id)'),
      isEnabled: args => !!runId(args),
      execute: args => openRun(runId(args)!)
    });
    commands.addCommand(CommandIDs.compare, {
      label: () => trans.__('Compare Selected Runs (%1)', model.selected.length),
      caption: trans.__('Compare 2 to 20 runs (args: ids, else the selected runs)'),
      isEnabled: args => (Array.isArray(args.ids) ? args.ids.length : model.selected.length) >= 2,
      execute: args => compare(Array.isArray(args.ids) ? (args.ids as string[]) : model.selected)
    });
    commands.addCommand(CommandIDs.cancel, {
      label: () => (why(CommandIDs.cancel) ? trans.__('Cancel Run (%1)', why(CommandIDs.cancel)) : trans.__('Cancel Run')),
      isEnabled: args => !why(CommandIDs.cancel) && !!runId(args) && (runs.table.current ? isLive(runs.table.current.status) : true),
      execute: async args => {
        try {
          const done = await client.cancel(runId(args)!);
          model.applyStatus(done.id, done.status);
        } catch (err) {
          failed(err);
        }
      }
    });
    commands.addCommand(CommandIDs.rerun, {
      label: () => (why(CommandIDs.rerun) ? trans.__('Rerun with Edited Params (%1)', why(CommandIDs.rerun)) : trans.__('Rerun with Edited Params…')),
      isEnabled: args => !why(CommandIDs.rerun) && !!runId(args),
      execute: async args => {
        try {
          const record = await client.run(runId(args)!);
          const edits = await askRerun(record.params, trans);
          if (edits !== null) {
            const started = await client.rerun(record.id, edits);
            void model.reload();
            await openRun(started.id);
          }
        } catch (err) {
          failed(err);
        }
      }
    });
    commands.addCommand(CommandIDs.restore, {
      label: () => (why(CommandIDs.restore) ? trans.__('Restore Snapshot (%1)', why(CommandIDs.restore)) : trans.__('Restore Snapshot to a New Folder…')),
      isEnabled: args => !why(CommandIDs.restore) && !!runId(args),
      execute: async args => {
        try {
          const record = await client.run(runId(args)!);
          if (!record.snapshot_id) {
            throw new AmlApiError(400, trans.__('This run has no snapshot.'));
          }
          const input = new Widget({ node: document.createElement('input') });
          const field = input.node as HTMLInputElement;
          field.className = 'jp-mod-styled';
          field.value = `restored-${record.id.slice(0, 8)}`;
          const answer = await showDialog({
            title: trans.__('Restore the snapshot of %1 into a new folder', record.name),
            body: input,
            buttons: [Dialog.cancelButton({ label: trans.__('Cancel') }), Dialog.okButton({ label: trans.__('Restore') })]
          });
          if (answer.button.accept) {
            const done = await client.restore(record.snapshot_id, field.value.trim());
            Notification.success(trans.__('Restored %1 files into %2', done.files.length, done.folder), { autoClose: 5000 });
          }
        } catch (err) {
          failed(err);
        }
      }
    });
    commands.addCommand(CommandIDs.newProject, {
      label: args =>
        args.isLauncher ? trans.__('New aml Project') : trans.__('New aml Project from a Template…'),
      caption: () => why(CommandIDs.newProject) || trans.__('A project folder from the gallery: code, data, README'),
      icon: amlIcon,
      isEnabled: () => !why(CommandIDs.newProject),
      execute: async () => {
        const reason = why(CommandIDs.newProject);
        if (reason) {
          // The launcher runs its cards' commands whether or not they are enabled: say why not here.
          failed(new AmlApiError(403, trans.__('A new project needs the write action: %1.', reason)));
          return;
        }
        try {
          const made = await askNewProject(client, trans);
          if (made) {
            Notification.success(trans.__('Made %1 (%2 files)', made.folder, made.files.length), { autoClose: 5000 });
            await commands.execute('docmanager:open', { path: `${made.folder}/README.md` });
          }
        } catch (err) {
          failed(err);
        }
      }
    });
    commands.addCommand(CommandIDs.copyId, {
      label: trans.__('Copy Run Id'),
      isEnabled: args => !!runId(args),
      execute: args => Clipboard.copyToSystem(runId(args)!)
    });
    commands.addCommand(CommandIDs.insertCode, {
      label: trans.__('Insert Code for This Run into the Active Cell'),
      isEnabled: args => !!runId(args) && !!notebooks?.activeCell,
      execute: args => {
        const cell = notebooks?.activeCell;
        if (!cell) {
          return;
        }
        const id = runId(args)!;
        const source = cell.model.sharedModel.getSource();
        const lines = [
          ...(source.includes('import aml_jupyter as aml') ? [] : ['import aml_jupyter as aml']),
          `run = aml.get_run(${JSON.stringify(id)})`
        ];
        cell.model.sharedModel.setSource((source ? source.replace(/\n?$/, '\n') : '') + lines.join('\n'));
      }
    });
    commands.addCommand(CommandIDs.refresh, {
      label: trans.__('Refresh Runs'),
      execute: () => model.reload()
    });

    // Submit: the active notebook, or the file the browser's context menu was opened on.
    const submitPath = (args: { path?: unknown; fromBrowser?: unknown }): string | undefined => {
      if (typeof args.path === 'string' && args.path) {
        return args.path;
      }
      const first = browsers?.tracker.currentWidget?.selectedItems().next();
      const picked = first && !first.done ? first.value : undefined;
      if (args.fromBrowser && picked) {
        return picked.path;
      }
      return notebooks?.currentWidget?.context.path;
    };
    commands.addCommand(CommandIDs.submit, {
      label: () => (why(CommandIDs.submit) ? trans.__('Submit as aml Run (%1)', why(CommandIDs.submit)) : trans.__('Submit as aml Run…')),
      caption: trans.__('Submit this notebook or script as a tracked aml run'),
      icon: amlIcon,
      isEnabled: args => !why(CommandIDs.submit) && !!submitPath(args),
      execute: async args => {
        const path = submitPath(args)!;
        try {
          const panel = notebooks?.find(w => w.context.path === path);
          if (panel?.context.model.dirty) {
            await panel.context.save(); // the run takes the file as it is on disk
          }
          const value = await askSubmit(client, path, trans);
          if (!value) {
            return;
          }
          const started = await client.submit(value);
          void model.reload();
          await openRun(started.id);
        } catch (err) {
          failed(err);
        }
      }
    });

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
        EXTRA_CELLS.set(column.id, column.text);
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
