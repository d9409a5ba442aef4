import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Drain, join, tokenize } from './drain.ts';

test("Loki's tokenizer: punctuation and = are tokens, _ - . : / stay inside words", () => {
  const t = tokenize('10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "GET /api?id=7 HTTP/1.1" 200');
  assert.deepEqual(t.tokens, [
    '10.0.0.1',
    '-',
    '-',
    '[',
    '01/Jan/2026:00:00:00',
    '+0000',
    ']',
    '"',
    'GET',
    '/api',
    '?',
    'id',
    '=',
    '7',
    'HTTP/1.1',
    '"',
    '200',
  ]);
  assert.equal(join(t), '10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "GET /api?id=7 HTTP/1.1" 200');
});

test('Drain: similar lines join one cluster; differing tokens become <_>', () => {
  const d = new Drain();
  d.train('10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "GET /v1/a HTTP/1.1" 200 512');
  const c = d.train('10.0.0.9 - - [01/Jan/2026:00:00:05 +0000] "GET /v1/b HTTP/1.1" 404 77')!;
  assert.equal(c.size, 2);
  assert.equal(join(c), '<_> - - [<_> +0000] "GET <_> HTTP/1.1" <_> <_>');
  // a token without digits in the leading part of the line routes to its own branch (Loki: GET /healthz)
  assert.equal(d.train('10.0.0.9 - - [01/Jan/2026:00:00:05 +0000] "GET /healthz HTTP/1.1" 200 7')!.size, 1);
  assert.equal(d.train('connection reset by peer')!.size, 1);
});
