import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import type { FileRow } from '../catalog/catalog.ts';
import type { LineFilterStage } from '../logql/ast.ts';
import type { ColumnBatch } from '../write/column-batch.ts';
import { prng } from '../wal/wal-test-helpers.ts';
import { HOUR_NS } from './key-layout.ts';
import { LocalObjectStore } from './object-store.ts';
import {
  Bloom,
  GRAM,
  HashSet32,
  STEP,
  SLICE_NS,
  TokenFilterBuilder,
  bloomMayContain,
  decodeSidecar,
  encodeSidecar,
  filesMayContain,
  forEachEntry,
  lineFilterRequirements,
  needleRequirements,
  pruneByTokens,
  tokenFilterKey,
} from './token-filter.ts';

function bloomOf(values: string[]): Bloom {
  const set = new HashSet32();
  for (const v of values) forEachEntry(v, (h) => set.add(h));
  return Bloom.build(set);
}

const hex = (r: () => number, n: number) =>
  Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');

test('every substring of an indexed value passes (no false negatives), random lines', () => {
  const r = prng(7);
  const SEPS = [' ', '"', ':', ',', '-', '/', '=', '.', 'é', '\t', '_'];
  const lines: string[] = [];
  for (let i = 0; i < 300; i++) {
    let s = '';
    const parts = 2 + Math.floor(r() * 8);
    for (let p = 0; p < parts; p++) {
      s +=
        r() < 0.3
          ? hex(r, 32)
          : r() < 0.5
            ? 'Word' + Math.floor(r() * 1000)
            : hex(r, 1 + Math.floor(r() * 40));
      s += SEPS[Math.floor(r() * SEPS.length)];
    }
    lines.push(s);
  }
  const bloom = bloomOf(lines);
  for (let i = 0; i < 20_000; i++) {
    const line = lines[Math.floor(r() * lines.length)]!;
    const a = Math.floor(r() * line.length);
    const b = a + Math.floor(r() * (line.length - a + 1));
    const needle = line.slice(a, b);
    assert.ok(
      bloomMayContain(bloom, needle),
      `false negative for ${JSON.stringify(needle)} in ${JSON.stringify(line)}`,
    );
  }
});

test('absent ids are ruled out: whole tokens, quoted ids, bare 32-hex ids', () => {
  const r = prng(11);
  const lines = Array.from(
    { length: 2000 },
    () => `{"level":"info","trace_id":"${hex(r, 32)}","user":"u-${Math.floor(r() * 1e6)}"}`,
  );
  const bloom = bloomOf(lines);
  let maybeToken = 0;
  let maybeBare = 0;
  for (let i = 0; i < 1000; i++) {
    const id = hex(r, 32);
    if (bloomMayContain(bloom, `"${id}"`)) maybeToken++;
    if (bloomMayContain(bloom, id)) maybeBare++;
  }
  // ~1 % per lookup for a whole token; a bare id needs 2-3 grams in one of STEP alignments
  assert.ok(maybeToken < 40, `whole-token false positives ${maybeToken}/1000`);
  assert.ok(maybeBare < 40, `bare-id false positives ${maybeBare}/1000`);
  // and what is there is found
  const present = /"trace_id":"([0-9a-f]{32})"/.exec(lines[123]!)![1]!;
  assert.ok(bloomMayContain(bloom, present));
  assert.ok(bloomMayContain(bloom, present.slice(3, 3 + GRAM + STEP - 1)));
});

test('needle runs: which ones are checked', () => {
  // no token characters, or only short edge runs: nothing can be checked
  assert.deepEqual(needleRequirements(''), []);
  assert.deepEqual(needleRequirements('" - "'), []);
  assert.deepEqual(needleRequirements('GET'), []);
  assert.deepEqual(needleRequirements('abc def'), []);
  // a run with separators on both sides is a whole token
  assert.equal(needleRequirements(' GET ').length, 1);
  assert.equal(needleRequirements('"level":"error"').length, 2); // level, error; the edges are empty
  // ...when shorter than GRAM: a longer one (an id) is indexed and checked by its grams from 0
  const id = '4bf92f3577b34da6a3ce929d0e0e4736';
  assert.deepEqual(needleRequirements(`"${id}"`), needleRequirements(` ${id}`));
  assert.equal(needleRequirements(`"${id}"`)[0]![0]!.length, 3);
  // a prefix run (separator before it) needs ≥ GRAM characters
  assert.equal(needleRequirements(' ' + 'a'.repeat(GRAM - 1)).length, 0);
  assert.equal(needleRequirements(' ' + 'a'.repeat(GRAM)).length, 1);
  // a run that may start mid-token needs GRAM+STEP−1 characters; one alternative per alignment
  assert.equal(needleRequirements('b'.repeat(GRAM + STEP - 2)).length, 0);
  assert.equal(needleRequirements('b'.repeat(GRAM + STEP - 1))[0]!.length, STEP);
});

