/**
 * The CI gate of a recorded-answers conformance set (LogQL, TraceQL): runs the set from
 * ../shared/<set> (skipped when absent, failed when CI=true), and fails on any failure not listed
 * in the expected-failures file; a listed query that now passes is reported, to be removed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import type { QueryReport } from '../src/lib/conformance-cli.ts';
import { parseExpectedFailures, summaryLine, tally } from '../src/lib/expected-failures.ts';
import { sharedOrSkip } from './harness.ts';

export async function conformanceGate(
  t: TestContext,
  o: { name: string; set: string; expectedFailures: URL; run: (dir: string) => Promise<QueryReport[]> },
): Promise<void> {
  const dir = sharedOrSkip(t, o.set);
  if (!dir) return;
  const expected = parseExpectedFailures(readFileSync(o.expectedFailures, 'utf8'));
  const reports = await o.run(dir);
  const tl = tally(reports, expected);
  t.diagnostic(summaryLine(tl));
  if (tl.unexpectedPasses.length > 0)
    t.diagnostic(
      `passing but listed in expected-failures.txt (remove them): ${tl.unexpectedPasses.join(', ')}`,
    );
  const problems = tl.unexpectedFailures.map((id) => {
    const r = reports.find((x) => x.id === id)!;
    return `${id}: ${r.query}\n    ${r.detail}`;
  });
  assert.deepEqual(
    problems,
    [],
    `${o.name} conformance failures not listed as expected:\n${problems.join('\n')}`,
  );
  const unknown = [...expected.keys()].filter((id) => !reports.some((r) => r.id === id));
  assert.deepEqual(unknown, [], 'expected-failures.txt lists ids that are not in queries.json');
}
