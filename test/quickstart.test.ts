import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { otlpJsonLogs, startServer, type ServerProcess } from './harness.ts';

describe('walking skeleton: OTLP/JSON in, SQL out', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.stop();
  });

  test('health and readiness are open', async () => {
    for (const path of ['/healthz', '/readyz', '/ready']) {
      const res = await server.fetch(path, { auth: null });
      assert.equal(res.status, 200, path);
    }
  });

  test('a log sent over OTLP/JSON is queryable at once, with its attributes typed', async () => {
    const res = await server.fetch('/v1/logs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        otlpJsonLogs([{ id: 'q1', attrs: { 'http.status_code': 200, ratio: 0.5, ok: true } }]),
      ),
    });
    assert.equal(res.status, 200, await res.text());
    const r = await server.search(
      `SELECT body, "attr.rid", "attr.http.status_code", "attr.ratio", "attr.ok", "resource.service.name" FROM logs.default WHERE "attr.rid" = 'q1'`,
    );
    assert.deepEqual(r.hits, [
      {
        body: 'record q1',
        'attr.rid': 'q1',
        'attr.http.status_code': 200,
        'attr.ratio': 0.5,
        'attr.ok': true,
        'resource.service.name': 'harness',
      },
    ]);
    assert.equal(r.stats.files_scanned, 0);
  });

  test('CSV and Arrow formats', async () => {
    const csv = await server.fetch('/api/default/_search?format=csv', {
      method: 'POST',
      body: JSON.stringify({
        sql: `SELECT "attr.rid" AS rid, 1 AS n FROM logs.default WHERE "attr.rid" = 'q1'`,
      }),
    });
    assert.equal(csv.status, 200);
    assert.equal(await csv.text(), 'rid,n\nq1,1\n');
    const arrow = await server.fetch('/api/default/_search?format=arrow', {
      method: 'POST',
      body: JSON.stringify({
        sql: `SELECT _timestamp, "attr.rid" AS rid FROM logs.default WHERE "attr.rid" = 'q1'`,
      }),
    });
    assert.equal(arrow.status, 200);
    assert.equal(arrow.headers.get('content-type'), 'application/vnd.apache.arrow.stream');
    const { tableFromIPC } = await import('apache-arrow');
    const table = tableFromIPC(new Uint8Array(await arrow.arrayBuffer()));
    assert.equal(table.numRows, 1);
    assert.equal(typeof table.getChild('_timestamp')!.get(0), 'bigint');
    assert.equal(table.getChild('rid')!.get(0), 'q1');
  });
});
