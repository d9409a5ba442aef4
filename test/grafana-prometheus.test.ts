/**
 * Replays the requests Grafana's Prometheus data source sends (../shared/notes/grafana-requests.md
 * §2): "Save & test", data source init, the metric browser, and running a query (range + instant,
 * form-encoded POST with Unix-second times and a seconds step), and checks the fields Grafana reads.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufWriter as W } from '../src/lib/protobuf-writer.ts';
import { snappyCompress } from '../src/lib/snappy.ts';
import { startServer, type ServerProcess } from './harness.ts';

describe("Grafana's Prometheus data source", () => {
  let server: ServerProcess;
  const now = Math.floor(Date.now() / 60_000) * 60_000; // ms, on a minute
  before(async () => {
    server = await startServer();
    const req = new W();
    for (const job of ['api', 'web']) {
      const ts = new W()
        .message(1, new W().string(1, '__name__').string(2, 'http_requests_total'))
        .message(1, new W().string(1, 'job').string(2, job));
      for (let i = 0; i <= 240; i++)
        ts.message(2, new W().double(1, i * (job === 'api' ? 15 : 30)).uint(2, now - 3_600_000 + i * 15_000));
      req.message(1, ts);
    }
    req.message(3, new W().uint(1, 1).string(2, 'http_requests_total').string(4, 'Total HTTP requests.'));
    const res = await server.fetch('/api/v1/write', {
      method: 'POST',
      headers: {
        'content-encoding': 'snappy',
        'content-type': 'application/x-protobuf',
        'x-prometheus-remote-write-version': '0.1.0',
      },
      body: snappyCompress(req.finish()),
    });
    assert.equal(res.status, 204);
  });
  after(async () => {
    await server.stop();
  });

  const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const res = await server.fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await server.fetch(path, { headers });
    return { status: res.status, json: (await res.json()) as any };
  };
  const s = (ms: number) => String(Math.ceil(ms / 1000));

  test('Save & test: POST query=1%2B1&time=4, then GET status/buildinfo', async () => {
    const h = await post('/api/v1/query', 'query=1%2B1&time=4');
    assert.equal(h.status, 200);
    assert.equal(h.json.status, 'success');
    assert.equal(h.json.error, undefined);
    const b = await get('/api/v1/status/buildinfo');
    assert.equal(b.json.status, 'success');
    assert.ok(typeof b.json.data.version === 'string');
    assert.ok(b.json.data.features === undefined || Object.keys(b.json.data.features).length === 0);
  });

  test('data source init: rules, the exemplar probe (times in ms), metric names, labels, metadata', async () => {
    const rules = await get('/api/v1/rules');
    assert.deepEqual(rules.json, { status: 'success', data: { groups: [] } });
    const ex = await post('/api/v1/query_exemplars', `query=test&start=${now - 1_800_000}&end=${now}`);
    assert.equal(ex.json.status, 'success');
    const names = await get(
      `/api/v1/label/__name__/values?limit=40000&start=${s(now - 21_600_000)}&end=${s(now)}`,
      { 'x-grafana-cache': 'private, max-age=60' },
    );
    assert.deepEqual(names.json, { status: 'success', data: ['http_requests_total'] });
    const labels = await post('/api/v1/labels', `limit=40000&start=${s(now - 21_600_000)}&end=${s(now)}`);
    assert.deepEqual(labels.json.data, ['__name__', 'job']);
    const meta = await get('/api/v1/metadata?limit=40000', { 'x-grafana-cache': 'private, max-age=86400' });
    assert.deepEqual(meta.json.data, {
      http_requests_total: [{ type: 'counter', help: 'Total HTTP requests.', unit: '' }],
    });
  });

  test('metric browser: labels and values for a selector, series', async () => {
    const sel = encodeURIComponent('http_requests_total');
    const labels = await post(
      '/api/v1/labels',
      `limit=40000&start=${s(now - 3_600_000)}&end=${s(now)}&match%5B%5D=${sel}`,
    );
    assert.deepEqual(labels.json.data, ['__name__', 'job']);
    const values = await get(
      `/api/v1/label/job/values?limit=40000&start=${s(now - 3_600_000)}&end=${s(now)}&match[]=${sel}`,
    );
    assert.deepEqual(values.json.data, ['api', 'web']);
    const series = await post(
      '/api/v1/series',
      `start=${s(now - 3_600_000)}&end=${s(now)}&match%5B%5D=${encodeURIComponent('{__name__!=""}')}&limit=40000`,
    );
    assert.deepEqual(series.json.data, [
      { __name__: 'http_requests_total', job: 'api' },
      { __name__: 'http_requests_total', job: 'web' },
    ]);
  });

  test('running a query: range (aligned start/end, step 15) and instant (unaligned end)', async () => {
    const q = encodeURIComponent('sum by (job) (rate(http_requests_total[1m0s]))');
    const end = now / 1000 - 60;
    const start = end - 600;
    const range = await post('/api/v1/query_range', `end=${end}&query=${q}&start=${start}&step=15`);
    assert.equal(range.status, 200, JSON.stringify(range.json));
    assert.equal(range.json.data.resultType, 'matrix');
    const byJob = Object.fromEntries(range.json.data.result.map((r: any) => [r.metric.job, r.values]));
    assert.equal(byJob.api.length, 41);
    for (const [t, v] of byJob.api) {
      assert.equal(typeof t, 'number');
      assert.equal(typeof v, 'string');
      assert.ok(Math.abs(Number(v) - 1) < 1e-9, v);
    }
    assert.ok(Math.abs(Number(byJob.web[0][1]) - 2) < 1e-9);
    const inst = await post('/api/v1/query', `query=${q}&time=${end + 7.123}`);
    assert.equal(inst.json.data.resultType, 'vector');
    assert.equal(inst.json.data.result.length, 2);
    assert.equal(inst.json.data.result[0].value[0], end + 7.123);
  });

  test('errors Grafana shows: status error with errorType and error', async () => {
    const bad = await post(
      '/api/v1/query_range',
      `query=${encodeURIComponent('rate(x[5m]')}&start=1&end=2&step=1`,
    );
    assert.equal(bad.status, 400);
    assert.equal(bad.json.status, 'error');
    assert.equal(bad.json.errorType, 'bad_data');
    assert.match(bad.json.error, /parse error/);
  });
});
