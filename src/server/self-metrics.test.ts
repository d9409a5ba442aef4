import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MoleError } from '../lib/errors.ts';
import { retryDelayOf, statusProto } from './http-errors.ts';
import { queryLabels } from './self-metrics.ts';

describe('queryLabels', () => {
  test('API and language from the route template, with or without /api/:org', () => {
    assert.deepEqual(queryLabels('/api/:org/_search'), { api: 'sql', language: 'sql' });
    assert.deepEqual(queryLabels('/loki/api/v1/query_range'), { api: 'loki', language: 'logql' });
    assert.deepEqual(queryLabels('/api/:org/loki/api/v1/query'), { api: 'loki', language: 'logql' });
    assert.deepEqual(queryLabels('/loki/api/v1/labels'), { api: 'loki', language: 'metadata' });
    assert.deepEqual(queryLabels('/api/v1/query'), { api: 'prometheus', language: 'promql' });
    assert.deepEqual(queryLabels('/api/:org/prometheus/api/v1/query_range'), {
      api: 'prometheus',
      language: 'promql',
    });
    assert.deepEqual(queryLabels('/api/v1/series'), { api: 'prometheus', language: 'metadata' });
    assert.deepEqual(queryLabels('/api/search'), { api: 'tempo', language: 'traceql' });
    assert.deepEqual(queryLabels('/api/:org/tempo/api/search'), { api: 'tempo', language: 'traceql' });
    assert.deepEqual(queryLabels('/api/traces/:id'), { api: 'tempo', language: 'lookup' });
    assert.deepEqual(queryLabels('/jaeger/api/traces'), { api: 'jaeger', language: 'lookup' });
    assert.deepEqual(queryLabels('/api/v2/spans'), { api: 'zipkin', language: 'lookup' });
  });
});

describe('retryable refusals carry their delay', () => {
  const refusal = (retryAfterSeconds?: number) =>
    new MoleError('full', {
      code: 'MS_ERR_BACKPRESSURE',
      status: 429,
      reason: 'backpressure',
      retryable: true,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });
  test('Retry-After: whole seconds, at least 1', () => {
    assert.equal(retryDelayOf(refusal()), 1);
    assert.equal(retryDelayOf(refusal(2.2)), 3);
    assert.equal(retryDelayOf(refusal(0)), 1);
    assert.equal(
      retryDelayOf(new MoleError('x', { code: 'X', status: 400, reason: 'bad_request' })),
      undefined,
    );
  });
  test('google.rpc.Status with a RetryInfo detail of that delay', () => {
    const bytes = statusProto(refusal(7));
    // code 8 (RESOURCE_EXHAUSTED), message "full"
    assert.deepEqual([...bytes.subarray(0, 8)], [0x08, 0x08, 0x12, 0x04, ...Buffer.from('full')]);
    const any = bytes.subarray(8);
    assert.equal(any[0], 0x1a, 'details (field 3)');
    const typeUrl = 'type.googleapis.com/google.rpc.RetryInfo';
    assert.ok(any.includes(Buffer.from(typeUrl)));
    // ... value: RetryInfo{retry_delay: Duration{seconds: 7}}
    assert.deepEqual([...any.subarray(any.length - 6)], [0x12, 0x04, 0x0a, 0x02, 0x08, 0x07]);
    const plain = statusProto(new MoleError('bad', { code: 'X', status: 400, reason: 'bad_request' }));
    assert.equal(plain.length, 2 + 2 + 3, 'no details on a non-retryable error');
  });
});
