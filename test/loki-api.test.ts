/**
 * Replays the requests Grafana's Loki data source and Logs Drilldown make (recorded against Loki
 * 3.4.6 in ../shared/conformance/logql/api/) against a real server loaded with the conformance
 * data set (one Loki push), and checks each answer against Loki's: exact where Loki is exact
 * (labels, label values, series, detected labels), shape and plausible values where Loki's own
 * numbers are estimates (index stats and volume bytes, detected-field cardinalities, patterns).
 * Then bad input: each wrong parameter gets 400 and a message naming it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { SHARED_DIR, startServer, type ServerProcess } from './harness.ts';

const DIR = join(SHARED_DIR, 'conformance', 'logql');
const missing = existsSync(join(DIR, 'api'))
  ? null
  : `${DIR} is absent: the shared conformance data lives beside the project (../shared)`;
if (missing && process.env.CI === 'true') throw new Error(missing);

interface Fixture {
  request: { path: string; params: [string, string][] };
  status: number;
  body: unknown;
  orderSignificant: boolean;
}

type Json = Record<string, unknown>;

/** Both positive and within a factor of `f` of each other (Loki's index numbers are estimates). */
function near(actual: unknown, expected: unknown, what: string, f = 2): void {
  const a = Number(actual);
  const e = Number(expected);
  assert.ok(Number.isFinite(a) && a > 0, `${what}: expected a positive number, got ${String(actual)}`);
  assert.ok(a <= e * f && a >= e / f, `${what}: ${a} is not within ×${f} of Loki's ${e}`);
}

const sortKey = (v: unknown) => JSON.stringify(v, Object.keys(v ?? {}).sort());
const sameSet = (actual: unknown[], expected: unknown[], what: string) =>
  assert.deepEqual(actual.map(sortKey).sort(), expected.map(sortKey).sort(), what);

function checkVolume(name: string, actual: Json, expected: Json, ordered: boolean): void {
  assert.equal(actual.status, 'success', name);
  const a = actual.data as { resultType: string; result: Json[] };
  const e = expected.data as { resultType: string; result: Json[] };
  assert.equal(a.resultType, e.resultType, `${name}: resultType`);
  const metrics = (r: Json[]) => r.map((x) => x.metric);
  if (ordered) assert.deepEqual(metrics(a.result), metrics(e.result), `${name}: series in Loki's order`);
  else sameSet(metrics(a.result), metrics(e.result), `${name}: series`);
  for (const ex of e.result) {
    const ac = a.result.find((x) => sortKey(x.metric) === sortKey(ex.metric))!;
    if (ex.value) {
      const [at, av] = ac.value as [number, string];
      const [et, ev] = ex.value as [number, string];
      assert.equal(at, et, `${name}: time of ${sortKey(ex.metric)}`);
      assert.equal(typeof av, 'string');
      near(av, ev, `${name}: bytes of ${sortKey(ex.metric)}`);
    } else {
      const av = ac.values as [number, string][];
      const ev = ex.values as [number, string][];
      assert.deepEqual(
        av.map((p) => p[0]),
        ev.map((p) => p[0]),
        `${name}: point times of ${sortKey(ex.metric)}`,
      );
      av.forEach((p, i) => near(p[1], ev[i]![1], `${name}: point ${i} of ${sortKey(ex.metric)}`));
    }
  }
}

interface Field {
  label: string;
  type: string;
  cardinality: number;
  parsers: string[] | null;
}

function checkDetectedFields(name: string, actual: Json, expected: Json): void {
  const a = actual.fields as Field[];
  const e = expected.fields as Field[];
  assert.equal(actual.limit, expected.limit, `${name}: limit`);
  const shape = (f: Field) => ({ label: f.label, type: f.type, parsers: f.parsers });
  sameSet(a.map(shape), e.map(shape), `${name}: fields with type and parsers`);
  for (const ef of e) {
    const af = a.find((f) => f.label === ef.label)!;
    near(af.cardinality, ef.cardinality, `${name}: cardinality of ${ef.label}`, 3);
  }
}

