/**
 * `/metrics` (issue 7, self-monitoring): the Prometheus text format with ingest, flush, WAL,
 * memtable, query and memory figures; label values normalised to route templates, so requests to
 * unknown paths, unknown orgs or with any query string add no series; open by default, and with
 * `auth.protectMetrics` only for the root user, org admins and API keys with the `metrics` scope.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { otlpJsonLogs, removeDir, startServer, type ServerProcess } from './harness.ts';

const seriesOf = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

const basic = (user: string, password: string) =>
  'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

describe('/metrics: open by default, complete, bounded', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
    if (server) await removeDir(server.dataDir);
  });

  test('ingest, flush, WAL, memtable, query and memory figures are there', async () => {
    const ingest = await server.fetch('/v1/logs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(otlpJsonLogs([{ id: 'm1' }, { id: 'm2' }])),
    });
    assert.equal(ingest.status, 200);
    assert.equal(
      (await server.fetch('/api/default/streams/default/_flush?type=logs', { method: 'POST' })).status,
      200,
    );
    await server.search('SELECT count(*) FROM logs."default"');
    const lq = new URLSearchParams({ query: '{service_name="harness"}', limit: '10' });
    assert.equal((await server.fetch(`/loki/api/v1/query_range?${lq.toString()}`)).status, 200);

    const res = await server.fetch('/metrics', { auth: null });
    assert.equal(res.status, 200, 'open without credentials');
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const want: [string, RegExp][] = [
      ['ingest records', /^molesignal_ingest_records_total\{signal="logs"\} 2$/m],
      ['ingest bytes', /^molesignal_ingest_bytes_total\{signal="logs"\} [1-9]/m],
      ['flushes', /^molesignal_flushes_total\{signal="logs"\} 1$/m],
      ['flushed rows', /^molesignal_flushed_rows_total\{signal="logs"\} 2$/m],
      ['flushed bytes', /^molesignal_flushed_bytes_total\{signal="logs"\} [1-9]/m],
      ['flushed files', /^molesignal_flushed_files_total\{signal="logs"\} 1$/m],
      ['flush duration', /^molesignal_flush_duration_seconds_count\{signal="logs"\} 1$/m],
      ['flush duration buckets', /^molesignal_flush_duration_seconds_bucket\{signal="logs",le="\+Inf"\} 1$/m],
      ['WAL appends', /^molesignal_wal_appends_total [1-9]/m],
      ['WAL bytes', /^molesignal_wal_appended_bytes_total [1-9]/m],
      ['WAL fsyncs', /^molesignal_wal_fsyncs_total [1-9]/m],
      ['WAL fsync latency', /^molesignal_wal_fsync_duration_seconds_count [1-9]/m],
      ['WAL segments', /^molesignal_wal_segments [1-9]/m],
      ['WAL disk bytes', /^molesignal_wal_disk_bytes \d+$/m],
      ['memtable bytes per signal', /^molesignal_memtable_bytes\{signal="logs"\} 0$/m],
      ['memtable rows per signal', /^molesignal_memtable_rows\{signal="traces"\} 0$/m],
      ['memtable total', /^molesignal_memtable_total_bytes 0$/m],
      ['memtable budget', /^molesignal_memtable_refuse_above_bytes [1-9]/m],
      // background work is exported from the start (a series appearing mid-run looked like a leak)
      ['compactor cycles, errors at 0', /^molesignal_compactor_cycles_total\{outcome="error"\} 0$/m],
      ['compactor deletes', /^molesignal_compactor_deleted_objects_total 0$/m],
      ['retention per signal', /^molesignal_retention_deleted_rows_total\{signal="traces"\} 0$/m],
      ['memtable refusals', /^molesignal_memtable_refusals_total 0$/m],
      ['memory budget', /^molesignal_memory_budget_bytes 0$/m],
      ['SQL query duration', /^molesignal_query_duration_seconds_count\{api="sql",language="sql"\} 1$/m],
      ['LogQL query duration', /^molesignal_query_duration_seconds_count\{api="loki",language="logql"\} 1$/m],
      ['rss', /^molesignal_process_resident_memory_bytes [1-9]/m],
      ['heap', /^molesignal_process_heap_bytes\{kind="used"\} [1-9]/m],
      ['DuckDB memory', /^molesignal_duckdb_memory_bytes \d+$/m],
      [
        'HTTP requests',
        /^molesignal_http_requests_total\{route="\/v1\/logs",method="POST",status="200"\} 1$/m,
      ],
    ];
    const missing = want.filter(([, re]) => !re.test(text)).map(([what]) => what);
    assert.deepEqual(missing, [], text);
  });

  test('1,000 requests to random paths, orgs and query strings add no series', async () => {
    const used: string[] = [];
    const rnd = () => {
      const r = randomBytes(6).toString('hex');
      used.push(r);
      return r;
    };
    const kinds = [
      () => server.fetch(`/${rnd()}/${rnd()}?${rnd()}=${rnd()}`, { auth: null }),
      () => server.fetch(`/api/${rnd()}/_search`, { method: 'POST', body: '{"sql":"SELECT 1"}' }),
      () => server.fetch(`/api/v1/query?query=up&${rnd()}=1`, { headers: { 'x-scope-orgid': rnd() } }),
      // `x…`: never a valid time, so every answer has the same status (a hex string of digits only is one)
      () => server.fetch(`/loki/api/v1/label/${rnd()}/values?start=x${rnd()}`),
      () => server.fetch(`/api/default/${rnd()}/_json`, { method: 'PUT', body: '[]' }),
    ];
    for (const k of kinds) await (await k()).arrayBuffer(); // the first of each kind may add its series
    const before = seriesOf(await (await server.fetch('/metrics')).text()).map((l) =>
      l.replace(/ [^ ]+$/, ''),
    );
    for (let i = 0; i < 1000; i += 20)
      await Promise.all(
        Array.from({ length: 20 }, async (_, j) => (await kinds[(i + j) % kinds.length]!()).arrayBuffer()),
      );
    const afterText = await (await server.fetch('/metrics')).text();
    const afterSeries = seriesOf(afterText).map((l) => l.replace(/ [^ ]+$/, ''));
    const added = afterSeries.filter((s) => !before.includes(s));
    // the scrapes themselves are the only new series (route="/metrics")
    assert.deepEqual(
      added.filter((s) => !s.includes('route="/metrics"')),
      [],
    );
    assert.deepEqual(
      used.filter((r) => afterText.includes(r)),
      [],
      'no random path, org name or parameter appears in a label',
    );
  });
});

describe('/metrics with auth.protectMetrics', () => {
  let server: ServerProcess;
  let metricsKey = '';
  let ingestKey = '';
  before(async () => {
    server = await startServer({ env: { MOLESIGNAL_AUTH_PROTECT_METRICS: 'true' } });
    for (const [scopes, set] of [
      [['metrics'], (k: string) => (metricsKey = k)],
      [['ingest', 'query'], (k: string) => (ingestKey = k)],
    ] as const) {
      const res = await server.fetch('/api/default/_keys', {
        method: 'POST',
        body: JSON.stringify({ name: scopes.join('+'), scopes }),
      });
      assert.equal(res.status, 201, await res.clone().text());
      set(((await res.json()) as { key: string }).key);
    }
    const user = await server.fetch('/api/default/_users', {
      method: 'POST',
      body: JSON.stringify({ name: 'viewer@x', role: 'viewer', password: 'viewer-password' }),
    });
    assert.equal(user.status, 201);
  });
  after(async () => {
    await server?.stop();
    if (server) await removeDir(server.dataDir);
  });

  test('401 without a credential, 403 without the right, 200 for root and a metrics key', async () => {
    const get = (auth: string | null) => server.fetch('/metrics', { auth });
    const none = await get(null);
    assert.equal(none.status, 401);
    assert.match(await none.text(), /credentials/);
    const viewer = await get(basic('viewer@x', 'viewer-password'));
    assert.equal(viewer.status, 403);
    assert.match(await viewer.text(), /auth\.protectMetrics.*metrics\W+ scope/);
    assert.equal(
      (await get(`Bearer ${ingestKey}`)).status,
      403,
      'ingest and query scopes do not reach /metrics',
    );
    const key = await get(`Bearer ${metricsKey}`);
    assert.equal(key.status, 200);
    assert.match(await key.text(), /^molesignal_wal_segments /m);
    assert.equal(
      (await get(undefined as unknown as null)).status,
      200,
      'root (the harness default credential)',
    );
    assert.equal((await get('Bearer ms_wrong')).status, 401);
    const scrape = await server.fetch('/v1/logs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(otlpJsonLogs([{ id: 'x' }])),
      auth: `Bearer ${metricsKey}`,
    });
    assert.equal(scrape.status, 403, 'the metrics scope is for /metrics only');
  });
});
