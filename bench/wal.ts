/**
 * WAL throughput with fsync='batch' (group commit), on the real file system in a temp dir that is
 * removed afterwards. Runs in a few seconds:  node --import tsx bench/wal.ts
 *
 *   (a) 1000 concurrent appends of 1 KB
 *   (b) 200 appends of 500 KB, 8 concurrent
 *   (c) 640 appends of 500 KB, 64 concurrent (the ingest-path target: ≥ 150 MB/s)
 *
 * Each scenario runs on a fresh WAL; the median of the repetitions is reported. A baseline row
 * shows what one small write + fdatasync costs on this disk, since that bounds every group. The
 * scenarios run twice: on the disk as it is, and with 2 ms added to every fdatasync (a disk without
 * a power-loss-protected write cache), which is where group commit earns its keep.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '../src/lib/crc32c.ts';
import { FaultyWalFs, nodeWalFs } from '../src/wal/wal-fs.ts';
import { Wal } from '../src/wal/wal.ts';

interface Scenario {
  name: string;
  count: number;
  payloadBytes: number;
  concurrency: number;
  reps: number;
}

const SCENARIOS: Scenario[] = [
  { name: '(a) 1000 × 1 KB, 1000 concurrent', count: 1000, payloadBytes: 1024, concurrency: 1000, reps: 5 },
  { name: '(b) 200 × 500 KB, 8 concurrent', count: 200, payloadBytes: 500_000, concurrency: 8, reps: 3 },
  { name: '(c) 640 × 500 KB, 64 concurrent', count: 640, payloadBytes: 500_000, concurrency: 64, reps: 2 },
];

interface Run {
  seconds: number;
  fsyncs: number;
}

async function runOnce(dir: string, s: Scenario, syncDelayMs: number): Promise<Run> {
  const fs = new FaultyWalFs(nodeWalFs); // no faults armed: counts syncs, optionally slows them
  fs.syncDelayMs = syncDelayMs;
  const wal = await Wal.open({ dir, fs, fsync: 'batch' });
  await wal.replay(1, () => {});
  const payload = new Uint8Array(s.payloadBytes);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
  const syncsBefore = fs.syncs;
  let applied = 0;
  const started = performance.now();
  let issued = 0;
  const worker = async () => {
    while (issued < s.count) {
      issued++;
      await wal.append(payload, () => applied++);
    }
  };
  await Promise.all(Array.from({ length: s.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  if (applied !== s.count) throw new Error(`applied ${applied} of ${s.count}`);
  const fsyncs = fs.syncs - syncsBefore;
  await wal.close();
  return { seconds, fsyncs };
}

async function fsyncBaselineMs(root: string): Promise<number> {
  const file = await nodeWalFs.open(join(root, 'baseline'), 'create');
  const buf = new Uint8Array(1024);
  const times: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    await file.write(buf, 0, buf.length, i * buf.length);
    await file.sync();
    times.push(performance.now() - t);
  }
  await file.close();
  return median(times);
}

function crcMBps(): number {
  const buf = new Uint8Array(16 << 20).map((_, i) => i & 0xff);
  crc32c(buf);
  const t = performance.now();
  for (let i = 0; i < 4; i++) crc32c(buf);
  return (4 * buf.length) / 1e6 / ((performance.now() - t) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const root = await mkdtemp(join(tmpdir(), 'molesignal-wal-bench-'));
try {
  console.log(`temp dir ${root} (removed afterwards)`);
  console.log(
    `baseline: 1 KB write + fdatasync, median of 50: ${(await fsyncBaselineMs(root)).toFixed(2)} ms`,
  );
  console.log(`crc32c: ${crcMBps().toFixed(0)} MB/s`);
  let dirs = 0;
  for (const syncDelayMs of [0, 2]) {
    console.log(`\nfdatasync ${syncDelayMs === 0 ? 'as is' : `+ ${syncDelayMs} ms`}`);
    console.log('scenario                            appends/s      MB/s   fsyncs  records/fsync   seconds');
    for (const s of SCENARIOS) {
      const runs: Run[] = [];
      for (let rep = 0; rep < s.reps; rep++)
        runs.push(await runOnce(join(root, `wal-${dirs++}`), s, syncDelayMs));
      const run = runs.sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)]!;
      const perSec = s.count / run.seconds;
      const mbPerSec = (s.count * s.payloadBytes) / 1e6 / run.seconds;
      console.log(
        `${s.name.padEnd(34)} ${perSec.toFixed(0).padStart(10)} ${mbPerSec.toFixed(1).padStart(9)} ${String(run.fsyncs).padStart(8)} ${(s.count / run.fsyncs).toFixed(1).padStart(14)} ${run.seconds.toFixed(3).padStart(9)}`,
      );
    }
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
