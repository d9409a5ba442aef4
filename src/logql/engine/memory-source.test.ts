import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogEntry } from '../pipeline/types.ts';
import { parseLogQL } from '../parser/index.ts';
import { MemoryLogSource } from './memory-source.ts';
import type { LogReadRequest } from './source-types.ts';
import { contains, eq, re, SEC, smallBody, T0 } from './metric/test-helpers.ts';

async function readAll(src: MemoryLogSource, req: Partial<LogReadRequest>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const batch of src.read({
    matchers: [],
    lineFilters: [],
    startNs: T0,
    endNs: T0 + 1000n * SEC,
    direction: 'forward',
    ...req,
  }))
    out.push(...batch);
  return out;
}

describe('MemoryLogSource', () => {
  it('reads [start, end) of the matching streams in time order, either direction', async () => {
    const src = new MemoryLogSource(smallBody());
    const fwd = await readAll(src, {
      matchers: [eq('job', 'a')],
      startNs: T0 + 10n * SEC,
      endNs: T0 + 90n * SEC,
    });
    assert.deepEqual(
      fwd.map((e) => Number((e.ts - T0) / SEC)),
      [10, 30, 60, 61],
    );
    assert.deepEqual(fwd[1]?.metadata, { pod: 'p1' });
    assert.deepEqual(fwd[0]?.stream, { job: 'a', host: 'h1' });
    const back = await readAll(src, { matchers: [re('host', 'h[13]')], direction: 'backward' });
    assert.deepEqual(
      back.map((e) => Number((e.ts - T0) / SEC)),
      [120, 65, 61, 60, 10, 5],
    );
  });

  it('applies line filters as the pipeline does', async () => {
    const src = new MemoryLogSource(smallBody());
    assert.equal((await readAll(src, { lineFilters: [contains('GET')] })).length, 5);
    const regex = parseLogQL('{job="a"} |~ "(?i)^post"');
    assert.ok(regex.type === 'LogSelector');
    const lines = await readAll(src, { lineFilters: regex.pipeline.filter((s) => s.type === 'LineFilter') });
    assert.deepEqual(
      lines.map((e) => e.line),
      ['POST /y'],
    );
  });

  it('aggregates buckets after the pipeline, left-open and right-closed', async () => {
    const src = new MemoryLogSource(smallBody());
    const rows = await src.aggregateBuckets({
      matchers: [eq('host', 'h1')],
      pipeline: [],
      grouping: null,
      originNs: T0,
      bucketNs: 60n * SEC,
      bucketCount: 2,
      withBytes: true,
    });
    assert.deepEqual(
      rows?.map((r) => [r.bucket, r.count, r.bytes]),
      [
        [0, 2, 13],
        [1, 2, 12],
      ],
    );
  });
});
