/**
 * Compare 2 to 20 runs: params side by side (the differing ones first), latest metrics with their
 * delta against a baseline run, one overlaid chart per metric, and a parallel-coordinates chart
 * over the differing params and one metric, whose brushing filters the Runs table.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { LineChart, themeColors } from './charts';
import { AmlClient, IRunSummary } from './client';
import { formatNumber, isSystem, systemLabel, systemOrder } from './columns';
import { heading, para } from './dom';

export const MAX_COMPARED = 20;

export interface ICompareOptions {
  client: AmlClient;
  trans: TranslationBundle;
  /** Brushing picked these runs: the table shows only them. */
  filterTable(ids: string[]): void;
  openRun(id: string): void;
  /** A server path as a URL the page can load (an artifact's preview for an <img>). */
  url(path: string): string;
}

const FIGURE = /\.(png|jpe?g|gif)$/i;
const MAX_FIGURES = 12;

export class CompareView extends Widget {
  constructor(
    readonly runIds: string[],
    private readonly options: ICompareOptions
  ) {
    super();
    this.addClass('aml-Compare');
    this.node.setAttribute('role', 'region');
    this.node.tabIndex = -1;
    this.title.label = options.trans.__('Compare %1 runs', runIds.length);
    this.title.closable = true;
  }

  async refresh(): Promise<void> {
    const t = this.options.trans;
    // One search for all of them (params and latest metrics are all a compare shows of a run).
    const quoted = this.runIds.map(id => `'${id.replace(/'/g, "''")}'`).join(', ');
    let found: IRunSummary[] = [];
    try {
      found = (await this.options.client.search({ filter: `attributes.run_id IN (${quoted})`, maxResults: MAX_COMPARED }))
        .runs;
    } catch (err) {
      this.node.replaceChildren(para((err as Error).message));
      return;
    }
    const byId = new Map(found.map(r => [r.id, r]));
    this._runs = this.runIds.map(id => byId.get(id)).filter((r): r is IRunSummary => r !== undefined);
    this.node.replaceChildren();
    const missing = this.runIds.length - this._runs.length;
    if (missing) {
      this.node.appendChild(para(t.__('%1 of the runs could not be read (deleted?)', missing)));
    }
    if (this._runs.length < 2) {
      this.node.appendChild(para(t.__('Pick at least two runs to compare.')));
      return;
    }
    this._baseline = this._runs[0].id;
    this.node.append(this._paramsBox, this._metricsBox, this._parcoordsBox, this._chartsBox, this._figuresBox);
    this._renderParams();
    this._renderMetrics();
    this._renderParcoords();
    await Promise.all([this._renderCharts(), this._renderFigures()]);
    this.node.dataset.ready = 'true';
  }

  recolor(): void {
    for (const c of this._charts) {
      c.redraw();
    }
    this._drawParcoords();
  }

  dispose(): void {
    for (const c of this._charts) {
      c.destroy();
    }
    super.dispose();
  }

  /** Param keys, the ones whose values differ first. */
  private _paramKeys(): { key: string; differs: boolean }[] {
    const keys = new Set(this._runs.flatMap(r => Object.keys(r.params)));
    return [...keys]
      .map(key => ({ key, differs: new Set(this._runs.map(r => r.params[key] ?? '')).size > 1 }))
      .sort((a, b) => Number(b.differs) - Number(a.differs) || a.key.localeCompare(b.key));
  }

  private _renderParams(): void {
    const t = this.options.trans;
    const table = this._grid(
      t.__('param'),
      this._paramKeys().map(({ key, differs }) => ({ label: key, differs, cells: this._runs.map(r => r.params[key] ?? '') }))
    );
    this._paramsBox.replaceChildren(heading(t.__('Params')), table);
  }

