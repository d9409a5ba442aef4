import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { ColumnBatch } from '../../write/column-batch.ts';
import { decodeLogsJson, decodeTracesJson } from './parse-json.ts';
import { buildRichSpans, encodeLogs, encodeSpans, realisticLogRecords } from './otel-sdk-fixtures.ts';
import { assertBadRequest, assertBatchShape, onlyBadRequests } from './otlp-test-kit.ts';

const NOW = 1_234_567_890_000_000_000n;

// ---- Conformance files (../shared/conformance/otlp, outside the repo; never copied in) ------

const CONFORMANCE = new URL('../../../../shared/conformance/otlp/', import.meta.url);

function conformance(t: TestContext, name: string): string | undefined {
  const file = new URL(name, CONFORMANCE);
  if (!existsSync(file)) {
    if (process.env.CI === 'true') assert.fail(`${file.pathname} is missing; CI needs ../shared/conformance`);
    t.skip('../shared/conformance absent');
    return undefined;
  }
  return readFileSync(file, 'utf8');
}

const exampleResourceAndScope = (rows: number) => [
  { name: 'resource.service.name', type: 'str', values: new Array<string>(rows).fill('my.service') },
  {
    name: 'scope.attr.my.scope.attribute',
    type: 'str',
    values: new Array<string>(rows).fill('some scope attribute'),
  },
];

test('conformance: logs.json', (t) => {
  const text = conformance(t, 'logs.json');
  if (text === undefined) return;
  const batch = decodeLogsJson(text, NOW);
  assertBatchShape(batch);
  assert.deepStrictEqual(batch, {
    signal: 'logs',
    rowCount: 1,
    fixed: {
      _timestamp: [1_544_712_660_300_000_000n],
      observed_timestamp: [1_544_712_660_300_000_000n],
      severity_number: [10],
      severity_text: ['Information'],
      body: ['Example log record'],
      trace_id: ['5b8efff798038103d269b633813fc60c'],
      span_id: ['eee19b7ec3c1b174'],
      flags: [0n],
      event_name: [null],
      dropped_attributes_count: [0],
      'scope.name': ['my.library'],
      'scope.version': ['1.0.0'],
    },
    dynamic: [
      ...exampleResourceAndScope(1),
      { name: 'attr.string.attribute', type: 'str', values: ['some string'] },
      { name: 'attr.boolean.attribute', type: 'bool', values: [true] },
      { name: 'attr.int.attribute', type: 'int', values: [10n] },
      { name: 'attr.double.attribute', type: 'float', values: [637.704] },
      { name: 'attr.array.attribute', type: 'json', values: ['["many","values"]'] },
      { name: 'attr.map.attribute', type: 'json', values: ['{"some.map.key":"some value"}'] },
    ],
    rejectedCount: 0,
    rejectedMessage: '',
  });
});

test('conformance: events.json', (t) => {
  const text = conformance(t, 'events.json');
  if (text === undefined) return;
  const batch = decodeLogsJson(text, NOW);
  assertBatchShape(batch);
  assert.deepStrictEqual(batch, {
    signal: 'logs',
    rowCount: 1,
    fixed: {
      _timestamp: [1_544_712_660_300_000_000n],
      observed_timestamp: [1_544_712_660_300_000_000n],
      severity_number: [9],
      severity_text: ['test severity text'],
      body: [
        '{"type":0,"url":"https://www.guidgenerator.com/online-guid-generator.aspx",' +
          '"referrer":"https://wwww.google.com","title":"Free Online GUID Generator"}',
      ],
      trace_id: [null],
      span_id: [null],
      flags: [0n],
      event_name: ['browser.page_view'],
      dropped_attributes_count: [0],
      'scope.name': ['my.library'],
      'scope.version': ['1.0.0'],
    },
    dynamic: [
      ...exampleResourceAndScope(1),
      { name: 'attr.event.attribute', type: 'str', values: ['some event attribute'] },
    ],
    rejectedCount: 0,
    rejectedMessage: '',
  });
});

