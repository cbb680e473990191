/**
 * The extension's commands: what each does, when it is enabled (the caller's role, the run it acts
 * on) and how it says why not. index.ts adds them to the palette, the menus and the key bindings.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Clipboard, Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { INotebookTracker } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { AmlApiError, AmlClient } from './client';
import { amlIcon } from './icons';
import { askNewProject } from './projects';
import { isLive, RunsModel } from './runsModel';
import { RunsSection } from './sidebar';
import { askRerun, askSubmit } from './submit';

export const CommandIDs = {
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

/** What the commands act through: the plugin instance's parts. */
export interface ICommandContext {
  app: JupyterFrontEnd;
  trans: TranslationBundle;
  client: AmlClient;
  model: RunsModel;
  runs: RunsSection;
  notebooks: INotebookTracker | null;
  browsers: IFileBrowserFactory | null;
  sidebarId: string;
  openRun(id: string): Promise<void>;
  compare(ids: string[]): Promise<void>;
  /** Whether the server extension answered, and the actions the caller's role allows. */
  access(): { available: boolean; actions: Set<string> };
}

/** Adds every command of the extension to ``ctx.app.commands``. */
export function addCommands(ctx: ICommandContext): void {
  const { app, trans, client, model, runs, notebooks, browsers, openRun, compare } = ctx;
  // The run a command acts on: its args' id, else the focused row.
  const runId = (args: { id?: unknown }): string | undefined =>
    typeof args.id === 'string' && args.id ? args.id : runs.table.current?.id;

  const why = (command: string): string => {
    const need = NEEDS[command];
    const { available, actions } = ctx.access();
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
    execute: () => app.shell.activateById(ctx.sidebarId)
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
        // Said at once: snapshotting the project and starting the job take seconds.
        const submitting = client.submit(value);
        Notification.promise(submitting.then(() => null), {
          pending: { message: trans.__('Submitting %1 to %2…', value.path, value.target), options: { autoClose: false } },
          success: { message: () => trans.__('Submitted %1: opening its run', value.path), options: { autoClose: 3000 } },
          error: { message: () => trans.__('Could not submit %1', value.path) }
        });
        const started = await submitting;
        void model.reload();
        await openRun(started.id);
      } catch (err) {
        failed(err);
      }
    }
  });
}
