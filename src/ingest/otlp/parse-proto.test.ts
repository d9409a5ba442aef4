import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SeverityNumber } from '@opentelemetry/api-logs';
import type { ColumnBatch } from '../../write/column-batch.ts';
import { decodeLogsJson, decodeTracesJson } from './parse-json.ts';
import { decodeLogsProto, decodeTracesProto } from './parse-proto.ts';
import {
  buildRichSpans,
  contextWithSpan,
  encodeLogs,
  encodeSpans,
  realisticLogRecords,
  serializeLogs,
} from './otel-sdk-fixtures.ts';
import {
  any,
  assertBadRequest,
  assertBatchShape,
  hexBytes,
  kv,
  onlyBadRequests,
  pf32,
  pf64,
  pl,
  pv,
  sparse,
  unknownFields,
  type Bytes,
} from './otlp-test-kit.ts';

const NOW = 1_234_567_890_000_000_000n;
const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';

/** Decodes both encodings, checks they agree and the batch is well formed. */
function decodeBoth(kind: 'logs' | 'traces', proto: Uint8Array, json: string): ColumnBatch {
  const fromProto = kind === 'logs' ? decodeLogsProto(proto, NOW) : decodeTracesProto(proto, NOW);
  const fromJson = kind === 'logs' ? decodeLogsJson(json, NOW) : decodeTracesJson(json, NOW);
  assertBatchShape(fromProto);
  assert.deepStrictEqual(fromJson, fromProto, 'JSON and protobuf decode to the same batch');
  return fromProto;
}

test('logs from the OpenTelemetry SDK: protobuf and JSON give the same exact values and types', async () => {
  const enc = await encodeLogs([
    {
      timestamp: [1_700_000_000, 5],
      observedTimestamp: [1_700_000_000, 6],
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      body: 'hello',
      eventName: 'app.start',
      attributes: {
        s: 'x',
        i: 42,
        neg: -7,
        big: 2 ** 40,
        d: 1.5,
        b: true,
        bytes: new Uint8Array([0, 1, 2, 255]),
        arr: [1, 'two', true, null, 2.5],
        map: { a: 1, b: { c: 'd' } },
        nothing: null,
      },
      context: contextWithSpan(TRACE, SPAN),
    },
    { timestamp: [1_700_000_001, 0], body: { type: 0, url: 'https://x' } },
    { timestamp: [1_700_000_002, 0], body: ['a', 1, 2.5, false], severityNumber: SeverityNumber.ERROR4 },
    { timestamp: [1_700_000_003, 0], body: 12, attributes: { i: 'now a string' } },
    { timestamp: [1_700_000_004, 0], body: new Uint8Array([0, 1, 2, 255]) },
  ]);
  const batch = decodeBoth('logs', enc.proto, enc.json);
  const observed = enc.records.map(
    (r) => BigInt(r.hrTimeObserved[0]) * 1_000_000_000n + BigInt(r.hrTimeObserved[1]),
  );

  assert.equal(batch.signal, 'logs');
  assert.equal(batch.rowCount, 5);
  assert.equal(batch.rejectedCount, 0);
  assert.deepStrictEqual(batch.fixed, {
    _timestamp: [
      1_700_000_000_000_000_005n,
      1_700_000_001_000_000_000n,
      1_700_000_002_000_000_000n,
      1_700_000_003_000_000_000n,
      1_700_000_004_000_000_000n,
    ],
    observed_timestamp: [1_700_000_000_000_000_006n, ...observed.slice(1)],
    severity_number: [9, 0, 20, 0, 0],
    severity_text: ['INFO', null, null, null, null],
    body: ['hello', '{"type":0,"url":"https://x"}', '["a",1,2.5,false]', '12', '"AAEC/w=="'],
    trace_id: [TRACE, null, null, null, null],
    span_id: [SPAN, null, null, null, null],
    flags: [1n, 0n, 0n, 0n, 0n],
    event_name: ['app.start', null, null, null, null],
    dropped_attributes_count: [0, 0, 0, 0, 0],
    'scope.name': ['my.library', 'my.library', 'my.library', 'my.library', 'my.library'],
    'scope.version': ['1.0.0', '1.0.0', '1.0.0', '1.0.0', '1.0.0'],
  });
  assert.deepStrictEqual(batch.dynamic, [
    {
      name: 'resource.service.name',
      type: 'str',
      values: ['checkout', 'checkout', 'checkout', 'checkout', 'checkout'],
    },
    { name: 'attr.s', type: 'str', values: sparse(5, { 0: 'x' }) },
    { name: 'attr.i', type: 'int', values: sparse(5, { 0: 42n }) },
    { name: 'attr.neg', type: 'int', values: sparse(5, { 0: -7n }) },
    { name: 'attr.big', type: 'int', values: sparse(5, { 0: 1_099_511_627_776n }) },
    { name: 'attr.d', type: 'float', values: sparse(5, { 0: 1.5 }) },
    { name: 'attr.b', type: 'bool', values: sparse(5, { 0: true }) },
    { name: 'attr.bytes', type: 'bytes', values: sparse(5, { 0: new Uint8Array([0, 1, 2, 255]) }) },
    { name: 'attr.arr', type: 'json', values: sparse(5, { 0: '[1,"two",true,null,2.5]' }) },
    { name: 'attr.map', type: 'json', values: sparse(5, { 0: '{"a":1,"b":{"c":"d"}}' }) },
    { name: 'attr.i', type: 'str', values: sparse(5, { 3: 'now a string' }) },
  ]);
});

