import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SqliteCatalog } from '../catalog/sqlite.ts';
import { decodeTracesJson } from '../ingest/otlp/parse-json.ts';
import { EnginePool } from '../memtable/org-engine.ts';
import { LocalObjectStore } from '../storage/object-store.ts';
import { asOrgId } from '../tenancy/org-id.ts';
import { StreamRegistry } from '../write/streams.ts';
import { splitArray, splitObject } from './json-split.ts';
import { fileMayHoldTrace, plainJsonAttrs, SpanReader, spanStreamView } from './span-reader.ts';
import type { FileRow } from '../catalog/catalog.ts';

const ORG = asOrgId('o0123456789abcdef');
const T1 = '5b8efff798038103d269b633813fc60c';
const T2 = '002a17899411f325cfb2517c50282ba5';

const kv = (key: string, value: unknown) => ({ key, value });
const body = (traceId: string, spans: object[], resource: object[], scopeAttrs: object[] = []) =>
  JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: resource },
        scopeSpans: [
          {
            scope: { name: 'lib', version: '1.2', attributes: scopeAttrs },
            spans: spans.map((s) => ({ traceId, ...s })),
          },
        ],
      },
    ],
  });

let dir = '';
let engines: EnginePool;
let streams: StreamRegistry;
let reader: SpanReader;

async function write(streamName: string, text: string, seq: number): Promise<void> {
  const batch = decodeTracesJson(text, 0n);
  const s = await streams.getOrCreate(ORG, 'traces', streamName);
  await streams.prepare(s, batch);
  s.mem.append(batch, s.schema, seq, text.length);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'span-reader-'));
  const catalog = new SqliteCatalog(join(dir, 'catalog.sqlite'));
  await catalog.createOrg(ORG, 'test');
  engines = new EnginePool((org) => join(dir, 'orgs', org), { memoryLimit: '256MB', threads: 1 });
  streams = new StreamRegistry(catalog, engines, { maxFieldsPerStream: 8, defaultRetentionDays: 0 });
  const store = new LocalObjectStore(join(dir, 'objects'));
  reader = new SpanReader({ catalog, store, engines, streams, timeoutMs: 10_000 });
  await write(
    'default',
    body(
      T1,
      [
        {
          spanId: 'eee19b7ec3c1b173',
          traceState: 'vendor=abc',
          name: 'GET /orders',
          kind: 2,
          startTimeUnixNano: '1700000000000000001',
          endTimeUnixNano: '1700000001000000001',
          attributes: [
            kv('http.status_code', { intValue: '200' }),
            kv('big', { intValue: '9007199254740993' }),
            kv('ratio', { doubleValue: 0.25 }),
            kv('ok', { boolValue: true }),
            kv('raw', { bytesValue: 'AQI=' }),
          ],
          events: [
            {
              timeUnixNano: '1700000000500000000',
              name: 'cache.miss',
              attributes: [
                kv('k', { stringValue: 'orders:42' }),
                kv('n', { intValue: '12' }),
                kv('r', { doubleValue: 1.5 }),
              ],
              droppedAttributesCount: 1,
            },
          ],
          links: [
            {
              traceId: T2,
              spanId: 'b7ad6b7169203331',
              traceState: 'x=1',
              attributes: [kv('l', { boolValue: false })],
            },
          ],
          status: { code: 2, message: 'boom' },
          droppedAttributesCount: 3,
        },
        {
          spanId: 'aaaaaaaaaaaaaaaa',
          parentSpanId: 'eee19b7ec3c1b173',
          name: 'db',
          kind: 3,
          startTimeUnixNano: '1700000000100000000',
          endTimeUnixNano: '1700000000200000000',
          attributes: [
            kv('http.status_code', { stringValue: 'two hundred' }),
            kv('list', { arrayValue: { values: [{ intValue: '1' }, { stringValue: 'x' }] } }),
            kv('overflowed', { stringValue: 'to _attributes' }),
          ],
        },
      ],
      [kv('service.name', { stringValue: 'api' })],
      [kv('scope.k', { stringValue: 'v' })],
    ),
    1,
  );
  await write(
    'other',
    body(
      T2,
      [
        {
          spanId: '1111111111111111',
          name: 'root',
          startTimeUnixNano: '1700000005000000000',
          endTimeUnixNano: '1700000006000000000',
        },
      ],
      [kv('service.name', { stringValue: 'web' })],
    ),
    2,
  );
});

after(async () => {
  await engines.closeAll();
  await rm(dir, { recursive: true, force: true });
});

