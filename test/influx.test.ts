/**
 * InfluxDB line protocol from the real `@influxdata/influxdb-client` (v2 API, `Authorization: Token`,
 * gzip above 1 KB) and v1 `/write` with `?u=&p=`: stored series named as VictoriaMetrics names them,
 * values field by field through SQL; malformed bodies answer InfluxDB's error JSON naming the line
 * and store nothing; the data survives a SIGKILL (replay decodes with the WAL record's precision/db).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { HttpError, InfluxDB, Point } from '@influxdata/influxdb-client';
import { ROOT_PASSWORD, ROOT_USER, startServer, type ServerProcess } from './harness.ts';
import { rowLines, storedSamples } from './metric-rows.ts';

describe('Influx line protocol ingest', () => {
  let server: ServerProcess;
  let ingestKey: string;
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;

  before(async () => {
    server = await startServer();
    const res = await server.fetch('/api/default/_keys', {
      method: 'POST',
      body: JSON.stringify({ name: 'telegraf', scopes: ['ingest'] }),
    });
    ingestKey = ((await res.json()) as { key: string }).key;
  });
  after(async () => {
    await server.stop();
  });

  test('@influxdata/influxdb-client writes through /api/v2/write with a Token, gzipped', async () => {
    const influx = new InfluxDB({ url: server.url, token: ingestKey });
    const writeApi = influx.getWriteApi('my-org', 'telegraf', 'ns', {
      maxRetries: 0,
      flushInterval: 0,
      batchSize: 10_000,
    });
    writeApi.writePoint(
      new Point('cpu')
        .tag('host', 'web-1')
        .tag('cpu', 'cpu-total')
        .floatField('usage_user', 1.5)
        .intField('usage_idle', 98)
        .uintField('ctx_switches', 12345)
        .booleanField('online', true)
        .stringField('note', 'hello, world')
        .timestamp(new Date(t0)),
    );
    writeApi.writePoint(
      new Point('temperature').tag('room', 'lab 1').floatField('value', 21.25).timestamp(new Date(t0)),
    );
    // enough points to pass the client's 1000-byte gzip threshold
    for (let i = 0; i < 40; i++)
      writeApi.writePoint(
        new Point('disk.io')
          .tag('device', `sd${String.fromCharCode(97 + (i % 4))}`)
          .intField('reads', i)
          .timestamp(new Date(t0 + 1000 * Math.floor(i / 4))),
      );
    await writeApi.close();

    const rows = rowLines(
      await storedSamples(
        server,
        "s.metric_name IN ('cpu_usage_user','cpu_usage_idle','cpu_ctx_switches','cpu_online','temperature')",
      ),
    );
    assert.deepEqual(rows, [
      `cpu_ctx_switches{cpu="cpu-total", db="telegraf", host="web-1"} 12345 @${t0}`,
      `cpu_online{cpu="cpu-total", db="telegraf", host="web-1"} 1 @${t0}`,
      `cpu_usage_idle{cpu="cpu-total", db="telegraf", host="web-1"} 98 @${t0}`,
      `cpu_usage_user{cpu="cpu-total", db="telegraf", host="web-1"} 1.5 @${t0}`,
      `temperature{db="telegraf", room="lab 1"} 21.25 @${t0}`,
    ]);
    const disk = await storedSamples(server, "s.metric_name = 'disk_io_reads'");
    assert.equal(disk.length, 40);
    assert.deepEqual(disk[0], {
      series: 'disk_io_reads{db="telegraf", device="sda"}',
      t: t0,
      value: 0,
      stale: false,
    });
    const notes = await server.search(
      `SELECT count(*) AS c FROM metrics._series WHERE metric_name LIKE 'cpu_note%'`,
    );
    assert.equal(notes.hits[0]!.c, 0, 'a non-numeric string field is skipped');
  });

  test('the client sees InfluxDB-shaped errors naming the line', async () => {
    const writeApi = new InfluxDB({ url: server.url, token: ingestKey }).getWriteApi('o', 'b', 'ns', {
      maxRetries: 0,
      flushInterval: 0,
    });
    writeApi.writeRecords(['ok,host=a v=1', 'bad,host=a v=notanumber']);
    const err = await writeApi.close().then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof HttpError, String(err));
    assert.equal(err.statusCode, 400);
    assert.deepEqual(JSON.parse(err.body ?? ''), {
      code: 'invalid',
      message: 'line 2: field "v": "notanumber" is not a number, boolean or "string"',
    });
  });

  test('v1 /write: db and precision parameters, ?u=&p= credentials, org path, /ping', async () => {
    const q = `db=metrics&precision=s&rp=autogen&u=${encodeURIComponent(ROOT_USER)}&p=${encodeURIComponent(ROOT_PASSWORD)}`;
    const body = `mem,host=db-1 used_percent=42.5,active=17i ${t0 / 1000}\nmem,host=db-1 used_percent=43.5 ${t0 / 1000 + 10}\n`;
    const res = await server.fetch(`/write?${q}`, { method: 'POST', body, auth: null });
    assert.equal(res.status, 204, await res.text());
    const viaPath = await server.fetch(`/api/default/influx/write?db=metrics&precision=ms`, {
      method: 'POST',
      headers: { authorization: `Token ${ingestKey}`, 'content-encoding': 'gzip' },
      body: gzipSync(`mem,host=db-2 used_percent=1 ${t0}\n`),
    });
    assert.equal(viaPath.status, 204, await viaPath.text());
    assert.deepEqual(rowLines(await storedSamples(server, "s.metric_name LIKE 'mem_%'")), [
      `mem_active{db="metrics", host="db-1"} 17 @${t0}`,
      `mem_used_percent{db="metrics", host="db-1"} 42.5 @${t0}`,
      `mem_used_percent{db="metrics", host="db-1"} 43.5 @${t0 + 10_000}`,
      `mem_used_percent{db="metrics", host="db-2"} 1 @${t0}`,
    ]);
    const wrong = await server.fetch(`/write?db=x&u=${encodeURIComponent(ROOT_USER)}&p=nope`, {
      method: 'POST',
      body,
      auth: null,
    });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { code: string }).code, 'unauthorized');
    const ping = await server.fetch('/ping', { auth: null });
    assert.equal(ping.status, 204);
    assert.equal(ping.headers.get('x-influxdb-version'), '1.8.10');
    // the same key cannot read: ingest-only
    const read = await server.fetch('/api/v1/query?query=up', {
      headers: { authorization: `Bearer ${ingestKey}` },
    });
    assert.equal(read.status, 403);
  });

  test('malformed bodies: 400 naming the line, nothing of the request stored, the server keeps serving', async () => {
    const before = await storedSamples(server);
    const future = (Date.now() + 3_600_000) * 1e6;
    const cases: [string | Uint8Array, string, RegExp][] = [
      ['good v=1\nbad,host=a\n', 'ns', /^line 2: missing fields/],
      ['good v=1\nbad v=1.5i', 'ns', /^line 2: field "v": "1.5i" is not an integer/],
      ['good v=1\nbad v="unterminated', 'ns', /^line 2: field "v": unterminated string/],
      ['good v=1\nbad,t v=1', 'ns', /^line 2: tag "t" has no "=value"/],
      [`good v=1\nfuture v=1 ${future}`, 'ns', /^line 2: timestamp .* ahead of the server clock/],
      [
        `good v=1\nlong,t=${'x'.repeat(300_000)} v=1`,
        'ns',
        /^line 2: 300\d+ characters, over the limit of 262144/,
      ],
      [
        Buffer.concat([Buffer.from('good v=1\nbad,host='), Buffer.from([0xc3, 0x28]), Buffer.from(' v=1')]),
        'ns',
        /^line 2: not valid UTF-8/,
      ],
      ['good v=1', 'd', /^precision "d" is not one of/],
    ];
    for (const [body, precision, re] of cases) {
      const res = await server.fetch(`/api/v2/write?bucket=b&precision=${precision}`, {
        method: 'POST',
        headers: { authorization: `Token ${ingestKey}` },
        body,
      });
      assert.equal(res.status, 400, String(body).slice(0, 40));
      const err = (await res.json()) as { code: string; message: string };
      assert.equal(err.code, 'invalid');
      assert.match(err.message, re);
      assert.ok(res.headers.get('x-influxdb-error'));
    }
    assert.deepEqual(await storedSamples(server), before, 'nothing of a bad request was stored');
    const ok = await server.fetch('/api/v2/write?bucket=b', {
      method: 'POST',
      headers: { authorization: `Token ${ingestKey}` },
      body: 'after v=1',
    });
    assert.equal(ok.status, 204);
  });

  test('samples survive a SIGKILL: replay decodes with the same precision and db', async () => {
    const before = await storedSamples(server);
    assert.equal(before.length, 50);
    await server.kill();
    server = await startServer({ dataDir: server.dataDir });
    assert.deepEqual(await storedSamples(server), before);
  });
});
