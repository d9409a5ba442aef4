/**
 * D1 with schema evolution: concurrent requests keep adding attribute columns while others are
 * applied to the same memtable, with flushes in between. The server must not die by itself, must
 * answer every request 200, and every acknowledged record must be present exactly once *with its
 * attribute value* — before and after a kill -9 and restart (the replay rebuilds the same rows).
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { SqliteCatalog } from '../src/catalog/sqlite.ts';
import { decodeOtlp } from '../src/ingest/otlp/decode.ts';
import { createServerMetrics, MetricsRegistry } from '../src/lib/metrics.ts';
import { quoteIdent } from '../src/memtable/memtable.ts';
import { EnginePool } from '../src/memtable/org-engine.ts';
import { newOrgId } from '../src/tenancy/org-id.ts';
import { StreamRegistry } from '../src/write/streams.ts';
import type { IngestPayload } from '../src/write/wal-payload.ts';
import { WritePath, type WriteAheadLog } from '../src/write/write-path.ts';
import { otlpJsonLogs, type ServerProcess } from './harness.ts';
import {
  checkExactlyOnce,
  Ledger,
  randomInt,
  runLoad,
  Servers,
  SIGNALS,
  sleep,
  SMALL_FLUSH_ENV,
  waitReady,
  type AttrsOf,
} from './load.ts';

const FIELDS = 48;
const seqOf = (id: string) => Number(id.slice(id.lastIndexOf('-') + 1));
/** each record carries one of FIELDS attributes, chosen by its id: new columns keep appearing */
const attrsOf: AttrsOf = (id) => ({ [`f${seqOf(id) % FIELDS}`]: seqOf(id) });

/** Every acked record holds its attribute value in the column for it. */
async function checkValues(server: ServerProcess, ledger: Ledger, label: string): Promise<void> {
  for (const signal of SIGNALS) {
    const res = await server.fetch(`/api/default/streams/default/schema?type=${signal}`);
    assert.equal(res.status, 200);
    const schema = (await res.json()) as { columns: { name: string }[] };
    const cols = schema.columns.map((c) => c.name).filter((n) => /^attr\.f\d+$/.test(n));
    const r = await server.search(
      `SELECT "attr.rid" AS rid, ${cols.map((c) => `"${c}"`).join(', ')} FROM ${signal}.default`,
    );
    const byId = new Map(r.hits.map((h) => [h.rid as string, h]));
    const wrong: string[] = [];
    for (const id of ledger.acked[signal].acked) {
      const row = byId.get(id);
      const n = seqOf(id);
      if (!row || row[`attr.f${n % FIELDS}`] !== n)
        wrong.push(`${id}: ${JSON.stringify(row?.[`attr.f${n % FIELDS}`])}`);
    }
    assert.deepEqual(
      wrong.slice(0, 10),
      [],
      `${label}: ${wrong.length} acked ${signal} records lost their attribute value`,
    );
  }
}

describe('D1 + schema evolution: columns added under concurrent ingest', () => {
  const servers = new Servers();
  after(() => servers.cleanup());

  test(
    'no crash, no 5xx, every acked record exactly once with its new attribute, before and after kill -9',
    { timeout: 120_000 },
    async (t) => {
      const dataDir = await servers.dir();
      const env = { ...SMALL_FLUSH_ENV };
      const ledger = new Ledger();
      let server = await servers.start({ dataDir, env });
      await waitReady(server);
      const stats = await runLoad(server, ledger, {
        lanes: 8,
        batch: 3,
        maxRequests: 400,
        keyedEvery: 3,
        flushEveryMs: 100,
        attrsOf,
      }).done;
      await sleep(300); // a crash from a deferred memtable write would show by now
      assert.ok(
        server.running,
        `the server died by itself (${server.exitCode ?? server.exitSignal}):\n${server.log.slice(-3000)}`,
      );
      assert.deepEqual(
        stats.statuses,
        { 200: 400 },
        JSON.stringify(stats.trace.find((r) => r.outcome.kind !== 'status' || r.outcome.status !== 200)),
      );
      await checkExactlyOnce(server, ledger, 'live');
      await checkValues(server, ledger, 'live');

      // more new fields while kill -9 lands at a random moment; then the replay must agree
      const load = runLoad(server, ledger, {
        lanes: 8,
        batch: 3,
        maxMs: 10_000,
        keyedEvery: 3,
        flushEveryMs: 100,
        attrsOf: (id) => ({ ...attrsOf(id), [`g${seqOf(id) % 16}`]: true }),
      });
      await sleep(randomInt(100, 400));
      await server.kill();
      const killed = await load.done;
      server = await servers.start({ dataDir, env });
      await waitReady(server);
      const res = await checkExactlyOnce(server, ledger, 'after kill -9');
      await checkValues(server, ledger, 'after kill -9');
      await server.stop();
      assert.equal(server.exitCode, 0);
      t.diagnostic(
        `${stats.acked} + ${killed.acked} requests acked; present logs ${res.logs.present}, traces ${res.traces.present}`,
      );
    },
  );
});

