/**
 * The "aml" sidebar: a SidePanel whose accordion holds one section per kind of thing (Runs now;
 * Models, Compute and Data join it later). The Runs section is an experiment picker, a filter box
 * with autocomplete and the server's own error, a group-by, a column chooser and the table.
 */
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { SidePanel } from '@jupyterlab/ui-components';
import { ISignal, Signal } from '@lumino/signaling';
import { AccordionPanel, Panel, Widget } from '@lumino/widgets';

import { AmlClient, IGroup, IKeys, IRunSummary } from './client';
import { CellRegistry, defaultColumns, IColumn, isSystem, move, pin, quoteKey, sortTerm, systemLabel, toggle, validColumns, withKeys } from './columns';
import { para } from './dom';
import { EventStream } from './events';
import { amlIcon } from './icons';
import { RunsModel } from './runsModel';
import { RunsTable } from './table';

export interface IRunsSettings {
  columns: string[];
  pageSize: number;
  refreshSeconds: number;
  savedViews: { name: string; filter: string; experiments?: string[]; columns?: string[] }[];
}

export const DEFAULT_SETTINGS: IRunsSettings = { columns: [], pageSize: 200, refreshSeconds: 10, savedViews: [] };

/** The whole side panel; sections are added with `addSection`. */
export class AmlSidebar extends SidePanel {
  constructor(translator: ITranslator) {
    super({ translator });
    const trans = translator.load('aml_jupyter');
    this.id = 'aml-sidebar';
    this.title.icon = amlIcon;
    this.title.caption = trans.__('aml: runs, models, compute and data');
    this.addClass('aml-Sidebar');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('aml'));
    const heading = document.createElement('h2');
    heading.className = 'aml-Sidebar-title';
    heading.textContent = trans.__('aml');
    this.header.node.appendChild(heading);
    this.notice.addClass('aml-Sidebar-notice');
    this.notice.hide();
    this.header.addWidget(this.notice);
  }

  /** A message over the sections (no aml extension on this server, no workspace). */
  readonly notice = new Widget();

  showNotice(text: string, hint: string): void {
    const node = this.notice.node;
    node.replaceChildren();
    node.setAttribute('role', 'alert');
    const code = document.createElement('code');
    code.textContent = hint;
    node.append(para(text), code);
    this.notice.show();
  }

  hideNotice(): void {
    this.notice.hide();
  }

  addSection(widget: Widget): void {
    this.addWidget(widget);
    (this.content as AccordionPanel).expand?.(this.widgets.length - 1);
  }
}

/** Keeps a Runs section's column choices per experiment ('' for all of them) between sessions. */
export interface IColumnMemory {
  load(experiment: string): Promise<unknown>;
  save(experiment: string, columns: IColumn[]): void;
}

/** The Runs section. */
export class RunsSection extends Panel {
  /** The columns other extensions add, this section's own. */
  readonly cells = new CellRegistry();

  /** Where each experiment's column choices are kept between sessions (set before start()). */
  columnMemory: IColumnMemory | null = null;

  constructor(
    readonly client: AmlClient,
    readonly model: RunsModel,
    readonly events: EventStream,
    private readonly trans: TranslationBundle,
    private settings: IRunsSettings
  ) {
    super();
    this.id = 'aml-runs-section';
    this.title.label = trans.__('Runs');
    this.addClass('aml-RunsSection');
    this.node.setAttribute('aria-label', trans.__('Runs'));
    this.table = new RunsTable(model, {
      header: id => this._header(id),
      status: status => this._statusWord(status),
      loading: trans.__('loading…')
    }, this.cells);
    this._columns = defaultColumns(settings.columns);
    this.table.columns = this._columns;
    this.table.setSort('started', true);
    this.addWidget(this._controls());
    this.addWidget(this._groupsWidget);
    this._groupsWidget.addClass('aml-RunsSection-groups');
    this._groupsWidget.hide();
    this.addWidget(this.table);
    this.table.sortRequested.connect((_, column) => this._sortBy(column));
    model.changed.connect(this._onModel, this);
    events.status.connect((_, e) => model.applyStatus(e.run_id, e.status), this);
    events.connection.connect((_, up) => {
      if (up && this._everConnected) {
        void model.reload(); // events sent while the socket was down are not replayed
      }
      this._everConnected ||= up;
      this._liveBadge.textContent = up ? this.trans.__('live') : this.trans.__('reconnecting…');
      this._liveBadge.dataset.live = String(up);
    }, this);
  }

