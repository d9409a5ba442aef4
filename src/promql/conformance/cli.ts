/**
 * `npm run promql-conformance -- <dir> [--expected-failures <file>] [--verbose] [--files a,b]
 *  [--no-step-invariance] [--timeout <ms>] [--write-expected-failures]`
 *
 * Runs every `*.test` script in <dir>, prints one line per file and, last, `N passed, M failed`.
 * Exit code 0 iff the required files have no unexpected failures and no unexpected passes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseExpectedFailures, type ExpectedFailure } from '../../lib/expected-failures.ts';
import {
  DEFAULT_EXPECTED_FAILURES,
  expectedFailuresText,
  formatReport,
  runSuite,
  summarize,
  writeExpectedFailures,
} from './suite.ts';

const USAGE =
  'usage: npm run promql-conformance -- <dir> [--expected-failures <file>] [--verbose] [--files a,b] ' +
  '[--no-step-invariance] [--timeout <ms>] [--write-expected-failures]\n';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'expected-failures': { type: 'string' },
      verbose: { type: 'boolean', short: 'v', default: false },
      files: { type: 'string' },
      'no-step-invariance': { type: 'boolean', default: false },
      timeout: { type: 'string' },
      'write-expected-failures': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const dir = positionals[0];
  if (values.help || !dir || positionals.length > 1) {
    process.stderr.write(USAGE);
    return values.help ? 0 : 2;
  }
  const efPath = values['expected-failures'] ?? fileURLToPath(DEFAULT_EXPECTED_FAILURES);
  let expected = new Map<string, ExpectedFailure>();
  if (existsSync(efPath)) expected = parseExpectedFailures(readFileSync(efPath, 'utf8'));
  else if (values['expected-failures'] !== undefined && !values['write-expected-failures']) {
    process.stderr.write(`expected-failures file not found: ${efPath}\n`);
    return 2;
  }
  const timeoutMs = values.timeout !== undefined ? Number(values.timeout) : undefined;
  if (timeoutMs !== undefined && !(timeoutMs > 0)) {
    process.stderr.write(`invalid --timeout: ${values.timeout}\n`);
    return 2;
  }
  const reports = await runSuite(dir, {
    files: values.files
      ?.split(',')
      .map((f) => f.trim())
      .filter((f) => f !== ''),
    stepInvariance: !values['no-step-invariance'],
    timeoutMs,
  });
  if (values['write-expected-failures']) {
    writeExpectedFailures(efPath, reports, expected);
    expected = parseExpectedFailures(expectedFailuresText(reports, expected));
    process.stderr.write(`wrote ${efPath} (${expected.size} cases)\n`);
  }
  process.stdout.write(`${formatReport(reports, expected, values.verbose).join('\n')}\n`);
  return summarize(reports, expected).green ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 2;
  },
);
