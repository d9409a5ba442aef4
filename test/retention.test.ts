/**
 * Issue 7 done-when 5: rows older than a stream's retention (or its org's default) leave queries
 * and the object store within one compactor cycle — whole files dropped, a file straddling the
 * cutoff rewritten, old rows still in a memtable flushed and dropped — and the dry run reports
 * exactly what the real run then removes. The delete API (time range, LogQL selector and line
 * filters, SQL WHERE, Loki's /loki/api/v1/delete) likewise; every bad input: 400, nothing deleted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type ServerProcess } from './harness.ts';
import {
  HOUR_NS,
  compact,
  flush,
  hourStart,
  nowNs,
  objectsOf,
  postJson,
  pushBatch,
  sqlRows,
  streamStats,
} from './compactor-kit.ts';

const DAY_NS = 24n * HOUR_NS;
const S = 1_000_000_000n;

describe('retention and deletes', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer({
      env: {
        MOLESIGNAL_COMPACTOR_ENABLED: 'false',
        MOLESIGNAL_COMPACTOR_DELETE_GRACE_MS: '0',
        MOLESIGNAL_LOG_LEVEL: 'warn',
      },
    });
  });
  after(async () => {
    await server?.stop();
  });

  /** The catalogued keys equal the Parquet objects in the store (grace 0: nothing pending). */
  async function assertStoreMatchesCatalog(stream: string) {
    const stats = await streamStats(server, stream);
    const objects = await objectsOf(server.dataDir, stream);
    assert.equal(objects.parquet.length, stats.files, 'objects and catalog rows differ');
    assert.equal(objects.bloom.length, stats.files, 'token filters and catalog rows differ');
  }

  test('stream retention: old files dropped, a straddling file rewritten, old memtable rows gone; dry run = real run', async () => {
    const now = nowNs();
    const cutoff = now - 3n * DAY_NS; // the cutoff of 3 days, as of now (the cycle's is a little later)
    await pushBatch(server, 'ret', { job: 'ret' }, now - 10n * DAY_NS, ['ten days a', 'ten days b']);
    await flush(server, 'ret');
    await pushBatch(server, 'ret', { job: 'ret' }, now - 5n * DAY_NS, ['five days']);
    await flush(server, 'ret');
    // one file (one hour) with a row before the cutoff and one after
    const straddles = hourStart(cutoff - 60n * S) === hourStart(cutoff + 600n * S);
    await pushBatch(server, 'ret', { job: 'ret' }, cutoff - 60n * S, ['just too old']);
    await pushBatch(server, 'ret', { job: 'ret' }, cutoff + 600n * S, ['just young enough']);
    await flush(server, 'ret');
    await pushBatch(server, 'ret', { job: 'ret' }, now - HOUR_NS, ['an hour ago']);
    await flush(server, 'ret');
    // not flushed: a late old row in the memtable
    await pushBatch(server, 'ret', { job: 'ret' }, now - 7n * DAY_NS, ['late and old']);
    assert.equal((await sqlRows(server, 'ret')).length, 7);

    const set = await postJson(
      server,
      '/api/default/streams/ret/settings?type=logs',
      { retention_days: 3 },
      'PUT',
    );
    assert.equal(set.status, 200, set.text);

    const dry = await compact(server, '?stream=ret&dry_run=true');
    assert.equal(dry.dry_run, true);
    assert.equal(dry.retention.length, 1);
    const planned = dry.retention[0]!;
    assert.equal(planned.rows, 5, 'ten days ×2, five days, just too old, late and old');
    assert.equal(planned.files_rewritten, straddles ? 1 : 0);
    // the dry run changed nothing
    assert.equal((await sqlRows(server, 'ret')).length, 7);

    const real = await compact(server, '?stream=ret');
    const done = real.retention[0]!;
    assert.deepEqual(
      { rows: done.rows, bytes: done.bytes, dropped: done.files_dropped, rewritten: done.files_rewritten },
      {
        rows: planned.rows,
        bytes: planned.bytes,
        dropped: planned.files_dropped,
        rewritten: planned.files_rewritten,
      },
    );
    const rows = (await sqlRows(server, 'ret')).map((r) => r.split('|')[1]);
    assert.deepEqual(rows.sort(), ['an hour ago', 'just young enough']);
    const range = new URLSearchParams({
      query: '{job="ret"}',
      start: String(now - 11n * DAY_NS),
      end: String(now + S),
      limit: '100',
    });
    const lq = (await (await server.fetch(`/loki/api/v1/query_range?${range.toString()}`)).json()) as {
      data: { result: { values: string[][] }[] };
    };
    assert.deepEqual(lq.data.result.flatMap((r) => r.values.map((v) => v[1])).sort(), rows.sort());
    await assertStoreMatchesCatalog('ret');
    const metrics = await (await server.fetch('/metrics')).text();
    assert.match(metrics, /^molesignal_retention_deleted_rows_total\{signal="logs"\} 5$/m);

    // a second cycle finds nothing more
    const again = await compact(server, '?stream=ret');
    assert.equal(again.retention.length, 0);
  });

  test('org default retention applies to streams whose own retention is 0', async () => {
    const now = nowNs();
    await pushBatch(server, 'orgret', { job: 'orgret' }, now - 4n * DAY_NS, ['old']);
    await pushBatch(server, 'orgret', { job: 'orgret' }, now - HOUR_NS, ['new']);
    await flush(server, 'orgret');
    const get0 = await postJson(server, '/api/default/_settings', undefined, 'GET');
    assert.deepEqual(get0.json(), { default_retention_days: null });
    const put = await postJson(server, '/api/default/_settings', { default_retention_days: 2 }, 'PUT');
    assert.equal(put.status, 200, put.text);
    assert.deepEqual((await postJson(server, '/api/default/_settings', undefined, 'GET')).json(), {
      default_retention_days: 2,
    });
    try {
      const r = await compact(server, '?stream=orgret');
      assert.equal(r.retention[0]?.rows, 1);
      assert.deepEqual(
        (await sqlRows(server, 'orgret')).map((x) => x.split('|')[1]),
        ['new'],
      );
      await assertStoreMatchesCatalog('orgret');
    } finally {
      await postJson(server, '/api/default/_settings', { default_retention_days: null }, 'PUT');
    }
  });

  test('delete by LogQL selector and line filter, SQL WHERE, time range and Loki API; dry run = real run', async () => {
    const t0 = nowNs() - 2n * HOUR_NS;
    for (let i = 0; i < 4; i++) {
      await pushBatch(server, 'del', { app: 'x', job: 'del' }, t0 + BigInt(i) * S, [
        `x ${i} secret`,
        `x ${i} public`,
      ]);
      await pushBatch(server, 'del', { app: 'y', job: 'del' }, t0 + BigInt(i) * S, [
        `y ${i} secret`,
        `y ${i} drop`,
      ]);
      await flush(server, 'del');
    }
    const bodies = async () => (await sqlRows(server, 'del')).map((r) => r.split('|')[1]!).sort();
    const all = await bodies();
    assert.equal(all.length, 16);

    const del = async (body: Record<string, unknown>) => {
      const dry = await postJson(server, '/api/default/_delete', { ...body, dry_run: true });
      assert.equal(dry.status, 200, dry.text);
      const d = dry.json();
      assert.equal(d.dry_run, true);
      const real = await postJson(server, '/api/default/_delete', body);
      assert.equal(real.status, 200, real.text);
      const r = real.json();
      assert.equal(r.rows, d.rows, 'the real run removes what the dry run reported');
      assert.equal(r.bytes, d.bytes);
      return r;
    };

    // LogQL: {app="x"} |= "secret" → the 4 secret lines of x, nothing of y
    let r = await del({ stream: 'del', query: '{app="x"} |= "secret"' });
    assert.equal(r.rows, 4);
    let left = await bodies();
    assert.deepEqual(
      left,
      all.filter((b) => !(b.startsWith('x') && b.endsWith('secret'))),
    );

    // SQL WHERE over the stream's columns
    r = await del({ stream: 'del', where: "body LIKE '%drop'" });
    assert.equal(r.rows, 4);
    left = await bodies();
    assert.ok(left.every((b) => !b.endsWith('drop')));
    assert.equal(left.length, 8);

    // a time range: the first two seconds
    r = await del({ stream: 'del', start: String(t0), end: String(t0 + 2n * S) });
    assert.equal(r.rows, 4);
    left = await bodies();
    assert.deepEqual(left, ['x 2 public', 'x 3 public', 'y 2 secret', 'y 3 secret']);

    // Loki's delete API: the selector and a time range, over every logs stream of the org
    const params = new URLSearchParams({
      query: '{app="y"}',
      start: String((t0 - HOUR_NS) / S),
      end: String((t0 + 10n * S) / S),
    });
    const loki = await server.fetch(`/loki/api/v1/delete?${params.toString()}`, { method: 'POST' });
    assert.equal(loki.status, 204, await loki.text());
    assert.deepEqual(await bodies(), ['x 2 public', 'x 3 public']);
    await assertStoreMatchesCatalog('del');
  });

  test('bad input to every new route: 400 with a clear message, nothing deleted', async () => {
    await pushBatch(server, 'keep', { job: 'keep' }, nowNs() - HOUR_NS, ['a', 'b', 'c']);
    await flush(server, 'keep');
    const before = await sqlRows(server, 'keep');
    const cases: [string, string, unknown, RegExp][] = [
      ['POST', '/api/default/_compact?type=bogus', undefined, /type must be one of logs, traces, metrics/],
      ['POST', '/api/default/_compact?stream=nope', undefined, /no stream named "nope"/],
      ['POST', '/api/default/_compact?dry_run=maybe', undefined, /dry_run must be true or false/],
      [
        'PUT',
        '/api/default/_settings',
        { default_retention_days: -1 },
        /default_retention_days must be a whole number/,
      ],
      [
        'PUT',
        '/api/default/_settings',
        { default_retention_days: 1.5 },
        /default_retention_days must be a whole number/,
      ],
      ['PUT', '/api/default/_settings', { retention: 3 }, /unknown org setting "retention"/],
      ['PUT', '/api/default/_settings', 'not json', /JSON/i],
      ['POST', '/api/default/_delete', {}, /give start, end, query or where/],
      ['POST', '/api/default/_delete', { stream: 'keep', bogus: 1 }, /unknown field "bogus"/],
      ['POST', '/api/default/_delete', { stream: 'keep', start: 'yesterday' }, /invalid start time/],
      [
        'POST',
        '/api/default/_delete',
        { stream: 'keep', start: '2030-01-01T00:00:00Z', end: '2020-01-01T00:00:00Z' },
        /start must be before end/,
      ],
      ['POST', '/api/default/_delete', { stream: 'keep', query: '{job="keep"' }, /query: /],
      [
        'POST',
        '/api/default/_delete',
        { stream: 'keep', query: 'count_over_time({job="keep"}[1m])' },
        /not a metric query/,
      ],
      [
        'POST',
        '/api/default/_delete',
        { stream: 'keep', query: '{job="keep"} | json' },
        /only hold a stream selector and line filters/,
      ],
      ['POST', '/api/default/_delete', { stream: 'keep', where: '1=1; DROP TABLE x' }, /./],
      [
        'POST',
        '/api/default/_delete',
        { stream: 'keep', where: 'body IN (SELECT body FROM logs.other)' },
        /./,
      ],
      ['POST', '/api/default/_delete', { stream: 'keep', where: "read_text('/etc/passwd') <> ''" }, /./],
      ['POST', '/api/default/_delete', { stream: 'keep', where: 'nosuchcolumn = 1' }, /./],
      ['POST', '/api/default/_delete', { stream: 'nope', start: '0' }, /no logs stream named "nope"/],
      ['POST', '/api/default/_delete', { type: 'bogus', stream: 'keep', start: '0' }, /type must be one of/],
      [
        'POST',
        '/api/default/_delete',
        { type: 'traces', stream: 'keep', query: '{a="b"}' },
        /logs streams only/,
      ],
      [
        'POST',
        '/api/default/_delete',
        { type: 'metrics', stream: 'keep', where: 'value > 1' },
        /metrics streams take start and end only/,
      ],
      [
        'POST',
        '/api/default/_delete',
        { stream: 'keep', start: 0, dry_run: 'yes' },
        /dry_run must be true or false/,
      ],
      ['POST', '/api/default/_delete', { stream: 'keep', where: '' }, /where must be a non-empty string/],
      ['POST', '/loki/api/v1/delete', undefined, /query is required/],
      ['POST', '/loki/api/v1/delete?query=%7Bjob%3D%22keep%22%7D', undefined, /start is required/],
    ];
    for (const [method, path, body, message] of cases) {
      const res = await server.fetch(path, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      assert.equal(res.status, 400, `${method} ${path} ${JSON.stringify(body)}: ${text}`);
      const said = (JSON.parse(text) as { error: { message: string } }).error.message;
      assert.match(said, message, `${method} ${path} ${JSON.stringify(body)}`);
      assert.deepEqual(await sqlRows(server, 'keep'), before, `${method} ${path} deleted rows`);
    }
    // no credential: refused
    const anon = await server.fetch('/api/default/_compact', { method: 'POST', auth: null });
    assert.equal(anon.status, 401);
    // a key with the query and ingest scopes is not an admin
    const made = await postJson(server, '/api/default/_keys', {
      name: 'reader',
      scopes: ['query', 'ingest'],
    });
    assert.equal(made.status, 201, made.text);
    const auth = `Bearer ${String(made.json().key)}`;
    for (const [method, path] of [
      ['POST', '/api/default/_compact'],
      ['PUT', '/api/default/_settings'],
      ['POST', '/api/default/_delete'],
      ['POST', '/loki/api/v1/delete?query=%7Bjob%3D%22keep%22%7D&start=0'],
    ] as const) {
      const res = await server.fetch(path, { method, auth, body: '{"stream":"keep","start":0}' });
      assert.equal(res.status, 403, `${method} ${path}: ${await res.text()}`);
    }
    assert.deepEqual(await sqlRows(server, 'keep'), before);
  });
});