  readonly table: RunsTable;

  /** The user asked to open a run (Enter, double click). */
  get opened(): ISignal<RunsTable, IRunSummary> {
    return this.table.opened;
  }

  get columnsChanged(): ISignal<this, IColumn[]> {
    return this._columnsChanged;
  }

  /** Starts reading: the experiments, the keys, the first page. */
  async start(): Promise<void> {
    this._timer = setInterval(() => this._tick(), 1000);
    await Promise.all([this._loadExperiments(), this._loadKeys(), this.model.setQuery({ orderBy: [sortTerm('started', true)] })]);
  }

  updateSettings(settings: IRunsSettings): void {
    this.settings = settings;
    void this.model.setPageSize(settings.pageSize, this.model.ready); // before the first query: no fetch
    const have = new Set(this._columns.map(c => c.id));
    for (const id of settings.columns) {
      if (!have.has(id)) {
        this._columns.push({ id, visible: true, pinned: false });
      }
    }
    this._setColumns(this._columns, false);
    this._renderViews();
  }

  addColumn(id: string, header: string): void {
    this._extraHeaders.set(id, header);
    if (!this._columns.some(c => c.id === id)) {
      this._setColumns([...this._columns, { id, visible: false, pinned: false }], false);
    }
  }

  /** Applies a filter as if typed (the compare view's brushing uses it). */
  applyFilter(filter: string): void {
    this._filter.value = filter;
    void this._runQuery();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    if (this._timer) {
      clearInterval(this._timer);
    }
    Signal.disconnectReceiver(this);
    super.dispose();
  }

  // Each second: live rows in view are fetched again every 2 s (their metrics move); with no
  // socket, the first page is polled every `refreshSeconds`; nothing while the panel is hidden.
  private _tick(): void {
    if (!this.isVisible || this.model.isDisposed) {
      return;
    }
    this._ticks++;
    const [first, last] = this.table.visibleRange;
    if (this._ticks % 2 === 0 && this.model.anyLive(first, last)) {
      void this.model.refresh(first, last);
    }
    if (this.events.fallback && this._ticks % Math.max(2, this.settings.refreshSeconds) === 0) {
      void this.model.refresh(first, last);
      void this.model.reload();
    }
    this._renderCount();
  }

  private _header(id: string): string {
    const fixed: Record<string, string> = {
      status: this.trans.__('Status'),
      name: this.trans.__('Name'),
      experiment: this.trans.__('Experiment'),
      user: this.trans.__('User'),
      started: this.trans.__('Started'),
      duration: this.trans.__('Duration')
    };
    if (id.startsWith('metrics.') && isSystem(id.slice(8))) {
      return fixed[id] ?? systemLabel(id.slice(8));
    }
    return fixed[id] ?? this._extraHeaders.get(id) ?? id;
  }

  private _statusWord(status: string): string {
    const words: Record<string, string> = {
      queued: this.trans.__('queued'),
      preparing: this.trans.__('preparing'),
      running: this.trans.__('running'),
      completed: this.trans.__('completed'),
      failed: this.trans.__('failed'),
      cancelled: this.trans.__('cancelled'),
      lost: this.trans.__('lost')
    };
    return words[status] ?? status;
  }

