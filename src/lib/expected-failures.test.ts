import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGreen, parseExpectedFailures, summaryLine, tally } from './expected-failures.ts';

test('parses ids, reasons, comments and blank lines', () => {
  const m = parseExpectedFailures('# header\n\nfunctions.test:412   # holt_winters\nat_modifier.test:88\n');
  assert.deepEqual([...m.keys()], ['functions.test:412', 'at_modifier.test:88']);
  assert.equal(m.get('functions.test:412')!.reason, 'holt_winters');
  assert.equal(m.get('at_modifier.test:88')!.line, 4);
});

test('rejects duplicates and ids with spaces', () => {
  assert.throws(() => parseExpectedFailures('a\na\n'), /listed twice/);
  assert.throws(() => parseExpectedFailures('a b\n'), /no spaces/);
});

test('tally separates expected and unexpected outcomes', () => {
  const expected = parseExpectedFailures('known-bad\nnow-fixed\n');
  const t = tally(
    [
      { id: 'ok-1', ok: true },
      { id: 'known-bad', ok: false },
      { id: 'now-fixed', ok: true },
      { id: 'new-bad', ok: false },
    ],
    expected,
  );
  assert.equal(summaryLine(t), '2 passed, 2 failed');
  assert.deepEqual(t.expectedFailures, ['known-bad']);
  assert.deepEqual(t.unexpectedFailures, ['new-bad']);
  assert.deepEqual(t.unexpectedPasses, ['now-fixed']);
  assert.equal(isGreen(t), false);
  assert.equal(isGreen(tally([{ id: 'known-bad', ok: false }], expected)), true);
});
