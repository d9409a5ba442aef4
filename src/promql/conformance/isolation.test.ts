import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runIsolated } from './suite.ts';

test(
  'isolated runner: a synchronous hang fails that eval and the file goes on',
  { timeout: 30_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promql-conf-'));
    try {
      const path = join(dir, 'h.test');
      writeFileSync(
        path,
        'eval instant at 0 a\n  x 1\n\neval instant at 0 hang\n  x 1\n\neval instant at 0 b\n  x 1\n',
      );
      const results = await runIsolated(
        path,
        'h.test',
        { timeoutMs: 100 },
        new URL('./hang-worker.fixture.ts', import.meta.url),
      );
      assert.deepEqual(
        results.map((r) => [r.id, r.ok]),
        [
          ['h.test:1', true],
          ['h.test:4', false],
          ['h.test:7', true],
        ],
      );
      assert.match(results[1]?.reason ?? '', /timeout/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