  private _controls(): Widget {
    const box = new Widget();
    box.addClass('aml-RunsSection-controls');
    const t = this.trans;

    this._experiment.className = 'jp-mod-styled aml-RunsSection-experiment';
    this._experiment.setAttribute('aria-label', t.__('Experiment'));
    this._experiment.addEventListener('change', () => {
      void this._loadKeys();
      void this._runQuery();
    });

    const filterId = `aml-filter-keys-${++RunsSection._count}`;
    this._filter.className = 'jp-mod-styled aml-RunsSection-filter';
    this._filter.type = 'search';
    this._filter.placeholder = t.__("search names, tags, ids; or metrics.acc > 0.9 and params.lr = '0.01'");
    this._filter.setAttribute('aria-label', t.__('Filter runs'));
    this._filter.setAttribute('list', filterId);
    this._filter.spellcheck = false;
    this._datalist.id = filterId;
    this._filter.addEventListener('input', () => {
      this._complete();
      if (!this._filter.value.trim() && this.model.query.filter) {
        void this._runQuery(); // an emptied box shows every run again, as search boxes do, Enter or not
      }
    });
    this._filter.addEventListener('keydown', ev => {
      if (ev.key === 'Enter') {
        void this._runQuery();
      } else if (ev.key === 'ArrowDown' && !this._datalist.childElementCount) {
        ev.preventDefault();
        this.table.focusTable();
      }
    });
    this._filter.addEventListener('search', () => void this._runQuery());
    this._error.className = 'aml-RunsSection-error';
    this._error.setAttribute('role', 'alert');
    this._error.hidden = true;

    this._groupBy.className = 'jp-mod-styled';
    this._groupBy.setAttribute('aria-label', t.__('Group by'));
    this._groupMetric.className = 'jp-mod-styled';
    this._groupMetric.setAttribute('aria-label', t.__('Best value of'));
    this._groupBy.addEventListener('change', () => void this._loadGroups());
    this._groupMetric.addEventListener('change', () => void this._loadGroups());

    const columnsButton = document.createElement('button');
    columnsButton.className = 'jp-Button jp-mod-styled jp-mod-reject aml-RunsSection-columnsButton';
    columnsButton.textContent = t.__('Columns');
    columnsButton.setAttribute('aria-haspopup', 'true');
    columnsButton.setAttribute('aria-expanded', 'false');
    columnsButton.addEventListener('click', () => {
      this._chooser.hidden = !this._chooser.hidden;
      columnsButton.setAttribute('aria-expanded', String(!this._chooser.hidden));
      if (!this._chooser.hidden) {
        this._renderChooser();
      }
    });
    this._chooser.className = 'aml-ColumnChooser';
    this._chooser.hidden = true;
    this._chooser.setAttribute('role', 'group');
    this._chooser.setAttribute('aria-label', t.__('Columns'));

    this._views.className = 'jp-mod-styled';
    this._views.setAttribute('aria-label', t.__('Saved views'));
    this._views.addEventListener('change', () => {
      const view = this.settings.savedViews.find(v => v.name === this._views.value);
      if (view) {
        this._filter.value = view.filter;
        if (view.columns) {
          this._setColumns(defaultColumns(view.columns));
        }
        void this._runQuery();
      }
    });

    this._count.className = 'aml-RunsSection-count';
    this._count.setAttribute('aria-live', 'polite');
    this._liveBadge.className = 'aml-RunsSection-live';

    const row1 = document.createElement('div');
    row1.className = 'aml-RunsSection-row';
    row1.append(this._experiment, this._views, columnsButton);
    const row2 = document.createElement('div');
    row2.className = 'aml-RunsSection-row';
    row2.append(this._filter, this._datalist);
    const row3 = document.createElement('div');
    row3.className = 'aml-RunsSection-row';
    const groupLabel = document.createElement('span');
    groupLabel.textContent = t.__('Group by');
    row3.append(groupLabel, this._groupBy, this._groupMetric);
    const row4 = document.createElement('div');
    row4.className = 'aml-RunsSection-row aml-RunsSection-status';
    row4.append(this._count, this._liveBadge);
    box.node.append(row1, this._chooser, row2, this._error, row3, row4);
    this._renderViews();
    return box;
  }

