/**
 * Exemplars (docs/traces.md "Exemplars"): sent with remote_write, made by span metrics, answered by
 * `/api/v1/query_exemplars` in Prometheus' shape, still there after a SIGKILL (WAL replay).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { remoteWrite } from './prom-write.ts';
import { removeDir, startServer, tempDir, type ServerProcess } from './harness.ts';

interface ExemplarAnswer {
  seriesLabels: Record<string, string>;
  exemplars: { labels: Record<string, string>; value: string; timestamp: number }[];
}

async function exemplars(server: ServerProcess, query: string, start: number, end: number, method = 'GET') {
  const params = new URLSearchParams({ query, start: String(start), end: String(end) });
  const res =
    method === 'GET'
      ? await server.fetch(`/api/v1/query_exemplars?${params.toString()}`)
      : await server.fetch('/api/v1/query_exemplars', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: params.toString(),
        });
  const body = (await res.json()) as { status: string; data: ExemplarAnswer[]; error?: string };
  return { status: res.status, body };
}

describe('exemplars', () => {
  let dataDir: string;
  let server: ServerProcess;
  before(async () => {
    dataDir = await tempDir();
    server = await startServer({ dataDir, env: { MOLESIGNAL_SPAN_METRICS_INTERVAL_MS: '100' } });
  });
  after(async () => {
    await server.stop();
    await removeDir(dataDir);
  });

  test('remote_write exemplars are served by query_exemplars, and survive a SIGKILL', async () => {
    const t = Date.now() - 60_000;
    const res = await remoteWrite(server, [
      {
        labels: { __name__: 'http_request_seconds_bucket', le: '0.5', job: 'shop' },
        samples: [[t, 3]],
        exemplars: [{ labels: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' }, at: [t, 0.31] }],
      },
      { labels: { __name__: 'http_request_seconds_bucket', le: '1', job: 'shop' }, samples: [[t, 4]] },
      {
        labels: { __name__: 'other_metric', job: 'shop' },
        samples: [[t, 1]],
        exemplars: [{ labels: { trace_id: 'aa' }, at: [t, 1] }],
      },
    ]);
    assert.equal(res.status, 204);
    const sec = (ms: number) => ms / 1000;
    for (const method of ['GET', 'POST']) {
      const { status, body } = await exemplars(
        server,
        'rate(http_request_seconds_bucket{job="shop"}[5m])',
        sec(t - 1000),
        sec(t + 1000),
        method,
      );
      assert.equal(status, 200);
      assert.deepEqual(body, {
        status: 'success',
        data: [
          {
            seriesLabels: { __name__: 'http_request_seconds_bucket', job: 'shop', le: '0.5' },
            exemplars: [
              { labels: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' }, value: '0.31', timestamp: sec(t) },
            ],
          },
        ],
      });
    }
    // outside the time range: none
    const early = await exemplars(server, 'http_request_seconds_bucket', sec(t - 10_000), sec(t - 5000));
    assert.deepEqual(early.body.data, []);
    // bad input
    const bad = await exemplars(server, 'rate(', 0, 1);
    assert.equal(bad.status, 400);
    const noQuery = await server.fetch('/api/v1/query_exemplars');
    assert.equal(noQuery.status, 400);

    await server.kill();
    server = await startServer({ dataDir, env: { MOLESIGNAL_SPAN_METRICS_INTERVAL_MS: '100' } });
    const replayed = await exemplars(server, '{job="shop"}', sec(t - 1000), sec(t + 1000));
    assert.deepEqual(replayed.body.data.map((d) => d.seriesLabels.__name__).sort(), [
      'http_request_seconds_bucket',
      'other_metric',
    ]);
  });

  test('OTLP metrics exemplars: on the bucket holding their value, and on a sum', async () => {
    const tNs = BigInt(Date.now() - 30_000) * 1_000_000n;
    const exemplar = (value: number, traceId: string) => ({
      timeUnixNano: String(tNs),
      asDouble: value,
      traceId,
      spanId: '00f067aa0ba902b7',
      filteredAttributes: [{ key: 'http.route', value: { stringValue: '/pay' } }],
    });
    const body = {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'otlp-ex' } }] },
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'rpc.latency',
                  unit: 's',
                  histogram: {
                    aggregationTemporality: 2,
                    dataPoints: [
                      {
                        timeUnixNano: String(tNs),
                        count: '3',
                        sum: 1.2,
                        bucketCounts: ['1', '1', '1'],
                        explicitBounds: [0.1, 1],
                        exemplars: [
                          exemplar(0.5, '11111111111111111111111111111111'),
                          exemplar(7, '22222222222222222222222222222222'),
                        ],
                      },
                    ],
                  },
                },
                {
                  name: 'jobs.done',
                  sum: {
                    aggregationTemporality: 2,
                    isMonotonic: true,
                    dataPoints: [
                      {
                        timeUnixNano: String(tNs),
                        asInt: '9',
                        exemplars: [exemplar(1, '33333333333333333333333333333333')],
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await server.fetch('/v1/metrics', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.text());
    const s = Number(tNs / 1_000_000n) / 1000;
    const { body: answer } = await exemplars(server, '{job="otlp-ex"}', s - 1, s + 1);
    const got = Object.fromEntries(
      answer.data.map((d) => [
        `${d.seriesLabels.__name__}{le=${d.seriesLabels.le ?? ''}}`,
        d.exemplars.map((e) => [e.labels.trace_id, e.value]),
      ]),
    );
    assert.deepEqual(got, {
      'rpc_latency_seconds_bucket{le=1}': [['11111111111111111111111111111111', '0.5']],
      'rpc_latency_seconds_bucket{le=+Inf}': [['22222222222222222222222222222222', '7']],
      'jobs_done_total{le=}': [['33333333333333333333333333333333', '1']],
    });
    const one = answer.data.find((d) => d.seriesLabels.__name__ === 'jobs_done_total')!;
    assert.deepEqual(one.exemplars[0]!.labels, {
      trace_id: '33333333333333333333333333333333',
      span_id: '00f067aa0ba902b7',
      http_route: '/pay',
    });
  });

  test('span metrics latency buckets carry the trace id of a span', async () => {
    const now = BigInt(Date.now()) * 1_000_000n;
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const res = await server.fetch('/v1/traces', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'exemplary' } }] },
            scopeSpans: [
              {
                spans: [
                  {
                    traceId,
                    spanId: 'b7ad6b7169203331',
                    name: 'GET /',
                    kind: 2,
                    startTimeUnixNano: String(now),
                    endTimeUnixNano: String(now + 30_000_000n),
                  },
                ],
              },
            ],
          },
        ],
      }),
    });
    assert.equal(res.status, 200);
    let data: ExemplarAnswer[] = [];
    for (let i = 0; i < 200 && data.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const r = await exemplars(
        server,
        'traces_spanmetrics_latency_bucket{service="exemplary"}',
        Date.now() / 1000 - 600,
        Date.now() / 1000 + 600,
      );
      data = r.body.data;
    }
    assert.equal(data.length, 1);
    assert.equal(data[0]!.seriesLabels.le, '0.032');
    assert.deepEqual(data[0]!.exemplars[0]!.labels, { traceID: traceId, span_id: 'b7ad6b7169203331' });
    assert.equal(data[0]!.exemplars[0]!.value, '0.03');
  });
});
