/**
 * The Runs table's columns: which exist (the fixed ones and every param, metric and tag key the
 * experiment holds), which are shown, pinned and in what order; how each sorts on the server and
 * how a cell reads. Plain data and functions, so the chooser and the table share them and
 * `node --test` checks them.
 */
import { IRunSummary } from './client';

export interface IColumn {
  /** `status`, `name`, ... or `params.lr`, `metrics.acc`, `tags.team` */
  id: string;
  visible: boolean;
  pinned: boolean;
}

export const FIXED = ['status', 'name', 'experiment', 'user', 'started', 'duration'] as const;

/** The order_by term of each fixed column (the server sorts, never the browser). */
const ATTRIBUTE_SORT: Record<string, string> = {
  status: 'attributes.status',
  name: 'attributes.name',
  experiment: 'attributes.experiment',
  user: 'attributes.user',
  started: 'attributes.start_time',
  duration: 'attributes.end_time'
};

/** The columns shown before a user chooses: the fixed ones plus any named in the settings. */
export function defaultColumns(extra: string[] = []): IColumn[] {
  const out: IColumn[] = FIXED.map(id => ({ id, visible: true, pinned: id === 'status' || id === 'name' }));
  for (const id of extra) {
    if (!out.some(c => c.id === id)) {
      out.push({ id, visible: true, pinned: false });
    }
  }
  return out;
}

/** Adds the keys an experiment holds as hidden columns; keeps the user's choices for the rest. */
export function withKeys(
  columns: IColumn[],
  keys: { params: string[]; metrics: string[]; tags: string[]; system_metrics?: string[] }
): IColumn[] {
  const out = columns.slice();
  const known = new Set(out.map(c => c.id));
  for (const [prefix, list] of [
    ['metrics.', keys.metrics],
    ['params.', keys.params],
    ['tags.', keys.tags],
    ['metrics.', keys.system_metrics ?? []]
  ] as const) {
    for (const key of list) {
      const id = prefix + key;
      if (!known.has(id)) {
        out.push({ id, visible: false, pinned: false });
        known.add(id);
      }
    }
  }
  return out;
}

/** The shown columns in display order: pinned ones first, each group in the user's order. */
export function shown(columns: IColumn[]): IColumn[] {
  const visible = columns.filter(c => c.visible);
  return [...visible.filter(c => c.pinned), ...visible.filter(c => !c.pinned)];
}

export function toggle(columns: IColumn[], id: string): IColumn[] {
  return columns.map(c => (c.id === id ? { ...c, visible: !c.visible } : c));
}

export function pin(columns: IColumn[], id: string): IColumn[] {
  return columns.map(c => (c.id === id ? { ...c, pinned: !c.pinned, visible: true } : c));
}

/** Moves a column `delta` places (negative: earlier), within the list the chooser shows. */
export function move(columns: IColumn[], id: string, delta: number): IColumn[] {
  const from = columns.findIndex(c => c.id === id);
  if (from < 0) {
    return columns;
  }
  const to = Math.max(0, Math.min(columns.length - 1, from + delta));
  const out = columns.slice();
  const [col] = out.splice(from, 1);
  out.splice(to, 0, col);
  return out;
}

