/**
 * Failure on purpose (RELIABILITY.md D2, D5; STYLE.md "fsyncgate"): EIO on fsync, short writes,
 * ENOSPC, the default onFatal exiting the process, and SIGKILL at the WAL crash points.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isMoleError } from '../lib/errors.ts';
import { FaultyWalFs } from './wal-fs.ts';
import { appendMany, openRecorded, payloadFor, replayAll, tempDir } from './wal-test-helpers.ts';

const isWalFailed = (e: unknown) => isMoleError(e) && e.code === 'MS_ERR_WAL_FAILED' && e.status === 503;

/** Settles every promise, counting resolutions. */
async function settle(ps: Promise<number>[]): Promise<{ resolved: number[]; rejected: unknown[] }> {
  const out = await Promise.allSettled(ps);
  return {
    resolved: out.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
    rejected: out.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : [])),
  };
}

void test('D5: EIO on the 3rd fsync rejects that group and everything after it; onFatal once; acked data survives', async (t) => {
  const dir = await tempDir(t);
  const fs = new FaultyWalFs();
  const { wal, rec } = await openRecorded({ dir, fs });
  await wal.replay(1, () => {});
  const syncsAtStart = fs.syncs; // replay created the first segment and fsynced it
  fs.failSyncAfter(3);
  const applied: number[] = [];
  const acked: number[] = [];
  const wave = (n: number) =>
    Array.from({ length: n }, () =>
      wal
        .append(payloadFor(wal.nextSeq), (seq) => applied.push(seq))
        .then((seq) => {
          acked.push(seq);
          return seq;
        }),
    );

  assert.equal((await settle(wave(10))).resolved.length, 10); // fsync 1
  assert.equal((await settle(wave(10))).resolved.length, 10); // fsync 2
  // Group 3 fails in fsync; the appends queued behind it must fail too.
  const third = wave(10);
  await new Promise((r) => setImmediate(r));
  const queuedBehind = wave(10);
  const failed = await settle([...third, ...queuedBehind]);
  assert.equal(failed.resolved.length, 0, 'nothing acknowledged after a failed fsync');
  assert.ok(failed.rejected.every(isWalFailed));
  assert.equal(rec.fatals.length, 1);
  assert.match(rec.fatals[0]!.message, /EIO/);
  assert.deepEqual(applied, acked, 'apply ran exactly for the acknowledged records');
  assert.equal(fs.syncs - syncsAtStart, 3, 'the failed fsync was not retried');

  // Later appends are refused at once and never resolve.
  const later = await settle(wave(5));
  assert.equal(later.resolved.length, 0);
  assert.ok(later.rejected.every(isWalFailed));
  await assert.rejects(wal.rotate(), isWalFailed);
  await assert.rejects(wal.close(), isWalFailed);
  assert.equal(rec.fatals.length, 1, 'onFatal is called once');

  // Restart on a healthy fs: every acked record is there (the failed group may or may not be).
  const { wal: again } = await openRecorded({ dir });
  const { seqs } = await replayAll(again);
  for (const seq of acked) assert.ok(seqs.includes(seq), `acked seq ${seq} lost`);
  assert.deepEqual(seqs.slice(0, 20), acked);
  await again.close();
});

void test('short write and ENOSPC are fatal too; replay cuts what they left behind', async (t) => {
  const cases = [
    { name: 'short write', arm: (fs: FaultyWalFs) => fs.shortWriteAfter(1), message: /short write/ },
    { name: 'ENOSPC', arm: (fs: FaultyWalFs) => fs.enospcAfter(1), message: /ENOSPC/ },
  ];
  for (const c of cases) {
    const dir = await tempDir(t);
    const fs = new FaultyWalFs();
    const { wal, rec } = await openRecorded({ dir, fs });
    await wal.replay(1, () => {});
    const acked = await appendMany(wal, 5, 5);
    c.arm(fs);
    const failed = await settle([wal.append(payloadFor(6)), wal.append(payloadFor(7))]);
    assert.equal(failed.resolved.length, 0, c.name);
    assert.ok(failed.rejected.every(isWalFailed), c.name);
    assert.equal(rec.fatals.length, 1, c.name);
    assert.match(rec.fatals[0]!.message, c.message, c.name);
    await assert.rejects(wal.append(payloadFor(8)), isWalFailed);
    await assert.rejects(wal.close(), isWalFailed);

    const again = await openRecorded({ dir });
    const { seqs, result } = await replayAll(again.wal);
    // Acked records are all there; a complete record of the failed group may survive (never acked).
    assert.deepEqual(seqs.slice(0, acked.length), acked, c.name);
    assert.ok(seqs.length <= 7, c.name);
    assert.equal(result.tornTail, c.name === 'short write', `${c.name}: a half-written group is a torn tail`);
    const resumed = seqs.length + 1;
    assert.equal(
      await again.wal.append(payloadFor(resumed)),
      resumed,
      `${c.name}: writing resumes after the repair`,
    );
    await again.wal.close();
  }
});