test('spans from the OpenTelemetry SDK: protobuf and JSON give the same exact values and types', async () => {
  const enc = await encodeSpans(buildRichSpans);
  const batch = decodeBoth('traces', enc.proto, enc.json);
  const [server, internal] = enc.records.map((s) => s.spanContext());
  assert.ok(server && internal);
  assert.equal(batch.rowCount, 2);
  assert.deepStrictEqual(batch.fixed, {
    _timestamp: [1_700_000_000_000_000_001n, 1_700_000_002_000_000_000n],
    end_timestamp: [1_700_000_001_000_000_250n, 1_700_000_002_000_001_000n],
    duration_ns: [1_000_000_249n, 1000n],
    trace_id: [TRACE, internal.traceId],
    span_id: [server.spanId, internal.spanId],
    parent_span_id: ['eee19b7ec3c1b173', null],
    trace_state: ['vendor=abc', null],
    name: ['GET /api/v1/orders', 'compute'],
    kind: [2, 1],
    status_code: [2, 1],
    status_message: ['upstream timed out', null],
    // W3C sampled, plus OTLP's "has is_remote" (0x100) and "is remote" (0x200) bits.
    flags: [0x301n, 0x101n],
    dropped_attributes_count: [0, 0],
    dropped_events_count: [0, 0],
    dropped_links_count: [0, 0],
    events: [
      [
        {
          time_unix_nano: 1_700_000_000_000_000_500n,
          name: 'cache.miss',
          attributes: '{"cache.key":"orders:42","cache.size":12,"cache.tags":["a","b"]}',
          dropped_attributes_count: 0,
        },
        {
          time_unix_nano: 1_700_000_000_000_000_600n,
          name: 'no.attributes',
          attributes: '{}',
          dropped_attributes_count: 0,
        },
      ],
      [],
    ],
    links: [
      [
        {
          trace_id: '0af7651916cd43dd8448eb211c80319c',
          span_id: 'b7ad6b7169203331',
          trace_state: 'x=1',
          attributes: '{"link.kind":"follows","link.n":3}',
          flags: 0x301n,
          dropped_attributes_count: 0,
        },
      ],
      [],
    ],
    'scope.name': ['my.tracer', 'my.tracer'],
    'scope.version': ['2.0.0', '2.0.0'],
  });
  assert.match(internal.traceId, /^[0-9a-f]{32}$/);
  assert.deepStrictEqual(batch.dynamic, [
    { name: 'resource.service.name', type: 'str', values: ['checkout', 'checkout'] },
    { name: 'attr.http.request.method', type: 'str', values: sparse(2, { 0: 'GET' }) },
    { name: 'attr.http.response.status_code', type: 'int', values: sparse(2, { 0: 200n }) },
    { name: 'attr.ratio', type: 'float', values: sparse(2, { 0: 0.25 }) },
    { name: 'attr.ok', type: 'bool', values: sparse(2, { 0: true }) },
    { name: 'attr.list.ints', type: 'json', values: sparse(2, { 1: '[1,2,3]' }) },
    { name: 'attr.list.strings', type: 'json', values: sparse(2, { 1: '["x","y"]' }) },
    { name: 'attr.neg', type: 'int', values: sparse(2, { 1: -42n }) },
  ]);
});

