/**
 * Tempo API fixtures (../shared/conformance/traceql/api, recorded from Tempo 2.7.2) replayed
 * against a server loaded with the conformance data (memtables first, then again after a flush to
 * Parquet): status always; bodies exactly where Tempo is exact (sorted v1 lists, trace by id span
 * for span), as sets where the README says order is not meaningful, as a superset for the
 * q-filtered autocomplete answers, and the error texts by their prefix.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { removeDir, sharedOrSkip, startServer, type ServerProcess } from './harness.ts';

interface Fixture {
  id: string;
  request: { method: string; path: string; params: Record<string, string>; headers?: Record<string, string> };
  status: number;
  contentType: string;
  body: unknown;
}

let server: ServerProcess | null = null;
const fixtures: Fixture[] = [];

before(async (t) => {
  const dir = sharedOrSkip(t as never, 'conformance/traceql');
  if (!dir) return;
  server = await startServer();
  for (const f of (await readdir(join(dir, 'data'))).sort()) {
    const res = await server.fetch('/v1/traces', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: await readFile(join(dir, 'data', f), 'utf8'),
    });
    assert.equal(res.status, 200, await res.text());
  }
  for (const f of (await readdir(join(dir, 'api'))).sort())
    fixtures.push(JSON.parse(await readFile(join(dir, 'api', f), 'utf8')) as Fixture);
});

after(async () => {
  if (server) {
    await server.stop();
    await removeDir(server.dataDir);
  }
});

const sortJson = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();

/** A trace answer normalized: spans keyed by id, attribute lists as sets. */
function spansOf(body: unknown): Map<string, unknown> {
  const b = body as { batches?: unknown[]; trace?: { resourceSpans?: unknown[] } };
  const batches = (b.batches ?? b.trace?.resourceSpans ?? []) as {
    resource: { attributes: unknown[] };
    scopeSpans: { scope: unknown; spans: Record<string, unknown>[] }[];
  }[];
  const out = new Map<string, unknown>();
  for (const rs of batches) {
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        const norm = { ...s, attributes: sortJson((s.attributes as unknown[]) ?? []) };
        out.set(s.spanId as string, {
          resource: sortJson(rs.resource.attributes),
          scope: ss.scope,
          span: norm,
        });
      }
    }
  }
  return out;
}

async function replay(f: Fixture): Promise<void> {
  const qs = new URLSearchParams(f.request.params).toString();
  const res = await server!.fetch(f.request.path + (qs ? `?${qs}` : ''), {
    headers: f.request.headers ?? {},
  });
  const text = await res.text();
  assert.equal(res.status, f.status, `${f.id}: ${text.slice(0, 300)}`);
  if (f.status >= 400) {
    if (typeof f.body === 'string' && f.body !== '') {
      const prefix = f.body.split(':')[0]!;
      assert.ok(
        text.startsWith(prefix),
        `${f.id}: ${JSON.stringify(text)} does not start with ${JSON.stringify(prefix)}`,
      );
    }
    return;
  }
  if (!f.contentType.startsWith('application/json')) {
    assert.equal(text, f.body, f.id);
    return;
  }
  const got = JSON.parse(text) as Record<string, unknown>;
  const want = f.body as Record<string, unknown>;
  if (f.id.startsWith('trace-')) {
    assert.deepEqual(spansOf(got), spansOf(want), f.id);
  } else if (f.id.startsWith('tag-values-v2') || f.id.startsWith('search-tags-v2')) {
    const list = (x: Record<string, unknown>) =>
      'scopes' in x
        ? sortJson(
            (x.scopes as { name: string; tags: string[] }[]).map((s) => ({ ...s, tags: [...s.tags].sort() })),
          )
        : sortJson(x.tagValues as unknown[]);
    if ('q' in f.request.params && !f.id.includes('q-invalid')) {
      // Tempo's q-filtered autocomplete answers a subset of the matching spans' values (which
      // subset depends on its fetch layer); ours are every matching span's: a superset check
      const flat = (x: Record<string, unknown>) =>
        'scopes' in x
          ? (x.scopes as { name: string; tags: string[] }[]).flatMap((s) =>
              s.tags.map((t) => `${s.name}:${t}`),
            )
          : list(x);
      const have = new Set(flat(got));
      for (const v of flat(want)) assert.ok(have.has(v), `${f.id}: ${v} is missing`);
    } else assert.deepEqual(list(got), list(want), f.id);
  } else if (f.id === 'buildinfo') {
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
    assert.equal(got.version, want.version);
  } else {
    assert.deepEqual(got, want, f.id);
  }
}

test('Tempo API fixtures: from memtables, then from Parquet', async (t) => {
  if (!server) return t.skip('no conformance data');
  for (const phase of ['memtable', 'parquet']) {
    if (phase === 'parquet') {
      const res = await server.fetch('/api/default/streams/default/_flush', { method: 'POST' });
      assert.equal(res.status, 200);
    }
    const failures: string[] = [];
    for (const f of fixtures) {
      try {
        await replay(f);
      } catch (e) {
        failures.push(`${phase} ${f.id}: ${(e as Error).message.split('\n').slice(0, 12).join('\n')}`);
      }
    }
    assert.deepEqual(failures, [], failures.join('\n\n'));
  }
});

test('trace by id: protobuf on Accept: application/protobuf, 404 and 400', async (t) => {
  if (!server) return t.skip('no conformance data');
  const res = await server.fetch('/api/traces/115783135b814d3190ef26b443e53ff8', {
    headers: { accept: 'application/protobuf' },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/protobuf');
  const bytes = new Uint8Array(await res.arrayBuffer());
  assert.equal(bytes[0], 0x0a); // field 1 (resource_spans / batches), length-delimited
  const v2 = await server.fetch('/api/v2/traces/115783135b814d3190ef26b443e53ff8', {
    headers: { accept: 'application/protobuf' },
  });
  const v2bytes = new Uint8Array(await v2.arrayBuffer());
  assert.equal(v2bytes[0], 0x0a);
  assert.ok(v2bytes.length > bytes.length);
  assert.equal((await server.fetch('/api/traces/ffffffffffffffffffffffffffffffff')).status, 404);
  const long = await server.fetch(`/api/traces/${'a'.repeat(33)}`);
  assert.equal(long.status, 400);
  assert.match(await long.text(), /larger than 128 bits/);
});
