/**
 * The Prometheus HTTP API over remote-written data, as Grafana's Prometheus data source calls it
 * (form-encoded POST for query/query_range/series/labels; GET for label values, metadata,
 * buildinfo), and its error envelope.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { snappyCompress } from '../src/lib/snappy.ts';
import { startServer, type ServerProcess } from './harness.ts';
import { writeRequest } from './prom-write.ts';

const T0 = 1_700_000_000_000; // ms
const STEP = 15_000;

describe('Prometheus HTTP API', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer();
    const counter = (instance: string, perStep: number) => ({
      labels: { __name__: 'http_requests_total', job: 'api', instance },
      samples: Array.from({ length: 41 }, (_, i) => [T0 + i * STEP, i * perStep] as [number, number]),
    });
    const body = writeRequest(
      [
        counter('a:80', 15),
        counter('b:80', 30),
        { labels: { __name__: 'up', job: 'api', instance: 'a:80' }, samples: [[T0, 1]] },
      ],
      [['http_requests_total', 1, 'Requests served.']],
    );
    const res = await server.fetch('/api/v1/write', {
      method: 'POST',
      headers: { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf' },
      body: snappyCompress(body),
    });
    assert.equal(res.status, 204);
  });
  after(async () => {
    await server.stop();
  });

  const form = async (path: string, params: Record<string, string | string[]>) => {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(params))
      for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
    const res = await server.fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const get = async (path: string) => {
    const res = await server.fetch(path);
    return { status: res.status, body: (await res.json()) as any };
  };

  test("Grafana's health check: POST query=1+1&time=4, then buildinfo", async () => {
    const r = await form('/api/v1/query', { query: '1+1', time: '4' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'success', data: { resultType: 'scalar', result: [4, '2'] } });
    const b = await get('/api/v1/status/buildinfo');
    assert.equal(b.body.status, 'success');
    assert.match(b.body.data.version, /^\d+\.\d+\.\d+$/);
    assert.equal(b.body.data.features, undefined, 'no features: Grafana treats us as Prometheus');
  });

  test('instant query: rate over remote-written counters, sum by', async () => {
    const t = (T0 + 40 * STEP) / 1000;
    const r = await form('/api/v1/query', {
      query: 'sum by (job) (rate(http_requests_total[5m]))',
      time: String(t),
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.data.resultType, 'vector');
    assert.equal(r.body.data.result.length, 1);
    assert.deepEqual(r.body.data.result[0].metric, { job: 'api' });
    assert.equal(r.body.data.result[0].value[0], t);
    assert.ok(Math.abs(Number(r.body.data.result[0].value[1]) - 3) < 1e-9, r.body.data.result[0].value[1]);
    const sel = await get(
      `/api/v1/query?query=${encodeURIComponent('http_requests_total{instance="b:80"}')}&time=${t}`,
    );
    assert.deepEqual(sel.body.data.result, [
      { metric: { __name__: 'http_requests_total', job: 'api', instance: 'b:80' }, value: [t, '1200'] },
    ]);
  });

  test('range query returns a matrix with string values and second timestamps', async () => {
    const start = (T0 + 20 * STEP) / 1000;
    const end = (T0 + 40 * STEP) / 1000;
    const r = await form('/api/v1/query_range', {
      query: 'http_requests_total{instance="a:80"} / 15',
      start: String(start),
      end: String(end),
      step: '60',
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.data.resultType, 'matrix');
    const [s] = r.body.data.result;
    assert.deepEqual(s.metric, { job: 'api', instance: 'a:80' });
    assert.deepEqual(
      s.values,
      [
        [start, '20'],
        [start + 60, '24'],
        [start + 120, '28'],
        [start + 180, '32'],
        [start + 240, '36'],
        [end, '40'],
      ].slice(0, 6),
    );
  });

  test('series, labels, label values and metadata for the metric browser', async () => {
    const series = await form('/api/v1/series', {
      'match[]': ['up', 'http_requests_total{instance="a:80"}'],
      start: '0',
      end: String(Date.now() / 1000),
    });
    assert.deepEqual(series.body.data, [
      { __name__: 'http_requests_total', instance: 'a:80', job: 'api' },
      { __name__: 'up', instance: 'a:80', job: 'api' },
    ]);
    assert.deepEqual((await form('/api/v1/labels', { limit: '40000' })).body.data, [
      '__name__',
      'instance',
      'job',
    ]);
    assert.deepEqual((await get('/api/v1/label/__name__/values?limit=40000')).body.data, [
      'http_requests_total',
      'up',
    ]);
    assert.deepEqual(
      (await get(`/api/v1/label/instance/values?match[]=${encodeURIComponent('up')}`)).body.data,
      ['a:80'],
    );
    const limited = await get('/api/v1/label/instance/values?limit=1');
    assert.deepEqual(limited.body.data, ['a:80']);
    assert.deepEqual(limited.body.warnings, ['results truncated due to limit']);
    assert.deepEqual((await get('/api/v1/metadata')).body.data, {
      http_requests_total: [{ type: 'counter', help: 'Requests served.', unit: '' }],
    });
    assert.deepEqual((await get('/api/default/prometheus/api/v1/label/job/values')).body.data, ['api']);
  });

  test('format_query, query_exemplars and the cardinality report', async () => {
    assert.equal(
      (await form('/api/v1/format_query', { query: 'sum(rate(foo[5m]))by(job)' })).body.data,
      'sum by (job) (rate(foo[5m]))',
    );
    assert.deepEqual((await form('/api/v1/query_exemplars', { query: 'test', start: '0', end: '1' })).body, {
      status: 'success',
      data: [],
    });
    const tsdb = await get('/api/v1/status/tsdb?topN=5');
    assert.equal(tsdb.body.data.totalSeries, 3);
    assert.deepEqual(tsdb.body.data.seriesCountByMetricName[0], { name: 'http_requests_total', value: 2 });
  });

  test('errors use the Prometheus envelope: bad_data with the position, execution', async () => {
    const parse = await form('/api/v1/query', { query: 'sum(rate(foo[5m])' });
    assert.equal(parse.status, 400);
    assert.equal(parse.body.status, 'error');
    assert.equal(parse.body.errorType, 'bad_data');
    assert.match(parse.body.error, /^1:\d+: parse error/);
    const missing = await form('/api/v1/query_range', { query: 'up', start: '1', end: '2' });
    assert.equal(missing.body.errorType, 'bad_data');
    const tooMany = await form('/api/v1/query_range', { query: 'up', start: '0', end: '100000', step: '1' });
    assert.equal(tooMany.status, 400);
    assert.match(tooMany.body.error, /11000 points/);
    const noMatch = await form('/api/v1/series', {});
    assert.match(noMatch.body.error, /no match\[\]/);
  });

  test('SQL views of metrics: metrics."<name>", metrics._series, metrics._samples, joined with logs', async () => {
    const byInstance = await server.search(
      `SELECT instance, max(value) AS v, count(*) AS n FROM metrics.http_requests_total GROUP BY 1 ORDER BY 1`,
    );
    assert.deepEqual(byInstance.hits, [
      { instance: 'a:80', v: 600, n: 41 },
      { instance: 'b:80', v: 1200, n: 41 },
    ]);
    const cols = (await server.search(`SELECT * FROM metrics.up`)).columns.map((c) => c.name);
    assert.deepEqual(cols, ['_timestamp', 'value', 'instance', 'job']);
    const series = await server.search(`SELECT metric_name, labels FROM metrics._series ORDER BY series_id`);
    assert.deepEqual(series.hits[2], { metric_name: 'up', labels: '{"instance":"a:80","job":"api"}' });
    const raw = await server.search(`SELECT count(*) AS c FROM metrics._samples`);
    assert.equal(raw.hits[0]!.c, 83);
    const log = await server.fetch('/v1/logs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'instance', value: { stringValue: 'b:80' } }] },
            scopeLogs: [
              {
                logRecords: [
                  { timeUnixNano: String(BigInt(T0) * 1_000_000n), body: { stringValue: 'slow' } },
                ],
              },
            ],
          },
        ],
      }),
    });
    assert.equal(log.status, 200);
    const joined = await server.search(
      `SELECT l.body, max(m.value) AS v FROM logs.default l JOIN metrics.http_requests_total m ON m.instance = l."resource.instance" GROUP BY 1`,
    );
    assert.deepEqual(joined.hits, [{ body: 'slow', v: 1200 }]);
    await assert.rejects(
      server.search('SELECT * FROM metrics.no_such_metric'),
      /not found or not accessible/,
    );
  });

  test('series, labels and label values honour start/end (memtable rows, then flushed files)', async () => {
    const OLD = T0 - 10 * 86_400_000;
    const res = await server.fetch('/api/v1/write', {
      method: 'POST',
      headers: { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf' },
      body: snappyCompress(
        writeRequest([
          { labels: { __name__: 'old_metric', job: 'batch', era: 'past' }, samples: [[OLD, 7]] },
        ]),
      ),
    });
    assert.equal(res.status, 204);
    const s = (x: number) => String(x / 1000);
    const check = async () => {
      const recent = { start: s(T0 - 60_000), end: s(T0 + 3_600_000) };
      const past = { start: s(OLD - 60_000), end: s(OLD + 60_000) };
      const names = async (range: Record<string, string>) =>
        (
          (await form('/api/v1/series', { 'match[]': '{job=~".+"}', ...range })).body.data as Record<
            string,
            string
          >[]
        )
          .map((x) => x.__name__)
          .sort();
      assert.deepEqual(await names(recent), ['http_requests_total', 'http_requests_total', 'up']);
      assert.deepEqual(await names(past), ['old_metric']);
      assert.deepEqual(
        await names({}),
        ['http_requests_total', 'http_requests_total', 'old_metric', 'up'],
        'no bounds: all time',
      );
      const labels = (await form('/api/v1/labels', recent)).body.data as string[];
      assert.ok(!labels.includes('era') && labels.includes('instance'), JSON.stringify(labels));
      assert.deepEqual((await form('/api/v1/labels', past)).body.data, ['__name__', 'era', 'job']);
      const values = (await get(`/api/v1/label/__name__/values?start=${past.start}&end=${past.end}`)).body
        .data;
      assert.deepEqual(values, ['old_metric']);
      const bad = await form('/api/v1/series', { 'match[]': 'up', start: s(T0), end: s(T0 - 1000) });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.errorType, 'bad_data');
    };
    await check();
    const flushed = await server.fetch('/api/default/streams/_samples/_flush?type=metrics', {
      method: 'POST',
    });
    assert.equal(flushed.status, 200);
    await check();
  });
});
