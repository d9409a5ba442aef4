/**
 * CI gate of the LogQL conformance set (../shared/conformance/logql, answers recorded from Grafana
 * Loki 3.4.6): every query runs over the Loki HTTP API of a real server process, and any failure
 * not listed in src/logql/conformance/expected-failures.txt fails the test. A listed query that
 * now passes is reported, to be removed from the list.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseExpectedFailures, summaryLine, tally } from '../src/lib/expected-failures.ts';
import { runConformance } from '../src/logql/conformance/runner.ts';
import { sharedOrSkip } from './harness.ts';

const EXPECTED_FAILURES = new URL('../src/logql/conformance/expected-failures.txt', import.meta.url);

test('LogQL conformance: no failure outside the expected-failures list', { timeout: 600_000 }, async (t) => {
  const dir = sharedOrSkip(t, 'conformance/logql');
  if (!dir) return;
  const expected = parseExpectedFailures(readFileSync(EXPECTED_FAILURES, 'utf8'));
  const reports = await runConformance(dir);
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
    `LogQL conformance failures not listed as expected:\n${problems.join('\n')}`,
  );
  const unknown = [...expected.keys()].filter((id) => !reports.some((r) => r.id === id));
  assert.deepEqual(unknown, [], 'expected-failures.txt lists ids that are not in queries.json');
});