  private _renderViews(): void {
    const t = this.trans;
    this._views.replaceChildren(new Option(t.__('Views…'), ''));
    for (const view of this.settings.savedViews) {
      this._views.appendChild(new Option(view.name, view.name));
    }
    this._views.hidden = this.settings.savedViews.length === 0;
  }

  private async _loadExperiments(): Promise<void> {
    try {
      const experiments = await this.client.experiments();
      const current = this._experiment.value;
      this._experiment.replaceChildren(new Option(this.trans.__('All experiments'), ''));
      for (const e of experiments) {
        this._experiment.appendChild(new Option(`${e.name} (${e.runs})`, e.name));
      }
      this._experiment.value = current;
    } catch {
      // the notice (set by the plugin) says why; the table shows the error too
    }
  }

  private async _loadKeys(): Promise<void> {
    const experiment = this._experiment.value;
    try {
      this._keys = await this.client.keys(experiment ? [experiment] : []);
    } catch {
      return;
    }
    // The columns the user chose for this experiment last time, in this Lab or another window of it.
    const kept = this.columnMemory ? validColumns(await this.columnMemory.load(experiment).catch(() => null)) : null;
    this._recalled = true;
    this._setColumns(withKeys(kept ?? this._columns, this._keys), false);
    const t = this.trans;
    this._groupBy.replaceChildren(new Option(t.__('(none)'), ''));
    for (const key of this._keys.params) {
      this._groupBy.appendChild(new Option(`params.${key}`, `params.${quoteKey(key)}`));
    }
    for (const key of this._keys.tags.filter(k => !k.startsWith('aml.'))) {
      this._groupBy.appendChild(new Option(`tags.${key}`, `tags.${quoteKey(key)}`));
    }
    this._groupMetric.replaceChildren(new Option(t.__('(count only)'), ''));
    for (const key of this._keys.metrics) {
      this._groupMetric.appendChild(new Option(t.__('best %1', key), key));
    }
    this._complete();
  }

