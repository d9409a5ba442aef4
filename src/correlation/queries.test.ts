import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyKeys, keysOfSeries, type Keys } from './keys.ts';
import { logQL, logSQL, promQL, traceQL } from './queries.ts';
import { parseCorrelationRequest } from './request.ts';

const S = 1_000_000_000n;
const keys = (k: Partial<Keys>): Keys => ({ ...emptyKeys(1000n * S, 1600n * S), ...k });

test('TraceQL: ids in their short form, else services, else hosts', () => {
  const cases: [Partial<Keys>, string | null][] = [
    [{ traceIds: ['00ab' + 'c'.repeat(28)], services: ['x'] }, `{ trace:id = "ab${'c'.repeat(28)}" }`],
    [{ services: ['a', 'b'] }, '{ resource.service.name = "a" || resource.service.name = "b" }'],
    [{ hosts: ['h"1'] }, '{ resource.host.name = "h\\"1" }'],
    [{ pods: ['p'] }, '{ resource.k8s.pod.name = "p" }'],
    [{}, null],
  ];
  for (const [k, want] of cases) assert.equal(traceQL(keys(k), 20)?.query ?? null, want);
  assert.deepEqual(traceQL(keys({ services: ['x'] }), 5)!.params, { start: '1000', end: '1600', limit: '5' });
});

test('LogQL: service_name is a stream label; trace_id and host_name are structured metadata', () => {
  const cases: [Partial<Keys>, string | null][] = [
    [{ traceIds: ['t1'], services: ['checkout'] }, '{service_name="checkout"} | trace_id="t1"'],
    [{ traceIds: ['t1', 't2'] }, '{service_name=~".+"} | trace_id=~"t1|t2"'],
    [{ services: ['a.b', 'c'] }, '{service_name=~"a\\\\.b|c"}'],
    [{ hosts: ['node-7'] }, '{service_name=~".+"} | host_name="node-7"'],
    [{ pods: ['p-1'], hosts: ['h'] }, '{k8s_pod_name="p-1"}'],
    [{}, null],
  ];
  for (const [k, want] of cases) assert.equal(logQL(keys(k), 20)?.query ?? null, want);
});

test('SQL: only the streams that have the column, newest first', () => {
  const streams = [
    { name: 'default', columns: new Set(['_timestamp', 'trace_id', 'resource.host.name']) },
    { name: 'app-x', columns: new Set(['_timestamp', 'trace_id']) },
  ];
  assert.equal(
    logSQL(keys({ hosts: ["o'k"] }), streams, 7)!.query,
    `SELECT * FROM (SELECT 'default' AS _stream, * FROM logs."default" WHERE "resource.host.name" IN ('o''k')) ORDER BY _timestamp DESC LIMIT 7`,
  );
  assert.match(
    logSQL(keys({ traceIds: ['t'] }), streams, 7)!.query,
    /UNION ALL BY NAME SELECT 'app-x' AS _stream/,
  );
  assert.equal(logSQL(keys({ services: ['x'] }), streams, 7), null);
});

test('PromQL: span metrics and OTLP job for a service; host_name, instance, target_info for a host', () => {
  assert.equal(
    promQL(keys({ services: ['checkout'] }))!.query,
    '{__name__!~".+_bucket", service="checkout"} or {__name__!~".+_bucket", job=~"(.+/)?(checkout)"}',
  );
  assert.equal(
    promQL(keys({ hosts: ['n1'] }))!.query,
    '{__name__!~".+_bucket", host_name="n1"} or {__name__!~".+_bucket", instance=~"(n1)(:[0-9]+)?"} or ({__name__!~".+_bucket", job!=""} and on (job, instance) target_info{host_name="n1"})',
  );
  assert.deepEqual(promQL(keys({ services: ['x'] }))!.params, { start: '1000', end: '1600', step: '6s' });
});

test('keys of a series: span metrics, OTLP job, node_exporter instance', () => {
  const k = emptyKeys(0n, 1n);
  keysOfSeries({ service: 'a', host_name: 'h' }, k);
  keysOfSeries({ job: 'shop/b', instance: 'i-1' }, k);
  keysOfSeries({ job: 'node', instance: 'web-3:9100' }, k);
  assert.deepEqual(
    [k.services, k.hosts],
    [
      ['a', 'b', 'node'],
      ['h', 'web-3'],
    ],
  );
});

test('request: kinds, selection, window and limit', () => {
  const now = 5000n * S;
  const r = parseCorrelationRequest({ from: 'trace', to: 'log' }, new URLSearchParams('trace_id=ABC'), now);
  assert.deepEqual(r.selection, { by: 'trace_id', traceId: '0'.repeat(29) + 'abc' });
  assert.deepEqual([r.startNs, r.endNs, r.explicitWindow, r.limit], [now - 3600n * S, now, false, 20]);
  const w = parseCorrelationRequest(
    { from: 'log', to: 'trace' },
    new URLSearchParams('stream=default&timestamp=2026-01-02T03:04:05.123456789Z&start=1&end=2000000000'),
    now,
  );
  assert.deepEqual(w.selection, { by: 'log_row', stream: 'default', timestampNs: 1767323045123456789n });
  const bad: [string, string, string, RegExp][] = [
    ['x', 'log', 'service=a', /unknown from kind/],
    ['log', 'log', 'timestamp=1', /both stream and timestamp/],
    ['host', 'log', '', /from host needs host/],
    ['metric', 'log', 'query=up&start=5&end=5', /end must be after start/],
    ['metric', 'log', 'query=up&start=0&end=999999999999999999', /narrow it/],
  ];
  for (const [from, to, q, re] of bad)
    assert.throws(() => parseCorrelationRequest({ from, to }, new URLSearchParams(q), now), re);
});
