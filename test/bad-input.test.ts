/**
 * Done-when 8: bad input gets a clear error with the right status and stores nothing; auth and
 * org errors; idempotent retries.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { otlpJsonLogs, startServer, type ServerProcess } from './harness.ts';

const MAX_BODY = 256 * 1024;
const MAX_DECODED = 1024 * 1024;

describe('bad input and access errors', () => {
  let server: ServerProcess;
  let ingestKey = '';
  before(async () => {
    server = await startServer({
      env: {
        MOLESIGNAL_INGEST_MAX_BODY_BYTES: String(MAX_BODY),
        MOLESIGNAL_INGEST_MAX_DECODED_BYTES: String(MAX_DECODED),
      },
    });
    const good = await postLogs(otlpJsonLogs([{ id: 'seed' }]));
    assert.equal(good.status, 200);
    const org = await server.fetch('/api/_admin/orgs', {
      method: 'POST',
      body: JSON.stringify({ name: 'other' }),
    });
    assert.equal(org.status, 201);
    const key = await server.fetch('/api/default/_keys', {
      method: 'POST',
      body: JSON.stringify({ name: 'ingest only', scopes: ['ingest'] }),
    });
    ingestKey = ((await key.json()) as { key: string }).key;
  });
  after(async () => {
    await server.stop();
  });

  function postLogs(
    body: unknown,
    headers: Record<string, string> = {},
    path = '/v1/logs',
    auth?: string | null,
  ) {
    const isBytes = body instanceof Uint8Array || typeof body === 'string';
    return server.fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stream-name': 'bad', ...headers },
      body: isBytes ? body : JSON.stringify(body),
      ...(auth === undefined ? {} : { auth }),
    });
  }
  const count = async () => (await server.search('SELECT count(*) AS c FROM logs.bad')).hits[0]!.c;

  const cases: { name: string; send: () => Promise<Response>; status: number; message: RegExp }[] = [
    {
      name: 'malformed protobuf (length prefix past the end)',
      send: () =>
        postLogs(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), {
          'content-type': 'application/x-protobuf',
        }),
      status: 400,
      message: /protobuf/i,
    },
    {
      name: 'truncated protobuf',
      send: () =>
        postLogs(new Uint8Array([0x0a, 0x10, 0x12, 0x02]), { 'content-type': 'application/x-protobuf' }),
      status: 400,
      message: /protobuf/i,
    },
    { name: 'malformed JSON', send: () => postLogs('{"resourceLogs": [', {}), status: 400, message: /JSON/ },
    {
      name: 'JSON of the wrong shape',
      send: () => postLogs({ resourceLogs: 'nope' }),
      status: 400,
      message: /resourceLogs/,
    },
    {
      name: 'a trace id that is not hex',
      send: () =>
        postLogs(
          '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"xyz","body":{"stringValue":"x"}}]}]}]}',
        ),
      status: 400,
      message: /traceId/,
    },
    {
      name: 'body over ingest.maxBodyBytes',
      send: () => postLogs('x'.repeat(MAX_BODY + 1)),
      status: 413,
      message: /maxBodyBytes/,
    },
    {
      name: 'broken gzip',
      send: () =>
        postLogs(new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02, 0x03]), { 'content-encoding': 'gzip' }),
      status: 400,
      message: /gzip/,
    },
    {
      name: 'gzip bomb: small body inflating past ingest.maxDecodedBytes',
      send: () => postLogs(gzipSync(Buffer.alloc(100 * 1024 * 1024)), { 'content-encoding': 'gzip' }),
      status: 413,
      message: /maxDecodedBytes/,
    },
    {
      name: 'unknown content encoding',
      send: () => postLogs('{}', { 'content-encoding': 'br' }),
      status: 415,
      message: /Content-Encoding/,
    },
    {
      name: 'not OTLP content type',
      send: () => postLogs('{}', { 'content-type': 'text/plain' }),
      status: 415,
      message: /Content-Type/,
    },
    {
      name: 'invalid stream name',
      send: () => postLogs(otlpJsonLogs([{ id: 'x' }]), { 'stream-name': '../etc' }),
      status: 400,
      message: /stream name/,
    },
  ];

  for (const c of cases) {
    test(c.name, async () => {
      const before = await count();
      const res = await c.send();
      const text = await res.text();
      assert.equal(res.status, c.status, text);
      if (res.headers.get('content-type') === 'application/x-protobuf') {
        // OTLP/HTTP: a protobuf request gets a google.rpc.Status {code = 1; message = 2}
        const bytes = Buffer.from(text, 'latin1');
        assert.equal(bytes[0], 0x08);
        assert.match(text, c.message);
      } else {
        const err = (JSON.parse(text) as { error: { message: string; code: string } }).error;
        assert.match(err.message, c.message);
        assert.match(err.code, /^MS_ERR_/);
      }
      assert.equal(await count(), before, 'nothing of a refused request is stored');
    });
  }

  test('a gzip bomb does not grow the server past the decode limit', async () => {
    const rss = async () => {
      const text = await (await server.fetch('/metrics', { auth: null })).text();
      return Number(/molesignal_process_resident_memory_bytes (\d+)/.exec(text)![1]);
    };
    const before = await rss();
    for (let i = 0; i < 3; i++)
      assert.equal(
        (await postLogs(gzipSync(Buffer.alloc(200 * 1024 * 1024)), { 'content-encoding': 'gzip' })).status,
        413,
      );
    const growth = (await rss()) - before;
    assert.ok(growth < 64 * 1024 * 1024, `RSS grew by ${growth} bytes`);
    assert.equal((await server.fetch('/healthz', { auth: null })).status, 200);
  });

  test('missing or wrong credentials get 401', async () => {
    for (const auth of [
      null,
      'Basic ' + Buffer.from('root@example.com:wrong').toString('base64'),
      'Bearer ms_000000000000_' + 'A'.repeat(32),
      'Bearer nonsense',
    ]) {
      const res = await postLogs(otlpJsonLogs([{ id: 'x' }]), {}, '/v1/logs', auth);
      assert.equal(res.status, 401);
    }
    assert.equal(
      (await server.fetch('/api/default/_search', { method: 'POST', body: '{"sql":"select 1"}', auth: null }))
        .status,
      401,
    );
  });

  test('an org that does not exist and one the credential cannot reach get the same 404', async () => {
    const auth = `Bearer ${ingestKey}`;
    const missing = await postLogs(otlpJsonLogs([{ id: 'x' }]), {}, '/api/does-not-exist/v1/logs', auth);
    const other = await postLogs(otlpJsonLogs([{ id: 'x' }]), {}, '/api/other/v1/logs', auth);
    assert.equal(missing.status, 404);
    assert.equal(other.status, 404);
    assert.equal(await missing.text(), await other.text());
    const viaHeader = await postLogs(
      otlpJsonLogs([{ id: 'x' }]),
      { 'x-scope-orgid': 'other' },
      '/v1/logs',
      auth,
    );
    assert.equal(viaHeader.status, 404);
  });

  test('an ingest-only key can write but never read', async () => {
    const auth = `Bearer ${ingestKey}`;
    assert.equal((await postLogs(otlpJsonLogs([{ id: 'by-key' }]), {}, '/v1/logs', auth)).status, 200);
    const q = await server.fetch('/api/default/_search', {
      method: 'POST',
      body: JSON.stringify({ sql: 'SELECT * FROM logs.bad' }),
      auth,
    });
    assert.equal(q.status, 403);
    assert.equal((await server.fetch('/api/default/streams', { auth })).status, 403);
    assert.equal((await server.fetch('/api/default/_keys', { auth })).status, 403);
  });

  test('a revoked key is refused at once', async () => {
    const created = (await (
      await server.fetch('/api/default/_keys', {
        method: 'POST',
        body: JSON.stringify({ scopes: ['query'] }),
      })
    ).json()) as { id: string; key: string };
    const auth = `Bearer ${created.key}`;
    assert.equal((await server.fetch('/api/default/streams', { auth })).status, 200);
    assert.equal((await server.fetch(`/api/default/_keys/${created.id}`, { method: 'DELETE' })).status, 200);
    assert.equal((await server.fetch('/api/default/streams', { auth })).status, 401);
  });

  test('a retried request with the same Idempotency-Key is stored once', async () => {
    const body = otlpJsonLogs([{ id: 'idem-1' }, { id: 'idem-2' }]);
    for (let i = 0; i < 3; i++)
      assert.equal((await postLogs(body, { 'idempotency-key': 'batch-0001' })).status, 200);
    await Promise.all([1, 2, 3].map(() => postLogs(body, { 'idempotency-key': 'batch-0002' })));
    const r = await server.search(`SELECT count(*) AS c FROM logs.bad WHERE "attr.rid" LIKE 'idem-%'`);
    assert.equal(r.hits[0]!.c, 4);
    // the key is remembered across a restart
    await server.stop();
    server = await startServer({
      dataDir: server.dataDir,
      env: { MOLESIGNAL_INGEST_MAX_BODY_BYTES: String(MAX_BODY) },
    });
    assert.equal((await postLogs(body, { 'idempotency-key': 'batch-0001' })).status, 200);
    const again = await server.search(`SELECT count(*) AS c FROM logs.bad WHERE "attr.rid" LIKE 'idem-%'`);
    assert.equal(again.hits[0]!.c, 4);
  });
});
