/**
 * The submit dialog's rules, apart from its DOM (tested with `node --test`): values typed as their
 * defaults, what a kind of parameter takes, free arguments split as a shell would, the experiment
 * a submission goes to.
 */
import { IExperiment, IJobParameters } from './client';

export type IParameter = IJobParameters['parameters'][number];

/** A typed value from what the user typed, shaped like the default (text stays text). */
export function parseValue(text: string, like: unknown): unknown {
  if (typeof like === 'string') {
    return text;
  }
  const trimmed = text.trim();
  if (trimmed === '') {
    return like === null ? null : text;
  }
  try {
    return JSON.parse(trimmed);
  } catch {
    if (trimmed === 'True' || trimmed === 'False') {
      return trimmed === 'True';
    }
    return text;
  }
}

/** Why a typed value will not do for a parameter of this kind, or '' when it will. */
export function problemWith(p: IParameter, text: string): string {
  const t = text.trim();
  if (t === '') {
    return p.required ? 'required' : '';
  }
  if (p.kind === 'int' && !/^[+-]?\d+$/.test(t)) {
    return 'a whole number';
  }
  if (p.kind === 'float' && (t === '' || !Number.isFinite(Number(t)))) {
    return 'a number';
  }
  return '';
}

/** Free arguments as a shell would split them: spaces apart, quotes keep a value whole. */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    out.push(m[1] ?? m[2] ?? m[3]);
  }
  return out;
}

/** The experiment a submission goes to unless the user says otherwise: the one last run in. */
export function lastExperiment(experiments: IExperiment[]): string {
  const used = experiments.filter(e => e.last_run_at !== null && e.runs > 0);
  used.sort((a, b) => (b.last_run_at ?? 0) - (a.last_run_at ?? 0));
  return used[0]?.name ?? 'default';
}
