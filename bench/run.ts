/**
 * `npm run bench -- <suite> [--flag value ...]`: runs one benchmark suite and appends its result
 * (workload, date, machine, figures) to docs/benchmarks.md.
 */
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

export interface BenchResult {
  title: string;
  workload: string;
  figures: Record<string, string>;
  notes?: string;
}
type Suite = (args: Record<string, string>) => Promise<BenchResult>;

const SUITES: Record<string, () => Promise<Suite>> = {
  'otlp-logs': async () => (await import('./suites/otlp-logs.ts')).run,
  tsbs: async () => (await import('./suites/tsbs.ts')).run,
  ingest: async () => (await import('./suites/ingest.ts')).run,
};

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}; flags are --name value`);
    out[a.slice(2)] = argv[i + 1] ?? '';
    i++;
  }
  return out;
}

const BENCH_DOC = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));

async function record(r: BenchResult): Promise<void> {
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}`;
  const lines = [
    '',
    `### ${r.title} — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `- Machine: ${machine} (load generator on the same cores)`,
    `- Workload: ${r.workload}`,
    ...Object.entries(r.figures).map(([k, v]) => `- ${k}: **${v}**`),
    ...(r.notes ? [`- Notes: ${r.notes}`] : []),
    '',
  ];
  try {
    await readFile(BENCH_DOC, 'utf8');
  } catch {
    await writeFile(BENCH_DOC, '# Benchmarks\n\nEvery run of `npm run bench -- <suite>` appends its result here.\n');
  }
  await appendFile(BENCH_DOC, lines.join('\n'));
}

const [name, ...rest] = process.argv.slice(2);
const load = name ? SUITES[name] : undefined;
if (!load) {
  console.error(`usage: npm run bench -- <suite> [--flag value]\nsuites: ${Object.keys(SUITES).join(', ')}`);
  process.exit(2);
}
const result = await (await load())(parseArgs(rest));
console.log(`\n${result.title}\n${result.workload}`);
for (const [k, v] of Object.entries(result.figures)) console.log(`  ${k}: ${v}`);
await record(result);
console.log(`\nappended to docs/benchmarks.md`);
