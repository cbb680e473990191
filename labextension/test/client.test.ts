import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AmlApiError, AmlClient, operationPath } from '../src/client';
import { fakeServer, response } from './fakes';

test('paths are filled and percent-encoded; an artifact keeps its slashes', () => {
  assert.equal(operationPath('record', { run: 'a/b?c' }), '/api/v1/runs/a%2Fb%3Fc');
  assert.equal(operationPath('get_artifact', { run: 'r', name: 'plots/a b.png' }), '/api/v1/runs/r/artifacts/plots/a%20b.png');
  assert.throws(() => operationPath('record'), /needs run/);
});

test('search sends the query, repeatable keys repeated', async () => {
  const server = fakeServer(5);
  const client = new AmlClient(server.transport);
  const page = await client.search({ filter: "params.lr = '1'", experiments: ['a', 'b'], orderBy: ['metrics.acc DESC'], offset: 2, maxResults: 2, count: true });
  assert.equal(page.total, 5);
  assert.deepEqual(page.runs.map(r => r.id), ['r2', 'r3']);
  assert.equal(
    server.calls[0],
    "GET api/v1/runs?filter=params.lr%20%3D%20'1'&max_results=2&offset=2&count=true&experiment=a&experiment=b&order_by=metrics.acc%20DESC"
  );
});

test("the server's own words come back as AmlApiError", async () => {
  const client = new AmlClient(async () => response(403, { error: 'execute on aml:jobs needs a role that allows it', type: 'Forbidden' }));
  await assert.rejects(client.cancel('r1'), (err: AmlApiError) => err.forbidden && /needs a role/.test(err.message));
  const missing = new AmlClient(async () => response(404, '<html>404</html>'));
  await assert.rejects(missing.health(), (err: AmlApiError) => err.unavailable && /no aml extension/.test(err.message));
  const down = new AmlClient(async () => {
    throw new Error('connection refused');
  });
  await assert.rejects(down.health(), (err: AmlApiError) => err.status === 0 && /could not be reached/.test(err.message));
});

test('a JSON body goes with its method', async () => {
  const seen: { method: string; body?: string; path: string }[] = [];
  const client = new AmlClient(async (path, init) => {
    seen.push({ path, ...init });
    return response(200, { id: 'r2', status: 'queued' });
  });
  await client.rerun('r1', { lr: '0.5' });
  assert.deepEqual(seen[0], { path: 'api/v1/runs/r1/rerun', method: 'POST', body: '{"params":{"lr":"0.5"}}' });
});
