/**
 * A run's details in the main area: header, params, latest metrics, metric charts, artifacts with
 * previews, the log following a live run, the snapshot (its diff against another run, restore)
 * and lineage. Everything a run holds is shown as text; notebooks and HTML only inside a sandboxed
 * frame the server also locks down with a Content-Security-Policy.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { LineChart } from './charts';
import { AmlClient, IRunRecord } from './client';
import { formatDuration, formatNumber, formatTime, isSystem, systemChartKeys, systemLabel, systemOrder } from './columns';
import { heading, keyValueTable, para } from './dom';
import { inputRow, RunDetailsModel } from './detailsModel';
import { EventStream } from './events';

const TEXT = /\.(txt|log|csv|tsv|json|py|md|ya?ml|toml|cfg|ini)$/i;
const IMAGE = /\.(png|jpe?g|gif)$/i;
const MAX_CHARTS = 12;
const MAX_LOG_LINES = 5000;

export interface IDetailsOptions {
  client: AmlClient;
  events: EventStream;
  trans: TranslationBundle;
  /** Turns an API path (`api/v1/...`) into a URL the browser can load (base URL, `aml/` prefix). */
  url(path: string): string;
  openRun(id: string): void;
}

export class RunDetails extends Widget {
  constructor(
    readonly runId: string,
    private readonly options: IDetailsOptions
  ) {
    super();
    this.addClass('aml-RunDetails');
    this.node.tabIndex = -1;
    this.node.setAttribute('role', 'region');
    this.node.dataset.runId = runId;
    this.title.label = runId.slice(0, 8);
    this.title.closable = true;
    this.model = new RunDetailsModel(runId, options.client, options.events);
    this.model.logged.connect((_, lines) => this._appendLog(lines), this);
    this.model.changed.connect((_, change) => this._render(change.first), this);
  }

  /** What the view shows: the run's record and its live log (detailsModel.ts). */
  readonly model: RunDetailsModel;

  get record(): IRunRecord | null {
    return this.model.record;
  }

  /** Reads the run again and redraws (a status change, a reload). */
  async refresh(): Promise<void> {
    await this.model.refresh();
  }

  private _render(first: boolean): void {
    const t = this.options.trans;
    const record = this.model.record;
    if (record === null) {
      const e = this.model.error;
      const gone = t.__('This run was deleted (or never existed): %1', this.runId);
      this.node.replaceChildren(para(e?.status === 404 ? gone : (e?.message ?? gone), 'aml-RunDetails-gone'));
      this.node.dataset.state = 'gone';
      return;
    }
    this.title.label = record.name || record.id.slice(0, 8);
    this.title.caption = `${record.name} (${record.id})`;
    this.node.dataset.state = record.status;
    if (first) {
      this._build();
    }
    this._fillHeader(record);
    this._fillTables(record);
    void this._drawCharts(record);
    if (first) {
      this._fillSnapshot(record);
    }
    // Artifacts drawn again only when they changed (a run that ends adds its logs, its model): an
    // open preview stays open otherwise.
    const artifacts = record.artifacts.map(a => `${a.name}\u0000${a.size}`).join('\u0001');
    if (first || artifacts !== this._artifactsShown) {
      this._artifactsShown = artifacts;
      this._fillArtifacts(record);
    }
    void this._fillLineage(record);
  }

  /** Shown again (its tab picked): read afresh, the run may have moved on or been deleted. */
  protected onAfterShow(): void {
    if (this.model.record !== null) {
      void this.refresh();
    }
  }

