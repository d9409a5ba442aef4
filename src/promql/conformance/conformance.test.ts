/**
 * CI gate of the PromQL conformance suite: runs the Prometheus test scripts in
 * ../shared/conformance/promql/testdata/ and requires the required files to be green against
 * src/promql/conformance/expected-failures.txt (no unexpected failure, no unexpected pass).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseExpectedFailures } from '../../lib/expected-failures.ts';
import { DEFAULT_EXPECTED_FAILURES, formatReport, runSuite, summarize } from './suite.ts';

const DIR = fileURLToPath(new URL('../../../../shared/conformance/promql/testdata/', import.meta.url));

test('PromQL conformance: the required files are green', { timeout: 120_000 }, async (t) => {
  if (!existsSync(DIR)) {
    if (process.env.CI === 'true') assert.fail(`conformance data missing: ${DIR}`);
    t.skip(`conformance data not found at ${DIR}`);
    return;
  }
  const expected = parseExpectedFailures(readFileSync(DEFAULT_EXPECTED_FAILURES, 'utf8'));
  const reports = await runSuite(DIR);
  const lines = formatReport(reports, expected, false);
  const s = summarize(reports, expected);
  // eslint-disable-next-line no-console
  console.log(lines.at(-1));
  const problems = [
    ...s.required.unexpectedFailures.map((id) => {
      const c = reports.flatMap((r) => r.results).find((x) => x.id === id);
      return `unexpected failure ${id}: ${c?.query ?? ''}\n    ${c?.reason ?? ''}`;
    }),
    ...s.required.unexpectedPasses.map((id) => `passes but is listed in expected-failures.txt: ${id}`),
    ...reports.filter((r) => r.required && r.error).map((r) => `${r.file}: ${r.error ?? ''}`),
  ];
  assert.ok(s.green, `PromQL conformance is not green:\n${problems.join('\n')}`);
});