test('conformance: trace.json', (t) => {
  const text = conformance(t, 'trace.json');
  if (text === undefined) return;
  const batch = decodeTracesJson(text, NOW);
  assertBatchShape(batch);
  assert.deepStrictEqual(batch, {
    signal: 'traces',
    rowCount: 1,
    fixed: {
      _timestamp: [1_544_712_660_000_000_000n],
      end_timestamp: [1_544_712_661_000_000_000n],
      duration_ns: [1_000_000_000n],
      trace_id: ['5b8efff798038103d269b633813fc60c'],
      span_id: ['eee19b7ec3c1b174'],
      parent_span_id: ['eee19b7ec3c1b173'],
      trace_state: [null],
      name: ["I'm a server span"],
      kind: [2],
      status_code: [0],
      status_message: [null],
      flags: [0n],
      dropped_attributes_count: [0],
      dropped_events_count: [0],
      dropped_links_count: [0],
      events: [[]],
      links: [[]],
      'scope.name': ['my.library'],
      'scope.version': ['1.0.0'],
    },
    dynamic: [
      ...exampleResourceAndScope(1),
      { name: 'attr.my.span.attr', type: 'str', values: ['some value'] },
    ],
    rejectedCount: 0,
    rejectedMessage: '',
  });
});

// ---- Encoding variants --------------------------------------------------------------------

const logsDoc = (record: object, extra: object = {}): string =>
  JSON.stringify({
    resourceLogs: [{ scopeLogs: [{ scope: { name: 's' }, logRecords: [record] }], ...extra }],
  });

test('snake_case keys, enum names and int64 strings or numbers decode like the canonical form', () => {
  const canonical = decodeTracesJson(
    JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'r', value: { intValue: '7' } }], droppedAttributesCount: 0 },
          scopeSpans: [
            {
              scope: { name: 'lib', version: '1', droppedAttributesCount: 0 },
              spans: [
                {
                  traceId: 'AABBCCDDEEFF00112233445566778899',
                  spanId: 'aabbccddeeff0011',
                  parentSpanId: '',
                  traceState: 'k=v',
                  name: 'op',
                  kind: 3,
                  startTimeUnixNano: '1544712660000000000',
                  endTimeUnixNano: '1544712660000000100',
                  attributes: [{ key: 'a', value: { doubleValue: 2 } }],
                  droppedAttributesCount: 1,
                  events: [{ timeUnixNano: '5', name: 'e', attributes: [], droppedAttributesCount: 2 }],
                  droppedEventsCount: 3,
                  links: [],
                  droppedLinksCount: 4,
                  status: { code: 2, message: 'boom' },
                  flags: 257,
                },
              ],
            },
          ],
        },
      ],
    }),
    NOW,
  );
  const variant = decodeTracesJson(
    JSON.stringify({
      resource_spans: [
        {
          resource: { attributes: [{ key: 'r', value: { int_value: 7 } }], dropped_attributes_count: '0' },
          scope_spans: [
            {
              scope: { name: 'lib', version: '1', dropped_attributes_count: 0 },
              spans: [
                {
                  trace_id: 'aabbccddeeff00112233445566778899',
                  span_id: 'AABBCCDDEEFF0011',
                  parent_span_id: null,
                  trace_state: 'k=v',
                  name: 'op',
                  kind: 'SPAN_KIND_CLIENT',
                  start_time_unix_nano: '1544712660000000000',
                  end_time_unix_nano: '1544712660000000100',
                  attributes: [{ key: 'a', value: { double_value: '2' } }],
                  dropped_attributes_count: '1',
                  events: [{ time_unix_nano: 5, name: 'e', dropped_attributes_count: 2 }],
                  dropped_events_count: 3,
                  dropped_links_count: 4,
                  status: { code: 'STATUS_CODE_ERROR', message: 'boom' },
                  flags: '257',
                },
              ],
            },
          ],
        },
      ],
    }),
    NOW,
  );
  assertBatchShape(canonical);
  assert.deepStrictEqual(variant, canonical);
  assert.deepStrictEqual(canonical.fixed.trace_id, ['aabbccddeeff00112233445566778899']);
  assert.deepStrictEqual(canonical.fixed.kind, [3]);
  assert.deepStrictEqual(canonical.fixed.status_code, [2]);
  assert.deepStrictEqual(canonical.fixed.flags, [257n]);

  const severity = decodeLogsJson(
    logsDoc({ severityNumber: 'SEVERITY_NUMBER_WARN2', severity_text: 'W' }),
    NOW,
  );
  assert.deepStrictEqual(severity.fixed.severity_number, [14]);
  assert.deepStrictEqual(severity.fixed.severity_text, ['W']);
});

