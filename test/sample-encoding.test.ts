/**
 * Metric sample values survive memtable → flush → format-2 Parquet → query exactly (issue 3,
 * docs/format/samples.md): integers, 3-decimal floats, arbitrary doubles, NaN, ±Inf, -0,
 * staleness markers and series that mix them, through PromQL (decoded in JS) and SQL
 * (`metrics._samples`, decoded by a window), with reads that start inside a chain window.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufWriter as W } from '../src/lib/protobuf-writer.ts';
import { snappyCompress } from '../src/lib/snappy.ts';
import { startServer, type ServerProcess } from './harness.ts';

const HOUR_MS = 3_600_000;
const STEP_MS = 30_000;
const POINTS = 200; // 100 minutes: several 10-minute chain windows and an hour boundary
const T0 = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 3 * HOUR_MS + 17 * 60_000; // inside an hour
const STALE = 'stale';

type Gen = (i: number) => number | typeof STALE;
const SERIES: Record<string, Gen> = {
  ints: (i) => (i * 7919) % 101,
  decimals: (i) => Math.round((50 + 30 * Math.sin(i / 9)) * 1000) / 1000,
  doubles: (i) => Math.sin(i) * 1e-3 + i / 3,
  specials: (i) => [NaN, Infinity, -Infinity, -0, 0, 5e-324, 1e300, 2 ** 50, -(2 ** 49), 0.1 + 0.2][i % 10]!,
  mixed: (i) => (i % 5 === 0 ? i / 7 : i % 5 === 1 ? NaN : i % 5 === 2 ? 1.5 : i * 100),
  with_stale: (i) => (i === 60 || i === 150 ? STALE : i % 3 === 0 ? -i : i / 4),
};

function writeRequest(): Uint8Array {
  const req = new W();
  for (const [name, gen] of Object.entries(SERIES)) {
    const ts = new W().message(1, new W().string(1, '__name__').string(2, `enc_${name}`));
    for (let i = 0; i < POINTS; i++) {
      const v = gen(i);
      const sample = v === STALE ? new W().doubleBits(1, 0x7ff0000000000002n) : new W().double(1, v);
      ts.message(2, sample.uint(2, T0 + i * STEP_MS));
    }
    req.message(1, ts);
  }
  return req.finish();
}

/** DuckDB's text of a DOUBLE (shortest round-trip form) back to the number, sign of zero kept. */
function parseDuck(s: string): number {
  if (s === 'nan' || s === '-nan') return NaN;
  if (s === 'inf') return Infinity;
  if (s === '-inf') return -Infinity;
  return Number(s);
}

describe('sample values through flush and Parquet', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer();
    const res = await server.fetch('/api/v1/write', {
      method: 'POST',
      headers: { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf' },
      body: snappyCompress(writeRequest()),
    });
    assert.equal(res.status, 204, await res.text());
  });
  after(async () => {
    await server.stop();
  });

  /** Every sample as SQL sees it: metric → values by index. */
  const sqlSamples = async () => {
    const r = await server.search(
      `SELECT s.metric_name AS m, x._timestamp::VARCHAR AS t, x.value::VARCHAR AS v, x.stale AS stale ` +
        `FROM metrics._samples x JOIN metrics._series s USING (series_id) ORDER BY m, x._timestamp`,
      { size: 10_000 },
    );
    return r.hits as { m: string; t: string; v: string; stale: boolean }[];
  };

  const checkSql = (hits: { m: string; t: string; v: string; stale: boolean }[]) => {
    assert.equal(hits.length, POINTS * Object.keys(SERIES).length);
    for (const h of hits) {
      const i = (Number(BigInt(h.t) / 1_000_000n) - T0) / STEP_MS;
      const want = SERIES[h.m.slice('enc_'.length)]!(i);
      if (want === STALE) assert.ok(h.stale, `${h.m}[${i}] is a staleness marker`);
      else {
        assert.ok(!h.stale, `${h.m}[${i}] is not stale`);
        const got = parseDuck(h.v);
        assert.ok(
          Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want)),
          `${h.m}[${i}]: ${h.v} vs ${want}`,
        );
      }
    }
  };

  /** PromQL `<metric>[range]` at `atMs`: the raw samples it returns, as numbers. */
  const promRange = async (metric: string, rangeS: number, atMs: number) => {
    const res = await server.fetch(
      `/api/v1/query?query=${encodeURIComponent(`${metric}[${rangeS}s]`)}&time=${atMs / 1000}`,
    );
    const body = (await res.json()) as { data: { result: { values: [number, string][] }[] } };
    assert.equal(res.status, 200, JSON.stringify(body));
    const num = (v: string) => (v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v));
    return (body.data.result[0]?.values ?? []).map(([t, v]) => [t * 1000, num(v)] as const);
  };

  const checkProm = async () => {
    // ranges that start inside a chain window and cross window and hour boundaries
    for (const [startI, rangeS] of [
      [0, POINTS * 30],
      [37, 1000],
      [101, 450],
      [150, 1200],
    ] as const) {
      const atMs = T0 + startI * STEP_MS + rangeS * 1000 - 1;
      for (const [name, gen] of Object.entries(SERIES)) {
        const got = await promRange(`enc_${name}`, rangeS, atMs);
        const want: [number, number][] = [];
        for (let i = 0; i < POINTS; i++) {
          const t = T0 + i * STEP_MS;
          const v = gen(i);
          if (t > atMs - rangeS * 1000 && t <= atMs && v !== STALE) want.push([t, v]);
        }
        assert.equal(got.length, want.length, `${name} [${rangeS}s] at +${startI}`);
        got.forEach(([t, v], k) => {
          assert.equal(t, want[k]![0]);
          // the API prints -0 as "0": compare numerically, NaN as NaN
          assert.ok(
            v === want[k]![1] || (Number.isNaN(v) && Number.isNaN(want[k]![1])),
            `${name} @${t}: ${v}`,
          );
        });
      }
    }
  };

  test('from the memtable', async () => {
    checkSql(await sqlSamples());
    await checkProm();
  });

  test('from format-2 Parquet files after a flush, bit for bit', async () => {
    const res = await server.fetch('/api/default/streams/_samples/_flush?type=metrics', { method: 'POST' });
    const flushed = (await res.json()) as { files: number; rows: number };
    assert.equal(flushed.rows, POINTS * Object.keys(SERIES).length);
    assert.ok(flushed.files >= 2, 'the samples span an hour boundary');
    const r = await server.search(`SELECT count(*) AS c FROM metrics._samples`);
    assert.ok((r.stats.files_scanned ?? 0) >= 2);
    assert.equal(r.stats.memtable_rows, 0);
    checkSql(await sqlSamples());
    await checkProm();
  });
});