test('resource and scope attributes fill the rows of their group only', async () => {
  const a = await encodeLogs([{ body: 'a1' }, { body: 'a2' }], {
    resource: { 'service.name': 'a', 'host.cpus': 4 },
    scopeName: 'scope.a',
    scopeAttributes: { team: 'core' },
  });
  const b = await encodeLogs([{ body: 'b1' }], {
    resource: { 'service.name': 'b', 'deployment.canary': true },
    scopeName: 'scope.b',
    scopeVersion: '',
  });
  const enc = serializeLogs([...a.records, ...b.records]);
  const batch = decodeBoth('logs', enc.proto, enc.json);
  assert.equal(batch.rowCount, 3);
  assert.deepStrictEqual(batch.fixed.body, ['a1', 'a2', 'b1']);
  assert.deepStrictEqual(batch.fixed['scope.name'], ['scope.a', 'scope.a', 'scope.b']);
  assert.deepStrictEqual(batch.fixed['scope.version'], ['1.0.0', '1.0.0', null]);
  assert.deepStrictEqual(batch.dynamic, [
    { name: 'resource.service.name', type: 'str', values: ['a', 'a', 'b'] },
    { name: 'resource.host.cpus', type: 'int', values: sparse(3, { 0: 4n, 1: 4n }) },
    { name: 'scope.attr.team', type: 'str', values: sparse(3, { 0: 'core', 1: 'core' }) },
    { name: 'resource.deployment.canary', type: 'bool', values: sparse(3, { 2: true }) },
  ]);
});

// ---- Hand-made requests -------------------------------------------------------------------

interface LogFields {
  time?: bigint;
  observed?: bigint;
  traceId?: string;
  spanId?: string;
  attrs?: Bytes[];
  body?: Bytes;
  extra?: Bytes;
}

const logRecord = (f: LogFields): Bytes => [
  ...(f.time !== undefined ? pf64(1, f.time) : []),
  ...(f.body ? pl(5, f.body) : []),
  ...(f.attrs ?? []).flatMap((a) => pl(6, a)),
  ...(f.traceId !== undefined ? pl(9, hexBytes(f.traceId)) : []),
  ...(f.spanId !== undefined ? pl(10, hexBytes(f.spanId)) : []),
  ...(f.observed !== undefined ? pf64(11, f.observed) : []),
  ...(f.extra ?? []),
];
const scopeLogs = (records: Bytes[], scope?: Bytes): Bytes => [
  ...(scope ? pl(1, scope) : []),
  ...records.flatMap((r) => pl(2, r)),
];
const logsRequest = (resourceLogs: Bytes[]): Uint8Array =>
  new Uint8Array(resourceLogs.flatMap((r) => pl(1, r)));
const simpleLogs = (...records: Bytes[]): Uint8Array => logsRequest([pl(2, scopeLogs(records))]);

/** The same records in OTLP/JSON. */
const jsonLogs = (...records: object[]): string =>
  JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: records }] }] });