test('__proto__ and other prototype keys are plain data', () => {
  const text =
    '{"resourceLogs":[{"__proto__":{"polluted":1},"scopeLogs":[{"logRecords":[{"__proto__":{"x":1},' +
    '"constructor":"c","attributes":[{"key":"__proto__","value":{"stringValue":"p"}},' +
    '{"key":"constructor","value":{"kvlistValue":{"values":[{"key":"__proto__","value":{"intValue":"1"}}]}}}]}]}]}]}';
  const batch = decodeLogsJson(text, NOW);
  assertBatchShape(batch);
  assert.deepStrictEqual(batch.dynamic, [
    { name: 'attr.__proto__', type: 'str', values: ['p'] },
    { name: 'attr.constructor', type: 'json', values: ['{"__proto__":1}'] },
  ]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(({} as Record<string, unknown>).x, undefined);
});

test('bytes are base64 (standard or URL-safe) and become a copy of the bytes', () => {
  const batch = decodeLogsJson(
    logsDoc({
      body: { bytesValue: '-_8' },
      attributes: [{ key: 'b', value: { bytesValue: 'AAEC/w==' } }],
    }),
    NOW,
  );
  assert.deepStrictEqual(batch.fixed.body, ['"+/8="']);
  assert.deepStrictEqual(batch.dynamic, [
    { name: 'attr.b', type: 'bytes', values: [new Uint8Array([0, 1, 2, 255])] },
  ]);
});

test('an empty or absent request gives an empty batch', () => {
  for (const text of [
    '{}',
    '{"resourceLogs":[]}',
    '{"resourceLogs":null}',
    '{"resourceLogs":[{"scopeLogs":[{}]}]}',
  ]) {
    const batch = decodeLogsJson(text, NOW);
    assertBatchShape(batch);
    assert.equal(batch.rowCount, 0);
    assert.deepStrictEqual(batch.dynamic, []);
  }
});

// ---- Malformed input ----------------------------------------------------------------------

const R = 'resourceLogs[0].scopeLogs[0].logRecords[0]';
const badJson: { name: string; text: string; message: RegExp; traces?: boolean }[] = [
  {
    name: 'truncated JSON',
    text: '{"resourceLogs":[',
    message: /^malformed JSON: .*(end of JSON|Unexpected end)/i,
  },
  { name: 'empty body', text: '', message: /^malformed JSON: / },
  { name: 'not JSON at all', text: 'resourceLogs=1', message: /^malformed JSON: Unexpected token/ },
  { name: 'a root array', text: '[]', message: /^\(root\): expected an object, got an array$/ },
  { name: 'a root string', text: '"x"', message: /^\(root\): expected an object, got the string "x"$/ },
  {
    name: 'resourceLogs not an array',
    text: '{"resourceLogs":5}',
    message: /^resourceLogs: expected an array, got 5$/,
  },
  {
    name: 'a resource group not an object',
    text: '{"resourceLogs":[null]}',
    message: /^resourceLogs\[0\]: expected an object, got null$/,
  },
  {
    name: 'a record not an object',
    text: '{"resourceLogs":[{"scopeLogs":[{"logRecords":[1]}]}]}',
    message: /^resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[0\]: expected an object, got 1$/,
  },
  {
    name: 'a non-hex trace id',
    text: logsDoc({ traceId: 'zz'.repeat(16) }),
    message: new RegExp(`^${R.replace(/[[\].]/g, '\\$&')}\\.traceId: expected 32 hex characters`),
  },
  {
    name: 'an odd-length span id',
    text: logsDoc({ spanId: 'abc' }),
    message: /logRecords\[0\]\.spanId: expected 16 hex characters/,
  },
  {
    name: 'a numeric trace id',
    text: logsDoc({ traceId: 12 }),
    message: /logRecords\[0\]\.traceId: expected a string, got 12/,
  },
  {
    name: 'a timestamp that is not a number',
    text: logsDoc({ timeUnixNano: 'soon' }),
    message:
      /logRecords\[0\]\.timeUnixNano: expected an unsigned 64-bit integer as a decimal string, got "soon"/,
  },
  {
    name: 'a negative timestamp',
    text: logsDoc({ observedTimeUnixNano: '-1' }),
    message: /logRecords\[0\]\.observedTimeUnixNano: expected an unsigned 64-bit integer/,
  },
  {
    name: 'a timestamp past 2^64',
    text: logsDoc({ timeUnixNano: '18446744073709551616' }),
    message: /logRecords\[0\]\.timeUnixNano: expected an unsigned 64-bit integer/,
  },
  {
    name: 'a timestamp as a number beyond 2^53',
    text: logsDoc({}).replace('"logRecords":[{}]', '"logRecords":[{"timeUnixNano":1544712660300000000}]'),
    message:
      /logRecords\[0\]\.timeUnixNano: 1544712660300000000 is beyond 2\^53, where JSON numbers lose precision; send 64-bit integers as decimal strings/,
  },
  {
    name: 'an intValue that is a fraction',
    text: logsDoc({ attributes: [{ key: 'k', value: { intValue: 1.5 } }] }),
    message: /logRecords\[0\]\.attributes\[0\]\.value\.intValue: expected a 64-bit integer, got 1\.5/,
  },
  {
    name: 'an intValue past int64',
    text: logsDoc({ attributes: [{ key: 'k', value: { intValue: '9223372036854775808' } }] }),
    message: /attributes\[0\]\.value\.intValue: expected a 64-bit integer as a decimal string/,
  },
  {
    name: 'a string value that is a number',
    text: logsDoc({ body: { stringValue: 5 } }),
    message: /logRecords\[0\]\.body\.stringValue: expected a string, got 5/,
  },
  {
    name: 'a bool value that is a string',
    text: logsDoc({ attributes: [{ key: 'k', value: { boolValue: 'true' } }] }),
    message: /attributes\[0\]\.value\.boolValue: expected true or false, got the string "true"/,
  },
  {
    name: 'bytes that are not base64',
    text: logsDoc({ attributes: [{ key: 'k', value: { bytesValue: 'not base64!' } }] }),
    message: /attributes\[0\]\.value\.bytesValue: expected base64 bytes/,
  },
  {
    name: 'a bad value deep in an array',
    text: logsDoc({
      body: {
        arrayValue: {
          values: [{ intValue: 1 }, { kvlistValue: { values: [{ key: 'k', value: { doubleValue: 'x' } }] } }],
        },
      },
    }),
    message:
      /logRecords\[0\]\.body\.arrayValue\.values\[1\]\.kvlistValue\.values\[0\]\.value\.doubleValue: expected a number/,
  },
  {
    name: 'an attribute key that is not a string',
    text: logsDoc({ attributes: [{ key: 1, value: { intValue: 1 } }] }),
    message: /logRecords\[0\]\.attributes\[0\]\.key: expected a string, got 1/,
  },
  {
    name: 'attributes not an array',
    text: logsDoc({}, { resource: { attributes: {} } }),
    message: /^resourceLogs\[0\]\.resource\.attributes: expected an array, got an object$/,
  },
  {
    name: 'an unknown severity name',
    text: logsDoc({ severityNumber: 'SEVERITY_NUMBER_LOUD' }),
    message:
      /logRecords\[0\]\.severityNumber: expected an integer or one of SEVERITY_NUMBER_UNSPECIFIED, SEVERITY_NUMBER_TRACE/,
  },
  {
    name: 'a negative dropped count',
    text: logsDoc({ droppedAttributesCount: -1 }),
    message: /logRecords\[0\]\.droppedAttributesCount: expected an unsigned 32-bit integer, got -1/,
  },
  {
    name: 'a bad span link id',
    text: JSON.stringify({
      resourceSpans: [
        { scopeSpans: [{}, { spans: [{}, {}, {}, { traceId: 'g'.repeat(32), spanId: 'a'.repeat(16) }] }] },
      ],
    }),
    message: /^resourceSpans\[0\]\.scopeSpans\[1\]\.spans\[3\]\.traceId: expected 32 hex characters/,
    traces: true,
  },
  {
    name: 'a bad span event time',
    text: JSON.stringify({
      resourceSpans: [{ scopeSpans: [{ spans: [{ events: [{ timeUnixNano: 1.5 }] }] }] }],
    }),
    message:
      /^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.events\[0\]\.timeUnixNano: expected an unsigned 64-bit integer, got 1\.5$/,
    traces: true,
  },
  {
    name: 'an unknown span kind',
    text: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ kind: 'SPAN_KIND_SIDEWAYS' }] }] }] }),
    message: /spans\[0\]\.kind: expected an integer or one of SPAN_KIND_UNSPECIFIED/,
    traces: true,
  },
];

