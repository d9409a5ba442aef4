import assert from 'node:assert/strict';
import { test } from 'node:test';
import { warmUpEngine } from './warmup.ts';

test('the warm-up evaluates every query shape, range and instant, without an error', async () => {
  assert.equal(await warmUpEngine(1), 30);
});

test('the warm-up stops when asked (shutdown)', async () => {
  let calls = 0;
  assert.equal(await warmUpEngine(5, () => ++calls > 4), 8);
});