function checkPatterns(name: string, actual: Json, expected: Json, params: URLSearchParams): void {
  assert.equal(actual.status, 'success', name);
  const a = actual.data as { pattern: string; samples: [number, number][] }[];
  const e = expected.data as { pattern: string; samples: [number, number][] }[];
  const start = Date.parse(params.get('start')!) / 1000;
  const end = Date.parse(params.get('end')!) / 1000;
  const step = parseInt(params.get('step')!, 10);
  for (const p of a) {
    assert.equal(typeof p.pattern, 'string');
    assert.ok(p.samples.length > 0, `${name}: ${p.pattern} has samples`);
    for (const [t, v] of p.samples) {
      assert.ok(t >= start && t < end && (t - start) % step === 0, `${name}: sample time ${t} on a step`);
      assert.ok(Number.isInteger(v) && v > 0, `${name}: count ${v}`);
    }
  }
  const ours = new Set(a.map((p) => p.pattern));
  // the heaviest patterns are stable: each of Loki's five largest is found, with a similar count
  const total = (s: [number, number][]) => s.reduce((n, [, v]) => n + v, 0);
  for (const ep of [...e].sort((x, y) => total(y.samples) - total(x.samples)).slice(0, 5)) {
    assert.ok(ours.has(ep.pattern), `${name}: Loki's pattern ${ep.pattern} is found`);
    near(
      total(a.find((p) => p.pattern === ep.pattern)!.samples),
      total(ep.samples),
      `${name}: count of ${ep.pattern}`,
    );
  }
  const found = e.filter((p) => ours.has(p.pattern)).length;
  assert.ok(found >= e.length * 0.6, `${name}: ${found} of Loki's ${e.length} patterns found`);
  near(
    a.reduce((n, p) => n + total(p.samples), 0),
    e.reduce((n, p) => n + total(p.samples), 0),
    `${name}: lines counted`,
    1.5,
  );
}

function check(name: string, fx: Fixture, status: number, body: unknown): void {
  assert.equal(status, fx.status, `${name}: status (${JSON.stringify(body).slice(0, 300)})`);
  const actual = body as Json;
  const expected = fx.body as Json;
  const params = new URLSearchParams(fx.request.params);
  const path = fx.request.path;
  if (path.endsWith('/index/stats')) {
    assert.equal(actual.streams, expected.streams, `${name}: streams`);
    for (const k of ['chunks', 'bytes', 'entries']) near(actual[k], expected[k], `${name}: ${k}`);
  } else if (path.includes('/index/volume')) {
    checkVolume(name, actual, expected, fx.orderSignificant);
  } else if (path.endsWith('/detected_fields')) {
    checkDetectedFields(name, actual, expected);
  } else if (path.endsWith('/patterns')) {
    checkPatterns(name, actual, expected, params);
  } else if (path.endsWith('/detected_labels')) {
    sameSet(
      actual.detectedLabels as unknown[],
      expected.detectedLabels as unknown[],
      `${name}: detected labels`,
    );
  } else if (fx.orderSignificant) {
    assert.deepEqual(actual, expected, name);
  } else {
    assert.equal(actual.status, expected.status, name);
    sameSet(actual.data as unknown[], expected.data as unknown[], name);
  }
}

