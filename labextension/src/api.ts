/**
 * The REST API's answers as TypeScript types, generated from docs/openapi.yaml by
 * `python -m aml_jupyter.server.openapi_ts > labextension/src/api.ts`. Do not edit by hand:
 * tests/server/test_openapi.py fails when this file and the document differ.
 */

/** A run still going (entities/lifecycle.py LIVE). */
export const LIVE_STATUSES: readonly string[] = ['queued', 'preparing', 'running'];
/** A run that has ended (entities/lifecycle.py TERMINAL). */
export const TERMINAL_STATUSES: readonly string[] = ['completed', 'failed', 'cancelled', 'lost'];

/** a run as a listing gives it (system_metrics: what the machine did, sampled) */
export interface RunSummary {
  id: string;
  experiment: string;
  name: string;
  status: string;
  user: string;
  start_time: number;
  end_time: number | null;
  source_kind: string;
  source_path: string | null;
  compute_target: string;
  snapshot_id: string | null;
  parent_id: string | null;
  params: Record<string, string>;
  metrics: Record<string, number | 'NaN' | 'Infinity' | '-Infinity'>;
  system_metrics: Record<string, number | 'NaN' | 'Infinity' | '-Infinity'>;
  tags: Record<string, string>;
}

export interface Artifact {
  name: string;
  size: number;
  media_type: string;
  digest?: string;
  created_at?: number;
}

/** one run: a summary's keys and the rest of its record */
export interface RunRecord extends RunSummary {
  experiment_id: number;
  heartbeat_at: number | null;
  error: string | null;
  error_traceback: string | null;
  artifacts: Artifact[];
  inputs: Record<string, unknown>[];
  git?: Record<string, unknown> | null;
  environment_hash?: string | null;
  environment?: Record<string, unknown> | null;
}

export interface RunPage {
  runs: RunSummary[];
  next_page_token: string | null;
  total?: number;
}

export interface Keys {
  params: string[];
  metrics: string[];
  tags: string[];
  system_metrics: string[];
}

export interface Group {
  value: string | null;
  count: number;
  best: number | null;
}

export interface Groups {
  by: string;
  metric: string | null;
  goal: string;
  groups: Group[];
}

export interface Series {
  run_id: string;
  key: string;
  points: number;
  downsampled: boolean;
  step: number[];
  value: (number | 'NaN' | 'Infinity' | '-Infinity')[];
  timestamp: number[];
}

/** a run's series, or error when the run is not there */
export interface SeriesOrError {
  run_id: string;
  key: string;
  error?: string;
  points?: number;
  downsampled?: boolean;
  step?: number[];
  value?: (number | 'NaN' | 'Infinity' | '-Infinity')[];
  timestamp?: number[];
}

export interface Experiment {
  id: number;
  name: string;
  created_at: number;
  runs: number;
  last_run_at: number | null;
}

/** a notebook's parameter or a script's --option: how to ask for it (kind), and its default */
export interface Parameter {
  name: string;
  default: unknown;
  required: boolean;
  kind: 'flag' | 'flag_off' | 'choice' | 'int' | 'float' | 'text' | 'bool' | 'other';
  choices: unknown[];
  help: string;
}

export interface JobParameters {
  path: string;
  kind: 'notebook' | 'script';
  has_parameters_cell: boolean;
  readable: boolean;
  parameters: Parameter[];
}

export interface Target {
  name: string;
  type: string;
  runs_jobs: boolean;
  settings: Record<string, unknown>;
  dashboard?: string | null;
}

export interface JobStarted {
  id: string;
  status: string;
  error?: string | null;
  rerun_of?: string;
}

export interface Template {
  name: string;
  title: string;
  description: string;
}

export interface ModelVersionOfRun {
  name: string;
  version: number;
  ref: string;
  flavor: string;
  user: string;
  created_at: number;
  aliases: string[];
}

/** Each operation's JSON answer, by its operationId. */
export interface Answers {
  health: {
    ok: boolean;
    workspace: string;
  };
  me: {
    user: string;
    actions: string[];
  };
  experiments: {
    experiments: Experiment[];
  };
  search: RunPage;
  keys: Keys;
  groups: Groups;
  record: RunRecord;
  job_parameters: JobParameters;
  submit: JobStarted;
  cancel: JobStarted;
  rerun: JobStarted;
  metric_series: Series;
  metric_series_of_runs: {
    key: string;
    series: SeriesOrError[];
  };
  run_models: {
    versions: ModelVersionOfRun[];
  };
  list_artifacts: {
    artifacts: Artifact[];
  };
  snapshot_files: {
    files: string[];
    total: number;
  };
  snapshot_diff: {
    changes: {
    status: string;
    path: string;
  }[];
    patch: string;
  };
  restore: {
    folder: string;
    files: string[];
  };
  templates: {
    templates: Template[];
  };
  new_project: {
    folder: string;
    files: string[];
  };
  targets: {
    targets: Target[];
  };
}
