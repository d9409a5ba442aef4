import assert from 'node:assert/strict';
import { test } from 'node:test';
import { levelKey, type AttrColumn, type SpanStreamView } from '../span-reader.ts';
import type { StreamState } from '../../write/streams.ts';
import type { ValueType } from '../../write/column-batch.ts';
import { parseSearchRequest } from './search-request.ts';
import { needColumns, searchNeeds } from './projection.ts';

const cols: [string, AttrColumn['level'], string, ValueType][] = [
  ['resource.service.name', 'resource', 'service.name', 'str'],
  ['resource.host.name', 'resource', 'host.name', 'str'],
  ['attr.code', 'span', 'code', 'str'],
  ['attr.code::int', 'span', 'code', 'int'],
  ['attr.db.system', 'span', 'db.system', 'str'],
  ['resource.db.system', 'resource', 'db.system', 'str'],
  ['attr.http.url', 'span', 'http.url', 'str'],
];
const byKey = new Map<string, AttrColumn[]>();
const attrs = cols.map(([column, level, key, valueType]) => ({ column, level, key, valueType }));
for (const a of attrs)
  byKey.set(levelKey(a.level, a.key), [...(byKey.get(levelKey(a.level, a.key)) ?? []), a]);
const V: SpanStreamView = {
  stream: {} as StreamState,
  attrs,
  byKey,
  overflow: new Map([[levelKey('span', 'ov'), ['str']]]),
};

const BASE = [
  '"_timestamp"',
  '"end_timestamp"',
  '"duration_ns"',
  '"trace_id"',
  '"span_id"',
  '"parent_span_id"',
  '"name"',
  '"kind"',
  '"status_code"',
];
const columns = (params: Record<string, string>) =>
  needColumns(searchNeeds(parseSearchRequest(new URLSearchParams(params))), V);

test('a search reads the base columns, service.name and what its query mentions', () => {
  assert.deepEqual(columns({ q: '{ }' }), [...BASE, '"resource.service.name"']);
  // a typed key reads each of its columns; `.x` the span and the resource one
  assert.deepEqual(columns({ q: '{ span.code = 7 } | select(.db.system)' }), [
    ...BASE,
    '"resource.service.name"',
    '"attr.code"',
    '"attr.code::int"',
    '"attr.db.system"',
    '"resource.db.system"',
  ]);
  // intrinsics beyond the base, events, links, scope; a missing attribute reads nothing
  assert.deepEqual(
    columns({
      q: '{ statusMessage = "x" && event:name = "e" } >> { link.a = 1 } | by(instrumentation:name) | avg(span.nope) > 1',
    }),
    [
      ...BASE,
      '"status_message"',
      '"events"',
      '"links"',
      '"scope.name"',
      '"scope.version"',
      '"resource.service.name"',
    ],
  );
  // a key in the overflow JSON reads it
  assert.deepEqual(columns({ q: '{ span.ov = "x" }' }), [
    ...BASE,
    '"resource.service.name"',
    '"_attributes"',
  ]);
});

test('a legacy search reads its tag keys at both levels', () => {
  assert.deepEqual(columns({ tags: 'root.service.name=a name=b status.code=error http.url=/x' }), [
    ...BASE,
    '"resource.service.name"',
    '"attr.http.url"',
  ]);
});
