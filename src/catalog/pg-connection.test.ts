import assert from 'node:assert/strict';
import { test } from 'node:test';
import { catalogOpenError, catalogUnavailable, describeTarget, isUnavailable } from './pg-connection.ts';

test('describeTarget names host, port, database and user, never the password', () => {
  const d = describeTarget('postgres://mole:s3cret@db.example:6543/cat?sslmode=disable');
  assert.equal(d, 'db.example:6543/cat as mole');
  assert.throws(() => describeTarget('postgres://u:p@h:notaport/db'), /catalog\.postgresUrl cannot be read/);
});

test('catalogOpenError hides the password even when the driver repeats it, and adds a hint by code', () => {
  const url = 'postgres://mole:p%40ss-word@db/cat';
  const e = catalogOpenError(
    Object.assign(new Error('auth for p@ss-word failed'), { code: '28P01' }),
    url,
    describeTarget(url),
  );
  assert.equal(e.status, 503);
  assert.match(
    e.message,
    /^cannot open the PostgreSQL catalog at db:5432\/cat as mole: auth for \*{8} failed/,
  );
  assert.match(e.message, /the password was refused/);
  assert.ok(!e.message.includes('p@ss-word'));
  const timeout = catalogOpenError(new Error('timeout expired'), '', 'h:1/d as u');
  assert.match(timeout.message, /no answer within 10 s/);
});

test('isUnavailable: connection failures yes, query errors no', () => {
  for (const code of ['ECONNREFUSED', 'ECONNRESET', '57P01', '08006', '53300'])
    assert.equal(isUnavailable(Object.assign(new Error('x'), { code })), true, code);
  assert.equal(isUnavailable(new Error('Connection terminated unexpectedly')), true);
  assert.equal(isUnavailable(new Error('timeout exceeded when trying to connect')), true);
  for (const code of ['23505', '42P01', '40001'])
    assert.equal(isUnavailable(Object.assign(new Error('x'), { code })), false, code);
  assert.equal(isUnavailable(new Error('something else')), false);
  const e = catalogUnavailable(new Error('Connection terminated'), 'h:1/d as u');
  assert.equal(e.status, 503);
  assert.equal(e.retryable, true);
});