void test("fsync='interval': a failed timer fsync is fatal", async (t) => {
  const dir = await tempDir(t);
  const fs = new FaultyWalFs();
  const { wal, rec } = await openRecorded({ dir, fs, fsync: 'interval', fsyncIntervalMs: 10 });
  await wal.replay(1, () => {});
  fs.failSyncAfter(1);
  await wal.append(payloadFor(1));
  for (let i = 0; i < 100 && rec.fatals.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(rec.fatals.length, 1);
  await assert.rejects(wal.append(payloadFor(2)), isWalFailed);
  await assert.rejects(wal.close(), isWalFailed);
});

const WAL_MODULE = fileURLToPath(new URL('./wal.ts', import.meta.url));
const FS_MODULE = fileURLToPath(new URL('./wal-fs.ts', import.meta.url));
const CRASHPOINT_MODULE = fileURLToPath(new URL('../lib/crashpoint.ts', import.meta.url));

/** Runs an ESM snippet in a child `node --import tsx` process. */
function runChild(code: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    encoding: 'utf8',
    timeout: 20_000,
  });
}

void test('D5: the default onFatal exits the process non-zero', async (t) => {
  const dir = await tempDir(t);
  const child = runChild(`
    import { Wal } from ${JSON.stringify(WAL_MODULE)};
    import { FaultyWalFs } from ${JSON.stringify(FS_MODULE)};
    const fs = new FaultyWalFs();
    const wal = await Wal.open({ dir: ${JSON.stringify(dir)}, fs });
    await wal.replay(1, () => {});
    fs.failSyncAfter(1);
    await wal.append(new Uint8Array(10)).then(() => process.stdout.write('ACKED\\n'), () => {});
    await new Promise((r) => setTimeout(r, 5000));
    process.stdout.write('STILL RUNNING\\n');
  `);
  assert.equal(child.status, 1, child.stderr);
  assert.equal(child.stdout, '');
  assert.match(child.stderr, /fatal WAL error.*EIO/);
});

void test('D2: SIGKILL at the WAL crash points loses nothing that was acknowledged', async (t) => {
  const cases = [
    // Killed after the 3rd group's write, before its fsync: groups 1-2 were acked.
    { point: 'wal.after-write-before-fsync', ackedGroups: 2 },
    // Killed after the 3rd group's fsync, before its ack: groups 1-2 were acked, group 3 is durable.
    { point: 'wal.after-fsync-before-ack', ackedGroups: 2 },
  ];
  for (const c of cases) {
    const dir = await tempDir(t);
    const child = runChild(`
      import { Wal } from ${JSON.stringify(WAL_MODULE)};
      import { armCrashpoint } from ${JSON.stringify(CRASHPOINT_MODULE)};
      const wal = await Wal.open({ dir: ${JSON.stringify(dir)} });
      await wal.replay(1, () => {});
      armCrashpoint(${JSON.stringify(`${c.point}:3`)});
      for (let group = 0; group < 5; group++) {
        const seqs = await Promise.all(Array.from({ length: 4 }, () => wal.append(new Uint8Array(100).fill(group))));
        process.stdout.write('acked ' + seqs.join(',') + '\\n');
      }
    `);
    assert.equal(child.signal, 'SIGKILL', `${c.point}: ${child.stderr}`);
    const acked = child.stdout
      .trim()
      .split('\n')
      .flatMap((l) => l.replace('acked ', '').split(',').map(Number));
    assert.deepEqual(
      acked,
      Array.from({ length: c.ackedGroups * 4 }, (_, i) => i + 1),
      c.point,
    );
    const { wal, rec } = await openRecorded({ dir });
    const { seqs } = await replayAll(wal);
    for (const seq of acked) assert.ok(seqs.includes(seq), `${c.point}: acked seq ${seq} lost`);
    if (c.point === 'wal.after-fsync-before-ack')
      assert.equal(seqs.length, 12, 'the fsynced group is replayed');
    assert.equal(rec.corruptions, 0, c.point);
    await wal.close();
  }
});
