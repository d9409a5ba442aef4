/**
 * The background compactor: it merges only hour buckets whose newest file is older than
 * `compactor.minFileAgeSeconds` (pending deletes resumed after a crash: crash-compactor.test.ts);
 * a pending delete never removes a file the catalog names.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeDir, startServer, tempDir, type ServerProcess } from './harness.ts';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import {
  HOUR_NS,
  compact,
  flush,
  nowNs,
  objectsOf,
  postJson,
  pushBatch,
  streamStats,
} from './compactor-kit.ts';

/** Cycles the background loop has finished (from /metrics). */
async function cycles(server: ServerProcess): Promise<number> {
  const text = await (await server.fetch('/metrics')).text();
  return Number(/^molesignal_compactor_cycles_total\{outcome="ok"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

async function untilCycles(server: ServerProcess, n: number): Promise<void> {
  while ((await cycles(server)) < n) await sleep(100);
}

async function fourFiles(server: ServerProcess): Promise<void> {
  for (let b = 0; b < 4; b++) {
    await pushBatch(server, 'bg', { job: 'bg' }, nowNs() - HOUR_NS - BigInt(b), [`line ${b}`]);
    await flush(server, 'bg');
  }
}

describe('background compactor', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await removeDir(d);
  });

  test('young buckets wait for minFileAgeSeconds; old enough ones are merged', async () => {
    const dataDir = await tempDir();
    dirs.push(dataDir);
    const env = {
      MOLESIGNAL_COMPACTOR_INTERVAL_MS: '200',
      MOLESIGNAL_COMPACTOR_MIN_FILE_AGE_SECONDS: '3600',
      MOLESIGNAL_COMPACTOR_DELETE_GRACE_MS: '0',
      MOLESIGNAL_LOG_LEVEL: 'warn',
    };
    let server = await startServer({ dataDir, env });
    await fourFiles(server);
    const seen = await cycles(server);
    await untilCycles(server, seen + 2); // two whole cycles after the last file
    assert.equal(
      (await streamStats(server, 'bg')).files,
      4,
      'a bucket younger than its minimum age was merged',
    );
    await server.stop();

    server = await startServer({ dataDir, env: { ...env, MOLESIGNAL_COMPACTOR_MIN_FILE_AGE_SECONDS: '0' } });
    try {
      await untilCycles(server, 1);
      assert.equal((await streamStats(server, 'bg')).files, 1);
      assert.equal((await objectsOf(dataDir, 'bg')).parquet.length, 1);
    } finally {
      await server.stop();
    }
  });

  test('a pending delete that names a catalogued file never deletes it', async () => {
    const dataDir = await tempDir();
    dirs.push(dataDir);
    const env = { MOLESIGNAL_COMPACTOR_ENABLED: 'false', MOLESIGNAL_LOG_LEVEL: 'warn' };
    let server = await startServer({ dataDir, env });
    await pushBatch(server, 'live', { job: 'live' }, nowNs() - HOUR_NS, ['kept']);
    await flush(server, 'live');
    await server.stop();
    // a wrong row, as a bug elsewhere might leave: the live file and its filter, due now
    const db = new Database(join(dataDir, 'catalog.sqlite'));
    const row = db.prepare('SELECT org_id, object_key FROM files').get() as {
      org_id: string;
      object_key: string;
    };
    const ins = db.prepare('INSERT INTO pending_deletes (object_key, org_id, due_at_ms) VALUES (?, ?, 0)');
    ins.run(row.object_key, row.org_id);
    ins.run(`${row.object_key}.bloom`, row.org_id);
    db.close();
    server = await startServer({ dataDir, env });
    try {
      const r = await compact(server);
      assert.equal(r.deleted_objects, 0);
      assert.equal(r.pending_deletes, 0);
      const objects = await objectsOf(dataDir, 'live');
      assert.deepEqual([objects.parquet.length, objects.bloom.length], [1, 1]);
      const rows = await server.search('SELECT body FROM logs.live');
      assert.deepEqual(
        rows.hits.map((h) => h.body),
        ['kept'],
      );
    } finally {
      await server.stop();
    }
  });

  test('a stream whose merge fails does not stop the others; the answer is a 500 naming it', async () => {
    const dataDir = await tempDir();
    dirs.push(dataDir);
    const server = await startServer({
      dataDir,
      env: { MOLESIGNAL_COMPACTOR_ENABLED: 'false', MOLESIGNAL_LOG_LEVEL: 'error' },
    });
    try {
      for (const stream of ['bad', 'good'])
        for (let b = 0; b < 2; b++) {
          await pushBatch(server, stream, { job: stream }, nowNs() - HOUR_NS - BigInt(b), [`${stream} ${b}`]);
          await flush(server, stream);
        }
      // damage one file of "bad": not Parquet any more
      writeFileSync(join(dataDir, 'objects', (await objectsOf(dataDir, 'bad')).parquet[0]!), 'not parquet');
      const r = await postJson(server, '/api/default/_compact');
      assert.equal(r.status, 500, r.text);
      const body = r.json() as { errors: { stream: string; step: string }[]; merged: { stream: string }[] };
      assert.deepEqual(
        body.errors.map((e) => [e.stream, e.step]),
        [['bad', 'merge']],
      );
      assert.deepEqual(
        body.merged.map((m) => m.stream),
        ['good'],
      );
      assert.equal((await streamStats(server, 'good')).files, 1);
      assert.equal((await streamStats(server, 'bad')).files, 2, 'nothing of the failed stream was replaced');
    } finally {
      await server.stop();
    }
  });
});