test('field order does not matter: a resource after its scopes, a scope after its records', () => {
  const resource = kv('service.name', any.str('svc'));
  const scope = [...pl(1, 'lib'), ...pl(2, '9'), ...pl(3, kv('scope.k', any.int(1n)))];
  const record = logRecord({ time: 10n, attrs: [kv('k', any.str('v'))] });
  const usual = logsRequest([[...pl(1, pl(1, resource)), ...pl(2, scopeLogs([record, record], scope))]]);
  const reordered = logsRequest([
    [...pl(2, [...pl(2, record), ...pl(2, record), ...pl(1, scope)]), ...pl(1, pl(1, resource))],
  ]);
  const a = decodeLogsProto(usual, NOW);
  const b = decodeLogsProto(reordered, NOW);
  assertBatchShape(b);
  assert.deepStrictEqual(b.fixed, a.fixed);
  assert.deepStrictEqual(new Set(b.dynamic.map((c) => c.name)), new Set(a.dynamic.map((c) => c.name)));
  for (const col of a.dynamic)
    assert.deepStrictEqual(
      b.dynamic.find((c) => c.name === col.name),
      col,
    );
});

test('unknown fields of every wire type are skipped at every level', () => {
  const value = [...any.str('v'), ...unknownFields()];
  const attr = [...kv('k', value), ...unknownFields()];
  const record = [...logRecord({ time: 10n, attrs: [attr] }), ...unknownFields()];
  const scope = [...pl(1, 'lib'), ...unknownFields()];
  const withUnknown = new Uint8Array([
    ...unknownFields(),
    ...pl(1, [
      ...pl(1, [...pl(1, kv('r', any.bool(true))), ...unknownFields()]),
      ...pl(2, [...pl(1, scope), ...pl(2, record), ...unknownFields()]),
      ...unknownFields(),
    ]),
  ]);
  const plain = logsRequest([
    [
      ...pl(1, pl(1, kv('r', any.bool(true)))),
      ...pl(2, scopeLogs([logRecord({ time: 10n, attrs: [kv('k', any.str('v'))] })], pl(1, 'lib'))),
    ],
  ]);
  assert.deepStrictEqual(decodeLogsProto(withUnknown, NOW), decodeLogsProto(plain, NOW));
});

test('timestamps: time, else observed time, else now; observed_timestamp null when 0', () => {
  const batch = decodeBoth(
    'logs',
    simpleLogs(
      logRecord({ time: 5n, observed: 6n }),
      logRecord({ observed: 7n }),
      logRecord({}),
      logRecord({ time: 0n, observed: 0n }),
    ),
    jsonLogs(
      { timeUnixNano: '5', observedTimeUnixNano: '6' },
      { observedTimeUnixNano: 7 },
      {},
      { timeUnixNano: 0, observedTimeUnixNano: '0' },
    ),
  );
  assert.deepStrictEqual(batch.fixed._timestamp, [5n, 7n, NOW, NOW]);
  assert.deepStrictEqual(batch.fixed.observed_timestamp, [6n, 7n, null, null]);
});

test('64-bit integers and odd doubles stay exact in columns and in JSON text', () => {
  const min = -(2n ** 63n);
  const max = 2n ** 63n - 1n;
  const batch = decodeBoth(
    'logs',
    simpleLogs(
      logRecord({
        attrs: [kv('min', any.int(min)), kv('max', any.int(max))],
        body: any.kvlist(
          kv('max', any.int(max)),
          kv('nan', any.double(NaN)),
          kv('inf', any.double(-Infinity)),
          kv('e', any.empty()),
        ),
      }),
    ),
    jsonLogs({
      attributes: [
        { key: 'min', value: { intValue: min.toString() } },
        { key: 'max', value: { intValue: max.toString() } },
      ],
      body: {
        kvlistValue: {
          values: [
            { key: 'max', value: { intValue: max.toString() } },
            { key: 'nan', value: { doubleValue: 'NaN' } },
            { key: 'inf', value: { doubleValue: '-Infinity' } },
            { key: 'e', value: {} },
          ],
        },
      },
    }),
  );
  assert.deepStrictEqual(batch.dynamic, [
    { name: 'attr.min', type: 'int', values: [min] },
    { name: 'attr.max', type: 'int', values: [max] },
  ]);
  assert.deepStrictEqual(batch.fixed.body, [`{"max":${max},"nan":"NaN","inf":"-Infinity","e":null}`]);
});

