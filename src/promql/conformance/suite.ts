/**
 * Runs every `*.test` script of a directory (each in a worker thread with a watchdog, so an eval
 * that hangs is counted failed and the run goes on), tallies against the expected-failures list,
 * and formats the report. Only the REQUIRED files decide whether the run is green.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  isGreen,
  summaryLine,
  tally,
  type ConformanceTally,
  type ExpectedFailure,
} from '../../lib/expected-failures.ts';
import { loadEngine } from './engine-api.ts';
import { DEFAULT_TIMEOUT_MS, runScript, type CaseResult, type RunOptions } from './runner.ts';

/** Files whose every eval must pass (or be listed as an expected failure). */
export const REQUIRED_FILES = [
  'aggregators.test',
  'functions.test',
  'histograms.test',
  'literals.test',
  'limit.test',
  'name_label_dropping.test',
  'operators.test',
  'range_queries.test',
  'selectors.test',
  'staleness.test',
  'trig_functions.test',
];

export const DEFAULT_EXPECTED_FAILURES = new URL('./expected-failures.txt', import.meta.url);

export interface SuiteOptions {
  /** only these file names (e.g. `aggregators.test`) */
  files?: string[];
  timeoutMs?: number;
  stepInvariance?: boolean;
  /** run each file in a worker thread with a watchdog (default true) */
  isolate?: boolean;
}

export interface FileReport {
  file: string;
  required: boolean;
  results: CaseResult[];
  /** the script could not be parsed / run */
  error: string | null;
}

export function listTestFiles(dir: string, only?: string[]): string[] {
  const all = readdirSync(dir)
    .filter((f) => f.endsWith('.test'))
    .sort();
  if (!only || only.length === 0) return all;
  const want = new Set(only.map((f) => (f.endsWith('.test') ? f : `${f}.test`)));
  return all.filter((f) => want.has(f));
}

export async function runSuite(dir: string, opts: SuiteOptions = {}): Promise<FileReport[]> {
  const reports: FileReport[] = [];
  const runOpts: RunOptions = {
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    stepInvariance: opts.stepInvariance ?? true,
  };
  const engine = opts.isolate === false ? await loadEngine() : null;
  for (const file of listTestFiles(dir, opts.files)) {
    const path = join(dir, file);
    const required = REQUIRED_FILES.includes(file);
    try {
      const results =
        engine !== null
          ? await runScript(readFileSync(path, 'utf8'), file, engine, runOpts)
          : await runIsolated(path, file, runOpts);
      reports.push({ file, required, results, error: null });
    } catch (e) {
      reports.push({ file, required, results: [], error: (e as Error).message });
    }
  }
  return reports;
}

/** Worker threads do not inherit the TypeScript loader: register tsx, then load the worker module. */
const workerBootstrap = (module: URL): string =>
  `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((api) => { api.register(); return import(${JSON.stringify(module.href)}); })` +
  `.catch((e) => { require('node:worker_threads').parentPort.postMessage({ type: 'error', message: String(e && e.stack || e) }); });`;

export const WORKER_MODULE = new URL('./worker.ts', import.meta.url);

type WorkerMessage =
  | { type: 'start'; id: string; line: number; query: string; needsHistograms: boolean }
  | { type: 'result'; result: CaseResult }
  | { type: 'done' }
  | { type: 'error'; message: string };

/** Runs one file in workers; an eval that takes longer than the watchdog fails and the file goes on after it. */
export async function runIsolated(
  path: string,
  file: string,
  runOpts: RunOptions,
  workerModule: URL = WORKER_MODULE,
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const watchdogMs = (runOpts.timeoutMs ?? DEFAULT_TIMEOUT_MS) * 3 + 2000;
  let skipThroughLine: number | undefined;
  for (;;) {
    const outcome = await new Promise<{ kind: 'done' } | { kind: 'restart'; after: number }>(
      (resolve, reject) => {
        const worker = new Worker(workerBootstrap(workerModule), {
          eval: true,
          workerData: {
            path,
            file,
            opts: { ...runOpts, onStart: undefined, onResult: undefined, skipThroughLine },
          },
        });
        let current: Extract<WorkerMessage, { type: 'start' }> | null = null;
        let timer: NodeJS.Timeout | undefined;
        let settled = false;
        const finish = (f: () => void): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          f();
        };
        const failCurrent = (reason: string): void => {
          const c = current;
          if (!c) return;
          results.push({
            id: c.id,
            file,
            line: c.line,
            query: c.query,
            ok: false,
            reason,
            needsHistograms: c.needsHistograms,
          });
          current = null;
          finish(() => resolve({ kind: 'restart', after: c.line }));
        };
        worker.on('message', (m: WorkerMessage) => {
          switch (m.type) {
            case 'start':
              current = m;
              clearTimeout(timer);
              timer = setTimeout(() => {
                failCurrent(`timeout: the eval ran longer than ${watchdogMs} ms`);
                void worker.terminate();
              }, watchdogMs);
              break;
            case 'result':
              clearTimeout(timer);
              current = null;
              results.push(m.result);
              break;
            case 'done':
              finish(() => resolve({ kind: 'done' }));
              void worker.terminate();
              break;
            case 'error':
              finish(() => reject(new Error(m.message)));
              void worker.terminate();
              break;
          }
        });
        worker.on('error', (e) => {
          if (current) failCurrent(`crash: ${e.message}`);
          else finish(() => reject(e));
        });
        worker.on('exit', (code) => {
          if (settled) return;
          if (current) failCurrent(`crash: the worker exited with code ${code}`);
          else finish(() => reject(new Error(`worker exited with code ${code}`)));
        });
      },
    );
    if (outcome.kind === 'done') return results;
    skipThroughLine = outcome.after;
  }
}

