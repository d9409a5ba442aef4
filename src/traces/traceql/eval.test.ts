import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Attr, Span } from '../span.ts';
import { evalTrace } from './eval.ts';
import { parseTraceQL } from './parser.ts';
import { searchLegacy, searchTraceQL } from './search.ts';

const TRACE = '00112233445566778899aabbccddeeff';
const a = (key: string, value: string | number | boolean, type?: Attr['type']): Attr => ({
  key,
  value,
  type:
    type ??
    (typeof value === 'string'
      ? 'string'
      : typeof value === 'boolean'
        ? 'bool'
        : Number.isInteger(value)
          ? 'int'
          : 'double'),
});

function span(
  id: string,
  parent: string,
  name: string,
  o: Partial<Span> & { ms?: number; at?: number } = {},
): Span {
  const startNs = 1_767_225_600_000_000_000n + BigInt(o.at ?? 0) * 1_000_000n;
  const durationNs = BigInt(Math.round((o.ms ?? 1) * 1e6));
  return {
    traceId: TRACE,
    spanId: id.padStart(16, '0'),
    parentSpanId: parent === '' ? '' : parent.padStart(16, '0'),
    traceState: '',
    name,
    kind: 2,
    startNs,
    endNs: startNs + durationNs,
    durationNs,
    statusCode: 0,
    statusMessage: '',
    flags: 0,
    resource: [a('service.name', 'api')],
    scope: { name: 'lib', version: '1.0' },
    attributes: [],
    events: [],
    links: [],
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
    ...o,
  };
}

// root(api, server) → child1(db, client, error, 30ms) → grandchild(db) ; root → child2(cache, 2.5ms)
const SPANS = [
  span('1', '', 'GET /', {
    ms: 50,
    attributes: [a('http.status_code', 200), a('payment.amount', 100, 'double')],
  }),
  span('2', '1', 'SELECT', {
    ms: 30,
    at: 1,
    kind: 3,
    statusCode: 2,
    resource: [a('service.name', 'db'), a('team', 'data')],
    attributes: [a('db.system', 'postgresql')],
  }),
  span('3', '2', 'fetch', {
    ms: 5,
    at: 2,
    resource: [a('service.name', 'db')],
    events: [{ timeNs: 0n, name: 'cache.miss', attributes: [a('k', 'v')], droppedAttributesCount: 0 }],
  }),
  span('4', '1', 'redis GET', {
    ms: 2.5,
    at: 3,
    resource: [a('service.name', 'cache')],
    attributes: [a('cache.hit', true)],
  }),
];

const ids = (q: string): string[][] =>
  evalTrace(parseTraceQL(q).root, SPANS).map((ss) => ss.spans.map((s) => s.spanId.replace(/^0+/, '')));

test('conditions: types, scopes, regex anchoring', () => {
  assert.deepEqual(ids('{ status = error }'), [['2']]);
  assert.deepEqual(ids('{ span.http.status_code = 200 }'), [['1']]);
  assert.deepEqual(ids('{ span.http.status_code = "200" }'), [], 'no string/int coercion');
  assert.deepEqual(ids('{ span.payment.amount = 100 }'), [], 'no int/float coercion');
  assert.deepEqual(ids('{ span.payment.amount = 100.0 }'), [['1']]);
  assert.deepEqual(ids('{ span.payment.amount * 2 = 200 }'), [['1']], 'computed values compare as numbers');
  assert.deepEqual(ids('{ span.http.status_code / 100 = 2 }'), [['1']]);
  assert.deepEqual(ids('{ .team = "data" }'), [['2']]);
  assert.deepEqual(ids('{ span.team = "data" }'), []);
  assert.deepEqual(ids('{ name =~ "SEL" }'), [], 'anchored');
  assert.deepEqual(ids('{ name =~ "(?i)sel.*" }'), [['2']]);
  assert.deepEqual(ids('{ duration > 20ms }'), [['1', '2']]);
  assert.deepEqual(ids('{ duration >= 30000000 }'), [['1', '2']], 'ints are nanoseconds');
  assert.deepEqual(ids('{ span.cache.hit }'), [['4']]);
  assert.deepEqual(ids('{ span.http.status_code != nil }'), [['1']]);
  assert.deepEqual(ids('{ event:name = "cache.miss" && event.k = "v" }'), [['3']]);
  assert.deepEqual(ids('{ rootServiceName = "api" && kind = client }'), [['2']]);
  assert.deepEqual(ids('{ nestedSetParent < 0 }'), [['1']]);
  assert.deepEqual(ids('{ false }'), []);
  assert.deepEqual(ids('{ true }'), [['1', '2', '3', '4']]);
});

