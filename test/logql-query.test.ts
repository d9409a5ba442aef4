/**
 * Loki's query and query_range over a real server: log queries across Loki-pushed and OTLP rows
 * (DESIGN.md decision 6 labels), directions and limits, the org routes, POST forms, every bad
 * parameter with Loki's message, and the configured limits (max entries, max query length).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startServer, type ServerProcess } from './harness.ts';

const T0 = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z
const S = 1_000_000_000n;

interface Streams {
  status: string;
  data: {
    resultType: string;
    result: { stream: Record<string, string>; values: [string, string][] }[];
    stats: unknown;
  };
}

describe('LogQL query API', () => {
  let server: ServerProcess;
  const range = async (params: Record<string, string>, path = '/loki/api/v1/query_range') => {
    const res = await server.fetch(
      `${path}?${String(new URLSearchParams({ start: '2026-01-01T00:00:00Z', end: '2026-01-01T01:00:00Z', ...params }))}`,
    );
    return { status: res.status, text: await res.text() };
  };
  const streams = async (params: Record<string, string>) => {
    const r = await range(params);
    assert.equal(r.status, 200, r.text);
    return JSON.parse(r.text) as Streams;
  };

  before(async () => {
    server = await startServer({ env: { MOLESIGNAL_LOGQL_MAX_QUERY_LENGTH_MS: String(48 * 3600 * 1000) } });
    const values = (host: string, n: number, meta?: (i: number) => Record<string, string>) =>
      Array.from({ length: n }, (_, i) => {
        const v: unknown[] = [String(T0 + BigInt(i) * S), `${host} line ${i}${i % 3 === 0 ? ' error' : ''}`];
        if (meta) v.push(meta(i));
        return v;
      });
    const push = await server.fetch('/loki/api/v1/push', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        streams: [
          {
            stream: { job: 'api', host: 'a' },
            values: values('a', 10, (i): Record<string, string> => (i % 2 === 0 ? { pod: 'p1' } : {})),
          },
          { stream: { job: 'api', host: 'b' }, values: values('b', 10) },
          { stream: { job: 'db', host: 'c' }, values: values('c', 5) },
        ],
      }),
    });
    assert.equal(push.status, 204, await push.text());
    const otlp = await server.fetch('/v1/logs', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stream-name': 'otel' },
      body: JSON.stringify({
        resourceLogs: [
          {
            resource: {
              attributes: [
                { key: 'service.name', value: { stringValue: 'checkout' } },
                { key: 'host.name', value: { stringValue: 'node-1' } },
              ],
            },
            scopeLogs: [
              {
                logRecords: [
                  {
                    timeUnixNano: String(T0 + 30n * S),
                    severityText: 'WARN',
                    body: { stringValue: 'payment slow' },
                    attributes: [{ key: 'http.status_code', value: { intValue: '503' } }],
                  },
                ],
              },
            ],
          },
        ],
      }),
    });
    assert.ok(otlp.ok, await otlp.text());
  });
  after(async () => {
    await server?.stop();
  });

  test('a selector and a line filter: one stream per label set, newest first, Loki answer shape', async () => {
    const body = await streams({ query: '{job="api", host="b"} |= "error"' });
    assert.equal(body.status, 'success');
    assert.equal(body.data.resultType, 'streams');
    assert.ok(body.data.stats);
    assert.deepEqual(body.data.result, [
      {
        stream: { job: 'api', host: 'b' },
        values: [9, 6, 3, 0].map((i) => [String(T0 + BigInt(i) * S), `b line ${i} error`]),
      },
    ]);
  });

  test('structured metadata splits streams; limit counts lines over all streams; forward is oldest first', async () => {
    const body = await streams({ query: '{host="a"}', direction: 'forward', limit: '3' });
    const byPod = Object.fromEntries(
      body.data.result.map((s) => [s.stream.pod ?? '-', s.values.map((v) => v[1])]),
    );
    assert.deepEqual(byPod, { p1: ['a line 0 error', 'a line 2'], '-': ['a line 1'] });
  });

  test('regexp matchers are fully anchored; negative matchers and regexp line filters', async () => {
    const hosts = async (query: string) =>
      (await streams({ query })).data.result.map((s) => s.stream.host).sort();
    assert.deepEqual(await hosts('{host=~"a|c"}'), ['a', 'a', 'c']);
    assert.deepEqual(await hosts('{host=~"a."}'), []);
    assert.deepEqual(await hosts('{job="api", host!="a"}'), ['b']);
    assert.deepEqual(await hosts('{job=~".+", host!~"a|b"} |~ "line [0-2]$"'), ['c']);
    const lines = (await streams({ query: '{host="c"} !~ "line [0-2]"' })).data.result[0]!.values.map(
      (v) => v[1],
    );
    assert.deepEqual(lines, ['c line 4', 'c line 3 error']);
  });

  test('OTLP rows: promoted resource attributes are stream labels, the rest structured metadata', async () => {
    const body = await streams({ query: '{service_name="checkout"}' });
    assert.deepEqual(body.data.result, [
      {
        stream: {
          service_name: 'checkout',
          host_name: 'node-1',
          http_status_code: '503',
          severity_text: 'WARN',
        },
        values: [[String(T0 + 30n * S), 'payment slow']],
      },
    ]);
    // structured metadata is not a stream label: a selector on it matches nothing
    assert.deepEqual((await streams({ query: '{host_name="node-1"}' })).data.result, []);
  });

  test('the org route and POST forms answer the same', async () => {
    const get = await streams({ query: '{job="db"}' });
    const viaOrg = await range({ query: '{job="db"}' }, '/api/default/loki/api/v1/query_range');
    assert.equal(viaOrg.status, 200, viaOrg.text);
    assert.deepEqual((JSON.parse(viaOrg.text) as Streams).data.result, get.data.result);
    const post = await server.fetch('/loki/api/v1/query_range', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        query: '{job="db"}',
        start: String(T0),
        end: String(T0 + 3600n * S),
      }).toString(),
    });
    assert.equal(post.status, 200);
    assert.deepEqual(((await post.json()) as Streams).data.result, get.data.result);
  });

  test("bad parameters: 400 with Loki's message as the plain-text body", async () => {
    const cases: [Record<string, string>, string, string?][] = [
      [
        { query: '{job="api"}', limit: '6000' },
        'max entries limit per query exceeded, limit > max_entries_limit_per_query (6000 > 5000)',
      ],
      [
        { query: '{job="api"}', start: '2026-01-01T01:00:00Z', end: '2026-01-01T00:00:00Z' },
        'end timestamp must not be before or equal to start time',
      ],
      [
        { query: 'count_over_time({job="api"}[5m])', step: '0.1s' },
        'cannot parse "0.1s" to a valid duration',
      ],
      [{ query: '{job="api"}', limit: '-1' }, 'limit must be a positive value'],
      [
        { query: '{job="api"}', start: 'yesterday' },
        'invalid start: cannot parse "yesterday" to a valid timestamp',
      ],
      [
        { query: '{job="api"}', step: '0.01' },
        'exceeded maximum resolution of 11,000 points per timeseries. Try increasing the value of the step parameter',
      ],
      [
        { query: '{job="api"}', start: '2026-01-01T00:00:00Z', end: '2026-01-03T00:00:01Z', step: '60' },
        'the query time range exceeds the limit (query length: 48h0m1s, limit: 48h0m0s)',
      ],
      [{ query: '' }, 'query parameter is required: pass the LogQL query as "query"'],
    ];
    for (const [params, message] of cases) {
      const r = await range(params);
      assert.equal(r.status, 400, `${JSON.stringify(params)}: ${r.text}`);
      assert.equal(r.text.trim(), message);
    }
    const instant = await server.fetch(
      `/loki/api/v1/query?${new URLSearchParams({ query: '{job="api"}', time: '2026-01-01T01:00:00Z' }).toString()}`,
    );
    assert.equal(instant.status, 400);
    assert.equal(
      (await instant.text()).trim(),
      'log queries are not supported as an instant query type, please change your query to a range query type',
    );
  });
});
