/**
 * Done-when 2 of issue 5: the requests Grafana's Loki data source and Logs Drilldown send
 * (../shared/notes/grafana-requests.md §3), replayed byte for byte — their parameters, time
 * formats (Unix ns from the data source, RFC 3339 from Drilldown), `step=2000ms` and headers
 * (`X-Loki-Response-Encoding-Flags: categorize-labels`, `X-Query-Tags`, `X-Grafana-Cache`) —
 * against a real server loaded with the conformance data set, and each answer checked for
 * what §3.5 says Grafana parses and against Loki 3.4.6's recorded answers
 * (../shared/conformance/logql/expected/ and api/).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { SHARED_DIR, startServer, type ServerProcess } from './harness.ts';

const DIR = join(SHARED_DIR, 'conformance', 'logql');
const missing = existsSync(join(DIR, 'data.json.gz'))
  ? null
  : `${DIR} is absent: the shared conformance data lives beside the project (../shared)`;
if (missing && process.env.CI === 'true') throw new Error(missing);

type Json = Record<string, unknown>;
type Labels = Record<string, string>;
interface Categorized {
  structuredMetadata?: Labels;
  parsed?: Labels;
}
type Value = [string, string, Categorized?];
interface Stream {
  stream: Labels;
  values: Value[];
}

/** the data source's times: Unix ns (ms × 1e6) */
const START_NS = '1767225600000000000';
const END_NS = '1767229200000000000';
/** Drilldown's times: RFC 3339 */
const START = '2026-01-01T00:00:00Z';
const END = '2026-01-01T01:00:00Z';

