import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backtrackSafe, compileRe2, Re2Error, re2Error } from './regex.ts';

test('patterns a backtracking engine runs in linear time stay on V8', () => {
  for (const p of [
    'error',
    '(?i)(error|fatal|deadlock)',
    '" 5[0-9][0-9] ',
    'duration=[0-9.]+s ',
    '(?P<ip>[0-9.]+) - (?P<user>\\w+) "(?P<method>\\w+)',
    '^(WARN|warn|WARNING)',
    '(ab)+',
    '[(+*]+x',
    '\\Q(a+)+\\E',
  ])
    assert.equal(backtrackSafe(p), true, p);
});

test('nested repeats, repeated alternations and many unbounded repeats go to the linear engine', () => {
  for (const p of [
    '(a+)+$',
    '(a|aa)*b',
    '((ab)*c)+',
    '(x+x+)+y',
    '.*a.*b',
    '\\S+ - \\S+',
    '[^ ]+x[^ ]+',
    '(?:a{2,})+',
    '(?P<x>\\d+\\.)+',
  ])
    assert.equal(backtrackSafe(p), false, p);
});

test('catastrophic patterns answer at once on a long line', () => {
  assert.equal(compileRe2('.*a.*b').test('a'.repeat(100_000)), false);
  assert.equal(compileRe2('x+y').test('x'.repeat(100_000)), false);
  const re = compileRe2('(a+)+$');
  assert.equal(re.linear, true);
  assert.equal(re.test(`${'a'.repeat(100_000)}b`), false);
  assert.equal(re.test('aaa'), true);
});

test('both engines agree on matches and named groups', () => {
  const line = '10.0.0.1 - bob [22/Nov/2026] "GET /x HTTP/1.1" 200';
  const safe = compileRe2('(?P<ip>[0-9.]+) - (?P<user>\\w+)');
  assert.equal(safe.linear, false);
  assert.deepEqual(safe.groupNames, ['', 'ip', 'user']);
  assert.deepEqual(safe.exec(line)?.slice(1), ['10.0.0.1', 'bob']);
  const linear = compileRe2('(?P<ip>(\\d+\\.)+\\d+) - (?P<user>\\S+)');
  assert.equal(linear.linear, true);
  assert.deepEqual(linear.groupNames, ['', 'ip', '', 'user']);
  assert.deepEqual(linear.exec(line), ['10.0.0.1 - bob', '10.0.0.1', '0.', 'bob']);
});

test('anchored patterns match the whole input; (?i) works on both engines', () => {
  assert.equal(compileRe2('api-.*', true).test('api-1'), true);
  assert.equal(compileRe2('api-.*', true).test('x-api-1'), false);
  assert.equal(compileRe2('(?i)error').test('An ERROR'), true);
  assert.equal(compileRe2('(?i)(e+)+r', true).test('EEER'), true);
});

test("invalid patterns give Go's messages", () => {
  assert.equal(re2Error('(unclosed'), 'error parsing regexp: missing closing ): `(unclosed`');
  assert.equal(re2Error('a{1001}'), 'error parsing regexp: invalid repeat count: `{1001}`');
  assert.equal(re2Error('(?=x)'), 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`');
  assert.throws(() => compileRe2('a)'), Re2Error);
});
