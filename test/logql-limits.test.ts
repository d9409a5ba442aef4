/**
 * Done-when 4 of issue 5, the limits of LogQL queries over a real server: the series limit on
 * log queries (Loki's message), a regexp the storage engine's RE2 refuses (400, not 500), the
 * query concurrency limit shared with every other query (`query.maxConcurrent`: a LogQL query
 * holds a slot that SQL search and the metadata endpoints wait for), and `query.timeoutMs`
 * stopping a query with Loki's 504 while the server stays fine and the slot comes back.
 * (The time-range limit is in test/logql-query.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startServer, type ServerProcess } from './harness.ts';
import { HEAVY_QUERY as HEAVY, HOUR_NS, T0, pushLogfmtLines, rangePath } from './logql-heavy.ts';

describe('LogQL limits: series, regexps, shared query slots', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer({
      env: {
        MOLESIGNAL_LOGQL_MAX_QUERY_SERIES: '2',
        MOLESIGNAL_QUERY_MAX_CONCURRENT: '1',
        MOLESIGNAL_QUERY_MAX_QUEUE_MS: '1',
      },
    });
    const res = await server.fetch('/loki/api/v1/push', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        streams: ['a', 'b', 'c'].map((host) => ({
          stream: { job: 'web', host },
          // each line its own trace_id: structured metadata, which does not make a series
          values: [0, 1, 2].map((i) => [
            String(T0 + BigInt(i) * 1_000_000_000n),
            `${host} line ${i}`,
            { trace_id: `${host}${i}` },
          ]),
        })),
      }),
    });
    assert.equal(res.status, 204, await res.text());
    await pushLogfmtLines(server, { job: 'heavy' }, 200_000);
  });
  after(async () => {
    await server?.stop();
  });

  test("a log query over more than logql.maxQuerySeries streams: Loki's message, 400", async () => {
    const res = await server.fetch(rangePath('{job="web"}'));
    assert.equal(res.status, 400);
    assert.equal((await res.text()).trim(), 'maximum number of series (2) reached for a single query');
    // two streams, six label sets (one per trace_id): within the limit
    const ok = await server.fetch(rangePath('{job="web", host=~"a|b"}'));
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as { data: { result: unknown[] } };
    assert.equal(body.data.result.length, 6);
    // a metric query over the limit fails the same way
    const metric = await server.fetch(rangePath('count_over_time({job="web"}[1h])'));
    assert.equal(metric.status, 400);
    assert.match(await metric.text(), /^maximum number of series \(2\) reached for a single query/);
  });

  test("a regexp DuckDB's RE2 refuses (re2js and Go accept it) is a 400 naming the pattern", async () => {
    for (const query of ['{job="web"} |~ "(?<n>line) 1"', '{job=~"(?<n>web)"}']) {
      const res = await server.fetch(rangePath(query));
      const text = await res.text();
      assert.equal(res.status, 400, `${query}: ${text}`);
      assert.match(text, /^error parsing regexp: invalid perl operator: \(\?</, query);
      assert.match(text, /\(\?P<name>/);
    }
    const series = await server.fetch(
      `/loki/api/v1/series?${new URLSearchParams({ 'match[]': '{job=~"(?<n>web)"}', start: String(T0), end: String(T0 + HOUR_NS) }).toString()}`,
    );
    assert.equal(series.status, 400);
    assert.match(await series.text(), /^error parsing regexp: invalid perl operator/);
  });

  test('a LogQL query holds a slot of query.maxConcurrent: SQL search and the metadata endpoints wait for it', async () => {
    // the heavy query and the probes race for the one slot: when a probe wins, the heavy query is
    // the one refused (503), and on a busy machine the heavy query may end before a probe arrives;
    // either way the round is run again
    let h = { status: 503, text: '' };
    const refused: string[] = [];
    for (let round = 0; round < 5 && (h.status === 503 || refused.length === 0); round++) {
      refused.length = 0;
      let heavyDone = false;
      const heavy = server.fetch(rangePath(HEAVY)).then(async (r) => {
        const text = await r.text();
        heavyDone = true;
        return { status: r.status, text };
      });
      while (!heavyDone) {
        // query.maxQueueMs=1: whoever finds the only slot taken is refused at once
        const probes = await Promise.all([
          server.fetch('/api/default/_search', {
            method: 'POST',
            body: JSON.stringify({ sql: 'SELECT count(*) AS n FROM logs.default' }),
          }),
          server.fetch(`/loki/api/v1/labels?start=${T0}&end=${T0 + HOUR_NS}`),
          server.fetch(rangePath('{job="web", host="a"}')),
        ]);
        for (const p of probes) {
          const text = await p.text();
          if (p.status === 503) refused.push(text);
          else assert.equal(p.status, 200, text);
        }
      }
      h = await heavy;
    }
    assert.equal(h.status, 200, h.text);
    assert.ok(refused.length > 0, 'a request was refused while the heavy query held the slot');
    for (const text of refused)
      assert.match(text, /too many queries are running; waited query\.maxQueueMs=1 ms/);
    // the slot is back
    const after = await server.fetch(`/loki/api/v1/labels?start=${T0}&end=${T0 + HOUR_NS}`);
    assert.equal(after.status, 200, await after.text());
  });
});

describe('LogQL queries honour query.timeoutMs', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer({
      env: { MOLESIGNAL_QUERY_TIMEOUT_MS: '1', MOLESIGNAL_QUERY_MAX_CONCURRENT: '1' },
    });
    await pushLogfmtLines(server, { job: 'heavy' }, 50_000);
  });
  after(async () => {
    await server?.stop();
  });

  test("a query past the timeout is stopped with Loki's 504; the slot is released and the server answers", async () => {
    const loki =
      'Request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed. (query.timeoutMs=1 ms)';
    // three in a row with one slot: each would wait for a slot a stuck query held (503)
    for (const query of [HEAVY, `sum(count_over_time(${HEAVY} [1m]))`, HEAVY]) {
      const res = await server.fetch(rangePath(query));
      assert.equal(res.status, 504, query);
      assert.equal((await res.text()).trim(), loki);
    }
    const ready = await server.fetch('/ready', { auth: null });
    assert.equal(ready.status, 200);
    const format = await server.fetch(
      `/loki/api/v1/format_query?query=${encodeURIComponent('{job="heavy"}|logfmt')}`,
    );
    assert.equal(format.status, 200, await format.text());
    const limits = await server.fetch('/loki/api/v1/drilldown-limits');
    assert.equal(
      ((await limits.json()) as { limits: { query_timeout: string } }).limits.query_timeout,
      '1ms',
    );
  });
});
