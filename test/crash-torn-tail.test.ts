/**
 * RELIABILITY.md D3: a torn WAL tail. Ingest batch A (acked), kill -9, restart, ingest batch B
 * (acked), kill -9: the last segment now holds A's records, then B's from byte S_A on. Nothing is
 * flushed, so the WAL is the only copy. Each run cuts a fresh copy of that data dir at a random byte
 * inside one of B's records and starts the server. It must start (no crash loop), warn naming the
 * segment and the offset where the valid prefix ends, count the corruption in
 * molesignal_wal_corruptions_total, hold exactly the records that lie entirely before the cut (all
 * of A, and B's prefix), accept new writes, and restart cleanly afterwards.
 */
import assert from 'node:assert/strict';
import { cp, readdir, readFile, stat, truncate } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodePayload } from '../src/write/wal-payload.ts';
import type { ServerProcess } from './harness.ts';
import {
  idCounts,
  Ledger,
  logLines,
  randomInt,
  runLoad,
  Servers,
  SIGNALS,
  waitReady,
  type Signal,
} from './load.ts';

const RUNS = Number(process.env.CRASH_TORN_RUNS ?? 6);
/** docs/format/wal.md: 24-byte segment header, then [u32 length][u32 crc32c][u64 seq][payload] */
const SEGMENT_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;

interface Frame {
  start: number;
  end: number;
  seq: number;
  signal: Signal;
  ids: string[];
}