  /** Draws the charts again (the theme changed). */
  recolor(): void {
    for (const chart of this._charts.values()) {
      chart.redraw();
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.dispose();
    for (const chart of this._charts.values()) {
      chart.destroy();
    }
    Signal.disconnectReceiver(this);
    super.dispose();
  }

  private _build(): void {
    const t = this.options.trans;
    this.node.replaceChildren();
    this._header.className = 'aml-RunDetails-header';
    const sections: [string, HTMLElement][] = [
      [t.__('Params'), this._params],
      [t.__('Metrics'), this._metrics],
      [t.__('Charts'), this._chartsBox],
      [t.__('System'), this._system],
      [t.__('Artifacts'), this._artifacts],
      [t.__('Log'), this._log],
      [t.__('Snapshot'), this._snapshot],
      [t.__('Lineage'), this._lineage]
    ];
    this.node.appendChild(this._header);
    for (const [title, body] of sections) {
      const section = document.createElement('section');
      section.className = 'aml-RunDetails-section';
      section.append(heading(title), body);
      section.setAttribute('aria-label', title);
      this.node.appendChild(section);
    }
    this._log.className = 'aml-RunDetails-log';
    this._log.setAttribute('aria-live', 'off');
    this._chartsBox.className = 'aml-RunDetails-charts';
    this._systemCharts.className = 'aml-RunDetails-charts aml-RunDetails-systemCharts';
    this._system.append(this._systemTable, this._systemCharts);
    const controls = document.createElement('div');
    controls.className = 'aml-RunDetails-chartControls';
    const xLabel = document.createElement('label');
    const x = document.createElement('select');
    x.className = 'jp-mod-styled';
    x.append(new Option(t.__('step'), 'step'), new Option(t.__('wall time'), 'time'));
    x.addEventListener('change', () => {
      this._xTime = x.value === 'time';
      this._redrawCharts();
    });
    xLabel.append(document.createTextNode(t.__('x axis') + ' '), x);
    const sLabel = document.createElement('label');
    const slider = document.createElement('input');
    slider.type = 'range';
    slider.min = '0';
    slider.max = '0.99';
    slider.step = '0.01';
    slider.value = '0';
    slider.addEventListener('input', () => {
      this._smoothing = Number(slider.value);
      this._redrawCharts();
    });
    sLabel.append(document.createTextNode(' ' + t.__('smoothing') + ' '), slider);
    controls.append(xLabel, sLabel);
    this._chartsBox.before(controls);
  }

  private _fillHeader(r: IRunRecord): void {
    const t = this.options.trans;
    this._header.replaceChildren();
    const name = document.createElement('h2');
    name.textContent = r.name;
    const status = document.createElement('span');
    status.className = `aml-RunsTable-status aml-status-${r.status}`;
    status.textContent = r.status;
    name.append(' ', status);
    const facts: [string, string][] = [
      [t.__('id'), r.id],
      [t.__('experiment'), r.experiment],
      [t.__('user'), r.user],
      [t.__('started'), formatTime(r.start_time)],
      [t.__('duration'), formatDuration((r.end_time ?? Date.now()) - r.start_time)],
      [t.__('target'), r.compute_target],
      [t.__('source'), `${r.source_kind}${r.source_path ? ' ' + r.source_path : ''}`]
    ];
    const list = document.createElement('dl');
    for (const [k, v] of facts) {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      list.append(dt, dd);
    }
    if (r.parent_id) {
      const dt = document.createElement('dt');
      dt.textContent = t.__('parent');
      const dd = document.createElement('dd');
      dd.appendChild(this._runLink(r.parent_id));
      list.append(dt, dd);
    }
    this._header.append(name, list);
    if (r.error) {
      const pre = document.createElement('pre');
      pre.className = 'aml-RunDetails-error';
      pre.textContent = r.error_traceback || r.error;
      this._header.appendChild(pre);
    }
    void this._fillChildren(r);
  }

  private async _fillChildren(r: IRunRecord): Promise<void> {
    let children;
    try {
      children = await this.options.client.search({ filter: `attributes.parent_id = '${r.id}'`, maxResults: 50 });
    } catch {
      return; // an older server without the tag: no children shown
    }
    if (!children.runs.length) {
      return;
    }
    const p = para(this.options.trans.__('children') + ': ');
    for (const c of children.runs) {
      p.append(this._runLink(c.id, c.name), ' ');
    }
    this._header.appendChild(p);
  }

  private _fillTables(r: IRunRecord): void {
    this._params.replaceChildren(keyValueTable(Object.entries(r.params)));
    this._metrics.replaceChildren(keyValueTable(Object.entries(r.metrics).map(([k, v]) => [k, formatNumber(v)])));
    const latest = r.system_metrics ?? {};
    const machine = systemOrder(Object.keys(latest)).map(k => [k, latest[k]] as const);
    this._systemTable.replaceChildren(
      machine.length
        ? keyValueTable(machine.map(([k, v]) => [systemLabel(k), formatNumber(v)]))
        : para(this.options.trans.__('No system metrics (sampled every 10 s while a run runs, unless turned off).'))
    );
  }

  private async _drawCharts(r: IRunRecord): Promise<void> {
    const system = systemChartKeys(Object.keys(r.system_metrics ?? {}));
    const keys = [...Object.keys(r.metrics).slice(0, MAX_CHARTS), ...system];
    for (const key of keys) {
      let series;
      try {
        series = await this.options.client.series(r.id, key, 1000);
      } catch {
        continue;
      }
      if (series.points < 2) {
        continue;
      }
      let chart = this._charts.get(key);
      if (!chart) {
        const host = document.createElement('div');
        host.className = 'aml-Chart';
        host.dataset.metric = key;
        (isSystem(key) ? this._systemCharts : this._chartsBox).appendChild(host);
        chart = new LineChart(host, isSystem(key) ? systemLabel(key) : key);
        this._charts.set(key, chart);
      }
      const y = series.value.map(v => (typeof v === 'number' ? v : null));
      this._series.set(key, { step: series.step, time: series.timestamp.map(ts => ts / 1000), y });
      this._drawOne(key);
    }
  }

  private _drawOne(key: string): void {
    const s = this._series.get(key);
    const chart = this._charts.get(key);
    if (!s || !chart) {
      return;
    }
    const t = this.options.trans;
    const time = this._xTime || isSystem(key); // the machine's figures are sampled on the clock
    const x = time ? s.time : s.step;
    chart.draw([{ label: key, x, y: s.y }], time ? t.__('wall time') : t.__('step'), time, this._smoothing);
  }

  private _redrawCharts(): void {
    for (const key of this._charts.keys()) {
      this._drawOne(key);
    }
  }

  private _fillArtifacts(r: IRunRecord): void {
    const t = this.options.trans;
    this._artifacts.replaceChildren();
    if (!r.artifacts.length) {
      this._artifacts.appendChild(para(t.__('No artifacts.')));
      return;
    }
    const list = document.createElement('ul');
    list.className = 'aml-RunDetails-artifacts';
    const view = document.createElement('div');
    view.className = 'aml-RunDetails-preview';
    for (const a of r.artifacts) {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.className = 'aml-RunDetails-artifact';
      button.textContent = `${a.name} (${formatBytes(a.size)})`;
      button.addEventListener('click', () => void this._preview(a.name, view));
      const link = document.createElement('a');
      link.href = this.options.url(this.options.client.artifactPath(r.id, a.name));
      link.textContent = t.__('download');
      link.setAttribute('download', a.name.split('/').pop() ?? a.name);
      li.append(button, ' ', link);
      list.appendChild(li);
    }
    this._artifacts.append(list, view);
  }

  private async _preview(name: string, view: HTMLElement): Promise<void> {
    const t = this.options.trans;
    const client = this.options.client;
    view.replaceChildren();
    view.dataset.artifact = name;
    try {
      if (IMAGE.test(name)) {
        const img = document.createElement('img');
        img.alt = name;
        img.src = this.options.url(client.previewPath(this.runId, name));
        view.appendChild(img);
      } else if (/\.ipynb$/i.test(name) || /\.html?$/i.test(name)) {
        const frame = document.createElement('iframe');
        frame.setAttribute('sandbox', ''); // no scripts, no forms, no navigation: on top of the CSP
        frame.title = name;
        frame.src = this.options.url(client.previewPath(this.runId, name));
        view.appendChild(frame);
      } else if (/\.parquet$/i.test(name)) {
        const { text, rows } = await client.previewText(this.runId, name);
        const table = csvTable(text, ',');
        const shown = table.tBodies[0]?.rows.length ?? 0;
        view.append(para(t.__('%1 of %2 rows; click a column to sort them.', shown, rows ?? shown)), table);
      } else if (TEXT.test(name)) {
        const { text, truncated } = await client.previewText(this.runId, name);
        if (/\.(csv|tsv)$/i.test(name)) {
          view.appendChild(csvTable(text, name.toLowerCase().endsWith('.tsv') ? '\t' : ','));
        } else {
          const pre = document.createElement('pre');
          pre.textContent = text;
          view.appendChild(pre);
        }
        if (truncated) {
          view.appendChild(para(t.__('Only the start of the file is shown: download it for the rest.')));
        }
      } else {
        view.appendChild(para(t.__('No preview for this kind of file: download it.')));
      }
    } catch (err) {
      view.appendChild(para((err as Error).message, 'aml-RunDetails-error'));
    }
  }

  private _appendLog(lines: string[]): void {
    this._logLines.push(...lines);
    if (this._logLines.length > MAX_LOG_LINES) {
      this._logLines.splice(0, this._logLines.length - MAX_LOG_LINES);
    }
    const atEnd = this._log.scrollTop + this._log.clientHeight >= this._log.scrollHeight - 4;
    this._log.textContent = this._logLines.join('\n');
    if (atEnd) {
      this._log.scrollTop = this._log.scrollHeight;
    }
  }

  private _fillSnapshot(r: IRunRecord): void {
    const t = this.options.trans;
    this._snapshot.replaceChildren();
    if (!r.snapshot_id) {
      this._snapshot.appendChild(para(t.__('This run has no snapshot.')));
      return;
    }
    this._snapshot.appendChild(para(t.__('snapshot %1', r.snapshot_id.slice(0, 12))));
    const files = document.createElement('details');
    files.className = 'aml-RunDetails-files';
    const summary = document.createElement('summary');
    summary.textContent = t.__('Files');
    files.appendChild(summary);
    files.addEventListener('toggle', async () => {
      if (!files.open || files.childElementCount > 1) {
        return;
      }
      try {
        const listed = await this.options.client.snapshotFiles(r.snapshot_id!);
        const list = document.createElement('ul');
        for (const f of listed.files) {
          const li = document.createElement('li');
          li.textContent = f;
          list.appendChild(li);
        }
        files.appendChild(list);
        if (listed.total > listed.files.length) {
          files.appendChild(para(t.__('and %1 more', listed.total - listed.files.length)));
        }
      } catch (err) {
        files.appendChild(para((err as Error).message, 'aml-RunDetails-error'));
      }
    });
    this._snapshot.appendChild(files);
    const input = document.createElement('input');
    input.className = 'jp-mod-styled';
    input.placeholder = t.__('another run id');
    input.setAttribute('aria-label', t.__('Diff against run'));
    const button = document.createElement('button');
    button.className = 'jp-Button jp-mod-styled jp-mod-reject';
    button.textContent = t.__('Diff');
    const out = document.createElement('div');
    button.addEventListener('click', async () => {
      out.replaceChildren();
      try {
        const other = await this.options.client.run(input.value.trim());
        if (!other.snapshot_id) {
          out.appendChild(para(t.__('That run has no snapshot.')));
          return;
        }
        const diff = await this.options.client.snapshotDiff(r.snapshot_id!, other.snapshot_id);
        out.appendChild(keyValueTable(diff.changes.map(c => [c.status, c.path])));
        const pre = document.createElement('pre');
        pre.className = 'aml-RunDetails-diff';
        pre.textContent = diff.patch || t.__('(no changes)');
        out.appendChild(pre);
      } catch (err) {
        out.appendChild(para((err as Error).message, 'aml-RunDetails-error'));
      }
    });
    this._snapshot.append(input, button, out);
  }

  /** Datasets in (from the record) and model versions out (asked each time: a version can be
   * registered from a run long after it ended). */
  private async _fillLineage(r: IRunRecord): Promise<void> {
    const t = this.options.trans;
    const inputs = Array.isArray(r.inputs) ? (r.inputs as Record<string, unknown>[]) : [];
    const into = document.createElement('div');
    into.appendChild(para(t.__('Datasets in'), 'aml-RunDetails-subhead'));
    into.appendChild(
      inputs.length ? keyValueTable(inputs.map(inputRow)) : para(t.__('No datasets recorded as inputs.'))
    );
    into.appendChild(para(t.__('Model versions out'), 'aml-RunDetails-subhead'));
    try {
      const versions = await this.options.client.runModels(r.id);
      const out = versions.length
        ? keyValueTable(
            versions.map(v => [
              v.ref,
              [v.flavor, v.aliases.map(a => '@' + a).join(' '), t.__('by %1, %2', v.user, formatTime(v.created_at))]
                .filter(Boolean)
                .join(' · ')
            ])
          )
        : para(t.__('No model versions registered from this run.'));
      out.classList.add('aml-RunDetails-models');
      into.appendChild(out);
    } catch (err) {
      into.appendChild(para((err as Error).message, 'aml-RunDetails-error'));
    }
    this._lineage.replaceChildren(...into.childNodes);
  }

  private _runLink(id: string, label?: string): HTMLElement {
    const a = document.createElement('button');
    a.className = 'aml-RunDetails-runLink';
    a.textContent = label || id.slice(0, 8);
    a.title = id;
    a.addEventListener('click', () => this.options.openRun(id));
    return a;
  }

  private _header = document.createElement('div');
  private _params = document.createElement('div');
  private _metrics = document.createElement('div');
  private _chartsBox = document.createElement('div');
  private _system = document.createElement('div');
  private _systemTable = document.createElement('div');
  private _systemCharts = document.createElement('div');
  private _artifacts = document.createElement('div');
  private _log = document.createElement('pre');
  private _snapshot = document.createElement('div');
  private _lineage = document.createElement('div');
  private _logLines: string[] = [];
  private _artifactsShown = '';
  private _charts = new Map<string, LineChart>();
  private _series = new Map<string, { step: number[]; time: number[]; y: (number | null)[] }>();
  private _xTime = false;
  private _smoothing = 0;
}

/** The first rows of a CSV as a table of text (quoted fields kept whole). */
export function csvTable(text: string, sep: string, maxRows = 200): HTMLTableElement {
  const table = document.createElement('table');
  table.className = 'aml-Csv';
  const lines = text.split(/\r?\n/).filter(l => l.length).slice(0, maxRows + 1);
  const head = table.createTHead().insertRow();
  const body = table.createTBody();
  lines.forEach((line, i) => {
    const tr = i === 0 ? head : body.insertRow();
    for (const field of splitCsv(line, sep)) {
      const cell = document.createElement(i === 0 ? 'th' : 'td');
      cell.textContent = field;
      tr.appendChild(cell);
    }
  });
  // A header sorts the rows shown by its column (numbers as numbers), again the other way.
  Array.from(head.cells).forEach((th, col) => {
    th.tabIndex = 0;
    th.setAttribute('aria-sort', 'none');
    const sort = () => {
      const up = th.getAttribute('aria-sort') !== 'ascending';
      const rows = Array.from(body.rows);
      rows.sort((a, b) => compareCells(a.cells[col]?.textContent ?? '', b.cells[col]?.textContent ?? '') * (up ? 1 : -1));
      body.append(...rows);
      Array.from(head.cells).forEach(c => c.setAttribute('aria-sort', 'none'));
      th.setAttribute('aria-sort', up ? 'ascending' : 'descending');
    };
    th.addEventListener('click', sort);
    th.addEventListener('keydown', ev => (ev.key === 'Enter' || ev.key === ' ') && (ev.preventDefault(), sort()));
  });
  return table;
}

function compareCells(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (a.trim() !== '' && b.trim() !== '' && Number.isFinite(x) && Number.isFinite(y)) {
    return x - y;
  }
  return a.localeCompare(b);
}

function splitCsv(line: string, sep: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === sep) {
      out.push(field);
      field = '';
    } else {
      field += ch;
    }
  }
  out.push(field);
  return out;
}

function formatBytes(n: number): string {
  if (n < 1024) {
    return `${n} B`;
  }
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

