import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MoleError } from '../../lib/errors.ts';
import {
  formatGoDuration,
  parseInstantParams,
  parseLokiStep,
  parseLokiTime,
  parseRangeParams,
} from './query.ts';

const S = 1_000_000_000n;
const NOW = 1_767_229_200n * S;

test('times: RFC 3339, Unix seconds (with a fraction, ms precision), Unix nanoseconds', () => {
  assert.equal(parseLokiTime('2026-01-01T00:00:00Z', 'start'), 1_767_225_600n * S);
  assert.equal(parseLokiTime('2026-01-01T01:00:00+01:00', 'start'), 1_767_225_600n * S);
  assert.equal(parseLokiTime('2026-01-01T00:00:00.123456789Z', 'start'), 1_767_225_600n * S + 123_456_789n);
  assert.equal(parseLokiTime('1767225600', 'start'), 1_767_225_600n * S);
  assert.equal(parseLokiTime('1767225600.5', 'start'), 1_767_225_600n * S + 500_000_000n);
  assert.equal(parseLokiTime('1767225600.0004', 'start'), 1_767_225_600n * S);
  assert.equal(parseLokiTime('1767225600000000001', 'start'), 1_767_225_600_000_000_001n);
  assert.throws(() => parseLokiTime('yesterday', 'start'), /invalid start: cannot parse "yesterday"/);
});

test('steps: float seconds or a Prometheus duration; fractional durations are refused as in Loki', () => {
  assert.equal(parseLokiStep('15'), 15n * S);
  assert.equal(parseLokiStep('0.5'), 500_000_000n);
  assert.equal(parseLokiStep('1m30s'), 90n * S);
  assert.equal(parseLokiStep('30000ms'), 30n * S);
  assert.throws(
    () => parseLokiStep('0.1s'),
    (e: unknown) =>
      e instanceof MoleError && e.status === 400 && e.message === 'cannot parse "0.1s" to a valid duration',
  );
});

test('range defaults: end now, start end-1h, limit 100, backward, step from the range', () => {
  const q = parseRangeParams(new URLSearchParams({ query: '{a="b"}' }), NOW, 11_000);
  assert.deepEqual(q, {
    query: '{a="b"}',
    startNs: NOW - 3600n * S,
    endNs: NOW,
    stepNs: 14n * S,
    instant: false,
    limit: 100,
    direction: 'backward',
  });
});

test("range errors carry Loki's messages", () => {
  const bad = (p: Record<string, string>, msg: string) =>
    assert.throws(
      () => parseRangeParams(new URLSearchParams({ query: '{a="b"}', ...p }), NOW, 11_000),
      (e: unknown) => e instanceof MoleError && e.status === 400 && e.message === msg,
    );
  bad(
    { start: '2026-01-01T01:00:00Z', end: '2026-01-01T00:00:00Z' },
    'end timestamp must not be before or equal to start time',
  );
  bad(
    { start: '2026-01-01T00:00:00Z', end: '2026-01-01T00:00:00Z' },
    'end timestamp must not be before or equal to start time',
  );
  bad({ limit: '0' }, 'limit must be a positive value');
  bad({ direction: 'sideways' }, 'invalid direction "sideways": use forward or backward');
  bad(
    { step: '0' },
    'zero or negative query resolution step widths are not accepted. Try a positive integer',
  );
  bad(
    { start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z', step: '1' },
    'exceeded maximum resolution of 11,000 points per timeseries. Try increasing the value of the step parameter',
  );
  assert.throws(() => parseRangeParams(new URLSearchParams({}), NOW, 11_000), /query parameter is required/);
});

test('instant: time defaults to now', () => {
  const q = parseInstantParams(new URLSearchParams({ query: 'vector(1)', direction: 'FORWARD' }), NOW);
  assert.equal(q.startNs, NOW);
  assert.equal(q.endNs, NOW);
  assert.equal(q.direction, 'forward');
  assert.equal(q.instant, true);
});

test('durations print as Go does', () => {
  assert.equal(formatGoDuration(721n * 3600n * S), '721h0m0s');
  assert.equal(formatGoDuration(90n * S), '1m30s');
  assert.equal(formatGoDuration(1_500_000_000n), '1.5s');
  assert.equal(formatGoDuration(2_000_000n), '2ms');
  assert.equal(formatGoDuration(0n), '0s');
});
