/**
 * Splunk HEC with the real client splunk-logging 0.11.1 (POST /services/collector/event/1.0,
 * `Authorization: Splunk <token>`, JSON labelled application/x-www-form-urlencoded, `time` as a
 * seconds string with a ms fraction, event objects concatenated when batching). The raw
 * endpoint and the error cases are sent with fetch (splunk-logging only speaks the event
 * endpoint). Rows are checked field by field; then malformed input and a SIGKILL/replay.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startServer, type ServerProcess } from './harness.ts';

interface SplunkLoggerLike {
  error: (err: unknown, context: unknown) => void;
  send: (context: unknown, callback?: (err: unknown, resp: unknown, body: unknown) => void) => void;
  flush: (callback?: (err: unknown, resp: unknown, body: unknown) => void) => void;
}
const { Logger: SplunkLogger } = createRequire(import.meta.url)('splunk-logging') as {
  Logger: new (config: Record<string, unknown>) => SplunkLoggerLike;
};

describe('Splunk HEC', () => {
  let server: ServerProcess;
  let token = '';
  before(async () => {
    server = await startServer();
    const res = await server.fetch('/api/default/_keys', {
      method: 'POST',
      body: JSON.stringify({ name: 'hec', scopes: ['ingest'] }),
    });
    token = ((await res.json()) as { key: string }).key;
  });
  after(async () => {
    await server.stop();
  });
  const hec = (path: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
    server.fetch(path, { method: 'POST', body, auth: `Splunk ${token}`, headers });

  test('splunk-logging: a batch of events over two indexes, field by field', async () => {
    const logger = new SplunkLogger({ token, url: server.url, maxBatchCount: 3 });
    const errors: unknown[] = [];
    logger.error = (err) => errors.push(err);
    const replies: unknown[] = [];
    await new Promise<void>((resolve) => {
      const meta = { host: 'web-1', source: '/var/log/app.log', sourcetype: 'app:json' };
      logger.send({
        message: 'first',
        severity: 'info',
        metadata: { ...meta, index: 'Web.App', time: 1714564800123 },
      });
      logger.send({ message: { user: 'ann', n: 3 }, metadata: { ...meta, index: 'Web.App' } });
      logger.send(
        { message: 'third', severity: 'warn', metadata: { host: 'db-1', index: 'main' } },
        (err, _resp, body) => {
          replies.push(err, body);
          resolve();
        },
      );
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(replies, [null, { text: 'Success', code: 0 }]);
    const web = (await server.search('SELECT * FROM logs.web_app ORDER BY _timestamp')).hits;
    assert.equal(web.length, 2);
    const [a, b] = web as [Record<string, unknown>, Record<string, unknown>];
    assert.equal(a._timestamp, '1714564800123000000', 'time "1714564800.123" seconds');
    assert.equal(a['resource.host'], 'web-1');
    assert.equal(a['resource.source'], '/var/log/app.log');
    assert.equal(a['resource.sourcetype'], 'app:json');
    // splunk-logging's default event formatter sends {message, severity} objects
    assert.deepEqual(JSON.parse(a.body as string), { message: 'first', severity: 'info' });
    assert.equal(a['attr.message'], 'first');
    assert.equal(a['attr.severity'], 'info');
    assert.equal(b['attr.message.user'], 'ann');
    assert.equal(b['attr.message.n'], 3);
    const main = (await server.search('SELECT * FROM logs.main')).hits;
    assert.equal(main.length, 1);
    assert.equal(main[0]!['resource.host'], 'db-1');
    assert.equal(main[0]!['resource.source'], undefined, 'no source sent to this stream');
    assert.equal(main[0]!['attr.severity'], 'warn');
  });

  test('event fields, string events, /services/collector and /api/{org}/_hec', async () => {
    const body =
      '{"event":"plain text","time":"1714564800.5","fields":{"team":"core","code":7},"index":"ev"}' +
      '{"event":{"a":1,"team":"event value"},"time":1714564801,"fields":{"team":"fields win"},"index":"ev"}';
    assert.equal((await hec('/services/collector', body)).status, 200);
    const other = '{"event":"via org path","index":"ev"}';
    const res = await server.fetch('/api/default/_hec', { method: 'POST', body: other });
    assert.equal(res.status, 200, 'Basic auth works too');
    const rows = (await server.search('SELECT * FROM logs.ev ORDER BY _timestamp')).hits;
    assert.equal(rows.length, 3);
    assert.equal(rows[0]!.body, 'plain text');
    assert.equal(rows[0]!._timestamp, '1714564800500000000');
    assert.equal(rows[0]!['attr.team'], 'core');
    assert.equal(rows[0]!['attr.code'], 7);
    assert.equal(rows[1]!['attr.a'], 1);
    assert.equal(rows[1]!['attr.team'], 'fields win');
    assert.equal(rows[2]!.body, 'via org path');
  });

  test('raw endpoint: one event per line, metadata from the query string', async () => {
    const res = await hec(
      '/services/collector/raw?index=rawidx&host=h1&source=s1&sourcetype=syslog&time=1714564800.25&channel=0aeeac95-ac74-4aa9-b30d-6c4c0ac581ba',
      'line one\r\nline two\n\n',
    );
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { text: 'Success', code: 0 });
    const rows = (await server.search('SELECT * FROM logs.rawidx ORDER BY body')).hits;
    assert.deepEqual(
      rows.map((r) => [
        r.body,
        r._timestamp,
        r['resource.host'],
        r['resource.source'],
        r['resource.sourcetype'],
      ]),
      [
        ['line one', '1714564800250000000', 'h1', 's1', 'syslog'],
        ['line two', '1714564800250000000', 'h1', 's1', 'syslog'],
      ],
    );
  });

  test('health, auth and malformed input in HEC shape; nothing stored', async () => {
    const health = await server.fetch('/services/collector/health', { auth: null });
    assert.deepEqual([health.status, await health.json()], [200, { text: 'HEC is healthy', code: 17 }]);
    const ok = '{"event":"ok","index":"hbad"}';
    const nowS = Math.floor(Date.now() / 1000);
    const cases: [string, () => Promise<Response>, number, number, RegExp][] = [
      [
        'no token',
        () => server.fetch('/services/collector/event', { method: 'POST', body: ok, auth: null }),
        401,
        2,
        /credentials/,
      ],
      [
        'bad token',
        () => server.fetch('/services/collector/event', { method: 'POST', body: ok, auth: 'Splunk ms_nope' }),
        401,
        4,
        /credentials/,
      ],
      ['no data', () => hec('/services/collector/event', '  \n'), 400, 5, /no data/],
      ['an array', () => hec('/services/collector/event', `[${ok}]`), 400, 6, /not an array/],
      ['bad JSON', () => hec('/services/collector/event', `${ok}{"event":}`), 400, 6, /malformed JSON/],
      ['truncated', () => hec('/services/collector/event', `${ok}{"event":"x"`), 400, 6, /truncated/],
      ['event missing', () => hec('/services/collector/event', `${ok}{"time":1}`), 400, 12, /required/],
      ['event blank', () => hec('/services/collector/event', `${ok}{"event":""}`), 400, 13, /blank/],
      [
        'bad time',
        () => hec('/services/collector/event', `${ok}{"event":"x","time":"noon"}`),
        400,
        6,
        /time/,
      ],
      [
        'host not a string',
        () => hec('/services/collector/event', `${ok}{"event":"x","host":5}`),
        400,
        6,
        /host/,
      ],
      [
        'invalid UTF-8',
        () =>
          hec('/services/collector/event', new Uint8Array([...Buffer.from('{"event":"'), 0xfe, 0x22, 0x7d])),
        400,
        6,
        /UTF-8/,
      ],
      [
        'far future',
        () => hec('/services/collector/event', `${ok}{"event":"x","time":${nowS + 7200}}`),
        400,
        6,
        /maxFutureMs/,
      ],
      [
        'oversize line',
        () => hec('/services/collector/raw?index=hbad', 'z'.repeat(300 * 1024)),
        400,
        6,
        /maxLineBytes/,
      ],
      ['bad raw time', () => hec('/services/collector/raw?index=hbad&time=x', 'line'), 400, 6, /time/],
    ];
    for (const [name, send, status, code, message] of cases) {
      const res = await send();
      const body = (await res.json()) as { text: string; code: number };
      assert.equal(res.status, status, `${name}: ${JSON.stringify(body)}`);
      assert.equal(body.code, code, `${name}: ${JSON.stringify(body)}`);
      assert.match(body.text, message, name);
    }
    const missing = (await (await hec('/services/collector/event', `${ok}{"time":1}`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(missing['invalid-event-number'], 1);
    // the Splunk scheme is accepted on HEC routes only
    const otlp = await server.fetch('/v1/logs', {
      method: 'POST',
      body: '{}',
      auth: `Splunk ${token}`,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(otlp.status, 401);
    const stored = await server
      .search("SELECT count(*) AS c FROM logs.default WHERE body = 'ok'")
      .catch(() => ({ hits: [{ c: 0 }] }));
    assert.equal(stored.hits[0]!.c, 0);
    const streams = await (await server.fetch('/api/default/streams')).json();
    assert.doesNotMatch(JSON.stringify(streams), /hbad/, 'no stream was even created');
  });

  test('SIGKILL after acknowledging: hec-event (two streams) and hec-raw replay', async () => {
    const body =
      '{"event":"r1","index":"rep1","host":"a"}\n{"event":{"k":"v"},"index":"rep2","time":1714564800}';
    assert.equal((await hec('/services/collector/event', body)).status, 200);
    assert.equal((await hec('/services/collector/raw?index=rep1&source=src', 'raw line')).status, 200);
    const q = async () => [
      (await server.search('SELECT * FROM logs.rep1 ORDER BY body')).hits,
      (await server.search('SELECT * FROM logs.rep2')).hits,
    ];
    const before = await q();
    assert.equal(before[0]!.length, 2);
    assert.equal(before[1]!.length, 1);
    const dataDir = server.dataDir;
    await server.kill();
    server = await startServer({ dataDir });
    assert.deepEqual(await q(), before);
  });
});
