/**
 * Issue 7 done-when 3: the process is killed (SIGKILL, by a crash point) at each step of a
 * compaction, a retention run and a delete request — new objects written but not committed,
 * catalog swap committed, halfway through deleting the replaced objects. After a restart the rows
 * are exactly the old set (killed before the catalog swap) or the new one (after it): none lost,
 * none twice; running the step again gives
 * the new set; and the object store holds exactly the catalogued files and their token filters
 * (orphans removed at start, pending deletes resumed), with no staging leftovers.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { catalogRows, removeDir, startServer, tempDir, type ServerProcess } from './harness.ts';
import {
  HOUR_NS,
  flush,
  nowNs,
  objectsOf,
  postJson,
  pushBatch,
  sqlRows,
  streamStats,
} from './compactor-kit.ts';

type Action = 'compact' | 'retention' | 'delete';
const CASES: { point: string; action: Action }[] = [
  { point: 'compact.after-rename', action: 'compact' },
  { point: 'compact.after-commit', action: 'compact' },
  { point: 'compact.mid-delete', action: 'compact' },
  { point: 'retention.after-rename', action: 'retention' },
  { point: 'retention.after-commit', action: 'retention' },
  { point: 'retention.mid-delete', action: 'retention' },
  { point: 'delete.after-rename', action: 'delete' },
  { point: 'delete.after-commit', action: 'delete' },
  { point: 'delete.mid-delete', action: 'delete' },
];
const DAY_NS = 24n * HOUR_NS;
const S = 1_000_000_000n;
const ENV = {
  MOLESIGNAL_COMPACTOR_ENABLED: 'false',
  MOLESIGNAL_COMPACTOR_DELETE_GRACE_MS: '0',
  MOLESIGNAL_LOG_LEVEL: 'warn',
};

const bodies = async (server: ServerProcess) =>
  (await sqlRows(server, 'cr')).map((r) => r.split('|')[1]!).sort();

/** The step under test, once. */
async function act(server: ServerProcess, action: Action): Promise<Response> {
  if (action === 'delete')
    return server.fetch('/api/default/_delete', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ stream: 'cr', query: '{job="cr"} |= "drop"' }),
    });
  return server.fetch('/api/default/_compact?stream=cr', { method: 'POST' });
}

/** Keys of the catalog's files and pending deletes, read after the server stopped. */
async function catalogState(dataDir: string): Promise<{ files: string[]; pending: number }> {
  const files = (await catalogRows(dataDir, 'SELECT object_key FROM files'))
    .map((r) => r.object_key as string)
    .filter((k) => k.split('/')[2] === 'cr')
    .sort();
  const [row] = await catalogRows(dataDir, 'SELECT count(*) AS n FROM pending_deletes');
  return { files, pending: Number(row!.n) };
}

/** Staging files left in the data dir (the local store's `_staging`, the S3 disk cache's). */
function stagingLeftovers(dataDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.includes('_staging') || p.endsWith('.tmp')) out.push(p);
    }
  };
  walk(join(dataDir, 'objects'));
  walk(join(dataDir, 'cache'));
  return out;
}

describe('SIGKILL at each step of compaction, retention and deletes', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await removeDir(d);
  });

  for (const c of CASES) {
    test(
      `${c.point}: restart → old or new rows exactly, then new; store == catalog`,
      // up to 4 min of waiting for the clock (below) plus the case itself
      { timeout: 360_000 },
      async () => {
        // the retention case needs a file straddling the cutoff inside one hour: not near an hour's edge
        while (
          c.action === 'retention' &&
          ((Date.now() / 60_000) % 60 < 2 || (Date.now() / 60_000) % 60 > 57)
        )
          await sleep(5_000);
        const dataDir = await tempDir();
        dirs.push(dataDir);
        const now = nowNs();
        const a = await startServer({ dataDir, env: ENV });
        for (let b = 0; b < 6; b++) {
          await pushBatch(a, 'cr', { job: 'cr' }, now - 2n * HOUR_NS + BigInt(b) * S, [
            `line-${b}-0`,
            `line-${b}-1 drop`,
            `line-${b}-2`,
          ]);
          await flush(a, 'cr');
        }
        if (c.action === 'retention') {
          const cutoff = now - 3n * DAY_NS;
          await pushBatch(a, 'cr', { job: 'cr' }, now - 5n * DAY_NS, ['old-a', 'old-b']);
          await flush(a, 'cr');
          await pushBatch(a, 'cr', { job: 'cr' }, cutoff - 30n * S, ['too-old']);
          await pushBatch(a, 'cr', { job: 'cr' }, cutoff + 90n * S, ['young']);
          await flush(a, 'cr');
          const set = await postJson(
            a,
            '/api/default/streams/cr/settings?type=logs',
            { retention_days: 3 },
            'PUT',
          );
          assert.equal(set.status, 200, set.text);
        }
        const before = await bodies(a);
        const expected =
          c.action === 'compact'
            ? before
            : c.action === 'retention'
              ? before.filter((x) => !x.startsWith('old') && x !== 'too-old')
              : before.filter((x) => !x.endsWith('drop'));
        await a.stop();

        const crashing = await startServer({ dataDir, env: ENV, crashpoint: `${c.point}:1` });
        await act(crashing, c.action).then(
          (r) => assert.fail(`the step answered ${r.status} instead of dying at ${c.point}`),
          () => undefined,
        );
        await crashing.waitExit(30_000);
        assert.equal(crashing.exitSignal, 'SIGKILL', crashing.log);

        const restarted = await startServer({ dataDir, env: ENV });
        try {
          const seen = await bodies(restarted);
          assert.equal(new Set(seen).size, seen.length, 'a row is visible twice');
          // before the commit: the old rows (the new objects are orphans, removed at start); after: the new
          assert.deepEqual(seen, c.point.endsWith('after-rename') ? before : expected);
          const again = await act(restarted, c.action);
          assert.equal(again.status, 200, await again.text());
          assert.deepEqual(await bodies(restarted), expected);
          if (c.action === 'compact') assert.equal((await streamStats(restarted, 'cr')).files, 1);
        } finally {
          await restarted.stop();
        }
        const state = await catalogState(dataDir);
        assert.equal(state.pending, 0, 'pending deletes left');
        const objects = await objectsOf(dataDir, 'cr');
        assert.deepEqual(objects.parquet.sort(), state.files, 'objects in the store != catalogued files');
        assert.deepEqual(
          objects.bloom.sort(),
          state.files.map((k) => `${k}.bloom`),
          'token filters != catalogued files',
        );
        assert.deepEqual(stagingLeftovers(dataDir), []);
      },
    );
  }
});
