/**
 * What other extensions get of the aml panels: the `IAmlRuns` token (the runs model, the client,
 * the event stream, extra columns and row actions).
 */
import { Token } from '@lumino/coreutils';

import { AmlClient, IRunSummary } from './client';
import { EventStream } from './events';
import { RunsModel } from './runsModel';

export interface IExtraColumn {
  /** Unique, outside `params.`/`metrics.`/`tags.` (e.g. `myext.cost`). */
  id: string;
  header: string;
  text(run: IRunSummary): string;
}

export interface IAmlRuns {
  readonly client: AmlClient;
  readonly model: RunsModel;
  readonly events: EventStream;
  /** The run the user acts on: the focused row of the Runs table. */
  readonly current: IRunSummary | undefined;
  /** Adds a column to the chooser (hidden until the user shows it). */
  addColumn(column: IExtraColumn): void;
  /** Adds a command to the row context menu (it gets `{ id }` of the run). */
  addRowAction(command: string, rank?: number): void;
  openRun(id: string): Promise<void>;
  compare(ids: string[]): Promise<void>;
}

export const IAmlRuns = new Token<IAmlRuns>('aml_jupyter:IAmlRuns', 'The aml runs model, client and row actions.');

export const PLUGIN_ID = 'aml_jupyter:plugin';
