/**
 * Elasticsearch `_bulk` with the real client @elastic/elasticsearch 9.4.3: its bulk helper (which
 * throws ProductNotSupportedError unless every answer carries X-Elastic-Product) and its info /
 * cluster-health / license calls (what Vector and Beats probe first). Rows are checked field by
 * field; then per-item errors, malformed input and a SIGKILL/replay.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@elastic/elasticsearch';
import { ROOT_PASSWORD, ROOT_USER, startServer, type ServerProcess } from './harness.ts';

describe('Elasticsearch _bulk', () => {
  let server: ServerProcess;
  let client: Client;
  before(async () => {
    server = await startServer();
    client = new Client({ node: server.url, auth: { username: ROOT_USER, password: ROOT_PASSWORD } });
  });
  after(async () => {
    await client.close();
    await server.stop();
  });

  test('handshake: info, cluster health, license, templates', async () => {
    const info = await client.info();
    assert.equal(info.version.number, '8.11.0');
    assert.equal(info.tagline, 'You Know, for Search');
    assert.equal((await client.cluster.health()).status, 'green');
    assert.equal((await client.license.get()).license.type, 'basic');
    assert.equal(await client.indices.existsIndexTemplate({ name: 'filebeat' }), false);
    const put = await client.indices.putIndexTemplate({ name: 'filebeat', index_patterns: ['filebeat-*'] });
    assert.equal(put.acknowledged, true);
    const head = await server.fetch('/', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('x-elastic-product'), 'Elasticsearch');
    const denied = await server.fetch('/', { auth: null });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('x-elastic-product'), 'Elasticsearch');
    assert.equal(((await denied.json()) as { error: { type: string } }).error.type, 'security_exception');
  });

  test('bulk helper: documents over two indexes, field by field', async () => {
    const docs = [
      {
        '@timestamp': '2024-05-01T12:00:00.5Z',
        message: 'GET /',
        http: { status: 200 },
        tags: ['x'],
        _idx: 'logs-web.2024.05.01',
      },
      { '@timestamp': 1714564801000, log: 'from fluent bit', stream: 'stdout', _idx: 'logs-web.2024.05.01' },
      { msg: 'no time', level: 30, ok: false, _idx: 'other' },
    ];
    const before = BigInt(Date.now()) * 1_000_000n;
    const result = await client.helpers.bulk({
      datasource: docs,
      onDocument: (doc) => ({ create: { _index: doc._idx } }),
      onDrop: (d) => assert.fail(`dropped: ${JSON.stringify(d)}`),
      refreshOnCompletion: false,
    });
    assert.equal(result.successful, 3);
    assert.equal(result.failed, 0);
    const web = (await server.search('SELECT * FROM logs."logs-web_2024_05_01" ORDER BY _timestamp')).hits;
    assert.equal(web.length, 2);
    const [a, b] = web as [Record<string, unknown>, Record<string, unknown>];
    assert.equal(a._timestamp, '1714564800500000000');
    assert.equal(a.body, 'GET /');
    assert.equal(a['attr.http.status'], 200);
    assert.equal(a['attr.tags'], '["x"]');
    assert.equal(a['attr._idx'], 'logs-web.2024.05.01');
    assert.equal(b._timestamp, '1714564801000000000');
    assert.equal(b.body, 'from fluent bit');
    assert.equal(b['attr.stream'], 'stdout');
    const other = (await server.search('SELECT * FROM logs.other')).hits;
    assert.equal(other.length, 1);
    assert.equal(other[0]!.body, 'no time');
    assert.equal(other[0]!['attr.level'], 30);
    assert.equal(other[0]!['attr.ok'], false);
    assert.ok(BigInt(other[0]!._timestamp as string) >= before, 'no time: the receive time');
  });

  test('per-item errors do not fail the request; path index and /api/{org}/_bulk', async () => {
    const body =
      [
        '{"index":{}}',
        '{"message":"kept"}',
        '{"delete":{"_id":"1"}}',
        '{"update":{"_id":"2"}}',
        '{"doc":{"a":1}}',
        '{"create":{"_id":"3"}}',
        '"not an object"',
        '{"index":{"_id":4}}',
        '{"@timestamp":"yesterday"}',
      ].join('\n') + '\n';
    const res = await server.fetch('/pathidx/_bulk', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-ndjson' },
    });
    assert.equal(res.status, 200);
    const out = (await res.json()) as {
      errors: boolean;
      items: Record<string, { status: number; _index: string; _id: string; error?: { type: string } }>[];
    };
    assert.equal(out.errors, true);
    assert.deepEqual(
      out.items.map((i) => Object.entries(i).map(([op, v]) => [op, v.status, v._index])[0]),
      [
        ['index', 201, 'pathidx'],
        ['delete', 400, 'pathidx'],
        ['update', 400, 'pathidx'],
        ['create', 400, 'pathidx'],
        ['index', 400, 'pathidx'],
      ],
    );
    assert.equal(out.items[4]!.index!._id, '4');
    assert.equal(out.items[3]!.create!.error!.type, 'document_parsing_exception');
    const viaOrg = await server.fetch('/api/default/_bulk', {
      method: 'POST',
      body: '{"index":{"_index":"pathidx"}}\n{"message":"org path"}\n',
    });
    assert.equal(viaOrg.status, 200);
    const rows = (await server.search('SELECT body FROM logs.pathidx ORDER BY body')).hits;
    assert.deepEqual(rows, [{ body: 'kept' }, { body: 'org path' }]);
  });

  test('malformed requests are refused whole in ES shape; nothing stored', async () => {
    const good = '{"index":{"_index":"esbad"}}\n{"message":"ok"}\n';
    const nowMs = Date.now();
    const cases: [string, string | Uint8Array, number, RegExp][] = [
      [
        'bad action JSON',
        `${good}{"index":\n{"message":"x"}\n`,
        400,
        /Malformed action\/metadata line \[3\]/,
      ],
      ['unknown action', `${good}{"upsert":{}}\n{}\n`, 400, /expected one of index/],
      ['missing source', `${good}{"index":{}}\n`, 400, /no source line/],
      [
        'invalid UTF-8 action',
        new Uint8Array([
          ...Buffer.from(good),
          ...Buffer.from('{"index":{"_index":"'),
          0xff,
          ...Buffer.from('"}}\n{}\n'),
        ]),
        400,
        /UTF-8/,
      ],
      [
        'far future',
        `${good}{"index":{"_index":"esbad"}}\n{"@timestamp":${nowMs + 3_600_000}}\n`,
        400,
        /maxFutureMs/,
      ],
      [
        'oversize line',
        `${good}{"index":{"_index":"esbad"}}\n${JSON.stringify({ message: 'q'.repeat(300 * 1024) })}\n`,
        400,
        /maxLineBytes/,
      ],
    ];
    for (const [name, body, status, message] of cases) {
      const res = await server.fetch('/_bulk', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/x-ndjson' },
      });
      const text = await res.text();
      assert.equal(res.status, status, `${name}: ${text}`);
      assert.equal(res.headers.get('x-elastic-product'), 'Elasticsearch', name);
      assert.match(text, message, name);
      assert.match(text, /"root_cause"/, name);
    }
    const rows = await server
      .search('SELECT count(*) AS c FROM logs.esbad')
      .catch(() => ({ hits: [{ c: 0 }] }));
    assert.equal(rows.hits[0]!.c, 0);
  });

  test('SIGKILL after acknowledging: es-bulk records (one and two streams) replay', async () => {
    const one = '{"index":{"_index":"rb1"}}\n{"message":"a","n":1}\n{"delete":{"_id":"x"}}\n';
    const two =
      '{"index":{"_index":"rb1"}}\n{"message":"b"}\n{"create":{"_index":"rb2"}}\n{"message":"c","@timestamp":"2024-01-01T00:00:00Z"}\n';
    for (const body of [one, two])
      assert.equal((await server.fetch('/_bulk', { method: 'POST', body })).status, 200);
    const q = async () => [
      (await server.search('SELECT * FROM logs.rb1 ORDER BY body')).hits,
      (await server.search('SELECT * FROM logs.rb2')).hits,
    ];
    const before = await q();
    assert.deepEqual(
      before.map((h) => h.length),
      [2, 1],
    );
    const dataDir = server.dataDir;
    await server.kill();
    server = await startServer({ dataDir });
    assert.deepEqual(await q(), before);
  });
});