test('a repeated key keeps its last value, even across types; empty values are skipped', () => {
  const batch = decodeBoth(
    'logs',
    simpleLogs(
      logRecord({
        attrs: [
          kv('k', any.str('first')),
          kv('k', any.str('second')),
          kv('t', any.str('s')),
          kv('t', any.int(1n)),
        ],
      }),
      logRecord({ attrs: [kv('e', any.empty()), kv('nokey-value'), kv('t', any.int(2n))] }),
    ),
    jsonLogs(
      {
        attributes: [
          { key: 'k', value: { stringValue: 'first' } },
          { key: 'k', value: { stringValue: 'second' } },
          { key: 't', value: { stringValue: 's' } },
          { key: 't', value: { intValue: 1 } },
        ],
      },
      {
        attributes: [{ key: 'e', value: {} }, { key: 'nokey-value' }, { key: 't', value: { intValue: '2' } }],
      },
    ),
  );
  assert.deepStrictEqual(batch.dynamic, [
    { name: 'attr.k', type: 'str', values: sparse(2, { 0: 'second' }) },
    { name: 'attr.t', type: 'int', values: [1n, 2n] },
  ]);
});

test('log ids: empty or all-zero is null; a wrong length rejects only that record, with no trace left', () => {
  const zeroTrace = '0'.repeat(32);
  const batch = decodeBoth(
    'logs',
    simpleLogs(
      logRecord({ time: 1n, traceId: zeroTrace, spanId: '', attrs: [kv('a', any.int(1n))] }),
      logRecord({
        time: 2n,
        traceId: 'ab'.repeat(15),
        attrs: [kv('a', any.str('bad')), kv('only.bad', any.int(1n))],
      }),
      logRecord({ time: 3n, traceId: TRACE.toUpperCase(), spanId: SPAN, attrs: [kv('a', any.int(3n))] }),
      logRecord({ time: 4n, spanId: 'ff'.repeat(9) }),
    ),
    jsonLogs(
      {
        timeUnixNano: '1',
        traceId: zeroTrace,
        spanId: '',
        attributes: [{ key: 'a', value: { intValue: 1 } }],
      },
      {
        timeUnixNano: '2',
        traceId: 'AB'.repeat(15),
        attributes: [
          { key: 'a', value: { stringValue: 'bad' } },
          { key: 'only.bad', value: { intValue: 1 } },
        ],
      },
      {
        timeUnixNano: '3',
        traceId: TRACE.toUpperCase(),
        spanId: SPAN,
        attributes: [{ key: 'a', value: { intValue: 3 } }],
      },
      { timeUnixNano: '4', spanId: 'FF'.repeat(9) },
    ),
  );
  assert.equal(batch.rowCount, 2);
  assert.equal(batch.rejectedCount, 2);
  assert.equal(
    batch.rejectedMessage,
    'resourceLogs[0].scopeLogs[0].logRecords[1].traceId: expected 16 bytes (32 hex characters), got 15 bytes',
  );
  assert.deepStrictEqual(batch.fixed._timestamp, [1n, 3n]);
  assert.deepStrictEqual(batch.fixed.trace_id, [null, TRACE]);
  assert.deepStrictEqual(batch.fixed.span_id, [null, SPAN]);
  assert.deepStrictEqual(batch.dynamic, [{ name: 'attr.a', type: 'int', values: [1n, 3n] }]);
});

interface SpanBytes {
  traceId?: string;
  spanId?: string;
  parent?: string;
  links?: { traceId: string; spanId: string }[];
  attrs?: Bytes[];
}
const spanRecord = (s: SpanBytes): Bytes => [
  ...(s.traceId !== undefined ? pl(1, hexBytes(s.traceId)) : []),
  ...(s.spanId !== undefined ? pl(2, hexBytes(s.spanId)) : []),
  ...(s.parent !== undefined ? pl(4, hexBytes(s.parent)) : []),
  ...pl(5, 'op'),
  ...pf64(7, 1n),
  ...pf64(8, 3n),
  ...(s.attrs ?? []).flatMap((a) => pl(9, a)),
  ...(s.links ?? []).flatMap((l) =>
    pl(13, [...pl(1, hexBytes(l.traceId)), ...pl(2, hexBytes(l.spanId)), ...pf32(6, 1)]),
  ),
];
const tracesRequest = (...spans: Bytes[]): Uint8Array =>
  new Uint8Array(
    pl(
      1,
      pl(
        2,
        spans.flatMap((s) => pl(2, s)),
      ),
    ),
  );
