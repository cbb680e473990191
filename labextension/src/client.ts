/**
 * The one REST client of the panels: every call to `{base_url}aml/api/v1/` goes through here.
 *
 * Operations are named by their `operationId` in docs/openapi.yaml; `operations.json` holds the
 * method and path of each one used here, and a test fails when it drifts from the document.
 * The transport is a function so the client runs under `node --test` without JupyterLab; the
 * plugin hands it `ServerConnection.makeRequest` (token, XSRF and base URL handled there).
 */
import operations from './operations.json';

/** What the transport answers: a status and a body to read once. */
export interface IResponseLike {
  status: number;
  ok: boolean;
  json(): Promise<unknown>;
  text(): Promise<string>;
  headers?: { get(name: string): string | null };
}

/** Sends one request; `path` is relative to `aml/api/v1/`'s parent (`api/v1/runs?...`). */
export type Transport = (path: string, init: { method: string; body?: string }) => Promise<IResponseLike>;

export type OperationId = keyof typeof operations;

/** A run as a listing gives it (the keys of `SUMMARY_KEYS`, then params, metrics and tags). */
export interface IRunSummary {
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
  metrics: Record<string, number | string>;
  tags: Record<string, string>;
}

/** A run's one JSON shape (`GET runs/{run}`). */
export interface IRunRecord extends IRunSummary {
  experiment_id: number;
  heartbeat_at: number | null;
  error: string | null;
  error_traceback: string | null;
  artifacts: { name: string; size: number; media_type: string; digest?: string }[];
  inputs: unknown;
  environment: unknown;
}

/** A model version registered from a run (`GET runs/{run}/models`): the run's lineage out. */
export interface IRunModelVersion {
  name: string;
  version: number;
  ref: string;
  flavor: string;
  user: string;
  created_at: number;
  aliases: string[];
}

export interface IPage {
  runs: IRunSummary[];
  next_page_token: string | null;
  total?: number;
}

export interface IKeys {
  params: string[];
  metrics: string[];
  tags: string[];
}

export interface IGroup {
  value: string | null;
  count: number;
  best: number | null;
}

export interface ISeries {
  run_id: string;
  key: string;
  points: number;
  downsampled: boolean;
  step: number[];
  value: (number | string)[];
  timestamp: number[];
}

export interface IJobParameters {
  path: string;
  kind: 'notebook' | 'script';
  has_parameters_cell: boolean;
  parameters: { name: string; default: unknown; required: boolean }[];
}

export interface IExperiment {
  id: number;
  name: string;
  runs: number;
  last_run_at: number | null;
}

export interface ITarget {
  name: string;
  type: string;
  [setting: string]: unknown;
}

export interface ISearchQuery {
  filter?: string;
  experiments?: string[];
  orderBy?: string[];
  maxResults?: number;
  offset?: number;
  count?: boolean;
}

/** A refusal or failure of the server, with its own words (`{"error", "type"}`). */
export class AmlApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = ''
  ) {
    super(message);
    this.name = 'AmlApiError';
  }

  /** The server has no aml extension (or the workspace is missing). */
  get unavailable(): boolean {
    return this.status === 404 || this.status === 503;
  }

  /** The caller's role does not allow it. */
  get forbidden(): boolean {
    return this.status === 403;
  }
}

/** Fills an operation's path: `{run}` and the like, each part percent-encoded. */
export function operationPath(id: OperationId, params: Record<string, string> = {}): string {
  const op = operations[id];
  return op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) {
      throw new Error(`operation ${id} needs ${name}`);
    }
    // An artifact's name is a relative path: its slashes stay, the rest is encoded.
    return name === 'name' ? value.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(value);
  });
}

function queryString(pairs: [string, string | number | boolean | undefined][]): string {
  const parts = pairs
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? '?' + parts.join('&') : '';
}

export class AmlClient {
  constructor(private readonly transport: Transport) {}

