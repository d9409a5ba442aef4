/**
 * Done-when 7: a new field becomes a column; a field whose type changes gets a second column
 * (`attr.code::str`) without rejecting the batch; fields past the per-stream limit land in
 * `_attributes`; the schema API shows where every field went.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { otlpJsonLogs, startServer, type ServerProcess } from './harness.ts';

describe('schema evolution', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.stop();
  });

  const post = async (stream: string, body: unknown) => {
    const res = await server.fetch('/v1/logs', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stream-name': stream },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.equal(text, '{}', 'nothing rejected');
  };
  const schema = async (stream: string) => {
    const res = await server.fetch(`/api/default/streams/${stream}/schema?type=logs`);
    assert.equal(res.status, 200);
    return (await res.json()) as {
      columns: { name: string; type: string; value_type?: string }[];
      fields: { key: string; value_type: string; placement: string; column: string }[];
    };
  };

  test('new fields become columns; a changed type gets its own typed column', async () => {
    await post('evo', otlpJsonLogs([{ id: 'a', attrs: { code: 200 } }]));
    await post('evo', otlpJsonLogs([{ id: 'b', attrs: { code: 'E42', region: 'eu' } }]));
    await post('evo', otlpJsonLogs([{ id: 'c', attrs: { code: 1.5 } }]));
    const r = await server.search(
      `SELECT "attr.rid" AS rid, "attr.code", "attr.code::str", "attr.code::float", "attr.region" FROM logs.evo ORDER BY rid`,
    );
    assert.deepEqual(r.hits, [
      { rid: 'a', 'attr.code': 200, 'attr.code::str': null, 'attr.code::float': null, 'attr.region': null },
      { rid: 'b', 'attr.code': null, 'attr.code::str': 'E42', 'attr.code::float': null, 'attr.region': 'eu' },
      { rid: 'c', 'attr.code': null, 'attr.code::str': null, 'attr.code::float': 1.5, 'attr.region': null },
    ]);
    const types = Object.fromEntries(r.columns.map((c) => [c.name, c.type]));
    assert.equal(types['attr.code'], 'BIGINT');
    assert.equal(types['attr.code::str'], 'VARCHAR');
    assert.equal(types['attr.code::float'], 'DOUBLE');
    const s = await schema('evo');
    const code = s.fields.filter((f) => f.key === 'attr.code');
    assert.deepEqual(
      code.map((f) => [f.value_type, f.column, f.placement]),
      [
        ['int', 'attr.code', 'column'],
        ['str', 'attr.code::str', 'column'],
        ['float', 'attr.code::float', 'column'],
      ],
    );
  });

  test('the types survive a flush to Parquet and a restart', async () => {
    await server.fetch('/api/default/streams/evo/_flush', { method: 'POST' });
    await server.stop();
    server = await startServer({ dataDir: server.dataDir });
    await post('evo', otlpJsonLogs([{ id: 'd', attrs: { code: 'X' } }]));
    const r = await server.search(
      `SELECT "attr.rid" AS rid, "attr.code", "attr.code::str" FROM logs.evo ORDER BY rid`,
    );
    assert.deepEqual(
      r.hits.map((h) => [h.rid, h['attr.code'], h['attr.code::str']]),
      [
        ['a', 200, null],
        ['b', null, 'E42'],
        ['c', null, null],
        ['d', null, 'X'],
      ],
    );
  });

  test('fields past the stream limit go to _attributes, with scope, key and type', async () => {
    await post('narrow', otlpJsonLogs([{ id: 'first' }]));
    const res = await server.fetch('/api/default/streams/narrow/settings?type=logs', {
      method: 'PUT',
      body: JSON.stringify({ max_fields: 4 }),
    });
    assert.equal(res.status, 200, await res.text());
    // service.name (resource) and rid exist; two more fit, the rest overflow
    await post(
      'narrow',
      otlpJsonLogs([{ id: 'wide', attrs: { a: 1, b: 'two', c: true, d: 2.5, e: 'five' } }]),
    );
    const r = await server.search(`SELECT * FROM logs.narrow WHERE "attr.rid" = 'wide'`);
    const row = r.hits[0]!;
    assert.equal(row['attr.a'], 1);
    assert.equal(row['attr.b'], 'two');
    assert.equal(row['attr.c'], undefined, 'no column for attr.c');
    assert.deepEqual(JSON.parse(row._attributes as string), {
      'attr.c': { type: 'bool', value: true },
      'attr.d': { type: 'float', value: 2.5 },
      'attr.e': { type: 'str', value: 'five' },
    });
    const s = await schema('narrow');
    const where = Object.fromEntries(s.fields.map((f) => [f.key, f.placement]));
    assert.deepEqual(where, {
      'resource.service.name': 'column',
      'attr.rid': 'column',
      'attr.a': 'column',
      'attr.b': 'column',
      'attr.c': '_attributes',
      'attr.d': '_attributes',
      'attr.e': '_attributes',
    });
    const overflowQuery = await server.search(
      `SELECT _attributes->>'$."attr.e".value' AS e FROM logs.narrow WHERE "attr.rid" = 'wide'`,
    );
    assert.deepEqual(overflowQuery.hits, [{ e: 'five' }]);
  });
});
