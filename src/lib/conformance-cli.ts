/**
 * The command line of a recorded-answers conformance runner (LogQL, TraceQL):
 * `<dir> [--expected-failures <file>] [--ids a,b] [--no-flush] [--timeout <ms>]`.
 *
 * Runs the set in <dir> and prints one line per query, the slowest queries, and last
 * `N passed, M failed` (an expected failure counts as failed). Exit code 0 iff no query failed
 * that is not listed in the expected-failures file (a listed one that passes is reported, to be
 * removed).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseExpectedFailures, summaryLine, tally } from './expected-failures.ts';

export interface QueryReport {
  id: string;
  query: string;
  ok: boolean;
  /** what differs, when not ok */
  detail: string;
  ms: number;
}

export interface RunOptions {
  /** only these ids */
  ids?: string[];
  /** flush the memtables after loading, so queries read Parquet files (default true) */
  flush?: boolean;
  /** per-query timeout */
  timeoutMs?: number;
  /** called after each query */
  onReport?: (r: QueryReport) => void;
}

export interface ConformanceCli {
  /** `npm run <script> --` */
  script: string;
  defaultExpectedFailures: URL;
  run: (dir: string, opts: RunOptions) => Promise<QueryReport[]>;
}

async function main(cli: ConformanceCli, argv: string[]): Promise<number> {
  const USAGE = `usage: npm run ${cli.script} -- <dir> [--expected-failures <file>] [--ids a,b] [--no-flush] [--timeout <ms>]\n`;
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'expected-failures': { type: 'string' },
      ids: { type: 'string' },
      'no-flush': { type: 'boolean', default: false },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const dir = positionals[0];
  if (values.help || !dir || positionals.length > 1) {
    process.stderr.write(USAGE);
    return values.help ? 0 : 2;
  }
  const efPath = values['expected-failures'] ?? fileURLToPath(cli.defaultExpectedFailures);
  if (!existsSync(efPath)) {
    process.stderr.write(`expected-failures file not found: ${efPath}\n`);
    return 2;
  }
  const expected = parseExpectedFailures(readFileSync(efPath, 'utf8'));
  const timeoutMs = values.timeout !== undefined ? Number(values.timeout) : undefined;
  if (timeoutMs !== undefined && !(timeoutMs > 0)) {
    process.stderr.write(`invalid --timeout: ${values.timeout}\n`);
    return 2;
  }
  const ids = values.ids
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const reports = await cli.run(dir, {
    ...(ids ? { ids } : {}),
    flush: !values['no-flush'],
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    onReport: (r) => {
      const listed = expected.get(r.id);
      const ms = `${Math.round(r.ms)} ms`;
      if (r.ok)
        process.stdout.write(
          `PASS ${r.id} (${ms})${listed ? ' — listed as an expected failure: remove it' : ''}\n`,
        );
      else
        process.stdout.write(
          `FAIL ${r.id} (${ms})${listed ? ` [expected: ${listed.reason}]` : ''}: ${r.detail}\n`,
        );
    },
  });
  const t = tally(reports, ids ? new Map([...expected].filter(([id]) => ids.includes(id))) : expected);
  process.stdout.write(`slowest: ${slowest(reports)}\n`);
  if (t.unexpectedFailures.length > 0)
    process.stdout.write(`unexpected failures: ${t.unexpectedFailures.join(', ')}\n`);
  if (t.unexpectedPasses.length > 0)
    process.stdout.write(`listed but passing: ${t.unexpectedPasses.join(', ')}\n`);
  process.stdout.write(`${summaryLine(t)}\n`);
  return t.unexpectedFailures.length === 0 ? 0 : 1;
}

const slowest = (reports: QueryReport[]): string =>
  [...reports]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 5)
    .map((r) => `${r.id} ${Math.round(r.ms)} ms`)
    .join(', ');

/** runs the command line with `process.argv` and sets the exit code */
export function conformanceCli(cli: ConformanceCli): void {
  main(cli, process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