  // Offers the filter with its last word completed by each key it could mean.
  private _complete(): void {
    const text = this._filter.value;
    const match = /([\w.`]*)$/.exec(text);
    const word = match ? match[1] : '';
    const head = text.slice(0, text.length - word.length);
    const options: string[] = [];
    const all = [
      ...[...this._keys.metrics, ...this._keys.system_metrics].map(k => `metrics.${quoteKey(k)}`),
      ...this._keys.params.map(k => `params.${quoteKey(k)}`),
      ...this._keys.tags.map(k => `tags.${quoteKey(k)}`),
      'attributes.status',
      'attributes.name',
      'attributes.user'
    ];
    if (word.length > 0) {
      for (const key of all) {
        if (key.startsWith(word) && key !== word) {
          options.push(head + key);
        }
        if (options.length >= 50) {
          break;
        }
      }
    }
    this._datalist.replaceChildren(...options.map(o => new Option(o)));
  }

  private async _runQuery(): Promise<void> {
    const experiment = this._experiment.value;
    await this.model.setQuery({ filter: this._filter.value.trim(), experiments: experiment ? [experiment] : [] });
    void this._loadGroups();
  }

  private _sortBy(column: string): void {
    const descending = this._sort.column === column ? !this._sort.descending : true;
    this._sort = { column, descending };
    this.table.setSort(column, descending);
    void this.model.setQuery({ orderBy: [sortTerm(column, descending)] });
  }

  private async _loadGroups(): Promise<void> {
    const by = this._groupBy.value;
    if (!by) {
      this._groupsWidget.hide();
      return;
    }
    const metric = this._groupMetric.value || undefined;
    const node = this._groupsWidget.node;
    try {
      const groups = await this.client.groups(by, metric, 'max', this.model.query);
      this._renderGroups(by, metric, groups);
    } catch (err) {
      node.textContent = (err as Error).message;
    }
    this._groupsWidget.show();
  }

  private _renderGroups(by: string, metric: string | undefined, groups: IGroup[]): void {
    const node = this._groupsWidget.node;
    node.replaceChildren();
    const list = document.createElement('ul');
    list.setAttribute('aria-label', this.trans.__('Groups of %1', by));
    for (const g of groups) {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.className = 'aml-RunsSection-group';
      const value = g.value === null ? this.trans.__('(not set)') : g.value;
      const best = metric && g.best !== null ? ` · ${metric} ${g.best.toPrecision(4)}` : '';
      button.textContent = `${value} — ${g.count}${best}`;
      button.disabled = g.value === null;
      button.addEventListener('click', () => {
        const term = `${by} = '${(g.value ?? '').replace(/'/g, "''")}'`;
        const current = this._filter.value.trim();
        this.applyFilter(current ? `${current} and ${term}` : term);
      });
      item.appendChild(button);
      list.appendChild(item);
    }
    node.appendChild(list);
  }

  private _setColumns(columns: IColumn[], remember = true): void {
    if (remember && this._recalled && this.columnMemory) {
      this.columnMemory.save(this._experiment.value, columns);
    }
    this._columns = columns;
    this.table.columns = columns;
    this._columnsChanged.emit(columns);
    if (!this._chooser.hidden) {
      this._renderChooser();
    }
  }

  private _renderChooser(): void {
    const t = this.trans;
    this._chooser.replaceChildren();
    for (const col of this._columns) {
      const row = document.createElement('div');
      row.className = 'aml-ColumnChooser-item';
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = col.visible;
      box.addEventListener('change', () => this._setColumns(toggle(this._columns, col.id)));
      label.append(box, document.createTextNode(' ' + this._header(col.id)));
      const buttons: [string, string, () => IColumn[]][] = [
        [col.pinned ? t.__('Unpin') : t.__('Pin'), col.pinned ? '⊗' : '⊙', () => pin(this._columns, col.id)],
        [t.__('Move up'), '↑', () => move(this._columns, col.id, -1)],
        [t.__('Move down'), '↓', () => move(this._columns, col.id, 1)]
      ];
      row.appendChild(label);
      for (const [title, glyph, act] of buttons) {
        const b = document.createElement('button');
        b.className = 'aml-ColumnChooser-button';
        b.title = title;
        b.setAttribute('aria-label', `${title} ${col.id}`);
        b.textContent = glyph;
        b.addEventListener('click', () => this._setColumns(act()));
        row.appendChild(b);
      }
      this._chooser.appendChild(row);
    }
  }

  // Called at every page that arrives while the table scrolls: it writes only what changed.
  private _onModel(): void {
    const error = this.model.error;
    const message = error ? error.message : '';
    if (this._error.textContent !== message) {
      this._error.textContent = message;
      this._error.hidden = !error;
      this._filter.setAttribute('aria-invalid', String(!!error && error.status === 400));
    }
    this._renderCount();
  }

  private _renderCount(): void {
    const t = this.trans;
    if (!this.model.ready) {
      this._count.textContent = t.__('loading…');
      return;
    }
    const live = this.model.anyLive(...this.table.visibleRange);
    const text = t._n('%1 run', '%1 runs', this.model.total) + (live ? ' · ' + t.__('some running') : '');
    if (this._count.textContent !== text) {
      this._count.textContent = text;
    }
  }

  private static _count = 0;
  private _columns: IColumn[];
  private _extraHeaders = new Map<string, string>();
  private _keys: IKeys = { params: [], metrics: [], tags: [], system_metrics: [] };
  private _sort = { column: 'started', descending: true };
  private _experiment = document.createElement('select');
  private _views = document.createElement('select');
  private _filter = document.createElement('input');
  private _datalist = document.createElement('datalist');
  private _error = document.createElement('div');
  private _groupBy = document.createElement('select');
  private _groupMetric = document.createElement('select');
  private _chooser = document.createElement('div');
  private _count = document.createElement('span');
  private _liveBadge = document.createElement('span');
  private _groupsWidget = new Widget();
  private _timer: ReturnType<typeof setInterval> | null = null;
  private _ticks = 0;
  private _everConnected = false;
  private _columnsChanged = new Signal<this, IColumn[]>(this);
  private _recalled = false; // the kept columns were read: from now on a change is kept
}