  private _renderMetrics(): void {
    const t = this.options.trans;
    const base = this._runs.find(r => r.id === this._baseline)!;
    const keys = [...new Set(this._runs.flatMap(r => Object.keys(r.metrics)))].sort();
    if (this._withSystem) {
      const machine = [...new Set(this._runs.flatMap(r => Object.keys(r.system_metrics ?? {})))];
      keys.push(...systemOrder(machine)); // the peaks first: "which one ran out of memory?"
    }
    const value = (r: IRunSummary, key: string) => (isSystem(key) ? r.system_metrics?.[key] : r.metrics[key]);
    const system = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = this._withSystem;
    box.className = 'aml-Compare-system';
    box.addEventListener('change', () => {
      this._withSystem = box.checked;
      this._renderMetrics();
    });
    system.append(box, document.createTextNode(' ' + t.__('System metrics (CPU, memory, GPUs)')));
    const pick = document.createElement('select');
    pick.className = 'jp-mod-styled';
    pick.setAttribute('aria-label', t.__('Baseline run'));
    for (const r of this._runs) {
      pick.appendChild(new Option(t.__('baseline: %1', r.name || r.id.slice(0, 8)), r.id));
    }
    pick.value = this._baseline;
    pick.addEventListener('change', () => {
      this._baseline = pick.value;
      this._renderMetrics();
    });
    const rows = keys.map(key => ({
      label: isSystem(key) ? systemLabel(key) : key,
      differs: true,
      cells: this._runs.map(r => {
        const v = value(r, key);
        const b = value(base, key);
        if (typeof v !== 'number') {
          return v === undefined ? '' : String(v);
        }
        if (r.id === base.id || typeof b !== 'number') {
          return formatNumber(v);
        }
        const d = v - b;
        return `${formatNumber(v)} (${d >= 0 ? '+' : ''}${formatNumber(d)})`;
      })
    }));
    this._metricsBox.replaceChildren(heading(t.__('Metrics')), pick, ' ', system, this._grid(t.__('metric'), rows));
  }