test('readTrace: every field of every span comes back typed, second types and overflow included', async () => {
  const spans = await reader.readTrace(ORG, T1);
  assert.equal(spans.length, 2);
  const [root, db] = spans;
  assert.equal(root!.spanId, 'eee19b7ec3c1b173');
  assert.equal(root!.parentSpanId, '');
  assert.equal(root!.traceState, 'vendor=abc');
  assert.equal(root!.kind, 2);
  assert.equal(root!.startNs, 1700000000000000001n);
  assert.equal(root!.endNs, 1700000001000000001n);
  assert.equal(root!.durationNs, 1000000000n);
  assert.equal(root!.statusCode, 2);
  assert.equal(root!.statusMessage, 'boom');
  assert.equal(root!.droppedAttributesCount, 3);
  assert.deepEqual(root!.resource, [{ key: 'service.name', type: 'string', value: 'api' }]);
  assert.deepEqual(root!.scope, {
    name: 'lib',
    version: '1.2',
    attributes: [{ key: 'scope.k', type: 'string', value: 'v' }],
  });
  assert.deepEqual(root!.attributes, [
    { key: 'http.status_code', type: 'int', value: 200 },
    { key: 'big', type: 'int', value: '9007199254740993' },
    { key: 'ratio', type: 'double', value: 0.25 },
    { key: 'ok', type: 'bool', value: true },
    { key: 'raw', type: 'bytes', value: 'AQI=' },
  ]);
  assert.deepEqual(root!.events, [
    {
      timeNs: 1700000000500000000n,
      name: 'cache.miss',
      attributes: [
        { key: 'k', type: 'string', value: 'orders:42' },
        { key: 'n', type: 'int', value: 12 },
        { key: 'r', type: 'double', value: 1.5 },
      ],
      droppedAttributesCount: 1,
    },
  ]);
  assert.deepEqual(root!.links, [
    {
      traceId: T2,
      spanId: 'b7ad6b7169203331',
      traceState: 'x=1',
      attributes: [{ key: 'l', type: 'bool', value: false }],
      flags: 0,
      droppedAttributesCount: 0,
    },
  ]);
  assert.equal(db!.parentSpanId, 'eee19b7ec3c1b173');
  // max_fields 8: `attr.list` and `attr.overflowed` went to _attributes; the string second type is `attr.http.status_code::str`
  assert.deepEqual(
    [...db!.attributes].sort((a, b) => a.key.localeCompare(b.key)),
    [
      { key: 'http.status_code', type: 'string', value: 'two hundred' },
      { key: 'list', type: 'array', value: '[1,"x"]' },
      { key: 'overflowed', type: 'string', value: 'to _attributes' },
    ],
  );
});

test('readTrace: other streams, unknown ids and time bounds', async () => {
  assert.equal((await reader.readTrace(ORG, T2)).length, 1);
  assert.equal((await reader.readTrace(ORG, 'f'.repeat(32))).length, 0);
  assert.equal((await reader.readTrace(ORG, T1, { startNs: 1700000000050000000n })).length, 1);
  assert.equal((await reader.readTrace(ORG, T1, { endNs: 1700000000000000001n })).length, 0);
  await assert.rejects(() => reader.readTrace(ORG, 'XYZ'));
});

test('readSpans: grouped by trace, lowest ids first, where per stream, limit', async () => {
  const all = await reader.readSpans(ORG, { startNs: 0n, endNs: 2n ** 62n });
  assert.deepEqual(
    all.map((t) => [t.traceId, t.spans.length]),
    [
      [T2, 1],
      [T1, 2],
    ],
  );
  // a matching span brings its whole trace
  const db = await reader.readSpans(ORG, { startNs: 0n, endNs: 2n ** 62n, where: () => `name = 'db'` });
  assert.deepEqual(
    db.map((t) => [t.traceId, t.spans.map((s) => s.name)]),
    [[T1, ['GET /orders', 'db']]],
  );
  const byColumn = await reader.readSpans(ORG, {
    startNs: 0n,
    endNs: 2n ** 62n,
    where: (v) => {
      const cols = v.byKey.get('resource\u0000service.name');
      return cols ? `"${cols[0]!.column}" = 'web'` : null;
    },
  });
  assert.deepEqual(
    byColumn.map((t) => t.traceId),
    [T2],
  );
  const limited = await reader.readSpans(ORG, { startNs: 0n, endNs: 2n ** 62n, limit: 1 });
  assert.deepEqual(
    limited.map((t) => t.traceId),
    [T2],
  );
  assert.deepEqual(await reader.readSpans(ORG, { startNs: 0n, endNs: 2n ** 62n, where: () => null }), []);
});

test('candidateTraces: across streams by trace id, span counts in the window, conditions, pages', async () => {
  const all = { startNs: 0n, endNs: 2n ** 62n };
  const cands = (o: Partial<Parameters<SpanReader['candidateTraces']>[1]> = {}) =>
    reader
      .candidateTraces(ORG, { ...all, condRange: all, limit: 10, ...o })
      .then((cs) => cs.map((c) => [c.traceId, c.spans]));
  assert.deepEqual(await cands(), [
    [T2, 1],
    [T1, 2],
  ]);
  assert.deepEqual(await cands({ limit: 1 }), [[T2, 1]]);
  assert.deepEqual(await cands({ after: T2 }), [[T1, 2]]);
  // counts are of the window; the condition is looked for in condRange
  assert.deepEqual(
    await cands({ startNs: 1700000000050000000n, traceCond: (any) => any(() => `name = 'GET /orders'`) }),
    [[T1, 1]],
  );
  // "some span satisfies" per condition, over every stream
  const name = (n: string) => () => `name = '${n}'`;
  assert.deepEqual(await cands({ traceCond: (any) => `${any(name('db'))} AND ${any(name('root'))}` }), []);
  assert.deepEqual(await cands({ traceCond: (any) => `${any(name('db'))} OR ${any(name('root'))}` }), [
    [T2, 1],
    [T1, 2],
  ]);
  assert.deepEqual(await cands({ traceCond: (any) => any(() => null) }), []);
  assert.equal(
    await reader
      .candidateTraces(ORG, { ...all, condRange: all, limit: 1, traceCond: (any) => any(() => 'TRUE') })
      .then((c) => c.length),
    1,
  );
});

