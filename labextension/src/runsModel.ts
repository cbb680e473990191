/**
 * The Runs table's data: the server's answer to one query, held a page at a time.
 *
 * The table asks for rows by index; missing pages are fetched by offset (never the whole store),
 * the first page with the total so the scroll bar is right from the start. A new query, a new run
 * or a reconnect bumps the generation: answers of an older generation are dropped, so a page can
 * never land twice or in the wrong place. Status events update loaded rows in place.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { LIVE_STATUSES } from './api';
import { AmlApiError, AmlClient, IRunSummary } from './client';

export interface IRunsQuery {
  filter: string;
  experiments: string[];
  orderBy: string[];
}

const LIVE = new Set(LIVE_STATUSES);

export function isLive(status: string): boolean {
  return LIVE.has(status);
}

function clampPage(size: number): number {
  return Math.max(10, Math.min(1000, Math.floor(size) || 200));
}

export class RunsModel {
  constructor(
    private readonly client: AmlClient,
    options: { pageSize?: number } = {}
  ) {
    this._pageSize = clampPage(options.pageSize ?? 200);
  }

  /** Runs fetched a request (10 to 1,000). */
  get pageSize(): number {
    return this._pageSize;
  }

  /** A new page size (the settings changed): everything is fetched again in pages of that size. */
  setPageSize(size: number, reload = true): Promise<void> {
    const next = clampPage(size);
    if (next === this._pageSize) {
      return Promise.resolve();
    }
    this._pageSize = next;
    return reload ? this.reload() : Promise.resolve();
  }

  /** Rows, the total or the error changed: the table re-renders what it shows. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get selectionChanged(): ISignal<this, string[]> {
    return this._selectionChanged;
  }

  get query(): IRunsQuery {
    return this._query;
  }

  /** Grows at every change of the rows held (a view caches what it drew against it). */
  get version(): number {
    return this._version;
  }

  /** Matching runs on the server (0 before the first answer). */
  get total(): number {
    return this._total;
  }

  /** Whether the first answer for the current query has come. */
  get ready(): boolean {
    return this._ready;
  }

  /** The server's refusal of the current query (a bad filter: its own words), else null. */
  get error(): AmlApiError | null {
    return this._error;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Starts over with a new query: the first page and the total are fetched at once. */
  setQuery(query: Partial<IRunsQuery>): Promise<void> {
    this._query = { ...this._query, ...query };
    return this.reload();
  }

  /** Drops every page and fetches the first again (a new run, a reconnect). */
  async reload(): Promise<void> {
    this._generation++;
    this._pages.clear();
    this._pending.clear();
    this._failed.clear();
    await this._load(0, true);
  }

  /** The run at `index`, or undefined while its page is on its way (the call asks for it). */
  at(index: number): IRunSummary | undefined {
    const page = Math.floor(index / this.pageSize);
    const rows = this._pages.get(page);
    if (!rows) {
      if (!this._failed.has(page)) {
        void this._load(page, false);
      }
      return undefined;
    }
    return rows[index - page * this.pageSize];
  }

  /** Fetches the pages holding rows `first` to `last` that are not here yet. */
  async ensure(first: number, last: number): Promise<void> {
    const pages = new Set<number>();
    for (let i = Math.max(0, first); i <= Math.min(last, this._total - 1); i += this.pageSize) {
      pages.add(Math.floor(i / this.pageSize));
    }
    if (last < this._total) {
      pages.add(Math.floor(last / this.pageSize));
    }
    await Promise.all([...pages].filter(p => !this._pages.has(p)).map(p => this._load(p, false)));
  }

  /** Fetches again the loaded pages of rows `first` to `last` (moving metrics of live runs). */
  async refresh(first: number, last: number): Promise<void> {
    const pages = new Set<number>();
    for (let i = Math.max(0, first); i <= last; i += this.pageSize) {
      pages.add(Math.floor(i / this.pageSize));
    }
    pages.add(Math.floor(Math.max(0, last) / this.pageSize));
    await Promise.all([...pages].filter(p => this._pages.has(p)).map(p => this._load(p, p === 0, true)));
  }

  /** The loaded run with this id, if any. */
  find(id: string): IRunSummary | undefined {
    for (const rows of this._pages.values()) {
      const hit = rows.find(r => r.id === id);
      if (hit) {
        return hit;
      }
    }
    return undefined;
  }

  /** Index of a loaded run, or -1. */
  indexOf(id: string): number {
    for (const [page, rows] of this._pages) {
      const i = rows.findIndex(r => r.id === id);
      if (i >= 0) {
        return page * this.pageSize + i;
      }
    }
    return -1;
  }

  /** Whether any loaded row in `first`..`last` is still live (its metrics may move). */
  anyLive(first: number, last: number): boolean {
    for (let i = Math.max(0, first); i <= last; i++) {
      const row = this._pages.get(Math.floor(i / this.pageSize))?.[i % this.pageSize];
      if (row && isLive(row.status)) {
        return true;
      }
    }
    return false;
  }

  /**
   * A status event: a loaded row changes in place; a run not loaded may be new, so the first
   * page is fetched again (at most once per `debounceMs`).
   */
  applyStatus(id: string, status: string): void {
    const row = this.find(id);
    if (row) {
      if (row.status !== status) {
        row.status = status;
        if (!isLive(status) && row.end_time === null) {
          row.end_time = Date.now();
        }
        this._emitChanged();
      }
      return;
    }
    if (this._reloadTimer === null) {
      this._reloadTimer = setTimeout(() => {
        this._reloadTimer = null;
        void this.reload();
      }, this.debounceMs);
    }
  }

  /** Pages held at most (the first always, the rest nearest to where the table is). */
  maxPages = 25;

  /** How long status events of unknown runs are gathered before the first page is fetched again. */
  debounceMs = 250;

  // Selection: run ids, in the order they were picked (compare takes them in that order).
  get selected(): string[] {
    return [...this._selected];
  }

  isSelected(id: string): boolean {
    return this._selected.has(id);
  }

  select(id: string, on?: boolean): void {
    const want = on ?? !this._selected.has(id);
    if (want === this._selected.has(id)) {
      return;
    }
    if (want) {
      this._selected.add(id);
    } else {
      this._selected.delete(id);
    }
    this._selectionChanged.emit(this.selected);
  }

  clearSelection(): void {
    if (this._selected.size) {
      this._selected.clear();
      this._selectionChanged.emit([]);
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    if (this._reloadTimer !== null) {
      clearTimeout(this._reloadTimer);
    }
    Signal.clearData(this);
  }

  private _load(page: number, withTotal: boolean, again = false): Promise<void> {
    const key = again ? -page - 1 : page;
    const pending = this._pending.get(key);
    if (pending) {
      return pending;
    }
    const generation = this._generation;
    const work = (async () => {
      try {
        const answer = await this.client.search({
          filter: this._query.filter || undefined,
          experiments: this._query.experiments,
          orderBy: this._query.orderBy,
          maxResults: this.pageSize,
          offset: page * this.pageSize,
          count: withTotal
        });
        if (generation !== this._generation || this._disposed) {
          return; // an answer to an older query: dropped
        }
        this._pages.set(page, answer.runs);
        this._failed.delete(page);
        this._dropOverlaps(page, answer.runs);
        this._evictFar(page);
        if (answer.total !== undefined) {
          this._total = answer.total;
        } else if (answer.next_page_token === null) {
          this._total = page * this.pageSize + answer.runs.length;
        }
        this._error = null;
        this._ready = true;
      } catch (err) {
        if (generation !== this._generation || this._disposed) {
          return;
        }
        this._error = err instanceof AmlApiError ? err : new AmlApiError(0, String(err));
        this._failed.add(page); // asked again on the next reload, not on every paint
        if (page === 0) {
          this._total = 0;
          this._pages.clear();
        }
        this._ready = true;
      } finally {
        if (generation === this._generation) {
          this._pending.delete(key);
        }
      }
      this._emitChanged();
    })();
    this._pending.set(key, work);
    return work;
  }

  private _emitChanged(): void {
    this._version++;
    this._changed.emit();
  }

  // At most `maxPages` pages are held: those farthest from the one just read go (fetched again
  // if scrolled back to), so a long scroll never gathers the whole store in the browser.
  private _evictFar(page: number): void {
    if (this._pages.size <= this.maxPages) {
      return;
    }
    const far = [...this._pages.keys()].filter(p => p !== 0).sort((a, b) => Math.abs(b - page) - Math.abs(a - page));
    for (const p of far.slice(0, this._pages.size - this.maxPages)) {
      this._pages.delete(p);
    }
  }

  // Runs shift between pages when runs are added or deleted between two fetches: a page that
  // holds a run another page also holds was read before the shift, and goes.
  private _dropOverlaps(page: number, rows: IRunSummary[]): void {
    const ids = new Set(rows.map(r => r.id));
    for (const [other, held] of this._pages) {
      if (other !== page && held.some(r => ids.has(r.id))) {
        this._pages.delete(other);
      }
    }
  }

  private _query: IRunsQuery = { filter: '', experiments: [], orderBy: [] };
  private _pages = new Map<number, IRunSummary[]>();
  private _pending = new Map<number, Promise<void>>();
  private _failed = new Set<number>();
  private _pageSize: number;
  private _generation = 0;
  private _version = 0;
  private _total = 0;
  private _ready = false;
  private _error: AmlApiError | null = null;
  private _selected = new Set<string>();
  private _reloadTimer: ReturnType<typeof setTimeout> | null = null;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
  private _selectionChanged = new Signal<this, string[]>(this);
}