  /** One operation: its method from operations.json, JSON in and out, errors as AmlApiError. */
  async call<T>(id: OperationId, params: Record<string, string> = {}, query = '', body?: unknown): Promise<T> {
    const op = operations[id];
    const path = operationPath(id, params).replace(/^\//, '') + query;
    let response: IResponseLike;
    try {
      response = await this.transport(path, {
        method: op.method,
        body: body === undefined ? undefined : JSON.stringify(body)
      });
    } catch (err) {
      throw new AmlApiError(0, `the server could not be reached: ${(err as Error).message ?? err}`, 'NetworkError');
    }
    if (!response.ok) {
      throw await errorOf(response);
    }
    return (await response.json()) as T;
  }

  health(): Promise<{ ok: boolean; workspace: string }> {
    return this.call('health');
  }

  /** Who calls and the actions their role allows (`read`, `write`, `execute`, `admin`). */
  me(): Promise<{ user: string; actions: string[] }> {
    return this.call('me');
  }

  async experiments(): Promise<IExperiment[]> {
    return (await this.call<{ experiments: IExperiment[] }>('experiments')).experiments;
  }

  search(q: ISearchQuery): Promise<IPage> {
    const pairs: [string, string | number | boolean | undefined][] = [
      ['filter', q.filter],
      ['max_results', q.maxResults],
      ['offset', q.offset],
      ['count', q.count ? 'true' : undefined]
    ];
    for (const e of q.experiments ?? []) {
      pairs.push(['experiment', e]);
    }
    for (const o of q.orderBy ?? []) {
      pairs.push(['order_by', o]);
    }
    return this.call('search', {}, queryString(pairs));
  }

  keys(experiments: string[] = []): Promise<IKeys> {
    return this.call('keys', {}, queryString(experiments.map(e => ['experiment', e])));
  }

  async groups(by: string, metric: string | undefined, goal: 'max' | 'min', q: ISearchQuery): Promise<IGroup[]> {
    const pairs: [string, string | undefined][] = [
      ['by', by],
      ['metric', metric],
      ['goal', goal],
      ['filter', q.filter]
    ];
    for (const e of q.experiments ?? []) {
      pairs.push(['experiment', e]);
    }
    return (await this.call<{ groups: IGroup[] }>('groups', {}, queryString(pairs))).groups;
  }

  run(id: string): Promise<IRunRecord> {
    return this.call('record', { run: id });
  }

  series(id: string, key: string, maxPoints = 1000): Promise<ISeries> {
    return this.call('metric_series', { run: id, key }, queryString([['max_points', maxPoints]]));
  }

  /** One metric of 1 to 50 runs in one request; a run not there comes back with `error`. */
  async seriesOfRuns(ids: string[], key: string, maxPoints = 1000): Promise<(ISeries & { error?: string })[]> {
    const pairs: [string, string | number][] = ids.map(id => ['run', id]);
    pairs.push(['max_points', maxPoints]);
    const answer = await this.call<{ series: (ISeries & { error?: string })[] }>(
      'metric_series_of_runs',
      { key },
      queryString(pairs)
    );
    return answer.series;
  }

  cancel(id: string): Promise<{ id: string; status: string }> {
    return this.call('cancel', { run: id }, '', {});
  }

  rerun(id: string, params: Record<string, string>): Promise<{ id: string; status: string }> {
    return this.call('rerun', { run: id }, '', { params });
  }

  restore(snapshot: string, to: string): Promise<{ folder: string; files: number }> {
    return this.call('restore', { snapshot }, '', { to });
  }

  jobParameters(path: string): Promise<IJobParameters> {
    return this.call('job_parameters', {}, queryString([['path', path]]));
  }

  submit(body: {
    path: string;
    params: Record<string, unknown>;
    target?: string;
    experiment?: string;
    name?: string;
  }): Promise<{ id: string; status: string; error: string | null }> {
    return this.call('submit', {}, '', body);
  }

  async targets(): Promise<ITarget[]> {
    return (await this.call<{ targets: ITarget[] }>('targets')).targets;
  }

  /** An artifact's text, at most `limit` bytes of it (never a large file whole). */
  async artifactText(id: string, name: string, limit = 65536): Promise<{ text: string; truncated: boolean }> {
    const response = await this.transport(operationPath('get_artifact', { run: id, name }).replace(/^\//, ''), {
      method: 'GET'
    });
    if (!response.ok) {
      throw await errorOf(response);
    }
    const text = await response.text();
    return { text: text.slice(0, limit), truncated: text.length > limit };
  }

  /** An artifact's preview (text: only its first `head` bytes), as text. */
  async previewText(id: string, name: string, head = 65536): Promise<{ text: string; truncated: boolean }> {
    const path = operationPath('preview', { run: id, name }).replace(/^\//, '') + queryString([['head', head]]);
    const response = await this.transport(path, { method: 'GET' });
    if (!response.ok) {
      throw await errorOf(response);
    }
    const text = await response.text();
    const flag = response.headers?.get('X-Aml-Truncated');
    return { text, truncated: flag ? flag === 'true' : text.length >= head };
  }

  /** The URL path of an artifact's preview (images, notebooks as sanitized HTML). */
  previewPath(id: string, name: string): string {
    return operationPath('preview', { run: id, name }).replace(/^\//, '');
  }

  /** The model versions registered from run `id`, oldest first. */
  async runModels(id: string): Promise<IRunModelVersion[]> {
    const answer = await this.call<{ versions: IRunModelVersion[] }>('run_models', { run: id });
    return answer.versions;
  }

  snapshotFiles(snapshot: string): Promise<{ files: string[]; total: number }> {
    return this.call('snapshot_files', { snapshot });
  }

  async snapshotDiff(snapshot: string, other: string): Promise<{ changes: { status: string; path: string }[]; patch: string }> {
    return this.call('snapshot_diff', { snapshot, other });
  }

  /** The URL path of an artifact, for an <img> or a download link. */
  artifactPath(id: string, name: string): string {
    return operationPath('get_artifact', { run: id, name }).replace(/^\//, '');
  }
}

async function errorOf(response: IResponseLike): Promise<AmlApiError> {
  let message = `HTTP ${response.status}`;
  let type = '';
  try {
    const text = await response.text();
    try {
      const body = JSON.parse(text) as { error?: string; message?: string; type?: string; reason?: string };
      message = body.error ?? body.message ?? body.reason ?? message;
      type = body.type ?? '';
    } catch {
      if (text && text.length < 300 && !text.trimStart().startsWith('<')) {
        message = text;
      }
    }
  } catch {
    // the body was unreadable: the status says enough
  }
  if (response.status === 404 && !type) {
    message = 'this server has no aml extension (or an old one)';
  }
  return new AmlApiError(response.status, message, type);
}