describe('write path: a batch whose new fields another request is still adding', () => {
  const servers = new Servers();
  after(() => servers.cleanup());

  test('waits for their columns instead of dropping its values', { timeout: 30_000 }, async () => {
    const dir = await servers.dir('molesignal-schema-race-');
    await mkdir(join(dir, 'objects'), { recursive: true });
    const catalog = new SqliteCatalog(join(dir, 'catalog.sqlite'));
    const org = newOrgId();
    await catalog.createOrg(org, 'default');
    const engines = new EnginePool((o) => join(dir, 'objects', o), { memoryLimit: '256MB', threads: 1 });
    const streams = new StreamRegistry(catalog, engines, {
      maxFieldsPerStream: 1000,
      defaultRetentionDays: 0,
    });
    await streams.load();
    // a WAL that is durable at once: the apply runs inside append, as soon as the write path calls it
    let seq = 0;
    const wal: WriteAheadLog = {
      append: (_payload, apply) => {
        apply?.(++seq);
        return Promise.resolve(seq);
      },
      replay: () => Promise.resolve({ records: 0, lastSeq: 0, tornTail: false }),
    };
    const writePath = new WritePath({
      wal,
      streams,
      catalog,
      metrics: createServerMetrics(new MetricsRegistry()),
      log: pino({ level: 'silent' }),
      decode: decodeOtlp,
      idempotencyTtlMs: 600_000,
    });
    const payload = (id: string, attrs: Record<string, number>): IngestPayload => ({
      org,
      signal: 'logs',
      stream: 'race',
      format: 'otlp-json',
      idempotencyKey: '',
      receivedAtMs: Date.now(),
      nowNs: BigInt(Date.now()) * 1_000_000n,
      body: Buffer.from(JSON.stringify(otlpJsonLogs([{ id, attrs }]))),
    });
    const write = (p: IngestPayload) => writePath.write(p, decodeOtlp(p));
    try {
      await write(payload('first', {}));
      const stream = streams.get(org, 'logs', 'race')!;
      // X adds column attr.f; catch the moment its placement exists but the memtable has no column yet
      const x = write(payload('x', { f: 1 }));
      const planned = () => stream.schema.placementOf('attr.f', 'int') !== undefined;
      let spins = 0;
      while (!planned() && spins++ < 100_000) await Promise.resolve();
      assert.ok(planned(), 'X planned attr.f');
      assert.ok(!stream.mem.active.columnNames.has('attr.f'), 'X is still adding the column');
      // Y carries the same new field: its placement is known, so it skips the schema lock
      const y = write(payload('y', { f: 2 }));
      await Promise.all([x, y]);
      const engine = await engines.get(org);
      const tables = stream.mem.pin();
      const conn = await engine.connect();
      try {
        const sql = tables.map((t) => `SELECT * FROM ${quoteIdent(t.name)}`).join(' UNION ALL BY NAME ');
        const rows = (
          await conn.runAndReadAll(`SELECT "attr.rid", "attr.f" FROM (${sql}) ORDER BY 1`)
        ).getRowsJS();
        assert.deepEqual(rows, [
          ['first', null],
          ['x', 1n],
          ['y', 2n],
        ]);
      } finally {
        conn.closeSync();
        await stream.mem.unpin(tables);
      }
    } finally {
      await engines.closeAll();
      await catalog.close();
    }
  });
});
