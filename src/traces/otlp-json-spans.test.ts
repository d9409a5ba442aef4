import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupByTrace, spansFromOtlpJson } from './otlp-json-spans.ts';

test('OTLP/JSON → Span: ids, times, status, typed attributes, events, links', () => {
  const spans = spansFromOtlpJson({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
        scopeSpans: [
          {
            scope: { name: 'lib', version: '2' },
            spans: [
              {
                traceId: '002A17899411F325CFB2517C50282BA5',
                spanId: 'c3f20d9bca59ec5e',
                name: 'GET',
                kind: 2,
                startTimeUnixNano: '1767227728528458805',
                endTimeUnixNano: '1767227728651762137',
                attributes: [
                  { key: 'i', value: { intValue: '9007199254740993' } },
                  { key: 'd', value: { doubleValue: 1.5 } },
                  { key: 'b', value: { boolValue: true } },
                ],
                events: [{ timeUnixNano: '1', name: 'exception', attributes: [] }],
                links: [{ traceId: 'ba1e6159153f34d70245cc1b5751db2f', spanId: '52e53641608c2201' }],
                status: { code: 2, message: 'boom' },
              },
            ],
          },
        ],
      },
    ],
  });
  assert.equal(spans.length, 1);
  const s = spans[0]!;
  assert.equal(s.traceId, '002a17899411f325cfb2517c50282ba5');
  assert.equal(s.parentSpanId, '');
  assert.equal(s.durationNs, 123303332n);
  assert.equal(s.statusCode, 2);
  assert.equal(s.statusMessage, 'boom');
  assert.deepEqual(s.scope, { name: 'lib', version: '2' });
  assert.deepEqual(s.attributes, [
    { key: 'i', type: 'int', value: '9007199254740993' },
    { key: 'd', type: 'double', value: 1.5 },
    { key: 'b', type: 'bool', value: true },
  ]);
  assert.equal(s.events[0]!.name, 'exception');
  assert.equal(s.links[0]!.spanId, '52e53641608c2201');
  assert.deepEqual([...groupByTrace(spans).keys()], ['002a17899411f325cfb2517c50282ba5']);
});
