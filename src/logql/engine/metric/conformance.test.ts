/**
 * The metric queries of the recorded Loki conformance set, evaluated directly (no HTTP): every
 * one passes or is listed in expected-failures.txt with its reason.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseExpectedFailures } from '../../../lib/expected-failures.ts';
import { loadConformance, runCase, type CaseResult } from './conformance.ts';

const DIR = fileURLToPath(new URL('../../../../../shared/conformance/logql/', import.meta.url));
const EXPECTED_FAILURES = fileURLToPath(new URL('./expected-failures.txt', import.meta.url));

test('LogQL metric conformance (evaluator level)', { timeout: 300_000 }, async (t) => {
  if (!existsSync(DIR)) {
    if (process.env.CI === 'true') assert.fail(`conformance data missing: ${DIR}`);
    t.skip(`conformance data not found at ${DIR}`);
    return;
  }
  const { queries, source } = loadConformance(DIR);
  // every query twice: with the bucket pushdown, and with a source that only reads lines
  const linesOnly = { read: source.read.bind(source) };
  const results: CaseResult[] = [];
  for (const q of queries) {
    const pushed = await runCase(DIR, q, source);
    const read = await runCase(DIR, q, linesOnly);
    results.push(
      pushed.outcome === 'fail'
        ? pushed
        : read.outcome === 'fail'
          ? { ...read, reason: `line path: ${read.reason}` }
          : pushed,
    );
  }
  const expected = parseExpectedFailures(readFileSync(EXPECTED_FAILURES, 'utf8'));
  const ran = results.filter((r) => r.outcome !== 'skip');
  const passed = ran.filter((r) => r.outcome === 'pass');
  const failed = ran.filter((r) => r.outcome === 'fail');
  t.diagnostic(`${passed.length} passed, ${failed.length} failed (of ${ran.length} metric queries)`);
  for (const f of failed) t.diagnostic(`FAIL ${f.id}: ${f.query}\n    ${f.reason}`);
  const unexpected = failed.filter((f) => !expected.has(f.id)).map((f) => `${f.id}: ${f.reason}`);
  const nowPassing = passed
    .filter((p) => expected.has(p.id))
    .map((p) => `${p.id} passes: remove it from expected-failures.txt`);
  assert.deepEqual([...unexpected, ...nowPassing], []);
});
