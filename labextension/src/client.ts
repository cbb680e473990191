/**
 * The one REST client of the panels: every call to `{base_url}aml/api/v1/` goes through here.
 *
 * Operations are named by their `operationId` in docs/openapi.yaml; `operations.json` holds the
 * method and path of each one used here, and a test fails when it drifts from the document.
 * The transport is a function so the client runs under `node --test` without JupyterLab; the
 * plugin hands it `ServerConnection.makeRequest` (token, XSRF and base URL handled there).
 */
import type * as api from './api';
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

// The answers' types are generated from docs/openapi.yaml (api.ts); the names below are the ones
// the views and other extensions (through IAmlRuns) use.
export type IRunSummary = api.RunSummary;
export type IRunRecord = api.RunRecord;
export type IRunModelVersion = api.ModelVersionOfRun;
export type IPage = api.RunPage;
export type IKeys = api.Keys;
export type IGroup = api.Group;
export type ISeries = api.Series;
export type ISeriesOrError = api.SeriesOrError;
export type IJobParameters = api.JobParameters;
export type IExperiment = api.Experiment;
export type ITarget = api.Target;
export type IJobStarted = api.JobStarted;

/** The JSON answer of operation `K`, as the document describes it. */
export type AnswerOf<K extends OperationId> = K extends keyof api.Answers ? api.Answers[K] : unknown;

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
  async call<K extends OperationId>(
    id: K,
    params: Record<string, string> = {},
    query = '',
    body?: unknown
  ): Promise<AnswerOf<K>> {
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
    return (await response.json()) as AnswerOf<K>;
  }

  health(): Promise<AnswerOf<'health'>> {
    return this.call('health');
  }

  /** Who calls and the actions their role allows (`read`, `write`, `execute`, `admin`). */
  me(): Promise<AnswerOf<'me'>> {
    return this.call('me');
  }

  async experiments(): Promise<IExperiment[]> {
    return (await this.call('experiments')).experiments;
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
    return (await this.call('groups', {}, queryString(pairs))).groups;
  }

  run(id: string): Promise<IRunRecord> {
    return this.call('record', { run: id });
  }

  series(id: string, key: string, maxPoints = 1000): Promise<ISeries> {
    return this.call('metric_series', { run: id, key }, queryString([['max_points', maxPoints]]));
  }

  /** One metric of 1 to 50 runs in one request; a run not there comes back with `error`. */
  async seriesOfRuns(ids: string[], key: string, maxPoints = 1000): Promise<ISeriesOrError[]> {
    const pairs: [string, string | number][] = ids.map(id => ['run', id]);
    pairs.push(['max_points', maxPoints]);
    const answer = await this.call(
      'metric_series_of_runs',
      { key },
      queryString(pairs)
    );
    return answer.series;
  }

  cancel(id: string): Promise<IJobStarted> {
    return this.call('cancel', { run: id }, '', {});
  }

  rerun(id: string, params: Record<string, string>): Promise<IJobStarted> {
    return this.call('rerun', { run: id }, '', { params });
  }

  restore(snapshot: string, to: string): Promise<AnswerOf<'restore'>> {
    return this.call('restore', { snapshot }, '', { to });
  }

  jobParameters(path: string): Promise<IJobParameters> {
    return this.call('job_parameters', {}, queryString([['path', path]]));
  }

  submit(body: {
    path: string;
    params: Record<string, unknown>;
    args?: string[];
    target?: string;
    experiment?: string;
    name?: string;
  }): Promise<IJobStarted> {
    return this.call('submit', {}, '', body);
  }

  async targets(): Promise<ITarget[]> {
    return (await this.call('targets')).targets;
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
  /** A text artifact's first bytes, or a Parquet table's first rows as CSV (`rows`: how many it holds). */
  async previewText(id: string, name: string, head = 65536): Promise<{ text: string; truncated: boolean; rows?: number }> {
    const path = operationPath('preview', { run: id, name }).replace(/^\//, '') + queryString([['head', head]]);
    const response = await this.transport(path, { method: 'GET' });
    if (!response.ok) {
      throw await errorOf(response);
    }
    const text = await response.text();
    const flag = response.headers?.get('X-Aml-Truncated');
    const rows = response.headers?.get('X-Aml-Rows');
    return { text, truncated: flag ? flag === 'true' : text.length >= head, ...(rows ? { rows: Number(rows) } : {}) };
  }

  /** The URL path of an artifact's preview (images, notebooks as sanitized HTML). */
  previewPath(id: string, name: string): string {
    return operationPath('preview', { run: id, name }).replace(/^\//, '');
  }

  /** The project templates of the gallery. */
  templates(): Promise<AnswerOf<'templates'>> {
    return this.call('templates');
  }

  /** A new project from `template` in `folder` (relative to the project's root). */
  newProject(template: string, folder: string): Promise<AnswerOf<'new_project'>> {
    return this.call('new_project', { template }, '', { folder });
  }

  /** The model versions registered from run `id`, oldest first. */
  async runModels(id: string): Promise<IRunModelVersion[]> {
    const answer = await this.call('run_models', { run: id });
    return answer.versions;
  }

  snapshotFiles(snapshot: string): Promise<AnswerOf<'snapshot_files'>> {
    return this.call('snapshot_files', { snapshot });
  }

  snapshotDiff(snapshot: string, other: string): Promise<AnswerOf<'snapshot_diff'>> {
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