test('spanset operators and structure', () => {
  assert.deepEqual(ids('{ status = error } && { name = "redis GET" }'), [['2', '4']]);
  assert.deepEqual(ids('{ status = error } && { name = "nope" }'), []);
  assert.deepEqual(ids('{ status = error } || { name = "nope" }'), [['2']]);
  assert.deepEqual(ids('{ name = "GET /" } > { }'), [['2', '4']]);
  assert.deepEqual(ids('{ name = "GET /" } >> { }'), [['2', '3', '4']]);
  assert.deepEqual(ids('{ name = "fetch" } < { }'), [['2']]);
  assert.deepEqual(ids('{ name = "fetch" } << { }'), [['1', '2']]);
  assert.deepEqual(ids('{ name = "SELECT" } ~ { }'), [['4']]);
  assert.deepEqual(ids('{ name = "GET /" } !> { }'), [['1', '3']]);
  assert.deepEqual(ids('{ name = "nope" } !> { }'), [], 'a negation needs a left-hand match');
  assert.deepEqual(ids('{ name = "GET /" } &> { name = "SELECT" }'), [['2', '1']]);
  assert.deepEqual(ids('{ kind = server } > { kind = client } > { }'), [['3']]);
});

test('pipelines: aggregates, by, coalesce', () => {
  assert.deepEqual(ids('{ } | count() > 3'), [['1', '2', '3', '4']]);
  assert.deepEqual(ids('{ } | count() > 4'), []);
  assert.deepEqual(ids('{ } | avg(duration) > 20ms'), [['1', '2', '3', '4']]);
  assert.deepEqual(ids('{ } | by(resource.service.name) | count() > 1'), [['2', '3']]);
  assert.deepEqual(ids('{ } | by(resource.service.name) | coalesce()'), [['1', '2', '3', '4']]);
  const sets = evalTrace(parseTraceQL('{ } | by(resource.service.name) | max(duration) > 1ms').root, SPANS);
  assert.deepEqual(
    sets.map((s) => s.attrs.map((x) => [x.key, x.value.v])),
    [
      [
        ['by(resource.service.name)', 'api'],
        ['max(duration)', 50_000_000],
      ],
      [
        ['by(resource.service.name)', 'db'],
        ['max(duration)', 30_000_000],
      ],
      [
        ['by(resource.service.name)', 'cache'],
        ['max(duration)', 2_500_000],
      ],
    ],
  );
});

test('search answer: metadata, echoed fields, spss, aggregates as Tempo writes them', () => {
  const q = parseTraceQL('{ status = error || name = "redis GET" } | avg(duration) > 1ms');
  const [t] = searchTraceQL(q, [SPANS], { limit: 20, spss: 1 });
  assert.ok(t);
  assert.equal(t.traceID, '112233445566778899aabbccddeeff', 'leading zeros removed');
  assert.equal(t.rootServiceName, 'api');
  assert.equal(t.rootTraceName, 'GET /');
  assert.equal(t.durationMs, 50);
  assert.deepEqual(t.serviceStats, {
    api: { spanCount: 1 },
    db: { spanCount: 2, errorCount: 1 },
    cache: { spanCount: 1 },
  });
  const ss = t.spanSets![0]!;
  assert.equal(ss.matched, 2);
  assert.equal(ss.spans.length, 1);
  // the error span echoes status (its condition holds), not name (that one does not)
  assert.deepEqual(ss.spans[0], {
    spanID: '0000000000000002',
    startTimeUnixNano: String(SPANS[1]!.startNs),
    durationNanos: '30000000',
    attributes: [{ key: 'status', value: { stringValue: 'error' } }],
  });
  assert.deepEqual(ss.attributes, [{ key: 'avg(duration)', value: { stringValue: '16.25ms' } }]);
  assert.deepEqual(t.spanSet, ss);
});

test('rootless traces, time range, legacy search', () => {
  const rootless = SPANS.slice(1);
  const [t] = searchTraceQL(parseTraceQL('{ rootServiceName = "" }'), [rootless], { limit: 20, spss: 3 });
  assert.equal(t?.rootServiceName, '<root span not yet received>');
  assert.equal(t && 'rootTraceName' in t, false);
  const late = { limit: 20, spss: 3, startNs: SPANS[0]!.endNs + 1n };
  assert.deepEqual(searchTraceQL(parseTraceQL('{ }'), [SPANS], late), []);
  const legacy = (tags: [string, string][], min = 0, max = 0) =>
    searchLegacy([SPANS], { limit: 20, spss: 3, tags, minDurationMs: min, maxDurationMs: max }).length;
  assert.equal(legacy([['service.name', 'cach']]), 1, 'substring');
  assert.equal(legacy([['team', 'dat']]), 0, 'exact for other keys');
  assert.equal(legacy([['http.status_code', '200']]), 1);
  assert.equal(
    legacy([
      ['status.code', 'error'],
      ['service.name', 'db'],
    ]),
    1,
  );
  assert.equal(
    legacy([
      ['status.code', 'error'],
      ['service.name', 'cache'],
    ]),
    0,
    'one span holds every tag',
  );
  assert.equal(legacy([], 60), 0);
  assert.equal(legacy([], 0, 60), 1);
});
