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
  /** a `## <section>` of docs/benchmarks.md to file the result under (created before `## Results`) */
  section?: string;
  /** a Markdown table printed and recorded after the figures (e.g. a comparison with a peer) */
  table?: string;
}
type Suite = (args: Record<string, string>) => Promise<BenchResult>;

const SUITES: Record<string, () => Promise<Suite>> = {
  logs: async () => (await import('./suites/logs.ts')).run,
  'otlp-logs': async () => (await import('./suites/otlp-logs.ts')).run,
  tsbs: async () => (await import('./suites/tsbs.ts')).run,
  ingest: async () => (await import('./suites/ingest.ts')).run,
  traces: async () => (await import('./suites/traces.ts')).run,
  lifecycle: async () => (await import('./suites/lifecycle.ts')).run,
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
    ...(r.table ? ['', r.table] : []),
    '',
  ];
  let doc: string;
  try {
    doc = await readFile(BENCH_DOC, 'utf8');
  } catch {
    doc = '# Benchmarks\n\nEvery run of `npm run bench -- <suite>` appends its result here.\n';
    await writeFile(BENCH_DOC, doc);
  }
  if (!r.section) {
    await appendFile(BENCH_DOC, lines.join('\n'));
    return;
  }
  // Insert at the end of `## <section>` (made just before `## Results` when missing).
  const heading = `## ${r.section}\n`;
  let at = doc.indexOf(heading);
  if (at < 0) {
    const results = doc.indexOf('## Results\n');
    const pos = results < 0 ? doc.length : results;
    doc = `${doc.slice(0, pos)}${heading}\n${doc.slice(pos)}`;
    at = pos;
  }
  const next = doc.indexOf('\n## ', at + heading.length);
  const end = next < 0 ? doc.length : next + 1;
  await writeFile(BENCH_DOC, `${doc.slice(0, end).replace(/\n*$/, '\n')}${lines.join('\n')}\n${doc.slice(end)}`);
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
if (result.table) console.log(`\n${result.table}`);
await record(result);
console.log(`\nappended to docs/benchmarks.md`);