test('case-sensitive and exact: a token is not its upper-case form', () => {
  const bloom = bloomOf(['level=error msg="disk full"']);
  assert.ok(bloomMayContain(bloom, ' error '.trim()));
  assert.ok(bloomMayContain(bloom, '=error '));
  assert.equal(bloomMayContain(bloom, '=ERROR '), false);
  assert.equal(bloomMayContain(bloom, '=warning '), false);
});

test('sidecar round trip; a foreign or truncated one reads as none', () => {
  const b1 = bloomOf(['alpha beta']);
  const b2 = bloomOf(['gamma']);
  const bytes = encodeSidecar(
    new Map([
      [
        'body',
        [
          { startNs: 0n, endNs: SLICE_NS, bloom: b1 },
          { startNs: SLICE_NS, endNs: 2n * SLICE_NS, bloom: b2 },
        ],
      ],
      ['attr.msg', [{ startNs: 0n, endNs: SLICE_NS, bloom: b2 }]],
    ]),
  );
  const back = decodeSidecar(bytes)!;
  assert.deepEqual([...back.keys()], ['body', 'attr.msg']);
  assert.deepEqual(back.get('body')![0]!.bloom.words, b1.words);
  assert.equal(back.get('body')![1]!.startNs, SLICE_NS);
  assert.equal(back.get('attr.msg')![0]!.bloom.m, b2.m);
  assert.equal(decodeSidecar(bytes.subarray(0, bytes.length - 4)), null);
  assert.equal(decodeSidecar(new TextEncoder().encode('PAR1 not a sidecar')), null);
});

test('HashSet32 keeps distinct values across growth', () => {
  const s = new HashSet32();
  for (let i = 1; i <= 50_000; i++) {
    s.add(Math.imul(i, 2654435761));
    s.add(Math.imul(i, 2654435761));
  }
  assert.equal(s.size, 50_000);
  let n = 0;
  s.forEach(() => n++);
  assert.equal(n, 50_000);
});

test('HashSet32 is sized for the values it expects; builders size new slices after the last filters', () => {
  assert.equal(new HashSet32().bytes, 16384 * 4);
  assert.equal(new HashSet32(100_000).bytes, 262_144 * 4);
  const sizes = new Map<string, number>();
  const first = new TokenFilterBuilder(sizes);
  const t0 = 1_700_000_000n * 1_000_000_000n;
  const lo = t0 - (t0 % HOUR_NS);
  const lines = Array.from({ length: 30_000 }, (_, i) => `w${i}`);
  first.addValues(
    'body',
    lines.map(() => lo),
    lines,
    lines.length,
  );
  assert.ok(first.sidecar(lo));
  assert.equal(sizes.get('body'), 30_000);
  const next = new TokenFilterBuilder(sizes);
  next.addValues('body', [lo], ['x'], 1);
  assert.equal(next.bytes, 65_536 * 4);
});

function logBatch(rows: [bigint, string | null][]): ColumnBatch {
  return {
    signal: 'logs',
    rowCount: rows.length,
    fixed: { _timestamp: rows.map((r) => r[0]), body: rows.map((r) => r[1]) },
    dynamic: [],
    rejectedCount: 0,
    rejectedMessage: '',
  };
}