describe('Loki HTTP API: Grafana request replay', { skip: missing ?? false }, () => {
  let server: ServerProcess;
  const get = async (path: string, params: [string, string][] | URLSearchParams, init: RequestInit = {}) => {
    const res = await server.fetch(`${path}?${new URLSearchParams(params).toString()}`, {
      ...init,
      headers: { 'x-scope-orgid': 'default', ...(init.headers as Record<string, string>) },
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // plain-text error answers, as Loki gives them
    }
    return { status: res.status, body, text };
  };

  before(async () => {
    server = await startServer();
    const res = await server.fetch('/loki/api/v1/push', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-scope-orgid': 'default' },
      body: gunzipSync(readFileSync(join(DIR, 'data.json.gz'))),
    });
    assert.equal(res.status, 204, await res.text());
  });
  after(async () => {
    await server?.stop();
  });

  const fixtures = missing
    ? []
    : readdirSync(join(DIR, 'api'))
        .filter((f) => f.endsWith('.json'))
        .sort();
  const pending = new Set<string>();
  for (const file of fixtures) {
    test(file, pending.has(file) ? { todo: 'not implemented yet' } : {}, async () => {
      const fx = JSON.parse(readFileSync(join(DIR, 'api', file), 'utf8')) as Fixture;
      const r = await get(fx.request.path, fx.request.params);
      check(file, fx, r.status, r.body);
    });
  }

  test('series as a form POST (Grafana sends match[] in the body)', async () => {
    const fx = JSON.parse(readFileSync(join(DIR, 'api', 'series.json'), 'utf8')) as Fixture;
    const res = await server.fetch(fx.request.path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-scope-orgid': 'default' },
      body: new URLSearchParams(fx.request.params).toString(),
    });
    check('series POST', fx, res.status, await res.json());
  });

  test('times as Unix nanoseconds (the Loki data source) equal RFC 3339 (Drilldown)', async () => {
    const ns = await get('/loki/api/v1/label/host/values', [
      ['start', '1767225600000000000'],
      ['end', '1767229200000000000'],
      ['query', '{job="api"}'],
    ]);
    assert.deepEqual(ns.body, { status: 'success', data: ['api-1', 'api-2', 'api-s1'] });
  });

  test('a range without data has no labels; another org sees nothing', async () => {
    const empty = await get('/loki/api/v1/labels', [
      ['start', '2025-01-01T00:00:00Z'],
      ['end', '2025-01-01T01:00:00Z'],
    ]);
    assert.deepEqual(empty.body, { status: 'success', data: [] });
    await server.fetch('/api/_admin/orgs', { method: 'POST', body: JSON.stringify({ name: 'other' }) });
    const other = await server.fetch(
      '/loki/api/v1/labels?start=2026-01-01T00:00:00Z&end=2026-01-01T01:00:00Z',
      {
        headers: { 'x-scope-orgid': 'other' },
      },
    );
    assert.deepEqual(await other.json(), { status: 'success', data: [] });
  });

  test('format_query formats LogQL as Loki does; a syntax error is 400 with its position', async () => {
    const ok = await get('/loki/api/v1/format_query', [['query', '{job="api"}|json|level="error"']]);
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.body, { status: 'success', data: '{job="api"} | json | level="error"' });
    const bad = await get('/loki/api/v1/format_query', [['query', '{job="api"} |']]);
    assert.equal(bad.status, 400);
    assert.match(bad.text, /parse error at line 1, col \d+/);
  });

  test('status/buildinfo and /ready', async () => {
    const info = await get('/loki/api/v1/status/buildinfo', []);
    assert.equal(info.status, 200);
    assert.match((info.body as Json).version as string, /^3\.\d+\.\d+$/);
    const ready = await server.fetch('/ready', { auth: null });
    assert.equal(ready.status, 200);
  });

  test('bad input: 400 with a message naming what is wrong', async () => {
    const range: [string, string][] = [
      ['start', '2026-01-01T00:00:00Z'],
      ['end', '2026-01-01T01:00:00Z'],
    ];
    const cases: [string, [string, string][], RegExp][] = [
      ['/loki/api/v1/labels', [['start', 'yesterday']], /invalid start time/],
      [
        '/loki/api/v1/labels',
        [
          ['start', '2026-01-01T01:00:00Z'],
          ['end', '2026-01-01T00:00:00Z'],
        ],
        /end timestamp/,
      ],
      ['/loki/api/v1/labels', [['since', '5 minutes']], /invalid since/],
      ['/loki/api/v1/label/job/values', [...range, ['query', 'job="api"']], /parse error at line 1/],
      ['/loki/api/v1/series', [...range, ['match[]', '{job=~".*"}']], /empty-compatible value/],
      ['/loki/api/v1/series', [...range, ['match[]', '{job="api"']], /parse error/],
      ['/loki/api/v1/index/stats', range, /missing query/],
      [
        '/loki/api/v1/index/volume',
        [...range, ['query', '{job="api"}'], ['aggregateBy', 'host']],
        /aggregateBy/,
      ],
      ['/loki/api/v1/index/volume', [...range, ['query', '{job="api"}'], ['limit', '-1']], /invalid limit/],
      [
        '/loki/api/v1/index/volume_range',
        [...range, ['query', '{job="api"}'], ['step', '0.1x']],
        /invalid step/,
      ],
      [
        '/loki/api/v1/index/volume_range',
        [...range, ['query', '{job="api"}'], ['step', '100ms']],
        /maximum resolution/,
      ],
    ];
    for (const [path, params, message] of cases) {
      const r = await get(path, params);
      assert.equal(r.status, 400, `${path} ${JSON.stringify(params)}: ${r.text}`);
      assert.match(r.text, message, `${path} ${JSON.stringify(params)}`);
    }
  });
});