/** The records of a segment file, with their byte ranges and the ids their bodies carry. */
async function framesOf(path: string): Promise<Frame[]> {
  const buf = await readFile(path);
  const frames: Frame[] = [];
  let at = SEGMENT_HEADER_BYTES;
  while (at + RECORD_HEADER_BYTES <= buf.length) {
    const len = buf.readUInt32LE(at);
    const seq = Number(buf.readBigUInt64LE(at + 8));
    const end = at + RECORD_HEADER_BYTES + len;
    assert.ok(
      end <= buf.length,
      `a record runs past the end of ${path} (it should be complete before the cut)`,
    );
    const p = decodePayload(new Uint8Array(buf.subarray(at + RECORD_HEADER_BYTES, end)));
    const text = Buffer.from(p.body).toString('utf8');
    const ids = [...text.matchAll(/"key":"rid","value":\{"stringValue":"([^"]+)"\}/g)].map((m) => m[1]!);
    if (p.signal === 'metrics') throw new Error('no metrics are written in this test');
    frames.push({ start: at, end, seq, signal: p.signal, ids });
    at = end;
  }
  assert.equal(at, buf.length, `${path} ends inside a record header`);
  return frames;
}

async function lastSegment(dataDir: string): Promise<string> {
  const names = (await readdir(join(dataDir, 'wal'))).filter((n) => n.endsWith('.wal')).sort();
  assert.ok(names.length > 0, 'no WAL segment');
  return join(dataDir, 'wal', names.at(-1)!);
}

async function corruptionsTotal(server: ServerProcess): Promise<number> {
  const res = await server.fetch('/metrics', { auth: null });
  const text = await res.text();
  const m = /^molesignal_wal_corruptions_total(?:\{[^}]*\})?\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

async function presentIds(server: ServerProcess): Promise<Record<Signal, Map<string, number>>> {
  return { logs: await idCounts(server, 'logs'), traces: await idCounts(server, 'traces') };
}

/** `present` holds exactly `expected` (each once), for both signals. */
function assertExactly(
  present: Record<Signal, Map<string, number>>,
  expected: Record<Signal, Set<string>>,
  label: string,
): void {
  for (const signal of SIGNALS) {
    const got = present[signal];
    const dups = [...got].filter(([, c]) => c > 1);
    assert.deepEqual(dups.slice(0, 5), [], `${label}: ${signal} duplicates`);
    const missing = [...expected[signal]].filter((id) => !got.has(id));
    assert.deepEqual(
      missing.slice(0, 5),
      [],
      `${label}: ${missing.length} ${signal} records before the cut are missing`,
    );
    const extra = [...got.keys()].filter((id) => !expected[signal].has(id));
    assert.deepEqual(
      extra.slice(0, 5),
      [],
      `${label}: ${extra.length} ${signal} records at or after the cut are present`,
    );
  }
}

describe('D3: torn WAL tail', () => {
  const servers = new Servers();
  after(() => servers.cleanup());
  let golden = '';
  let segmentName = '';
  let sizeA = 0;
  let frames: Frame[] = [];
  let bFrames: Frame[] = [];
  const ledger = new Ledger();

  before(async () => {
    golden = await servers.dir('molesignal-torn-golden-');
    // defaults: no flush within the test, so the WAL is the only copy of every record
    let server = await servers.start({ dataDir: golden });
    await waitReady(server);
    const a = await runLoad(server, ledger, { lanes: 2, batch: 10, maxRequests: 24 }).done;
    assert.equal(a.acked, 24, JSON.stringify(a.statuses));
    await server.kill();
    const segA = await lastSegment(golden);
    sizeA = (await stat(segA)).size;

    server = await servers.start({ dataDir: golden });
    await waitReady(server);
    const b = await runLoad(server, ledger, { lanes: 2, batch: 10, maxRequests: 24 }).done;
    assert.equal(b.acked, 24, JSON.stringify(b.statuses));
    await server.kill();
    const seg = await lastSegment(golden);
    assert.equal(seg, segA, 'batch B went to the same segment as batch A');
    segmentName = basename(seg);
    frames = await framesOf(seg);
    bFrames = frames.filter((f) => f.start >= sizeA);
    assert.equal(frames.length, 48);
    assert.equal(bFrames.length, 24);
    // every acked id is in exactly one record of the segment
    const inWal = new Set(frames.flatMap((f) => f.ids));
    assert.equal(inWal.size, ledger.ackedCount);
  });

  for (let run = 0; run < RUNS; run++) {
    test(
      `run ${run + 1}: cut inside one of batch B's records — starts, warns, keeps the prefix, writes again`,
      { timeout: 60_000 },
      async (t) => {
        // run 1: inside the first B record's header; run 2: the last byte of the last record; then random
        const frame =
          run === 0 ? bFrames[0]! : run === 1 ? bFrames.at(-1)! : bFrames[randomInt(0, bFrames.length - 1)]!;
        const cut =
          run === 0
            ? frame.start + randomInt(1, RECORD_HEADER_BYTES - 1)
            : run === 1
              ? frame.end - 1
              : randomInt(frame.start + 1, frame.end - 1);
        const dataDir = servers.adoptDir(`${golden}-run${run}`);
        await cp(golden, dataDir, { recursive: true });
        const seg = join(dataDir, 'wal', segmentName);
        await truncate(seg, cut);

        const expected: Record<Signal, Set<string>> = { logs: new Set(), traces: new Set() };
        for (const f of frames) if (f.end <= cut) for (const id of f.ids) expected[f.signal].add(id);

        const server = await servers.start({ dataDir });
        await waitReady(server);
        assert.ok(server.running);
        const warn = logLines(server).find(
          (l) => l.level === 40 && typeof l.segment === 'string' && /torn/i.test(String(l.msg)),
        );
        assert.ok(warn, `no torn-tail warning:\n${server.log.slice(0, 3000)}`);
        assert.equal(basename(String(warn.segment)), segmentName, 'the warning names the segment');
        assert.equal(warn.offset, frame.start, 'the warning names the offset where the valid prefix ends');
        assert.ok(
          (await corruptionsTotal(server)) >= 1,
          'molesignal_wal_corruptions_total counts the torn tail',
        );
        assertExactly(await presentIds(server), expected, `cut at ${cut}`);
        // all of batch A lies before the cut
        assert.ok(
          frames.filter((f) => f.end <= sizeA).every((f) => f.ids.every((id) => expected[f.signal].has(id))),
        );

        // writing resumes after the repair
        const more = new Ledger();
        const c = await runLoad(server, more, { lanes: 2, batch: 10, maxRequests: 10 }).done;
        assert.equal(c.acked, 10, JSON.stringify(c.statuses));
        for (const s of SIGNALS) for (const id of more.acked[s].acked) expected[s].add(id);
        assertExactly(await presentIds(server), expected, `cut at ${cut}, after new writes`);
        await server.kill();

        // and a further restart is clean: no new tear, everything acked since is there
        const again = await servers.start({ dataDir });
        await waitReady(again);
        const warnAgain = logLines(again).filter((l) => l.level === 40 && typeof l.segment === 'string');
        assert.deepEqual(warnAgain, [], 'the second start finds no damage');
        assert.equal(await corruptionsTotal(again), 0);
        assertExactly(await presentIds(again), expected, `cut at ${cut}, second restart`);
        await again.stop();
        assert.equal(again.exitCode, 0);
        t.diagnostic(
          `cut at byte ${cut} of ${frames.at(-1)!.end} (record seq ${frame.seq} spans ${frame.start}..${frame.end}, A ends at ${sizeA}); ` +
            `kept ${expected.logs.size + expected.traces.size - more.ackedCount} of ${ledger.ackedCount} records`,
        );
      },
    );
  }
});