export interface SuiteSummary {
  /** tally over every file (the `N passed, M failed` line) */
  all: ConformanceTally;
  /** tally over the required files (decides the exit code) */
  required: ConformanceTally;
  green: boolean;
}

export function summarize(
  reports: readonly FileReport[],
  expected: Map<string, ExpectedFailure>,
): SuiteSummary {
  const all = tally(
    reports.flatMap((r) => r.results),
    expected,
  );
  const requiredReports = reports.filter((r) => r.required);
  const required = tally(
    requiredReports.flatMap((r) => r.results),
    expected,
  );
  const green = isGreen(required) && requiredReports.every((r) => r.error === null);
  return { all, required, green };
}

/** The report lines: one per file, failing cases with `verbose`, the summary line last. */
export function formatReport(
  reports: readonly FileReport[],
  expected: Map<string, ExpectedFailure>,
  verbose: boolean,
): string[] {
  const lines: string[] = [];
  for (const r of reports) {
    const t = tally(r.results, expected);
    let line = `${r.file}: ${t.passed} passed, ${t.failed} failed`;
    if (t.expectedFailures.length > 0) line += ` (${t.expectedFailures.length} expected)`;
    if (!r.required) line += ' [not required]';
    if (t.unexpectedPasses.length > 0)
      line += ` [${t.unexpectedPasses.length} listed as expected failures but passed]`;
    if (r.error) line += ` [script error: ${r.error}]`;
    lines.push(line);
    if (verbose) {
      for (const c of r.results) {
        if (c.ok) {
          if (expected.has(c.id)) lines.push(`  PASS (listed as expected failure) ${c.id}: ${c.query}`);
          continue;
        }
        const tag = expected.has(c.id) ? 'FAIL (expected)' : 'FAIL';
        lines.push(`  ${tag} ${c.id}: ${c.query}`);
        lines.push(`      ${c.reason}`);
      }
    }
  }
  const s = summarize(reports, expected);
  if (s.required.unexpectedFailures.length > 0)
    lines.push(`unexpected failures in required files: ${s.required.unexpectedFailures.join(' ')}`);
  if (s.required.unexpectedPasses.length > 0)
    lines.push(
      `listed as expected failures but passed (remove them from the list): ${s.required.unexpectedPasses.join(' ')}`,
    );
  lines.push(summaryLine(s.all));
  return lines;
}

/**
 * The expected-failures file for the current results: every failing case of the required files,
 * keeping existing reasons; new ones get `native histograms` or `engine gap: <reason>`.
 */
export function expectedFailuresText(
  reports: readonly FileReport[],
  previous: Map<string, ExpectedFailure>,
): string {
  const lines = [
    '# PromQL conformance (npm run promql-conformance): evals of the required files that are known to fail.',
    '# Format: docs/format/expected-failures.md. Regenerate with --write-expected-failures (keeps reasons).',
    '',
  ];
  let hist = 0;
  let other = 0;
  for (const r of reports) {
    if (!r.required) continue;
    const failing = r.results.filter((c) => !c.ok);
    if (failing.length === 0) continue;
    lines.push(`# ${r.file}`);
    for (const c of failing) {
      const prev = previous.get(c.id)?.reason;
      const reason =
        prev && prev !== ''
          ? prev
          : c.needsHistograms
            ? 'native histograms'
            : `engine gap: ${shortReason(c.reason)}`;
      if (reason.startsWith('native histograms')) hist++;
      else other++;
      lines.push(`${c.id}   # ${reason}`);
    }
    lines.push('');
  }
  // entries of files that were not run (--files) are kept
  const ran = new Set(reports.map((r) => r.file));
  const kept = [...previous.values()].filter((e) => !ran.has(e.id.slice(0, e.id.lastIndexOf(':'))));
  if (kept.length > 0) {
    lines.push('# files not run when this list was last written');
    for (const e of kept) {
      if (e.reason.startsWith('native histograms')) hist++;
      else other++;
      lines.push(e.reason === '' ? e.id : `${e.id}   # ${e.reason}`);
    }
  }
  lines.splice(
    2,
    0,
    `# ${hist} need native histograms, ${other} ${other === 1 ? 'is another engine gap' : 'are other engine gaps'}.`,
  );
  return `${lines.join('\n').trimEnd()}\n`;
}

function shortReason(reason: string): string {
  const oneLine = reason.replace(/\s+/g, ' ').replace(/#/g, '＃').trim();
  return oneLine.length > 140 ? `${oneLine.slice(0, 137)}...` : oneLine;
}

export function writeExpectedFailures(
  path: string | URL,
  reports: readonly FileReport[],
  previous: Map<string, ExpectedFailure>,
): void {
  writeFileSync(path, expectedFailuresText(reports, previous));
}