const CATEGORIZE = { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' };
const DRILLDOWN = { 'X-Query-Tags': 'Source=grafana-lokiexplore-app' };

const sortKey = (v: unknown) => JSON.stringify(v, Object.keys(v ?? {}).sort());
const labelsKey = (l: Labels) => sortKey(Object.fromEntries(Object.entries(l).sort()));
const fixture = (name: string) => JSON.parse(readFileSync(join(DIR, 'api', `${name}.json`), 'utf8')) as Json;
const expectedAnswer = (id: string) =>
  JSON.parse(readFileSync(join(DIR, 'expected', `${id}.json`), 'utf8')) as {
    data: { resultType: string; result: Stream[] };
  };

/** Categorized streams back to Loki's plain answer: one stream per full label set, lines in order. */
function flatten(streams: Stream[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of streams)
    for (const [ts, line, cat] of s.values) {
      const key = labelsKey({ ...s.stream, ...cat?.structuredMetadata, ...cat?.parsed });
      let lines = out.get(key);
      if (!lines) out.set(key, (lines = []));
      lines.push(`${ts} ${line}`);
    }
  return out;
}

describe('Grafana Loki data source and Logs Drilldown replay', { skip: missing ?? false }, () => {
  let server: ServerProcess;
  /** a GET as the Grafana backend builds it: the query string as given, the headers it adds */
  const get = async (pathAndQuery: string, headers: Record<string, string> = {}) => {
    const res = await server.fetch(pathAndQuery, { headers: { 'X-Scope-OrgID': 'default', ...headers } });
    const text = await res.text();
    assert.equal(res.status, 200, `${pathAndQuery}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as Json;
  };
  const qs = (params: Record<string, string>) => new URLSearchParams(params).toString();

  before(async () => {
    server = await startServer();
    const push = await server.fetch('/loki/api/v1/push', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: gunzipSync(readFileSync(join(DIR, 'data.json.gz'))),
    });
    assert.equal(push.status, 204, await push.text());
    // one OTLP service, so Drilldown's service list (service_name, a promoted attribute) has an entry
    const otlp = await server.fetch('/v1/logs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
            scopeLogs: [
              {
                logRecords: [
                  { timeUnixNano: '1767226000000000000', body: { stringValue: 'payment slow' } },
                  { timeUnixNano: '1767226001000000000', body: { stringValue: 'payment ok' } },
                ],
              },
            ],
          },
        ],
      }),
    });
    assert.ok(otlp.ok, await otlp.text());
  });
  after(async () => {
    await server?.stop();
  });

  test('health check: vector(1)+vector(1) at time=4000000000 is one sample, no labels, value "2"', async () => {
    const body = await get(
      '/loki/api/v1/query?direction=backward&query=vector%281%29%2Bvector%281%29&time=4000000000',
      CATEGORIZE,
    );
    assert.equal(body.status, 'success');
    const data = body.data as { resultType: string; result: { metric: Labels; value: [number, string] }[] };
    assert.equal(data.resultType, 'vector');
    assert.equal(data.result.length, 1);
    assert.deepEqual(data.result[0]!.metric, {});
    // 10 digits are Unix seconds for Loki, so the sample is at 4000000000 s
    assert.deepEqual(data.result[0]!.value, [4_000_000_000, '2']);
  });

  test("Explore log query (ns times, step=2000ms, categorize-labels): Loki's lines, labels by category", async () => {
    // filter-09 of the conformance set, as Explore sends it (with the recorded limit)
    const query = '{job="api"} |= "E_TIMEOUT" |~ `"status":50[34]`';
    const body = await get(
      `/loki/api/v1/query_range?${qs({ direction: 'backward', end: END_NS, limit: '20', query, start: START_NS, step: '2000ms' })}`,
      CATEGORIZE,
    );
    const data = body.data as { resultType: string; encodingFlags: string[]; result: Stream[]; stats: Json };
    assert.equal(data.resultType, 'streams');
    assert.deepEqual(data.encodingFlags, ['categorize-labels']);
    const series = (await get(
      `/loki/api/v1/series?${qs({ 'match[]': '{job="api"}', start: START_NS, end: END_NS })}`,
    )) as { data: Labels[] };
    const streamSets = new Set(series.data.map(labelsKey));
    for (const s of data.result) {
      assert.ok(streamSets.has(labelsKey(s.stream)), `${labelsKey(s.stream)} is a stream (series) label set`);
      for (const v of s.values) {
        assert.equal(v.length, 3);
        assert.match(v[0], /^\d{19}$/);
        assert.equal(typeof v[1], 'string');
        assert.deepEqual(
          Object.keys(v[2]!).filter((k) => k !== 'structuredMetadata' && k !== 'parsed'),
          [],
        );
      }
    }
    // the api-1 streams carry trace_id and pod as structured metadata
    assert.ok(data.result.some((s) => s.values.some((v) => v[2]?.structuredMetadata?.trace_id)));
    const expected = expectedAnswer('filter-09').data.result;
    const want = new Map(expected.map((s) => [labelsKey(s.stream), s.values.map(([t, l]) => `${t} ${l}`)]));
    assert.deepEqual(flatten(data.result), want);
    const summary = (data.stats as { summary: Json }).summary;
    assert.equal(summary.totalEntriesReturned, 20);
  });

  test('stats.summary: lines and UTF-8 bytes read, entries returned, exec and queue time', async () => {
    const body = await get(
      `/loki/api/v1/query_range?${qs({ direction: 'backward', end: END_NS, limit: '1000', query: '{job="app", host="app-1"} |= `ошибка`', start: START_NS, step: '2000ms' })}`,
    );
    const data = body.data as { result: Stream[]; stats: { summary: Record<string, number> } };
    const lines = data.result.flatMap((s) => s.values.map((v) => v[1]));
    assert.ok(lines.length > 0);
    const s = data.stats.summary;
    assert.equal(s.totalEntriesReturned, lines.length);
    assert.ok(s.totalLinesProcessed! >= lines.length);
    const utf8 = lines.reduce((n, l) => n + Buffer.byteLength(l), 0);
    // the line filter runs in SQL, so exactly the returned lines were read
    if (s.totalLinesProcessed === lines.length) assert.equal(s.totalBytesProcessed, utf8);
    assert.ok(s.totalBytesProcessed! >= utf8 && utf8 > lines.reduce((n, l) => n + l.length, 0));
    assert.ok(s.execTime! > 0 && s.queueTime! >= 0);
    assert.ok(s.linesProcessedPerSecond! > 0 && s.bytesProcessedPerSecond! > 0);
  });

  test('without the header: no encodingFlags, two-element values, every label in stream', async () => {
    const body = await get(
      `/loki/api/v1/query_range?${qs({ direction: 'backward', end: END_NS, limit: '20', query: '{job="api"} |= "E_TIMEOUT" |~ `"status":50[34]`', start: START_NS, step: '2000ms' })}`,
    );
    const data = body.data as { encodingFlags?: unknown; result: Stream[] };
    assert.equal(data.encodingFlags, undefined);
    for (const s of data.result) for (const v of s.values) assert.equal(v.length, 2);
    const expected = expectedAnswer('filter-09').data.result;
    assert.deepEqual(
      new Set(data.result.map((s) => labelsKey(s.stream))),
      new Set(expected.map((s) => labelsKey(s.stream))),
    );
  });

  test('Explore logs volume (X-Query-Tags: Source=logvolhist): a matrix whose counts add up to the lines', async () => {
    const selector = '{job="api"} |= "error"';
    const body = await get(
      `/loki/api/v1/query_range?${qs({
        direction: 'backward',
        end: END_NS,
        limit: '1000',
        query: `sum by (level, detected_level) (count_over_time(${selector}[2s]))`,
        start: START_NS,
        step: '2000ms',
      })}`,
      { ...CATEGORIZE, 'X-Query-Tags': 'Source=logvolhist' },
    );
    const data = body.data as {
      resultType: string;
      result: { metric: Labels; values: [number, string][] }[];
    };
    assert.equal(data.resultType, 'matrix');
    assert.ok(data.result.length > 0);
    let total = 0;
    for (const s of data.result) {
      assert.deepEqual(
        Object.keys(s.metric).filter((k) => k !== 'level'),
        [],
        'grouped by level (no detected_level here)',
      );
      for (const [t, v] of s.values) {
        assert.equal(typeof t, 'number');
        assert.equal(((t - 1_767_225_600) * 1000) % 2000, 0, `point ${t} on a 2 s step`);
        assert.equal(typeof v, 'string');
        total += Number(v);
      }
    }
    const count = await get(
      `/loki/api/v1/query?${qs({ query: `sum(count_over_time(${selector}[1h]))`, time: END_NS })}`,
    );
    const [, n] = (count.data as { result: { value: [number, string] }[] }).result[0]!.value;
    assert.equal(total, Number(n));
  });

  test("label browser (ns times, X-Grafana-Cache): labels, label values, series equal Loki's", async () => {
    const cache = { 'X-Grafana-Cache': 'private, max-age=60' };
    const same = (body: Json, name: string) => {
      const want = fixture(name).body as { data: unknown[] };
      assert.equal(body.status, 'success');
      // service_name is the OTLP service this test adds beside the conformance data
      const data = (body.data as unknown[]).filter((l) => l !== 'service_name');
      assert.deepEqual(data.map(sortKey).sort(), want.data.map(sortKey).sort(), name);
    };
    same(await get(`/loki/api/v1/labels?start=${START_NS}&end=${END_NS}`, cache), 'labels');
    same(
      await get(`/loki/api/v1/label/job/values?start=${START_NS}&end=${END_NS}`, cache),
      'label_job_values',
    );
    same(
      await get(
        `/loki/api/v1/label/host/values?${qs({ start: START_NS, end: END_NS, query: '{job="api"}' })}`,
        cache,
      ),
      'label_host_values_query',
    );
    const seriesFx = fixture('series') as { request: { params: [string, string][] } };
    const matches = seriesFx.request.params.filter(([k]) => k === 'match[]');
    const seriesQuery = new URLSearchParams([...matches, ['start', START_NS], ['end', END_NS]]).toString();
    same(await get(`/loki/api/v1/series?${seriesQuery}`, cache), 'series');
  });

  test('query size estimate: index/stats reads top-level streams, chunks, bytes, entries', async () => {
    const body = await get(
      `/loki/api/v1/index/stats?${qs({ query: '{job="api"}', start: START_NS, end: END_NS })}`,
    );
    const want = fixture('index_stats').body as Json;
    assert.deepEqual(Object.keys(body).sort(), ['bytes', 'chunks', 'entries', 'streams']);
    assert.equal(body.streams, want.streams);
    for (const k of ['chunks', 'bytes', 'entries'])
      assert.ok(Number.isInteger(body[k]) && (body[k] as number) > 0, k);
  });

  test('detected_fields and detected_field/<name>/values (limit=1000): fields[] and values', async () => {
    const params = { start: START_NS, end: END_NS, limit: '1000', query: '{job="api"}' };
    const body = await get(`/loki/api/v1/detected_fields?${qs(params)}`, DRILLDOWN);
    const fields = body.fields as {
      label: string;
      type: string;
      cardinality: number;
      parsers: string[] | null;
    }[];
    assert.equal(body.limit, 1000);
    const want = (fixture('detected_fields').body as { fields: { label: string }[] }).fields;
    assert.deepEqual(fields.map((f) => f.label).sort(), want.map((f) => f.label).sort());
    for (const f of fields) {
      assert.equal(typeof f.type, 'string');
      assert.ok(f.parsers === null || Array.isArray(f.parsers));
    }
    for (const name of ['level', 'method', 'trace_id']) {
      const values = await get(`/loki/api/v1/detected_field/${name}/values?${qs(params)}`, DRILLDOWN);
      assert.equal(values.limit, 1000);
      const list = values.values as string[];
      assert.ok(list.every((v) => typeof v === 'string'));
      assert.equal(
        list.length,
        fields.find((f) => f.label === name)!.cardinality,
        `${name}: one value per unit of cardinality`,
      );
    }
    const levels = await get(`/loki/api/v1/detected_field/level/values?${qs(params)}`);
    assert.deepEqual(levels.values, ['debug', 'error', 'info', 'warn']);
    const unknown = await get(`/loki/api/v1/detected_field/no_such_field/values?${qs(params)}`);
    assert.deepEqual(unknown.values, []);
  });

  test('Drilldown opening: drilldown-limits, service volume, detected_labels (empty query), labels', async () => {
    const limits = await get('/loki/api/v1/drilldown-limits', {
      ...DRILLDOWN,
      'X-Grafana-Cache': 'private, max-age=86400',
    });
    const l = limits.limits as Json;
    assert.equal(l.volume_enabled, true);
    assert.equal(l.pattern_persistence_enabled, false);
    assert.equal(l.discover_log_levels, false);
    assert.deepEqual(l.discover_service_name, []);
    assert.equal(l.max_entries_limit_per_query, 5000);
    assert.equal(l.max_query_series, 500);
    assert.equal(l.max_query_length, '30d1h');
    assert.equal(l.query_timeout, '30s');
    assert.equal(l.retention_period, '0s');
    assert.equal(typeof limits.pattern_ingester_enabled, 'boolean');
    assert.match(limits.version as string, /^3\.\d+\.\d+$/);

    const volume = await get(
      `/loki/api/v1/index/volume?${qs({ end: END, limit: '5000', query: '{service_name=~".+"}', start: START })}`,
      DRILLDOWN,
    );
    const v = volume.data as { resultType: string; result: { metric: Labels; value: [number, string] }[] };
    assert.equal(v.resultType, 'vector');
    assert.deepEqual(
      v.result.map((r) => r.metric),
      [{ service_name: 'checkout' }],
    );
    assert.match(v.result[0]!.value[1], /^\d+$/);

    const detected = await get(`/loki/api/v1/detected_labels?end=${END}&query=&start=${START}`, DRILLDOWN);
    const want = fixture('detected_labels').body as { detectedLabels: unknown[] };
    // the OTLP service adds service_name (one value: not useful to break down by, so left out)
    assert.deepEqual(
      (detected.detectedLabels as unknown[]).map(sortKey).sort(),
      want.detectedLabels.map(sortKey).sort(),
    );
    const labels = await get(`/loki/api/v1/labels?end=${END}&start=${START}`, DRILLDOWN);
    assert.deepEqual(labels.data, ['env', 'host', 'job', 'level', 'service_name']);
  });

  test('Drilldown patterns tab (step=15s): data[].pattern and samples [[s, count]] that add up to the lines', async () => {
    const body = await get(
      `/loki/api/v1/patterns?${qs({ end: END, query: '{job="nginx"}', start: START, step: '15s' })}`,
      DRILLDOWN,
    );
    assert.equal(body.status, 'success');
    const data = body.data as { pattern: string; samples: [number, number][] }[];
    assert.ok(data.length > 0);
    let total = 0;
    for (const p of data) {
      assert.equal(typeof p.pattern, 'string');
      for (const [t, n] of p.samples) {
        assert.ok(Number.isInteger(t) && (t - 1_767_225_600) % 15 === 0, `sample time ${t} on a 15 s step`);
        assert.ok(Number.isInteger(n) && n > 0);
        total += n;
      }
    }
    // Loki's Drain keeps 5749 of the 8700 nginx lines in patterns (api/patterns.json, step 300s)
    const want = (fixture('patterns').body as { data: { samples: [number, number][] }[] }).data;
    const lokiTotal = want.reduce((n, p) => n + p.samples.reduce((m, [, c]) => m + c, 0), 0);
    assert.ok(
      total <= lokiTotal * 1.5 && total >= lokiTotal / 1.5,
      `${total} lines in patterns, Loki ${lokiTotal}`,
    );
  });

  test('Drilldown data queries carry X-Query-Tags and answer as the data source does', async () => {
    const body = await get(
      `/loki/api/v1/query_range?${qs({
        direction: 'backward',
        end: END_NS,
        limit: '100',
        query: 'sum by (detected_level) (count_over_time({service_name="checkout"}[2s]))',
        start: START_NS,
        step: '2000ms',
      })}`,
      {
        ...CATEGORIZE,
        ...DRILLDOWN,
        'X-Loki-Query-Limits-Context': `{"Expr":"{service_name=\\"checkout\\"}","From":"${START}","To":"${END}"}`,
      },
    );
    const data = body.data as {
      resultType: string;
      result: { metric: Labels; values: [number, string][] }[];
    };
    assert.equal(data.resultType, 'matrix');
    assert.deepEqual(
      data.result.map((s) => s.metric),
      [{}],
    );
    assert.equal(
      data.result[0]!.values.reduce((n, [, v]) => n + Number(v), 0),
      2,
    );
  });
});
