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

const T = '115783135b814d3190ef26b443e53ff8';
const START_US = 1767225600n * 1_000_000n;
const END_US = 1767229200n * 1_000_000n;

test('Jaeger query API under /jaeger: services, operations, traces, trace by id, dependencies', async (t) => {
  if (!server) return t.skip('no conformance data');
  const get = async (path: string) => {
    const res = await server!.fetch(path);
    const text = await res.text();
    assert.equal(res.status, 200, `${path}: ${text}`);
    return JSON.parse(text) as {
      data: unknown[];
      total: number;
      limit: number;
      offset: number;
      errors: unknown;
    };
  };
  const range = `start=${START_US}&end=${END_US}`;
  const services = await get(`/jaeger/api/services?${range}`);
  assert.deepEqual(services.data, ['api', 'auth', 'cache', 'db', 'frontend', 'payments', 'queue-worker']);
  assert.equal(services.errors, null);
  const ops = await get(`/jaeger/api/services/payments/operations?${range}`);
  assert.ok(ops.data.includes('POST /payments/charge'));
  const kinds = await get(`/jaeger/api/operations?service=payments&spanKind=server&${range}`);
  assert.deepEqual(kinds.data, [{ name: 'POST /payments/charge', spanKind: 'server' }]);
  const one = await get(`/jaeger/api/traces/${T}`);
  const trace = one.data[0] as {
    traceID: string;
    spans: {
      spanID: string;
      startTime: number;
      duration: number;
      processID: string;
      references: unknown[];
      tags: { key: string }[];
    }[];
    processes: Record<string, { serviceName: string }>;
  };
  // every span as Tempo gives it, in µs, with its process
  const tempo = (await (await server.fetch(`/api/traces/${T}`)).json()) as {
    batches: {
      resource: { attributes: { key: string; value: { stringValue?: string } }[] };
      scopeSpans: { spans: Record<string, string>[] }[];
    }[];
  };
  const want = new Map<string, { start: number; dur: number; svc: string; parent: string }>();
  for (const b of tempo.batches) {
    const svc = b.resource.attributes.find((a) => a.key === 'service.name')!.value.stringValue!;
    for (const ss of b.scopeSpans)
      for (const s of ss.spans) {
        const start = BigInt(s.startTimeUnixNano!);
        const hex = (b64: string | undefined) => (b64 ? Buffer.from(b64, 'base64').toString('hex') : '');
        want.set(hex(s.spanId), {
          start: Number(start / 1000n),
          dur: Number((BigInt(s.endTimeUnixNano!) - start) / 1000n),
          svc,
          parent: hex(s.parentSpanId),
        });
      }
  }
  assert.equal(trace.traceID, T);
  assert.equal(trace.spans.length, want.size);
  for (const s of trace.spans) {
    const w = want.get(s.spanID)!;
    assert.equal(s.startTime, w.start);
    assert.equal(s.duration, w.dur);
    assert.equal(trace.processes[s.processID]!.serviceName, w.svc);
    assert.deepEqual(
      s.references.filter((r) => (r as { refType: string }).refType === 'CHILD_OF'),
      w.parent ? [{ refType: 'CHILD_OF', traceID: T, spanID: w.parent }] : [],
    );
    assert.ok(s.tags.some((x) => x.key === 'span.kind'));
  }
  const found = await get(
    `/jaeger/api/traces?service=payments&operation=${encodeURIComponent('POST /payments/charge')}&limit=3&${range}`,
  );
  assert.equal(found.data.length, 3);
  const slow = await get(`/jaeger/api/traces?service=frontend&minDuration=4s&limit=100&${range}`);
  for (const tr of slow.data as { spans: { duration: number; processID: string }[] }[])
    assert.ok(tr.spans.some((s) => s.duration >= 4_000_000));
  const deps = await get(`/jaeger/api/dependencies?endTs=${END_US / 1000n}&lookback=3600000`);
  assert.ok(
    (deps.data as { parent: string; child: string; callCount: number }[]).some(
      (d) => d.parent === 'frontend' && d.child === 'api' && d.callCount > 0,
    ),
  );
  const missing = await server.fetch(`/jaeger/api/traces/${'f'.repeat(32)}`);
  assert.equal(missing.status, 404);
});

test('Zipkin query API at /api/v2 and /zipkin/api/v2', async (t) => {
  if (!server) return t.skip('no conformance data');
  const range = `endTs=${END_US / 1000n}&lookback=3600000`;
  for (const base of ['/api/v2', '/zipkin/api/v2']) {
    const services = (await (await server.fetch(`${base}/services?${range}`)).json()) as string[];
    assert.deepEqual(services, ['api', 'auth', 'cache', 'db', 'frontend', 'payments', 'queue-worker']);
    const spans = (await (
      await server.fetch(`${base}/spans?serviceName=payments&${range}`)
    ).json()) as string[];
    assert.ok(spans.includes('POST /payments/charge'));
    const trace = (await (await server.fetch(`${base}/trace/${T}`)).json()) as Record<string, unknown>[];
    assert.ok(trace.length > 1);
    for (const s of trace) {
      assert.equal(s.traceId, T);
      assert.equal(typeof s.timestamp, 'number');
      assert.ok((s.localEndpoint as { serviceName: string }).serviceName);
    }
    const traces = (await (
      await server.fetch(`${base}/traces?serviceName=payments&limit=2&${range}`)
    ).json()) as unknown[][];
    assert.equal(traces.length, 2);
    const deps = (await (await server.fetch(`${base}/dependencies?${range}`)).json()) as unknown[];
    assert.ok(deps.length > 0);
    assert.equal((await server.fetch(`${base}/trace/${'f'.repeat(32)}`)).status, 404);
  }
});
