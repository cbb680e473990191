// A fake server for the client and the model: answers `api/v1/runs` from an array of runs.
import { IResponseLike, IRunSummary, Transport } from '../src/client';

export function response(status: number, body: unknown): IResponseLike {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return { status, ok: status < 400, json: async () => JSON.parse(text), text: async () => text };
}

export function run(i: number, status = 'completed'): IRunSummary {
  return {
    id: `r${i}`,
    experiment: 'e',
    name: `run ${i}`,
    status,
    user: 'u',
    start_time: 1_700_000_000_000 - i * 1000,
    end_time: status === 'running' ? null : 1_700_000_000_000 - i * 1000 + 5000,
    source_kind: 'script',
    source_path: null,
    compute_target: 'local',
    snapshot_id: null,
    parent_id: null,
    params: { lr: String(i % 3) },
    metrics: { acc: i / 1000 },
    system_metrics: { 'system/process_memory_peak_megabytes': 100 + i },
    tags: {}
  };
}

export interface IFakeServer {
  transport: Transport;
  runs: IRunSummary[];
  calls: string[];
  /** Answers wait for `release()` when `hold` is true. */
  hold: boolean;
  release(): void;
}

export function fakeServer(count: number): IFakeServer {
  const waiting: (() => void)[] = [];
  const server: IFakeServer = {
    runs: Array.from({ length: count }, (_, i) => run(i)),
    calls: [],
    hold: false,
    release() {
      for (const go of waiting.splice(0)) {
        go();
      }
    },
    transport: async (path, init) => {
      server.calls.push(`${init.method} ${path}`);
      if (server.hold) {
        await new Promise<void>(resolve => waiting.push(resolve));
      }
      const url = new URL('http://x/' + path);
      if (url.pathname === '/api/v1/runs') {
        const filter = url.searchParams.get('filter');
        if (filter && filter.includes('>>')) {
          return response(400, { error: `bad filter ${filter}: '>>' at 12`, type: 'FilterSyntaxError' });
        }
        const offset = Number(url.searchParams.get('offset') ?? 0);
        const size = Number(url.searchParams.get('max_results') ?? 100);
        const rows = server.runs.slice(offset, offset + size).map(r => ({ ...r }));
        const more = offset + size < server.runs.length;
        const body: Record<string, unknown> = { runs: rows, next_page_token: more ? 'next' : null };
        if (url.searchParams.get('count') === 'true') {
          body.total = server.runs.length;
        }
        return response(200, body);
      }
      return response(404, '<html>not found</html>');
    }
  };
  return server;
}