const jsonSpans = (...spans: object[]): string =>
  JSON.stringify({
    resourceSpans: [
      {
        scopeSpans: [
          { spans: spans.map((s) => ({ name: 'op', startTimeUnixNano: '1', endTimeUnixNano: 3, ...s })) },
        ],
      },
    ],
  });

const spanRejections: { name: string; span: SpanBytes; message: string }[] = [
  {
    name: 'missing trace id',
    span: { spanId: SPAN },
    message: 'spans[0].traceId: missing; a span needs a 16-byte id',
  },
  {
    name: 'all-zero span id',
    span: { traceId: TRACE, spanId: '0'.repeat(16) },
    message: 'spans[0].spanId: an all-zero id is invalid',
  },
  {
    name: 'short parent span id',
    span: { traceId: TRACE, spanId: SPAN, parent: 'abcd' },
    message: 'spans[0].parentSpanId: expected 8 bytes (16 hex characters), got 2 bytes',
  },
  {
    name: 'bad link span id',
    span: {
      traceId: TRACE,
      spanId: SPAN,
      links: [
        { traceId: TRACE, spanId: SPAN },
        { traceId: TRACE, spanId: '' },
      ],
    },
    message: 'spans[0].links[1].spanId: missing; a span needs a 8-byte id',
  },
];

for (const c of spanRejections) {
  test(`a span with a ${c.name} is rejected, alone and with the same message in both encodings`, () => {
    const good = { traceId: TRACE, spanId: SPAN, attrs: [kv('a', any.int(1n))] };
    const bad = { ...c.span, attrs: [kv('a', any.str('x'))] };
    const toJson = (s: SpanBytes): object => ({
      traceId: s.traceId,
      spanId: s.spanId,
      parentSpanId: s.parent,
      links: s.links?.map((l) => ({ traceId: l.traceId, spanId: l.spanId, flags: 1 })),
      attributes:
        s === good ? [{ key: 'a', value: { intValue: 1 } }] : [{ key: 'a', value: { stringValue: 'x' } }],
    });
    const batch = decodeBoth(
      'traces',
      tracesRequest(spanRecord(bad), spanRecord(good)),
      jsonSpans(toJson(bad), toJson(good)),
    );
    assert.equal(batch.rowCount, 1);
    assert.equal(batch.rejectedCount, 1);
    assert.equal(batch.rejectedMessage, `resourceSpans[0].scopeSpans[0].${c.message}`);
    assert.deepStrictEqual(batch.fixed.span_id, [SPAN]);
    assert.deepStrictEqual(batch.dynamic, [{ name: 'attr.a', type: 'int', values: [1n] }]);
  });
}

test('AnyValue nesting is limited to 64 levels', () => {
  let ok = any.str('leaf');
  for (let i = 0; i < 64; i++) ok = any.array(ok);
  const batch = decodeLogsProto(simpleLogs(logRecord({ body: ok })), NOW);
  assert.equal(batch.fixed.body![0], `${'['.repeat(64)}"leaf"${']'.repeat(64)}`);
  assertBadRequest(
    () => decodeLogsProto(simpleLogs(logRecord({ body: any.array(ok) })), NOW),
    'MS_ERR_BAD_PROTOBUF',
    /AnyValue nested more than 64 levels deep/,
  );
});

// ---- Malformed input ----------------------------------------------------------------------

const validRecord = logRecord({ time: 1n, traceId: TRACE, spanId: SPAN, attrs: [kv('k', any.str('v'))] });

