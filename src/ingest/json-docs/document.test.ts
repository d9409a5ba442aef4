import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDocument, parseDocTimeNs } from './document.ts';

test('document times: RFC 3339 / ISO 8601 text and epoch numbers by magnitude', () => {
  const cases: [unknown, bigint | null][] = [
    ['2024-05-01T12:00:00Z', 1714564800000000000n],
    ['2024-05-01T12:00:00.123456789Z', 1714564800123456789n],
    ['2024-05-01T14:00:00.5+02:00', 1714564800500000000n],
    ['2024-05-01T14:00:00+0200', 1714564800000000000n],
    ['2024-05-01 12:00:00', 1714564800000000000n],
    ['2024-05-01', 1714521600000000000n],
    [1714564800, 1714564800000000000n],
    [1714564800.25, 1714564800250000000n],
    ['1714564800.000001', 1714564800000001000n],
    [1714564800123, 1714564800123000000n],
    ['1714564800123456', 1714564800123456000n],
    ['1714564800123456789', 1714564800123456789n],
    ['tomorrow', null],
    ['2024-13-01T00:00:00Z', null],
    [true, null],
    [Infinity, null],
  ];
  for (const [v, want] of cases) assert.equal(parseDocTimeNs(v), want, String(v));
});

test('body and time fields are picked in their documented order', () => {
  const d = checkDocument({ log: 'l', message: 'm', timestamp: 1, '@timestamp': 2 }, 'x');
  assert.equal(d.bodyKey, 'message');
  assert.equal(d.timeKey, '@timestamp');
  assert.equal(checkDocument({ message: 5, msg: 'text' }, 'x').bodyKey, 'msg');
  assert.throws(() => checkDocument([], 'doc 3'), /doc 3: expected a JSON object, got an array/);
});

test('decimal ms text is ms', () => {
  assert.equal(parseDocTimeNs('1714564800123.5'), 1714564800123500000n);
  assert.equal(parseDocTimeNs(1714564800123.5), 1714564800123500000n);
});