/** A key as the filter grammar names it: backticks when it holds anything but word characters. */
export function quoteKey(key: string): string {
  return /^[A-Za-z_][\w.]*$/.test(key) ? key : '`' + key.replace(/`/g, '') + '`';
}

/** The server's order_by term for a column. */
export function sortTerm(id: string, descending: boolean): string {
  const dir = descending ? ' DESC' : ' ASC';
  if (id in ATTRIBUTE_SORT) {
    return ATTRIBUTE_SORT[id] + dir;
  }
  const dot = id.indexOf('.');
  return id.slice(0, dot) + '.' + quoteKey(id.slice(dot + 1)) + dir;
}

export function formatDuration(ms: number): string {
  if (!isFinite(ms) || ms < 0) {
    return '';
  }
  const s = Math.round(ms / 1000);
  if (s < 60) {
    return `${s}s`;
  }
  const m = Math.floor(s / 60);
  if (m < 60) {
    return `${m}m ${s % 60}s`;
  }
  const h = Math.floor(m / 60);
  return `${h}h ${m % 60}m`;
}

export function formatTime(ms: number | null): string {
  if (!ms) {
    return '';
  }
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function formatNumber(value: number | string | undefined): string {
  if (value === undefined) {
    return '';
  }
  if (typeof value === 'string') {
    return value; // NaN, Infinity as the API spells them
  }
  if (Number.isInteger(value)) {
    return String(value);
  }
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential(3) : value.toPrecision(4).replace(/\.?0+$/, '');
}

/**
 * The cells other extensions add (IAmlRuns.addColumn): column id -> its text. One per Runs section,
 * owned by the plugin instance that made it, so two instances (or two tests) never share columns.
 */
export class CellRegistry {
  private readonly _texts = new Map<string, (run: IRunSummary) => string>();

  add(id: string, text: (run: IRunSummary) => string): void {
    this._texts.set(id, text);
  }

  /** A cell's text: an added column's, else the built-in one's. */
  text(run: IRunSummary, id: string, now: number = Date.now()): string {
    const extra = this._texts.get(id);
    if (extra) {
      try {
        return extra(run);
      } catch {
        return '';
      }
    }
    return cellText(run, id, now);
  }
}

/** A built-in cell's text: always text, never markup (a run's name may hold anything). */
export function cellText(run: IRunSummary, id: string, now: number = Date.now()): string {
  switch (id) {
    case 'status':
      return run.status;
    case 'name':
      return run.name;
    case 'experiment':
      return run.experiment;
    case 'user':
      return run.user;
    case 'started':
      return formatTime(run.start_time);
    case 'duration':
      return formatDuration((run.end_time ?? now) - run.start_time);
  }
  if (id.startsWith('metrics.')) {
    const key = id.slice(8);
    return formatNumber(isSystem(key) ? run.system_metrics?.[key] : run.metrics[key]);
  }
  if (id.startsWith('params.')) {
    return run.params[id.slice(7)] ?? '';
  }
  if (id.startsWith('tags.')) {
    return run.tags[id.slice(5)] ?? '';
  }
  return '';
}

const SYSTEM_PREFIX = 'system/';

/** Whether a metric is one of the machine's (CPU, memory, GPUs: sampled while the run ran). */
export function isSystem(key: string): boolean {
  return key.startsWith(SYSTEM_PREFIX);
}

/** A system metric in words: `system/gpu_0_memory_usage_megabytes` is "GPU 0 memory usage (MB)". */
export function systemLabel(key: string): string {
  const units: [string, string][] = [
    ['_megabytes', ' (MB)'],
    ['_percentage', ' (%)'],
    ['_celsius', ' (°C)'],
    ['_watts', ' (W)']
  ];
  let text = key.slice(SYSTEM_PREFIX.length);
  let unit = '';
  for (const [suffix, shown] of units) {
    if (text.endsWith(suffix)) {
      text = text.slice(0, -suffix.length);
      unit = shown;
    }
  }
  text = text
    .replace(/^gpu_(\d+)_/, 'GPU $1 ')
    .replace(/^gpu_/, 'GPU ')
    .replace(/_/g, ' ')
    .replace(/\bcpu\b/, 'CPU');
  return text.charAt(0).toUpperCase() + text.slice(1) + unit;
}

/** The system metrics drawn in a run's System group, the most telling first (CPU and memory of the
 * run's processes, then each GPU's use and memory, then the machine's). */
export function systemChartKeys(keys: string[], max = 8): string[] {
  const rank = (k: string): number => {
    const order = [
      /process_cpu/,
      /process_memory_usage/,
      /gpu_\d+_utilization/,
      /gpu_\d+_memory_usage_megabytes/,
      /^system\/cpu/,
      /system_memory_usage_percentage/,
      /disk_(read|write)/,
      /network/
    ];
    const i = order.findIndex(re => re.test(k));
    return i < 0 ? order.length : i;
  };
  return keys
    .filter(k => rank(k) < 8)
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .slice(0, max);
}

/** System metrics in the order a table shows them: the peaks, then the run's own processes, then the
 * machine's and its GPUs', each group by name. */
export function systemOrder(keys: string[]): string[] {
  const group = (k: string): number => (k.includes('peak') ? 0 : k.includes('process_') ? 1 : k.includes('gpu_') ? 3 : 2);
  return keys.slice().sort((a, b) => group(a) - group(b) || a.localeCompare(b));
}

/** What was kept, if it still reads as columns (a state database is anyone's to write). */
export function validColumns(value: unknown): IColumn[] | null {
  if (!Array.isArray(value)) {
    return null;
  }
  const out = value.filter(
    (c): c is IColumn => !!c && typeof c.id === 'string' && typeof c.visible === 'boolean' && typeof c.pinned === 'boolean'
  );
  return out.length ? out.map(c => ({ id: c.id, visible: c.visible, pinned: c.pinned })) : null;
}
