import assert from 'node:assert/strict';
import { test } from 'node:test';

import { EventStream, ISocketLike } from '../src/events';

class FakeSocket implements ISocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  sent: string[] = [];
  closed = false;
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.closed = true;
    this.onclose?.({});
  }
  open(): void {
    this.onopen?.({});
  }
  drop(): void {
    this.onclose?.({});
  }
  message(body: unknown): void {
    this.onmessage?.({ data: typeof body === 'string' ? body : JSON.stringify(body) });
  }
}

const wait = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

test('status and log events arrive; junk is ignored', () => {
  const socket = new FakeSocket();
  const stream = new EventStream(() => socket);
  const got: string[] = [];
  stream.status.connect((_, e) => got.push(`${e.run_id}:${e.status}`));
  stream.log.connect((_, e) => got.push(e.lines.join('|')));
  stream.start();
  socket.open();
  socket.message({ type: 'status', run_id: 'r1', status: 'running', error: null });
  socket.message('not json');
  socket.message({ type: 'log', run_id: 'r1', lines: ['a', 'b'] });
  socket.message({ type: 'status' });
  assert.deepEqual(got, ['r1:running', 'a|b']);
  stream.dispose();
});

test('a dropped socket reconnects with a growing back-off and follows again', async () => {
  const sockets: FakeSocket[] = [];
  const stream = new EventStream(
    () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
    { minDelayMs: 5, maxDelayMs: 40 }
  );
  const states: boolean[] = [];
  stream.connection.connect((_, up) => states.push(up));
  stream.start();
  sockets[0].open();
  stream.follow('r1');
  assert.deepEqual(sockets[0].sent, ['{"follow":"r1"}']);
  sockets[0].drop();
  assert.equal(stream.connected, false);
  assert.equal(stream.nextDelayMs, 10); // doubled after the first drop
  await wait(15);
  assert.equal(sockets.length, 2);
  sockets[1].open();
  assert.deepEqual(sockets[1].sent, ['{"follow":"r1"}']);
  assert.deepEqual(states, [true, false, true]);
  assert.equal(stream.nextDelayMs, 5); // reset once open
  stream.dispose();
  assert.ok(sockets[1].closed);
  await wait(20);
  assert.equal(sockets.length, 2); // no reconnect after dispose
});

test('a server that never opens the socket turns on the polling fallback', async () => {
  let made = 0;
  const stream = new EventStream(
    () => {
      made++;
      const s = new FakeSocket();
      setTimeout(() => s.drop(), 0);
      return s;
    },
    { minDelayMs: 1, maxDelayMs: 2, fallbackAfter: 3 }
  );
  stream.start();
  await wait(40);
  assert.ok(made >= 3);
  assert.equal(stream.fallback, true);
  stream.dispose();
});
