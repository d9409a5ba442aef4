/**
 * The background compactor: it merges only hour buckets whose newest file is older than
 * `compactor.minFileAgeSeconds` (pending deletes resumed after a crash: crash-compactor.test.ts).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeDir, startServer, tempDir, type ServerProcess } from './harness.ts';
import { HOUR_NS, flush, nowNs, objectsOf, pushBatch, streamStats } from './compactor-kit.ts';

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
      assert.equal(objectsOf(dataDir, 'bg').parquet.length, 1);
    } finally {
      await server.stop();
    }
  });
});
