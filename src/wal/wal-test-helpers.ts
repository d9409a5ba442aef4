/** Shared by the WAL tests: temp dirs, a WAL with recording callbacks, deterministic payloads. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Wal, type WalOptions } from './wal.ts';

/** A fresh directory under os.tmpdir(), removed when the test ends. */
export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'molesignal-wal-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface Recorded {
  warnings: { msg: string; fields: Record<string, unknown> }[];
  corruptions: number;
  fatals: Error[];
}

/** Opens a WAL whose warnings, corruption counts and fatal errors are recorded instead of logged or exiting. */
export async function openRecorded(
  opts: Partial<WalOptions> & { dir: string },
): Promise<{ wal: Wal; rec: Recorded }> {
  const rec: Recorded = { warnings: [], corruptions: 0, fatals: [] };
  const wal = await Wal.open({
    onWarn: (msg, fields) => rec.warnings.push({ msg, fields }),
    onCorruption: () => rec.corruptions++,
    onFatal: (err) => {
      rec.fatals.push(err);
    },
    ...opts,
  });
  return { wal, rec };
}

/** Replays everything from `fromSeq`, copying payloads out. */
export async function replayAll(
  wal: Wal,
  fromSeq = 1,
): Promise<{ seqs: number[]; payloads: Uint8Array[]; result: Awaited<ReturnType<Wal['replay']>> }> {
  const seqs: number[] = [];
  const payloads: Uint8Array[] = [];
  const result = await wal.replay(fromSeq, (seq, payload) => {
    seqs.push(seq);
    payloads.push(payload.slice());
  });
  return { seqs, payloads, result };
}

/** Deterministic payload for seq: `sizeBytes` bytes derived from the seq. */
export function payloadFor(seq: number, sizeBytes = 10 + ((seq * 37) % 200)): Uint8Array {
  const out = new Uint8Array(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) out[i] = (seq * 131 + i * 7) & 0xff;
  return out;
}

export async function segmentNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort();
}

/** Small seeded PRNG (mulberry32), so a failing random case can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Appends seqs' payloads in concurrent waves of `concurrency`; returns the seqs. */
export async function appendMany(wal: Wal, count: number, concurrency = 16): Promise<number[]> {
  const seqs: number[] = [];
  for (let done = 0; done < count;) {
    const n = Math.min(concurrency, count - done);
    const wave: Promise<number>[] = [];
    for (let i = 0; i < n; i++) wave.push(wal.append(payloadFor(wal.nextSeq)));
    seqs.push(...(await Promise.all(wave)));
    done += n;
  }
  return seqs;
}
