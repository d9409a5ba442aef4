/**
 * A log query with a limit reads its range in time slices from the end it starts at (source.ts,
 * nextCover): the lines it answers are still the first `limit` of the whole range in Loki's order
 * (time, then label set, then push order; all reversed for backward), whether the lines sit in
 * Parquet files of several hours or in the memtable, and whether a slice holds many, few or none.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { contains } from '../src/logql/engine/metric/test-helpers.ts';
import { firstSliceNs, labelsString, nextCover } from '../src/logql/engine/source.ts';
import { removeDir, startServer, type ServerProcess } from './harness.ts';

const T0 = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z
const SEC = 1_000_000_000n;
const SPAN = 3n * 3600n * SEC;

interface Line {
  labels: Record<string, string>;
  ts: bigint;
  line: string;
  /** push order */
  seq: number;
}

const SETS = [
  { job: 'web', host: 'a' },
  { job: 'web', host: 'b' },
  { job: 'db', host: 'a' },
];

/** Lines over 3 hours, dense in the last minutes and sparse before, with many equal timestamps. */
function makeLines(): Line[] {
  const out: Line[] = [];
  let seq = 0;
  for (let k = 0; k < 900; k++) {
    // the first 300 spread over the 3 hours, the rest in the last 2 minutes (on 40 timestamps)
    const ts =
      k < 300 ? T0 + BigInt((k * 7919) % 10_800) * SEC : T0 + SPAN - 120n * SEC + BigInt(k % 40) * 3n * SEC;
    const labels = SETS[(k * 5) % 3]!;
    out.push({ labels, ts, line: `line ${k}${k % 9 === 0 ? ' rare' : ''}`, seq: seq++ });
  }
  return out;
}

const LINES = makeLines();
let server: ServerProcess;

async function push(lines: Line[]): Promise<void> {
  const streams = SETS.map((labels) => ({
    stream: labels,
    values: lines.filter((l) => l.labels === labels).map((l) => [String(l.ts), l.line]),
  }));
  const r = await server.fetch('/loki/api/v1/push', {
    method: 'POST',
    body: JSON.stringify({ streams }),
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(r.status, 204, await r.text());
}

before(async () => {
  server = await startServer({});
  // the first two thirds in Parquet files (one per hour), the rest in the memtable
  await push(LINES.slice(0, 600));
  const r = await server.fetch('/api/default/streams/default/_flush?type=logs', { method: 'POST' });
  assert.ok(r.ok, await r.text());
  await push(LINES.slice(600));
});

after(async () => {
  if (!server) return;
  await server.stop();
  await removeDir(server.dataDir);
});

/** The answer Loki gives: the first `limit` lines in its order, grouped by label set. */
function expected(lines: Line[], limit: number, backward: boolean): Map<string, [string, string][]> {
  const sorted = [...lines].sort((a, b) => {
    if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
    const ka = labelsString(a.labels);
    const kb = labelsString(b.labels);
    if (ka !== kb) return ka < kb ? -1 : 1;
    return a.seq - b.seq;
  });
  if (backward) sorted.reverse();
  const out = new Map<string, [string, string][]>();
  for (const l of sorted.slice(0, limit)) {
    const key = labelsString(l.labels);
    if (!out.has(key)) out.set(key, []);
    out.get(key)!.push([String(l.ts), l.line]);
  }
  return out;
}

async function answer(
  query: string,
  limit: number,
  direction: string,
): Promise<Map<string, [string, string][]>> {
  const params = new URLSearchParams({
    query,
    start: String(T0),
    end: String(T0 + SPAN + SEC),
    limit: String(limit),
    direction,
  });
  const r = await server.fetch(`/loki/api/v1/query_range?${params.toString()}`);
  const text = await r.text();
  assert.equal(r.status, 200, text);
  const result = (
    JSON.parse(text) as { data: { result: { stream: Record<string, string>; values: [string, string][] }[] } }
  ).data.result;
  return new Map(result.map((s) => [labelsString(s.stream), s.values]));
}

test('a search with a limit answers the first lines of the whole range in Loki order', async () => {
  const cases: [string, (l: Line) => boolean][] = [
    ['{job=~"web|db"}', () => true],
    ['{job="web"}', (l) => l.labels.job === 'web'],
    ['{job=~"web|db"} |= "rare"', (l) => l.line.includes('rare')],
    ['{host="a"} |= "line 1"', (l) => l.labels.host === 'a' && l.line.includes('line 1')],
  ];
  for (const [query, keep] of cases) {
    const lines = LINES.filter(keep);
    for (const direction of ['backward', 'forward']) {
      for (const limit of [1, 7, 100, 650, 5000]) {
        const got = await answer(query, limit, direction);
        const want = expected(lines, limit, direction === 'backward');
        assert.deepEqual(got, want, `${query} ${direction} limit ${limit}`);
      }
    }
  }
});

test('firstSliceNs: the rows the limit needs at the mean density of the files, prorated to the range', () => {
  const hour = 3600n * SEC;
  const req = { startNs: T0, endNs: T0 + 2n * hour, limit: 100, lineFilters: [contains('error')] };
  // 2,000,000 rows over the 2 hours in 4 files: 16,000 rows wanted = 57.6 s
  const files = [0n, 1n, 2n, 3n].map((k) => ({
    minTs: T0 + (k * hour) / 2n,
    maxTs: T0 + ((k + 1n) * hour) / 2n - 1n,
    rows: 500_000,
  }));
  assert.equal(firstSliceNs(files, req), 57_600_000_000n);
  // without a line filter most lines are answers: 400 rows
  assert.equal(firstSliceNs(files, { ...req, lineFilters: [] }), 1_440_000_000n);
  // a file half outside the range counts half its rows
  assert.equal(
    firstSliceNs([{ minTs: T0 - hour, maxTs: T0 + hour - 1n, rows: 2_000_000 }], req),
    115_200_000_000n,
  );
  // no file: a part of the range (memtables are cheap to slice); never past the range
  assert.equal(firstSliceNs([], req), (2n * hour) / 128n);
  assert.equal(firstSliceNs([{ minTs: T0, maxTs: T0 + 1n, rows: 10 }], req), 2n * hour);
});

test('nextCover: a small first slice, then wider at the rate found, never past the range', () => {
  const span = 3600n * SEC;
  assert.equal(nextCover(span, 0n, 100, 0), span / 128n);
  assert.equal(nextCover(100n * SEC, 0n, 100, 0), SEC); // at least a second
  assert.equal(nextCover(SEC / 2n, 0n, 100, 0), SEC / 2n); // not past the range
  assert.equal(nextCover(span, 10n * SEC, 100, 0), 160n * SEC); // nothing found: ×16
  assert.equal(nextCover(span, 10n * SEC, 100, 50), 40n * SEC); // half found: ×4
  assert.equal(nextCover(span, 10n * SEC, 100, 500), 20n * SEC); // at least ×2
  assert.equal(nextCover(span, 1000n * SEC, 100, 1), span);
  assert.equal(nextCover(span, 0n, 100, 0, 90n * SEC), 90n * SEC); // firstSliceNs
  assert.equal(nextCover(span, 0n, 100, 0, 1000n), SEC);
});