test('candidateTraces order newest: the latest first span in the window first', async () => {
  const all = { startNs: 0n, endNs: 2n ** 62n };
  const cands = (o: Partial<Parameters<SpanReader['candidateTraces']>[1]> = {}) =>
    reader
      .candidateTraces(ORG, { ...all, condRange: all, limit: 10, order: 'newest', ...o })
      .then((cs) => cs.map((c) => [c.traceId, c.spans, c.startNs]));
  assert.deepEqual(await cands(), [
    [T2, 1, 1700000005000000000n],
    [T1, 2, 1700000000000000001n],
  ]);
  assert.deepEqual(await cands({ limit: 1 }), [[T2, 1, 1700000005000000000n]]);
  // the first span in the window, not in the trace
  assert.deepEqual(await cands({ startNs: 1700000000050000000n, endNs: 1700000001000000000n }), [
    [T1, 1, 1700000000100000000n],
  ]);
});

test('overStreams: one SQL over every traces stream; spansRead counts spans read into memory', async () => {
  const all = { startNs: 0n, endNs: 2n ** 62n };
  const before = reader.spansRead;
  const rows = await reader.overStreams(ORG, all, (union, sql) =>
    sql(`SELECT count(DISTINCT trace_id) AS t, count(*) AS n FROM (${union(() => 'trace_id')})`),
  );
  assert.deepEqual(rows, [{ t: 2n, n: 3n }]);
  assert.equal(reader.spansRead, before, 'SQL only');
  await reader.readTraceIds(ORG, [T1, T2], {});
  assert.equal(reader.spansRead, before + 3);
  assert.equal(await reader.overStreams(asOrgId('offffffffffffffff'), all, async () => 1), undefined);
});

test('readTraceIds: whole traces across streams, by id; a column list leaves the rest out', async () => {
  const whole = await reader.readTraceIds(ORG, [T1, T2], {});
  assert.deepEqual(
    whole.map((t) => [t.traceId, t.spans.map((s) => s.name)]),
    [
      [T2, ['root']],
      [T1, ['GET /orders', 'db']],
    ],
  );
  assert.equal(whole[1]!.spans[0]!.events.length, 1);
  const bare = await reader.readTraceIds(
    ORG,
    [T1],
    { startNs: 1700000000050000000n },
    {
      columns: () => ['"trace_id"', '"span_id"', '"name"', '"_timestamp"'],
    },
  );
  assert.deepEqual(
    bare.map((t) => t.spans.map((s) => [s.name, s.attributes.length, s.events.length, s.resource.length])),
    [[['db', 0, 0, 0]]],
  );
});

test('spanStreamView: levels, keys, second types, overflow', () => {
  const v = spanStreamView(streams.get(ORG, 'traces', 'default')!);
  assert.deepEqual(
    v.byKey.get('span\u0000http.status_code')!.map((c) => [c.column, c.valueType]),
    [
      ['attr.http.status_code', 'int'],
      ['attr.http.status_code::str', 'str'],
    ],
  );
  assert.ok(v.byKey.has('resource\u0000service.name'));
  assert.ok(v.byKey.has('scope\u0000scope.k'));
  assert.ok(v.overflow.has('span\u0000overflowed'));
});

test('stored JSON: exact ints, int vs double, nested values kept as text', () => {
  assert.deepEqual(
    plainJsonAttrs('{"a":12345678901234567890,"b":1e+300,"c":[1,{"x":"]"}],"d":{"e":null},"f":null}'),
    [
      { key: 'a', type: 'int', value: '12345678901234567890' },
      { key: 'b', type: 'double', value: 1e300 },
      { key: 'c', type: 'array', value: '[1,{"x":"]"}]' },
      { key: 'd', type: 'kvlist', value: '{"e":null}' },
    ],
  );
  assert.deepEqual(splitObject('{ "k\\"q" : "v,}" }'), [['k"q', '"v,}"']]);
  assert.deepEqual(splitArray('[1, "a", [2]]'), ['1', '"a"', '[2]']);
});

test('fileMayHoldTrace: the catalogued trace_id range decides', () => {
  const f = (min: string | null, max: string | null) =>
    ({ columnStats: { trace_id: [min, max] } }) as unknown as FileRow;
  assert.equal(fileMayHoldTrace(f('1', '5'), '3'), true);
  assert.equal(fileMayHoldTrace(f('1', '5'), '6'), false);
  assert.equal(fileMayHoldTrace(f('1', '5'), '0'), false);
  assert.equal(fileMayHoldTrace({ columnStats: {} } as unknown as FileRow, '0'), true);
});
