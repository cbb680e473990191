/**
 * One run as its details view shows it: the record, read again when the run's status changes, and
 * the live log lines that arrive for it. Plain data and signals, no DOM, so `node --test` checks it;
 * the view (details.ts) draws whatever it holds.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { AmlApiError, AmlClient, IRunRecord } from './client';
import { EventStream } from './events';

export type DetailsState = 'loading' | 'gone' | string; // else the run's status

export class RunDetailsModel {
  constructor(
    readonly runId: string,
    readonly client: AmlClient,
    private readonly events: EventStream
  ) {
    events.log.connect((_, e) => {
      if (e.run_id === this.runId) {
        this._logged.emit(e.lines);
      }
    }, this);
    events.status.connect((_, e) => {
      if (e.run_id === this.runId) {
        void this.refresh();
      }
    }, this);
  }

  /** The record as last read; null before the first answer or once the run is gone. */
  get record(): IRunRecord | null {
    return this._record;
  }

  /** ``loading``, ``gone`` (deleted, or never there: ``error`` says which), or the run's status. */
  get state(): DetailsState {
    return this._state;
  }

  get error(): AmlApiError | null {
    return this._error;
  }

  /** A new record (the first one: ``first`` is true), or the run is gone. */
  get changed(): ISignal<this, { first: boolean }> {
    return this._changed;
  }

  /** Log lines the run printed, as they arrive. */
  get logged(): ISignal<this, string[]> {
    return this._logged;
  }

  /** Reads the run again (a status change, its tab shown again, a reload). */
  async refresh(): Promise<void> {
    let record: IRunRecord;
    try {
      record = await this.client.run(this.runId);
    } catch (err) {
      this._error = err as AmlApiError;
      this._record = null;
      this._state = 'gone';
      this.events.unfollow(this.runId);
      this._changed.emit({ first: false });
      return;
    }
    const first = this._record === null;
    this._record = record;
    this._error = null;
    this._state = record.status;
    if (first) {
      this.events.follow(this.runId);
    }
    this._changed.emit({ first });
  }

  dispose(): void {
    this.events.unfollow(this.runId);
    Signal.disconnectAll(this);
    Signal.disconnectReceiver(this);
  }

  private _record: IRunRecord | null = null;
  private _state: DetailsState = 'loading';
  private _error: AmlApiError | null = null;
  private _changed = new Signal<this, { first: boolean }>(this);
  private _logged = new Signal<this, string[]>(this);
}

/**
 * A dataset a run read, as a row: a registered one by its ``name:version`` (its URI says so), with
 * the start of its digest; anything else by its name and URI.
 */
export function inputRow(input: Record<string, unknown>): [string, string] {
  const uri = typeof input.uri === 'string' ? input.uri : '';
  const digest = typeof input.digest === 'string' ? input.digest.slice(0, 12) : '';
  if (uri.startsWith('dataset:')) {
    return [uri.slice('dataset:'.length), digest];
  }
  return [String(input.name ?? ''), [uri, digest].filter(Boolean).join(' · ')];
}
