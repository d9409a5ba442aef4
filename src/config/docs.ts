/**
 * Renders docs/configuration.md from KEY_SPECS, so the reference can never drift from the schema
 * (STYLE.md "Config and limits"). `npm run docs:config` writes the file; docs.test.ts fails when the
 * committed file differs from this output.
 */
import { KEY_SPECS, envNameOf, type KeySpec } from './schema.ts';

const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;

/** `8388608` → `8 MiB`; null when the number has no shorter exact form. */
function humanBytes(n: number): string | null {
  for (const [unit, size] of [
    ['GiB', GIB],
    ['MiB', MIB],
    ['KiB', KIB],
  ] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return null;
}

/** `600000` → `10 min`; null below one second or without an exact form. */
function humanMs(n: number): string | null {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1000],
  ] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return null;
}

function formatDefault(spec: KeySpec): string {
  const v = spec.default;
  if (v === '') return '`""` (empty)';
  if (typeof v === 'string') return '`' + v + '`';
  if (typeof v === 'number') {
    const human = spec.key.endsWith('Bytes') ? humanBytes(v) : spec.key.endsWith('Ms') ? humanMs(v) : null;
    return human ? '`' + String(v) + '` (' + human + ')' : '`' + String(v) + '`';
  }
  return '`' + JSON.stringify(v) + '`';
}

/** Table cells may not hold a raw `|` or a line break. */
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

const SECTION_TITLES: Record<string, string> = {
  '': 'General',
  http: 'HTTP listener (`http.*`)',
  grpc: 'gRPC listener (`grpc.*`)',
  jaeger: 'Jaeger agent UDP listeners (`jaeger.*`)',
  auth: 'First start and the root user (`auth.*`)',
  ingest: 'Ingest limits (`ingest.*`)',
  streams: 'Streams (`streams.*`)',
  catalog: 'Catalog (`catalog.*`)',
  wal: 'Write-ahead log (`wal.*`)',
  memtable: 'Memtables and flushing (`memtable.*`)',
  query: 'SQL queries (`query.*`)',
  syslog: 'Syslog listeners (`syslog.*`)',
  log: 'Logging (`log.*`)',
  shutdown: 'Shutdown (`shutdown.*`)',
};

const sectionOf = (spec: KeySpec): string =>
  spec.key.includes('.') ? spec.key.slice(0, spec.key.indexOf('.')) : '';

/**
 * A Markdown table with padded columns, laid out the way Prettier prints it, so that `npm run format` leaves
 * the generated file unchanged (and the staleness test green).
 */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    '| ' + widths.map((w, i) => (cells[i] ?? '').padEnd(w)).join(' | ') + ' |';
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

const code = (text: string) => '`' + text + '`';

function userTable(specs: readonly KeySpec[]): string[] {
  return table(
    ['Key', 'Environment variable', 'Flag', 'Default', 'Description'],
    specs.map((s) => [
      code(s.key),
      code(envNameOf(s)),
      s.flag ? code(s.flag) : '',
      formatDefault(s),
      cell(
        s.help +
          (s.secret
            ? s.key.endsWith('Url')
              ? ' Secret: `molesignal config` shows its password as `********`.'
              : ' Secret: shown as `********` by `molesignal config`.'
            : ''),
      ),
    ]),
  );
}

function testTable(specs: readonly KeySpec[]): string[] {
  return table(
    ['Key', 'Environment variable', 'Default', 'Description'],
    specs.map((s) => [code(s.key), code(envNameOf(s)), formatDefault(s), cell(s.help)]),
  );
}

/** The Markdown of docs/configuration.md. */
export function renderConfigDocs(): string {
  const userSpecs = KEY_SPECS.filter((s) => !s.testOnly);
  const testSpecs = KEY_SPECS.filter((s) => s.testOnly);
  const sections: string[] = [];
  for (const s of userSpecs) {
    const name = sectionOf(s);
    if (!sections.includes(name)) sections.push(name);
  }
  const example = userSpecs.find((s) => s.key === 'wal.fsyncIntervalMs') ?? userSpecs[0]!;

  const out: string[] = [
    '# Configuration',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs:config`. Do not edit by hand: a test fails when this file is out of date. -->',
    '',
    'Every setting has a default, so `molesignal start` (or `npm start`) runs with no configuration at all.',
    'Settings are read from three places, **later ones win**:',
    '',
    '1. a YAML file, given with `--config <file>` or `MOLESIGNAL_CONFIG=<file>`;',
    '2. environment variables `MOLESIGNAL_*`;',
    '3. command-line flags of `molesignal start` (and `molesignal config`).',
    '',
    'The whole configuration is validated at start-up and every problem is listed at once; the server does not start',
    'while any remains. An unknown key in the file, an unknown `MOLESIGNAL_*` variable and a value of the wrong type or',
    'out of range are all errors, each naming where it came from (file and key, variable, or flag). An environment',
    'variable set to the empty string counts as unset.',
    '',
    'The client variables of the CLI (`MOLESIGNAL_URL`, `MOLESIGNAL_USER`, `MOLESIGNAL_PASSWORD`, `MOLESIGNAL_TOKEN`,',
    '`MOLESIGNAL_ORG`) and `MOLESIGNAL_CONFIG` are not settings of the server and are accepted alongside them.',
    '',
    '`molesignal config` prints the effective configuration (YAML, or `--format json`) with secrets masked; it takes the',
    'same `--config` and flags as `molesignal start`.',
    '',
    '## The YAML file',
    '',
    'Keys are the dotted names below, written nested or dotted:',
    '',
    '```yaml',
    'dataDir: /var/lib/molesignal',
    'http:',
    '  port: 5080',
    'wal:',
    '  fsync: batch',
    'memtable.maxAgeMs: 300000',
    '```',
    '',
    '## Environment variable names',
    '',
    "Unless the table names another one, a key's variable is `MOLESIGNAL_` followed by the key in upper snake case:",
    `dots become \`_\` and each camelCase word gets its own \`_\` (\`${example.key}\` → \`${envNameOf(example)}\`).`,
    'Booleans are `true` or `false`; numbers are plain integers (bytes, milliseconds or days, as the key name says).',
    '',
    '## Command-line flags',
    '',
    'Flags are kebab-case and exist for the settings most often changed per run (column "Flag" below), plus',
    '`--config <file>`. Example: `molesignal start --data-dir /var/lib/molesignal --http-port 5080 --wal-repair`.',
    '',
  ];
  for (const name of sections) {
    out.push(`## ${SECTION_TITLES[name] ?? '`' + name + '.*`'}`, '');
    out.push(...userTable(userSpecs.filter((s) => sectionOf(s) === name)), '');
  }
  if (testSpecs.length > 0) {
    out.push(
      '## Test-only settings',
      '',
      "These exist for the project's own tests (crash points, sandbox checks) and are **not for production**. Each one",
      'except `testing.enabled` is refused at start-up unless `testing.enabled` is `true`.',
      '',
      ...testTable(testSpecs),
      '',
    );
  }
  return out.join('\n');
}
