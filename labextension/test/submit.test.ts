import assert from 'node:assert/strict';
import { test } from 'node:test';

import { IParameter, lastExperiment, parseValue, problemWith, splitArgs } from '../src/submitValues';

const param = (kind: string, required = false): IParameter =>
  ({ name: 'x', default: null, required, kind, choices: [], help: '' }) as IParameter;

test('values are typed like their defaults, and a kind says what it takes', () => {
  assert.equal(parseValue('3', 0.5), 3);
  assert.equal(parseValue('3', 'text'), '3');
  assert.equal(parseValue('True', false), true);
  assert.equal(problemWith(param('int'), '4'), '');
  assert.equal(problemWith(param('int'), '4.5'), 'a whole number');
  assert.equal(problemWith(param('float'), '1e-3'), '');
  assert.equal(problemWith(param('float'), 'fast'), 'a number');
  assert.equal(problemWith(param('text', true), ' '), 'required');
  assert.equal(problemWith(param('text'), ''), '');
});

test('free arguments split as a shell would; the experiment is the one last run in', () => {
  assert.deepEqual(splitArgs('--epochs 3 "my data.csv" --tag \'a b\''), ['--epochs', '3', 'my data.csv', '--tag', 'a b']);
  assert.deepEqual(splitArgs('   '), []);
  const e = (name: string, last: number | null, runs = 1) => ({ id: 1, name, created_at: 0, runs, last_run_at: last });
  assert.equal(lastExperiment([e('old', 10), e('churn', 30), e('empty', null, 0)]), 'churn');
  assert.equal(lastExperiment([]), 'default');
});