for (const c of badJson) {
  test(`bad OTLP/JSON is a 400 naming the problem: ${c.name}`, () => {
    assertBadRequest(
      () => (c.traces ? decodeTracesJson : decodeLogsJson)(c.text, NOW),
      'MS_ERR_BAD_JSON',
      c.message,
    );
  });
}

test('AnyValue nesting is limited to 64 levels', () => {
  let ok: object = { stringValue: 'leaf' };
  for (let i = 0; i < 64; i++) ok = { arrayValue: { values: [ok] } };
  const batch = decodeLogsJson(logsDoc({ body: ok }), NOW);
  assert.equal(batch.fixed.body![0], `${'['.repeat(64)}"leaf"${']'.repeat(64)}`);
  assertBadRequest(
    () => decodeLogsJson(logsDoc({ body: { arrayValue: { values: [ok] } } }), NOW),
    'MS_ERR_BAD_JSON',
    /AnyValue nested more than 64 levels deep/,
  );
});

test('a wrong-length id rejects the record (as in protobuf), a non-hex one the request', () => {
  const batch = decodeLogsJson(
    JSON.stringify({
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                { traceId: 'ab'.repeat(17), body: { stringValue: 'x' } },
                { body: { stringValue: 'y' } },
              ],
            },
          ],
        },
      ],
    }),
    NOW,
  );
  assert.equal(batch.rowCount, 1);
  assert.deepStrictEqual(batch.fixed.body, ['y']);
  assert.equal(batch.rejectedCount, 1);
  assert.equal(
    batch.rejectedMessage,
    'resourceLogs[0].scopeLogs[0].logRecords[0].traceId: expected 16 bytes (32 hex characters), got 17 bytes',
  );
  assert.deepStrictEqual(batch.dynamic, []);
});

