import assert from 'node:assert/strict';
import { test } from 'node:test';

import { IRunSummary } from '../src/client';
import {
  CellRegistry,
  cellText,
  defaultColumns,
  formatDuration,
  formatNumber,
  move,
  pin,
  shown,
  sortTerm,
  systemChartKeys,
  systemLabel,
  systemOrder,
  toggle,
  validColumns,
  withKeys
} from '../src/columns';
import { run } from './fakes';

test('keys join as hidden columns; the user chooses, pins and reorders', () => {
  let cols = withKeys(defaultColumns(['metrics.acc']), { params: ['lr'], metrics: ['acc', 'loss'], tags: ['team'] });
  assert.deepEqual(cols.map(c => c.id).slice(6), ['metrics.acc', 'metrics.loss', 'params.lr', 'tags.team']);
  assert.equal(cols.find(c => c.id === 'metrics.loss')!.visible, false);
  cols = toggle(cols, 'params.lr');
  cols = pin(cols, 'params.lr');
  assert.deepEqual(shown(cols).map(c => c.id).slice(0, 3), ['status', 'name', 'params.lr']);
  cols = move(cols, 'user', -10);
  assert.equal(cols[0].id, 'user');
  assert.equal(withKeys(cols, { params: ['lr'], metrics: [], tags: [] }).length, cols.length); // no duplicates
});

test('sorting is the server\'s: order_by terms, odd keys quoted', () => {
  assert.equal(sortTerm('started', true), 'attributes.start_time DESC');
  assert.equal(sortTerm('metrics.acc', false), 'metrics.acc ASC');
  assert.equal(sortTerm('params.learning rate', true), 'params.`learning rate` DESC');
});

test('cells are text and read well', () => {
  const r = run(1);
  r.name = '<img src=x onerror=alert(1)>';
  assert.equal(cellText(r, 'name'), '<img src=x onerror=alert(1)>');
  assert.equal(cellText(r, 'params.lr'), '1');
  assert.equal(cellText(r, 'params.none'), '');
  assert.equal(formatDuration(3_725_000), '1h 2m');
  assert.equal(formatDuration(65_000), '1m 5s');
  assert.equal(formatNumber(0.123456), '0.1235');
  assert.equal(formatNumber(1e-7), '1.000e-7');
  assert.equal(formatNumber('NaN'), 'NaN');
});

test('added columns belong to their registry: two never share one', () => {
  const r = { id: 'ab', name: 'n', params: { lr: '1' }, metrics: {}, tags: {} } as unknown as IRunSummary;
  const a = new CellRegistry();
  const b = new CellRegistry();
  a.add('team', run => `team of ${run.name}`);
  assert.equal(a.text(r, 'team'), 'team of n');
  assert.equal(b.text(r, 'team'), '');
  assert.equal(b.text(r, 'params.lr'), '1');
});

test('system metrics: offered as hidden columns, read from the run\'s own, said in words, charted by rank', () => {
  const peak = 'system/process_memory_peak_megabytes';
  const cols = withKeys(defaultColumns([]), { params: [], metrics: ['acc'], tags: [], system_metrics: [peak] });
  assert.deepEqual(cols.slice(-2).map(c => [c.id, c.visible]), [['metrics.acc', false], [`metrics.${peak}`, false]]);
  assert.equal(cellText(run(7), `metrics.${peak}`), '107');
  assert.equal(systemLabel(peak), 'Process memory peak (MB)');
  assert.equal(systemLabel('system/gpu_1_utilization_percentage'), 'GPU 1 utilization (%)');
  assert.equal(systemLabel('system/gpu_0_temperature_celsius'), 'GPU 0 temperature (°C)');
  assert.equal(systemLabel('system/process_cpu_utilization_percentage'), 'Process CPU utilization (%)');
  assert.deepEqual(systemOrder(['system/gpu_0_utilization_percentage', 'system/cpu_utilization_percentage', peak]), [
    peak,
    'system/cpu_utilization_percentage',
    'system/gpu_0_utilization_percentage'
  ]);
  const keys = ['system/network_receive_megabytes', 'system/gpu_0_utilization_percentage', peak, 'system/process_cpu_utilization_percentage'];
  assert.deepEqual(systemChartKeys(keys), ['system/process_cpu_utilization_percentage', 'system/gpu_0_utilization_percentage', 'system/network_receive_megabytes']);
});

test('kept columns are read back only if they still read as columns', () => {
  const kept = [{ id: 'metrics.loss', visible: true, pinned: false, extra: 1 }, { id: 3 }, null];
  assert.deepEqual(validColumns(kept), [{ id: 'metrics.loss', visible: true, pinned: false }]);
  assert.equal(validColumns('junk'), null);
  assert.equal(validColumns([]), null);
});
