import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AmlClient, IResponseLike } from '../src/client';
import { inputRow, RunDetailsModel } from '../src/detailsModel';
import { EventStream, ISocketLike } from '../src/events';
import { response, run } from './fakes';

class Socket implements ISocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  send(): void {}
  close(): void {}
}

test('the details model reads its run, follows its status and log, and says when it is gone', async () => {
  let status = 'running';
  let deleted = false;
  const transport = async (path: string): Promise<IResponseLike> => {
    if (path.startsWith('api/v1/runs/r1')) {
      return deleted ? response(404, { error: 'no run r1', type: 'RunNotFound' }) : response(200, { ...run(1, status) });
    }
    return response(404, { error: 'no route', type: 'NotFound' });
  };
  const socket = new Socket();
  const events = new EventStream(() => socket);
  events.start();
  socket.onopen?.({});
  const model = new RunDetailsModel('r1', new AmlClient(transport), events);
  const seen: string[] = [];
  model.changed.connect((m, change) => seen.push(`${change.first ? 'first ' : ''}${m.state}`));
  const lines: string[] = [];
  model.logged.connect((_, l) => lines.push(...l));
  assert.equal(model.state, 'loading');
  await model.refresh();
  assert.equal(model.record!.status, 'running');
  socket.onmessage?.({ data: JSON.stringify({ type: 'log', run_id: 'r1', lines: ['epoch 1'] }) });
  socket.onmessage?.({ data: JSON.stringify({ type: 'log', run_id: 'r2', lines: ['not mine'] }) });
  assert.deepEqual(lines, ['epoch 1']);
  status = 'completed';
  await model.refresh();
  deleted = true;
  await model.refresh();
  assert.deepEqual(seen, ['first running', 'completed', 'gone']);
  assert.equal(model.record, null);
  assert.equal(model.error!.status, 404);
  model.dispose();
  events.dispose();
});

test('a dataset read by a run reads as name:version, anything else by its name and URI', () => {
  const registered = { kind: 'dataset', name: 'iris', uri: 'dataset:iris:1', digest: 'ab'.repeat(32), role: 'input' };
  assert.deepEqual(inputRow(registered), ['iris:1', 'abababababab']);
  assert.deepEqual(inputRow({ name: 'raw', uri: 'data/raw.csv' }), ['raw', 'data/raw.csv']);
});