  private _grid(corner: string, rows: { label: string; differs: boolean; cells: string[] }[]): HTMLElement {
    const table = document.createElement('table');
    table.className = 'aml-Compare-table';
    const head = table.createTHead().insertRow();
    const c = document.createElement('th');
    c.textContent = corner;
    head.appendChild(c);
    for (const r of this._runs) {
      const th = document.createElement('th');
      const b = document.createElement('button');
      b.className = 'aml-RunDetails-runLink';
      b.textContent = r.name || r.id.slice(0, 8);
      b.title = r.id;
      b.addEventListener('click', () => this.options.openRun(r.id));
      th.appendChild(b);
      head.appendChild(th);
    }
    const body = table.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      tr.classList.toggle('aml-mod-differs', row.differs);
      const th = document.createElement('th');
      th.textContent = row.label;
      tr.appendChild(th);
      for (const cell of row.cells) {
        tr.insertCell().textContent = cell;
      }
    }
    return table;
  }

  private async _renderCharts(): Promise<void> {
    const t = this.options.trans;
    const keys = [...new Set(this._runs.flatMap(r => Object.keys(r.metrics)))].sort().slice(0, 8);
    this._chartsBox.replaceChildren(heading(t.__('Charts')));
    // Every series at once (the server downsamples each to 1,000 points), then one chart a metric.
    const ids = this._runs.map(r => r.id);
    const fetched = await Promise.all(keys.map(key => this.options.client.seriesOfRuns(ids, key, 1000).catch(() => [])));
    keys.forEach((key, k) => {
      const lines = fetched[k].flatMap((s, i) =>
        !s.error && s.points && s.step && s.value
          ? [
              {
                label: this._runs[i].name || this._runs[i].id.slice(0, 8),
                x: s.step,
                y: s.value.map(v => (typeof v === 'number' ? v : null))
              }
            ]
          : []
      );
      if (!lines.length) {
        return;
      }
      const host = document.createElement('div');
      host.className = 'aml-Chart';
      host.dataset.metric = key;
      this._chartsBox.appendChild(host);
      const chart = new LineChart(host, key);
      chart.draw(lines, t.__('step'), false);
      this._charts.push(chart);
    });
  }

  // The figures the runs logged (PNG, JPEG, GIF artifacts: learn's evaluation plots, log_figure),
  // one row a name, each run's side by side; a run without it leaves its place empty.
  private async _renderFigures(): Promise<void> {
    const t = this.options.trans;
    const records = await Promise.all(this._runs.map(r => this.options.client.run(r.id).catch(() => null)));
    const names = [...new Set(records.flatMap(r => (r ? r.artifacts.map(a => a.name).filter(n => FIGURE.test(n)) : [])))]
      .sort()
      .slice(0, MAX_FIGURES);
    if (!names.length) {
      this._figuresBox.replaceChildren();
      return;
    }
    this._figuresBox.replaceChildren(heading(t.__('Figures')));
    for (const name of names) {
      const row = document.createElement('div');
      row.className = 'aml-Compare-figures';
      row.dataset.artifact = name;
      const title = document.createElement('div');
      title.className = 'aml-Compare-figureName';
      title.textContent = name;
      this._figuresBox.appendChild(title);
      this._runs.forEach((run, i) => {
        const cell = document.createElement('figure');
        const caption = document.createElement('figcaption');
        caption.textContent = run.name || run.id.slice(0, 8);
        if (records[i]?.artifacts.some(a => a.name === name)) {
          const img = document.createElement('img');
          img.alt = `${name} (${caption.textContent})`;
          img.src = this.options.url(this.options.client.previewPath(run.id, name));
          cell.append(img, caption);
        } else {
          cell.append(para(t.__('not logged')), caption);
        }
        row.appendChild(cell);
      });
      this._figuresBox.appendChild(row);
    }
  }

  private _renderParcoords(): void {
    const t = this.options.trans;
    const metrics = [...new Set(this._runs.flatMap(r => Object.keys(r.metrics)))].sort();
    const pick = document.createElement('select');
    pick.className = 'jp-mod-styled';
    pick.setAttribute('aria-label', t.__('Metric axis'));
    for (const m of metrics) {
      pick.appendChild(new Option(m, m));
    }
    this._pcMetric = metrics[0] ?? '';
    pick.addEventListener('change', () => {
      this._pcMetric = pick.value;
      this._brush.clear();
      this._drawParcoords();
    });
    const apply = document.createElement('button');
    apply.className = 'jp-Button jp-mod-styled jp-mod-accept';
    apply.textContent = t.__('Show these runs in the table');
    apply.addEventListener('click', () => this.options.filterTable(this._brushed().map(r => r.id)));
    this._canvas.className = 'aml-Parcoords';
    this._canvas.setAttribute('role', 'img');
    this._canvas.setAttribute('aria-label', t.__('Parallel coordinates of params and a metric; drag on an axis to pick runs'));
    this._canvas.addEventListener('pointerdown', ev => this._startBrush(ev));
    this._parcoordsBox.replaceChildren(heading(t.__('Parallel coordinates')), pick, apply, this._canvas);
    requestAnimationFrame(() => this._drawParcoords());
  }

  private _axes(): { key: string; values: (number | null)[]; labels: string[] | null }[] {
    const params = this._paramKeys().filter(p => p.differs).map(p => p.key);
    const axes = params.map(key => {
      const raw = this._runs.map(r => r.params[key] ?? '');
      const numeric = raw.every(v => v !== '' && isFinite(Number(v)));
      if (numeric) {
        return { key, values: raw.map(Number) as (number | null)[], labels: null };
      }
      const labels = [...new Set(raw)].sort();
      return { key, values: raw.map(v => labels.indexOf(v)) as (number | null)[], labels };
    });
    if (this._pcMetric) {
      axes.push({
        key: this._pcMetric,
        values: this._runs.map(r => (typeof r.metrics[this._pcMetric] === 'number' ? (r.metrics[this._pcMetric] as number) : null)),
        labels: null
      });
    }
    return axes;
  }

  private _geometry(): { width: number; height: number; pad: number; x(i: number): number; y(axis: number, v: number | null): number } {
    const width = Math.max(320, this._parcoordsBox.clientWidth || 640);
    const height = 240;
    const pad = 24;
    const axes = this._axes();
    const ranges = axes.map(a => {
      const vs = a.values.filter((v): v is number => v !== null);
      const lo = Math.min(...vs);
      const hi = Math.max(...vs);
      return [lo, hi === lo ? lo + 1 : hi];
    });
    return {
      width,
      height,
      pad,
      x: i => pad + (i * (width - 2 * pad)) / Math.max(1, axes.length - 1),
      y: (a, v) => (v === null ? height - 4 : height - pad - ((v - ranges[a][0]) / (ranges[a][1] - ranges[a][0])) * (height - 2 * pad))
    };
  }

  private _brushed(): IRunSummary[] {
    const axes = this._axes();
    const layout = this._geometry();
    return this._runs.filter((_, r) =>
      [...this._brush].every(([a, [y0, y1]]) => {
        const y = layout.y(a, axes[a]?.values[r] ?? null);
        return y >= Math.min(y0, y1) && y <= Math.max(y0, y1);
      })
    );
  }

  private _drawParcoords(): void {
    const axes = this._axes();
    if (!axes.length || !this._canvas.isConnected) {
      return;
    }
    const layout = this._geometry();
    const ratio = window.devicePixelRatio || 1;
    this._canvas.width = layout.width * ratio;
    this._canvas.height = layout.height * ratio;
    this._canvas.style.width = `${layout.width}px`;
    this._canvas.style.height = `${layout.height}px`;
    const ctx = this._canvas.getContext('2d');
    if (!ctx) {
      return;
    }
    ctx.scale(ratio, ratio);
    const colors = themeColors();
    const picked = new Set(this._brushed().map(r => r.id));
    this._runs.forEach((run, r) => {
      ctx.strokeStyle = colors.series[r % colors.series.length];
      ctx.globalAlpha = picked.has(run.id) ? 1 : 0.15;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      axes.forEach((a, i) => {
        const fn = i === 0 ? ctx.moveTo : ctx.lineTo;
        fn.call(ctx, layout.x(i), layout.y(i, a.values[r]));
      });
      ctx.stroke();
    });
    ctx.globalAlpha = 1;
    ctx.fillStyle = colors.text;
    ctx.strokeStyle = colors.text;
    ctx.font = '11px sans-serif';
    axes.forEach((a, i) => {
      const x = layout.x(i);
      ctx.beginPath();
      ctx.moveTo(x, layout.pad);
      ctx.lineTo(x, layout.height - layout.pad);
      ctx.stroke();
      ctx.textAlign = i === 0 ? 'left' : i === axes.length - 1 ? 'right' : 'center';
      ctx.fillText(a.key, x, 12);
      const brush = this._brush.get(i);
      if (brush) {
        ctx.globalAlpha = 0.3;
        ctx.fillRect(x - 6, Math.min(...brush), 12, Math.abs(brush[1] - brush[0]));
        ctx.globalAlpha = 1;
      }
    });
  }

  private _startBrush(ev: PointerEvent): void {
    const axes = this._axes();
    const layout = this._geometry();
    const rect = this._canvas.getBoundingClientRect();
    const px = ev.clientX - rect.left;
    const axis = axes.findIndex((_, i) => Math.abs(layout.x(i) - px) < 12);
    if (axis < 0) {
      this._brush.clear();
      this._drawParcoords();
      return;
    }
    const y0 = ev.clientY - rect.top;
    const moveTo = (e: PointerEvent) => {
      this._brush.set(axis, [y0, e.clientY - rect.top]);
      this._drawParcoords();
    };
    const stop = (e: PointerEvent) => {
      moveTo(e);
      if (Math.abs(e.clientY - rect.top - y0) < 3) {
        this._brush.delete(axis);
        this._drawParcoords();
      }
      window.removeEventListener('pointermove', moveTo);
      window.removeEventListener('pointerup', stop);
    };
    window.addEventListener('pointermove', moveTo);
    window.addEventListener('pointerup', stop);
  }

  private _runs: IRunSummary[] = [];
  private _baseline = '';
  private _withSystem = false;
  private _pcMetric = '';
  private _brush = new Map<number, [number, number]>();
  private _charts: LineChart[] = [];
  private _paramsBox = document.createElement('section');
  private _metricsBox = document.createElement('section');
  private _figuresBox = document.createElement('section');
  private _chartsBox = document.createElement('section');
  private _parcoordsBox = document.createElement('section');
  private _canvas = document.createElement('canvas');
}