test('builder: per file (hour) one filter per 5-minute slice, null bodies skipped', () => {
  const h0 = 100n * HOUR_NS;
  const batch = logBatch([
    [h0 + 5n, 'first hour token_one'],
    [h0 + HOUR_NS - 1n, 'still first'],
    [h0 + HOUR_NS, 'second hour token_two'],
    [h0 + HOUR_NS + 7n, null],
  ]);
  const b = TokenFilterBuilder.forBatch(batch)!;
  b.add(batch, (name) => batch.fixed[name]);
  const first = decodeSidecar(b.sidecar(h0)!)!.get('body')!;
  const second = decodeSidecar(b.sidecar(h0 + HOUR_NS)!)!.get('body')!;
  assert.deepEqual(
    first.map((s) => [s.startNs - h0, s.endNs - h0]),
    [
      [0n, SLICE_NS],
      [HOUR_NS - SLICE_NS, HOUR_NS],
    ],
  );
  assert.ok(bloomMayContain(first[0]!.bloom, ' token_one'));
  assert.ok(bloomMayContain(first[1]!.bloom, ' still '));
  assert.equal(bloomMayContain(first[0]!.bloom, ' still '), false);
  assert.equal(second.length, 1);
  assert.ok(bloomMayContain(second[0]!.bloom, ' second '));
  assert.equal(bloomMayContain(second[0]!.bloom, ' still '), false);
  assert.equal(b.sidecar(h0 + 2n * HOUR_NS), null);
  assert.equal(TokenFilterBuilder.forBatch({ ...batch, signal: 'traces' }), null);
});

test('filesMayContain drops files whose sidecar rules the needle out, keeps files without one', async () => {
  const root = await mkdtemp(join(tmpdir(), 'token-filter-'));
  try {
    const store = new LocalObjectStore(root);
    const file = (key: string) => ({ id: key, key }) as FileRow;
    const put = async (key: string, lines: string[]) => {
      const path = store.localPath(tokenFilterKey(key));
      await mkdir(dirname(path), { recursive: true });
      const slices = lines.map((l, i) => ({
        startNs: BigInt(i) * SLICE_NS,
        endNs: BigInt(i + 1) * SLICE_NS,
        bloom: bloomOf([l]),
      }));
      await writeFile(path, encodeSidecar(new Map([['body', slices]])));
    };
    await put('o/logs/s/a.parquet', [
      'trace 0af7651916cd43dd8448eb211c80319c done',
      'nothing here',
      'again 0af7651916cd43dd8448eb211c80319c',
      'again 0af7651916cd43dd8448eb211c80319c',
    ]);
    await put('o/logs/s/b.parquet', ['trace b7ad6b7169203331a2c5e1b8d0e7c1f2 done']);
    const files = ['o/logs/s/a.parquet', 'o/logs/s/b.parquet', 'o/logs/s/c.parquet'].map(file);
    const keys = async (req: (string | string[])[]) =>
      (await filesMayContain(store, files, req)).map((f) => f.key);
    assert.deepEqual(await keys(['0af7651916cd43dd8448eb211c80319c']), [
      'o/logs/s/a.parquet',
      'o/logs/s/c.parquet',
    ]);
    assert.deepEqual(await keys([['0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331a2c5e1b8d0e7c1f2']]), [
      'o/logs/s/a.parquet',
      'o/logs/s/b.parquet',
      'o/logs/s/c.parquet',
    ]);
    assert.deepEqual(
      await keys(['done']),
      files.map((f) => f.key),
    ); // too short to check: all kept
    assert.deepEqual(
      await keys([]),
      files.map((f) => f.key),
    );
    // the ranges: the slices that may match, adjacent ones merged; whole files without a sidecar
    const pruned = await pruneByTokens(store, files, ['0af7651916cd43dd8448eb211c80319c']);
    assert.deepEqual(
      pruned.map((p) => p.ranges),
      [
        [
          [0n, SLICE_NS],
          [2n * SLICE_NS, 4n * SLICE_NS],
        ],
        null,
      ],
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('lineFilterRequirements: |= strings, alternatives as a list; other filters ignored', () => {
  const lf = (op: LineFilterStage['op'], ...values: string[]): LineFilterStage => ({
    type: 'LineFilter',
    op,
    values: values.map((value) => ({ kind: 'string', value })),
    pos: { start: 0, end: 0 },
  });
  assert.deepEqual(
    lineFilterRequirements([lf('|=', 'a'), lf('!=', 'b'), lf('|~', 'c.*'), lf('|=', 'x', 'y')]),
    ['a', ['x', 'y']],
  );
  const ip: LineFilterStage = { ...lf('|='), values: [{ kind: 'ip', value: '10.0.0.0/8' }] };
  assert.deepEqual(lineFilterRequirements([ip]), []);
});
