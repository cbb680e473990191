import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AmlClient } from '../src/client';
import { RunsModel } from '../src/runsModel';
import { fakeServer, run } from './fakes';

const tick = () => new Promise(resolve => setTimeout(resolve, 0));

test('100,000 runs: only the pages asked for are fetched, the total comes first', async () => {
  const server = fakeServer(100_000);
  const model = new RunsModel(new AmlClient(server.transport), { pageSize: 100 });
  await model.setQuery({});
  assert.equal(model.total, 100_000);
  assert.equal(model.at(5)!.id, 'r5');
  assert.equal(model.at(50_000), undefined); // on its way
  await model.ensure(50_000, 50_050);
  assert.equal(model.at(50_010)!.id, 'r50010');
  assert.ok(server.calls.length <= 3, server.calls.join('\n'));
  model.dispose();
});

test('a bad filter is an error with the server\'s words, not an empty table', async () => {
  const server = fakeServer(10);
  const model = new RunsModel(new AmlClient(server.transport));
  await model.setQuery({ filter: 'metrics.acc >> 1' });
  assert.match(model.error!.message, /'>>' at 12/);
  assert.equal(model.total, 0);
  await model.setQuery({ filter: '' });
  assert.equal(model.error, null);
  assert.equal(model.total, 10);
});

test('answers to an older query are dropped: no stale or duplicate rows', async () => {
  const server = fakeServer(50);
  const model = new RunsModel(new AmlClient(server.transport), { pageSize: 10 });
  await model.setQuery({});
  server.hold = true;
  const stale = model.ensure(20, 29);
  server.runs.unshift(run(999, 'running'));
  const fresh = model.reload();
  server.release();
  await tick();
  server.release();
  await Promise.all([stale, fresh]);
  server.hold = false;
  await model.ensure(0, 49);
  const ids = Array.from({ length: model.total }, (_, i) => model.at(i)?.id);
  assert.equal(ids[0], 'r999');
  assert.equal(new Set(ids).size, ids.length);
  model.dispose();
});

test('status events update rows in place; an unknown run brings the first page again', async () => {
  const server = fakeServer(3);
  server.runs[0] = run(0, 'running');
  const model = new RunsModel(new AmlClient(server.transport));
  model.debounceMs = 1;
  await model.setQuery({});
  let changes = 0;
  model.changed.connect(() => changes++);
  model.applyStatus('r0', 'completed');
  assert.equal(model.at(0)!.status, 'completed');
  assert.ok(model.at(0)!.end_time !== null);
  assert.equal(changes, 1);
  server.runs.unshift(run(7, 'queued'));
  model.applyStatus('r7', 'queued');
  model.applyStatus('r7', 'running'); // gathered into one fetch
  await new Promise(resolve => setTimeout(resolve, 20));
  assert.equal(model.total, 4);
  assert.equal(model.at(0)!.id, 'r7');
  assert.equal(server.calls.length, 2);
  model.dispose();
});

test('selection keeps the order runs were picked in', () => {
  const model = new RunsModel(new AmlClient(fakeServer(0).transport));
  const seen: string[][] = [];
  model.selectionChanged.connect((_, ids) => seen.push(ids));
  model.select('b');
  model.select('a');
  model.select('b', true); // no change, no signal
  assert.deepEqual(model.selected, ['b', 'a']);
  model.select('b');
  model.clearSelection();
  assert.deepEqual(seen, [['b'], ['b', 'a'], ['a'], []]);
});

test('a page that failed is not asked again on every paint', async () => {
  let calls = 0;
  const model = new RunsModel(
    new AmlClient(async path => {
      calls++;
      if (path.includes('offset=0')) {
        return { status: 200, ok: true, json: async () => ({ runs: [run(0)], next_page_token: 'n', total: 500 }), text: async () => '' };
      }
      return { status: 500, ok: false, json: async () => ({}), text: async () => '{"error": "boom"}' };
    }),
    { pageSize: 100 }
  );
  await model.setQuery({});
  await model.ensure(200, 210);
  for (let i = 0; i < 10; i++) {
    model.at(205);
  }
  await tick();
  assert.equal(calls, 2);
  model.dispose();
});

test('a new page size fetches again in pages of that size', async () => {
  const server = fakeServer(1000);
  const model = new RunsModel(new AmlClient(server.transport), { pageSize: 5000 });
  assert.equal(model.pageSize, 1000); // capped
  await model.setQuery({});
  await model.setPageSize(50);
  assert.equal(model.pageSize, 50);
  assert.match(server.calls[server.calls.length - 1], /max_results=50&offset=0/);
  model.dispose();
});

test('a long scroll holds a bounded number of pages, never the whole store', async () => {
  const server = fakeServer(100_000);
  const model = new RunsModel(new AmlClient(server.transport), { pageSize: 100 });
  model.maxPages = 10;
  await model.setQuery({});
  for (let first = 0; first < 100_000; first += 5_000) {
    await model.ensure(first, first + 99);
  }
  assert.ok(model.at(0) !== undefined); // the first page stays
  assert.equal(model.at(50_000), undefined); // gone: asked again when scrolled back to
  await model.ensure(50_000, 50_099);
  assert.equal(model.at(50_000)!.id, 'r50000');
  model.dispose();
});
