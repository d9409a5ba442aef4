/** Edges of the query, stream and admin APIs (each a bug found in review). */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { otlpJsonLogs, startServer, type ServerProcess } from './harness.ts';

describe('API edges', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer();
    for (const signal of ['logs', 'traces'] as const) {
      const body =
        signal === 'logs'
          ? otlpJsonLogs([{ id: 'e1' }, { id: 'e2' }])
          : {
              resourceSpans: [
                {
                  scopeSpans: [
                    {
                      spans: [
                        {
                          traceId: 'ab'.repeat(16),
                          spanId: 'cd'.repeat(8),
                          name: 's',
                          startTimeUnixNano: '1',
                          endTimeUnixNano: '2',
                        },
                      ],
                    },
                  ],
                },
              ],
            };
      const res = await server.fetch(`/v1/${signal}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stream-name': 'same' },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 200);
    }
  });
  after(async () => {
    await server.stop();
  });

  test('total stays the row count when `from` is past the end', async () => {
    const res = await server.fetch('/api/default/_search', {
      method: 'POST',
      body: JSON.stringify({ sql: 'SELECT * FROM logs.same', from: 10, size: 5 }),
    });
    const r = (await res.json()) as { hits: unknown[]; total: number };
    assert.deepEqual(r.hits, []);
    assert.equal(r.total, 2);
  });

  test('CSV and Arrow carry timestamps as plain text, not JSON-quoted', async () => {
    const sql = `SELECT TIMESTAMP '2026-01-02 03:04:05' AS ts, 'x,y' AS s FROM logs.same LIMIT 1`;
    const csv = await server.fetch('/api/default/_search?format=csv', {
      method: 'POST',
      body: JSON.stringify({ sql }),
    });
    assert.equal(await csv.text(), 'ts,s\n2026-01-02T03:04:05.000Z,"x,y"\n');
    const arrow = await server.fetch('/api/default/_search?format=arrow', {
      method: 'POST',
      body: JSON.stringify({
        sql: `SELECT TIMESTAMP '2026-01-02 03:04:05' AS ts, 18446744073709551615::UBIGINT AS big FROM logs.same LIMIT 1`,
      }),
    });
    const { tableFromIPC } = await import('apache-arrow');
    const t = tableFromIPC(new Uint8Array(await arrow.arrayBuffer()));
    assert.equal(t.getChild('ts')!.get(0), '2026-01-02T03:04:05.000Z');
    assert.equal(t.getChild('big')!.get(0), 18446744073709551615n);
  });

  test('a stream name shared by logs and traces needs ?type= for schema and settings', async () => {
    const ambiguous = await server.fetch('/api/default/streams/same/schema');
    assert.equal(ambiguous.status, 400);
    assert.match(((await ambiguous.json()) as { error: { message: string } }).error.message, /\?type=/);
    assert.equal((await server.fetch('/api/default/streams/same/schema?type=traces')).status, 200);
    assert.equal(
      (
        await server.fetch('/api/default/streams/same/settings', {
          method: 'PUT',
          body: '{"retention_days": 3}',
        })
      ).status,
      400,
    );
    const missing = await server.fetch('/api/default/streams/nope/schema');
    assert.equal(missing.status, 404);
  });

  test('an org admin cannot pull in (or probe passwords of) a user of another org', async () => {
    assert.equal(
      (await server.fetch('/api/_admin/orgs', { method: 'POST', body: '{"name":"edge-a"}' })).status,
      201,
    );
    assert.equal(
      (await server.fetch('/api/_admin/orgs', { method: 'POST', body: '{"name":"edge-b"}' })).status,
      201,
    );
    const mk = (org: string, name: string, role: string, password?: string) =>
      server.fetch(`/api/${org}/_users`, {
        method: 'POST',
        body: JSON.stringify({ name, role, ...(password ? { password } : {}) }),
      });
    assert.equal((await mk('edge-a', 'alice@a', 'admin', 'alice-password')).status, 201);
    assert.equal((await mk('edge-b', 'bob@b', 'viewer', 'bob-password-1')).status, 201);
    const alice = 'Basic ' + Buffer.from('alice@a:alice-password').toString('base64');
    const pull = await server.fetch('/api/edge-a/_users', {
      method: 'POST',
      body: JSON.stringify({ name: 'bob@b', role: 'admin' }),
      auth: alice,
    });
    assert.equal(pull.status, 409);
    // root may add an existing user to another org, but never resets a password that way
    assert.equal((await mk('edge-a', 'bob@b', 'viewer')).status, 201);
    assert.equal((await mk('edge-a', 'bob@b', 'viewer', 'new-password-9')).status, 400);
    const bob = 'Basic ' + Buffer.from('bob@b:bob-password-1').toString('base64');
    assert.equal((await server.fetch('/api/edge-a/streams', { auth: bob })).status, 200);
  });

  test('OTLP errors to protobuf requests are google.rpc.Status messages', async () => {
    const res = await server.fetch('/v1/logs', {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: new Uint8Array([0x0a, 0x05, 0x01]),
    });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), 'application/x-protobuf');
    const bytes = new Uint8Array(await res.arrayBuffer());
    assert.equal(bytes[0], 0x08);
    assert.equal(bytes[1], 3, 'INVALID_ARGUMENT');
    assert.equal(bytes[2], 0x12);
    assert.match(Buffer.from(bytes.subarray(4)).toString(), /protobuf/);
  });

  test('an Idempotency-Key is scoped to its signal: the same key on logs and traces stores both', async () => {
    const key = {
      'idempotency-key': 'shared-key-1',
      'content-type': 'application/json',
      'stream-name': 'idem',
    };
    const logs = await server.fetch('/v1/logs', {
      method: 'POST',
      headers: key,
      body: JSON.stringify(otlpJsonLogs([{ id: 'l' }])),
    });
    const span = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: 'ef'.repeat(16),
                  spanId: '01'.repeat(8),
                  name: 't',
                  startTimeUnixNano: '1',
                  endTimeUnixNano: '2',
                },
              ],
            },
          ],
        },
      ],
    };
    const traces = await server.fetch('/v1/traces', {
      method: 'POST',
      headers: key,
      body: JSON.stringify(span),
    });
    assert.equal(logs.status, 200);
    assert.equal(traces.status, 200);
    assert.equal((await server.search('SELECT count(*) AS c FROM logs.idem')).hits[0]!.c, 1);
    assert.equal((await server.search('SELECT count(*) AS c FROM traces.idem')).hits[0]!.c, 1);
  });
});