// ---- Properties ---------------------------------------------------------------------------

const decoders = (text: string): void => {
  onlyBadRequests((): ColumnBatch => decodeLogsJson(text, NOW));
  onlyBadRequests((): ColumnBatch => decodeTracesJson(text, NOW));
};

test('property: arbitrary text and arbitrary JSON never throw anything but a 400 MoleError', () => {
  fc.assert(fc.property(fc.string({ maxLength: 200 }), decoders), { numRuns: 1500 });
  const shaped = fc.jsonValue().map((v) =>
    JSON.stringify({
      resourceLogs: [
        { resource: v, scopeLogs: [{ scope: v, logRecords: [v, { body: v, attributes: [v] }] }] },
      ],
      resourceSpans: [
        { scopeSpans: [{ spans: [v, { events: [v], links: [v], status: v, attributes: v }] }] },
      ],
    }),
  );
  fc.assert(fc.property(shaped, decoders), { numRuns: 1500 });
  fc.assert(
    fc.property(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      decoders,
    ),
    { numRuns: 1500 },
  );
});

test('property: mutated valid JSON requests never throw anything but a 400 MoleError', async () => {
  const logs = (await encodeLogs(realisticLogRecords(2))).json;
  const spans = (await encodeSpans(buildRichSpans)).json;
  const mutation = fc.record({
    text: fc.constantFrom(logs, spans),
    edits: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 8 }), fc.string({ maxLength: 6 })), {
      minLength: 1,
      maxLength: 4,
    }),
  });
  fc.assert(
    fc.property(mutation, ({ text, edits }) => {
      let t = text;
      for (const [at, remove, insert] of edits) {
        const i = at % (t.length + 1);
        t = t.slice(0, i) + insert + t.slice(i + remove);
      }
      decoders(t);
    }),
    { numRuns: 3000 },
  );
});
