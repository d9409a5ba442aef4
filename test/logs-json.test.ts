/**
 * Our own plain-JSON log APIs (`/api/{org}/{stream}/_json`, `/_multi`), sent with fetch, and the
 * Content-Encodings every HTTP ingest route accepts (gzip, deflate, zstd, snappy), including the
 * OTLP route. zstd bodies have no real client here: they are made with Debian's `zstd` command
 * (the reference implementation), and a test that needs it fails under CI=true when it is absent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { deflateSync, gzipSync } from 'node:zlib';
import { snappyCompress } from '../src/lib/snappy.ts';
import { otlpJsonLogs, startServer, type ServerProcess } from './harness.ts';

function zstdOrSkip(t: { skip: (m: string) => void }, input: Uint8Array, level = 3): Buffer | null {
  try {
    return execFileSync('zstd', [`-${level}`, '-c', '-q'], { input });
  } catch (e) {
    const msg = `zstd (Debian package zstd) is not installed: ${(e as Error).message}`;
    if (process.env.CI === 'true') throw new Error(msg, { cause: e });
    t.skip(msg);
    return null;
  }
}

describe('plain JSON ingest and Content-Encoding', () => {
  let server: ServerProcess;
  const MAX_DECODED = 2 * 1024 * 1024;
  before(async () => {
    server = await startServer({ env: { MOLESIGNAL_INGEST_MAX_DECODED_BYTES: String(MAX_DECODED) } });
  });
  after(async () => {
    await server.stop();
  });
  const post = (path: string, body: Uint8Array | string, headers: Record<string, string> = {}) =>
    server.fetch(path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

  test('_json: a JSON array of documents, field by field', async () => {
    const docs = [
      {
        '@timestamp': '2024-05-01T12:00:00.123456789Z',
        message: 'GET /index.html 200',
        status: 200,
        ratio: 0.5,
        ok: true,
        tags: ['a', 'b'],
        http: { method: 'GET', headers: { host: 'example.com' } },
        nothing: null,
        log: 'kept as an attribute: message is the body',
      },
      { timestamp: 1714564800, msg: 'epoch seconds' },
      { _timestamp: 1714564800123456, level: 'warn' },
    ];
    const res = await post('/api/default/app/_json', JSON.stringify(docs));
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { code: 200, status: [{ name: 'app', successful: 3, failed: 0 }] });
    const rows = (await server.search('SELECT * FROM logs.app ORDER BY _timestamp DESC')).hits;
    const [a, b, c] = rows as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
    assert.equal(a._timestamp, '1714564800123456789');
    assert.equal(a.body, 'GET /index.html 200');
    assert.equal(a['attr.status'], 200);
    assert.equal(a['attr.ratio'], 0.5);
    assert.equal(a['attr.ok'], true);
    assert.equal(a['attr.tags'], '["a","b"]');
    assert.equal(a['attr.http.method'], 'GET');
    assert.equal(a['attr.http.headers.host'], 'example.com');
    assert.equal(a['attr.log'], 'kept as an attribute: message is the body');
    assert.equal('attr.nothing' in a, false);
    assert.equal('attr.@timestamp' in a, false);
    assert.equal(b._timestamp, '1714564800123456000');
    assert.equal(b['attr.level'], 'warn');
    assert.equal(b.body, null);
    assert.equal(c._timestamp, '1714564800000000000');
    assert.equal(c.body, 'epoch seconds');
    const schema = (await server.search('SELECT * FROM logs.app LIMIT 0')).columns;
    const types = Object.fromEntries(schema.map((col) => [col.name, col.type]));
    assert.match(types['attr.status']!, /BIGINT/);
    assert.match(types['attr.ratio']!, /DOUBLE/);
    assert.match(types['attr.ok']!, /BOOLEAN/);
  });

  test('_multi: NDJSON, and the stream-name header wins over the path', async () => {
    const body = '{"message":"one","n":1}\r\n\n{"message":"two","n":2}\n';
    const res = await post('/api/default/app/_multi', body, { 'stream-name': 'multi' });
    assert.equal(res.status, 200);
    const rows = (await server.search('SELECT body, "attr.n" FROM logs.multi ORDER BY "attr.n"')).hits;
    assert.deepEqual(rows, [
      { body: 'one', 'attr.n': 1 },
      { body: 'two', 'attr.n': 2 },
    ]);
  });

  test('gzip, deflate, zstd and snappy bodies on _multi and on OTLP /v1/logs', async (t) => {
    const line = (enc: string) => `{"message":"${enc} body","enc":"${enc}"}\n`;
    const zstd = zstdOrSkip(t, Buffer.from(line('zstd')));
    if (!zstd) return;
    const encodings: [string, Uint8Array][] = [
      ['gzip', gzipSync(line('gzip'))],
      ['deflate', deflateSync(line('deflate'))],
      ['zstd', zstd],
      ['snappy', snappyCompress(Buffer.from(line('snappy')))],
    ];
    for (const [enc, body] of encodings) {
      const res = await post('/api/default/enc/_multi', body, { 'content-encoding': enc });
      assert.equal(res.status, 200, `${enc}: ${await res.text()}`);
    }
    const rows = (await server.search('SELECT "attr.enc" AS e, body FROM logs.enc ORDER BY e')).hits;
    assert.deepEqual(
      rows.map((r) => r.e),
      ['deflate', 'gzip', 'snappy', 'zstd'],
    );
    const otlp = zstdOrSkip(t, Buffer.from(JSON.stringify(otlpJsonLogs([{ id: 'z1' }]))))!;
    const res = await post('/v1/logs', otlp, { 'content-encoding': 'zstd', 'stream-name': 'otlpzstd' });
    assert.equal(res.status, 200, await res.text());
    const otlpRows = (await server.search('SELECT "attr.rid" AS rid FROM logs.otlpzstd')).hits;
    assert.deepEqual(otlpRows, [{ rid: 'z1' }]);
  });

  test('bombs and malformed input: refused whole, nothing stored, server alive', async (t) => {
    const bomb = zstdOrSkip(t, new Uint8Array(64 * 1024 * 1024), 19);
    if (!bomb) return;
    assert.ok(bomb.length < 64 * 1024, `zstd bomb is ${bomb.length} bytes`);
    const nowMs = Date.now();
    const cases: [string, Uint8Array | string, Record<string, string>, number, RegExp, string?][] = [
      ['zstd bomb', bomb, { 'content-encoding': 'zstd' }, 413, /maxDecodedBytes/],
      [
        'gzip bomb',
        gzipSync(new Uint8Array(64 * 1024 * 1024)),
        { 'content-encoding': 'gzip' },
        413,
        /maxDecodedBytes/,
      ],
      [
        'snappy length lie',
        new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0]),
        { 'content-encoding': 'snappy' },
        413,
        /maxDecodedBytes/,
      ],
      ['not zstd', Buffer.from('plain text'), { 'content-encoding': 'zstd' }, 400, /zstd/],
      ['truncated zstd', bomb.subarray(0, 20), { 'content-encoding': 'zstd' }, 400, /zstd/],
      ['unknown encoding', Buffer.from('[]'), { 'content-encoding': 'br' }, 415, /br/],
      ['bad JSON', '[{"message": "x"', {}, 400, /malformed JSON/],
      ['not an array', '{"message": "x"}', {}, 400, /JSON array/],
      ['a document that is not an object', '[{"message":"ok"}, 5]', {}, 400, /\[1\]: expected a JSON object/],
      [
        'bad timestamp',
        '[{"message":"ok"},{"@timestamp":"tomorrow"}]',
        {},
        400,
        /\[1\]: field \\"@timestamp\\"/,
      ],
      ['invalid UTF-8', new Uint8Array([0x5b, 0x22, 0xc3, 0x28, 0x22, 0x5d]), {}, 400, /UTF-8/],
      [
        'far future',
        JSON.stringify([{ message: 'ok' }, { '@timestamp': nowMs + 3_600_000, message: 'late' }]),
        {},
        400,
        /maxFutureMs/,
      ],
      ['oversize line', JSON.stringify([{ message: 'y'.repeat(300 * 1024) }]), {}, 400, /maxLineBytes/],
      ['NDJSON bad line', '{"message":"ok"}\n{"message":\n', {}, 400, /line 2/, '_multi'],
    ];
    for (const [name, body, headers, status, message, route] of cases) {
      const res = await post(`/api/default/bad/${route ?? '_json'}`, body, headers);
      const text = await res.text();
      assert.equal(res.status, status, `${name}: ${text}`);
      assert.match(text, message, name);
    }
    const ok = await post('/api/default/bad/_json', '[{"message":"after"}]');
    assert.equal(ok.status, 200);
    const rows = (await server.search('SELECT body FROM logs.bad')).hits;
    assert.deepEqual(rows, [{ body: 'after' }]);
  });

  test('SIGKILL after acknowledging: json-array and ndjson records replay', async () => {
    await post('/api/default/rj/_json', '[{"message":"a","n":1},{"message":"b","x":{"y":true}}]');
    await post('/api/default/rj/_multi', '{"message":"c","@timestamp":"2024-01-01T00:00:00Z"}');
    const sql = 'SELECT * FROM logs.rj ORDER BY body';
    const before = (await server.search(sql)).hits;
    assert.equal(before.length, 3);
    const dataDir = server.dataDir;
    await server.kill();
    server = await startServer({
      dataDir,
      env: { MOLESIGNAL_INGEST_MAX_DECODED_BYTES: String(MAX_DECODED) },
    });
    assert.deepEqual((await server.search(sql)).hits, before);
  });
});
