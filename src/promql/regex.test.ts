import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MoleError } from '../lib/errors.ts';
import { compileAnchored } from './regex.ts';

test('label matcher regexes: anchored, `.` matches a newline (Prometheus 3: ^(?s:re)$), flags', () => {
  const cases: [string, string, boolean][] = [
    ['a.c', 'abc', true],
    ['a', 'ab', false],
    ['b', 'ab', false],
    ['a|ab', 'ab', true],
    ['line1.line2', 'line1\nline2', true],
    ['(?i)abc', 'ABC', true],
    ['.*', '', true],
    ['.+', '', false],
  ];
  for (const [re, value, want] of cases)
    assert.equal(compileAnchored(re).test(value), want, `${re} ~ ${JSON.stringify(value)}`);
  assert.throws(
    () => compileAnchored('(a'),
    (e: MoleError) => e.status === 400 && /invalid regular expression/.test(e.message),
  );
});