/** `logsOnly`: the bytes mean something else in a trace request. */
const malformed: { name: string; body: Bytes; message: RegExp; logsOnly?: boolean }[] = [
  {
    name: 'a length prefix past the end',
    body: [...pl(1, []).slice(0, 1), 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2],
    message: /^malformed protobuf: length 4294967295 at offset 1 runs past the end of the 8-byte message$/,
  },
  {
    name: 'a nested length past its parent',
    body: [0x0a, 0x02, 0x12, 0x05, 0, 0, 0, 0, 0],
    message:
      /length 5 at offset 3 runs past the end of its enclosing field \(which ends at offset 4 of the 9-byte message\)/,
  },
  {
    name: 'a varint longer than 10 bytes',
    body: pl(1, pl(2, pl(2, [0x10, ...Array<number>(10).fill(0x80), 0x01]))),
    message: /varint at offset 7 is longer than 10 bytes/,
    logsOnly: true,
  },
  {
    name: 'a start-group wire type',
    body: pl(1, pl(2, [0x0b])),
    message: /wire type 3 \(start group\) for field 1 at offset 4: groups are not supported/,
  },
  {
    name: 'an end-group wire type',
    body: [0x0c],
    message: /wire type 4 \(end group\) for field 1 at offset 0/,
  },
  {
    name: 'wire type 6',
    body: pl(1, pl(2, pl(2, [0x36]))),
    message: /invalid wire type 6 for field 6 at offset 6/,
  },
  { name: 'wire type 7', body: [0x0f], message: /invalid wire type 7/ },
  {
    name: 'a known field with the wrong wire type',
    body: pl(1, pl(2, pl(2, pv(1, 5)))),
    message: /field 1 \(time_unix_nano\) has wire type 0 \(varint\), expected 1 \(fixed64\)/,
    logsOnly: true,
  },
  {
    name: 'a truncated fixed64',
    body: pl(1, pl(2, pl(2, [0x09, 1, 2, 3]))),
    message: /truncated fixed64 at offset 7: needs 8 bytes, 3 left/,
    logsOnly: true,
  },
  { name: 'a truncated tag', body: [0x80], message: /truncated varint at offset 0/ },
];

for (const c of malformed) {
  test(`malformed protobuf is a 400: ${c.name}`, () => {
    for (const decode of c.logsOnly ? [decodeLogsProto] : [decodeLogsProto, decodeTracesProto]) {
      assertBadRequest(() => decode(new Uint8Array(c.body), NOW), 'MS_ERR_BAD_PROTOBUF', c.message);
    }
  });
}

test('every truncation of a valid request is refused as malformed protobuf', () => {
  const body = simpleLogs(validRecord, validRecord);
  assert.equal(decodeLogsProto(body, NOW).rowCount, 2);
  for (let cut = 1; cut < body.length; cut++) {
    assertBadRequest(
      () => decodeLogsProto(body.subarray(0, cut), NOW),
      'MS_ERR_BAD_PROTOBUF',
      /^malformed protobuf: /,
    );
  }
});

// ---- Properties ---------------------------------------------------------------------------

test('property: random bytes never throw anything but a 400 MoleError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      onlyBadRequests(() => decodeLogsProto(bytes, NOW));
      onlyBadRequests(() => decodeTracesProto(bytes, NOW));
    }),
    { numRuns: 3000 },
  );
});

test('property: mutated valid requests never throw anything but a 400 MoleError', async () => {
  const logs = (await encodeLogs(realisticLogRecords(3))).proto;
  const spans = (await encodeSpans(buildRichSpans)).proto;
  const mutation = fc.record({
    body: fc.constantFrom(logs, spans),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
    cut: fc.option(fc.nat()),
    insert: fc.option(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 12 }))),
  });
  fc.assert(
    fc.property(mutation, ({ body, flips, cut, insert }) => {
      let bytes = Uint8Array.from(body);
      for (const [at, value] of flips) bytes[at % bytes.length] = value;
      if (insert) {
        const at = insert[0] % bytes.length;
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...insert[1], ...bytes.subarray(at)]);
      }
      if (cut !== null) bytes = bytes.subarray(0, cut % (bytes.length + 1));
      onlyBadRequests(() => decodeLogsProto(bytes, NOW));
      onlyBadRequests(() => decodeTracesProto(bytes, NOW));
    }),
    { numRuns: 3000 },
  );
});
