/** Loading and validating configuration: defaults ← YAML file ← MOLESIGNAL_* env ← CLI flags. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { KEY_SPECS, envNameOf, type KeySpec } from './schema.ts';
import { MoleError } from '../lib/errors.ts';
import type { ScrapeConfig } from './scrape-schema.ts';

export interface Config {
  role: 'standalone';
  dataDir: string;
  http: { host: string; port: number; headersTimeoutMs: number; requestTimeoutMs: number };
  grpc: { port: number };
  jaeger: { udpCompactPort: number; udpBinaryPort: number };
  auth: { rootUser: string; rootPassword: string; protectMetrics: boolean };
  ingest: {
    maxBodyBytes: number;
    maxDecodedBytes: number;
    idempotencyTtlMs: number;
    maxLineBytes: number;
    maxFutureMs: number;
    maxAgeMs: number;
  };
  streams: {
    maxFieldsPerStream: number;
    defaultRetentionDays: number;
    tokenFilterFields: string[];
    parquetBloomColumns: string[];
    jsonColumns: boolean;
  };
  storage: {
    backend: 'local' | 's3';
    s3: {
      endpoint: string;
      region: string;
      bucket: string;
      prefix: string;
      forcePathStyle: boolean;
      accessKeyId: string;
      secretAccessKey: string;
    };
    cache: { dir: string; maxBytes: number };
  };
  catalog: { backend: 'sqlite' | 'postgres'; postgresUrl: string };
  compactor: {
    enabled: boolean;
    intervalMs: number;
    minFileAgeSeconds: number;
    targetFileBytes: number;
    deleteGraceMs: number;
  };
  wal: {
    fsync: 'batch' | 'interval';
    groupCommitWindowMs: number;
    fsyncIntervalMs: number;
    segmentBytes: number;
    repair: boolean;
  };
  limits: { maxSeriesPerOrg: number; maxSeriesPerMetric: number };
  memtable: {
    maxRows: number;
    maxBytes: number;
    maxAgeMs: number;
    maxTotalBytes: number;
    refuseAboveBytes: number;
    checkIntervalMs: number;
  };
  memory: { budgetBytes: number };
  query: {
    timeoutMs: number;
    maxSqlBytes: number;
    maxConcurrent: number;
    maxQueueMs: number;
    maxSamples: number;
    maxPointsPerSeries: number;
    traceSearchMaxSpans: number;
    lookbackDeltaMs: number;
    defaultSize: number;
    maxSize: number;
    duckdbMemoryLimit: string;
    duckdbThreads: number;
    sampleCacheBytes: number;
  };
  logql: {
    maxEntriesLimitPerQuery: number;
    maxQuerySeries: number;
    maxQueryLengthMs: number;
    pushdown: boolean;
  };
  exemplars: { maxPerOrg: number };
  spanMetrics: {
    enabled: boolean;
    intervalMs: number;
    staleMs: number;
    latencyBuckets: number[];
    serviceGraphBuckets: number[];
    dimensions: string[];
    serviceGraphWaitMs: number;
    serviceGraphMaxItems: number;
  };
  syslog: {
    host: string;
    udpPort: number | null;
    tcpPort: number | null;
    tlsPort: number | null;
    tlsCert: string;
    tlsKey: string;
    udpOrg: string;
    udpStream: string;
    tcpOrg: string;
    tcpStream: string;
    tlsOrg: string;
    tlsStream: string;
    maxMessageBytes: number;
    batchWindowMs: number;
  };
  log: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent' };
  shutdown: { timeoutMs: number };
  scrape_configs: ScrapeConfig[];
  testing: {
    enabled: boolean;
    disableSqlValidator: boolean;
    crashpoint: string;
    walFault: string;
    catalogFault: string;
  };
}

export interface ConfigSources {
  file?: string | undefined;
  env?: Record<string, string | undefined>;
  /** values from CLI flags, keyed by config key (`dataDir`, `http.port`) */
  flags?: Record<string, unknown>;
}

export const configError = (lines: string[]) =>
  new MoleError(`invalid configuration:\n  ${lines.join('\n  ')}`, {
    code: 'MS_ERR_CONFIG',
    status: 400,
    reason: 'config_invalid',
  });

function flatten(obj: unknown, prefix: string, out: Map<string, unknown>): void {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    out.set(prefix, obj);
    return;
  }
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    const isBranch = KEY_SPECS.some((s) => s.key.startsWith(key + '.'));
    if (isBranch && v !== null && typeof v === 'object') flatten(v, key, out);
    else out.set(key, v);
  }
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

/** `[0].static_configs[1].targets` for a zod issue path inside a list-valued key. */
const pathText = (path: readonly PropertyKey[]): string =>
  path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');

/** Builds the effective config, listing every problem at once. */
export function loadConfig(sources: ConfigSources): Config {
  const errors: string[] = [];
  const raw = new Map<string, { value: unknown; from: string }>();
  if (sources.file) {
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(sources.file, 'utf8'));
    } catch (e) {
      throw configError([`cannot read config file ${sources.file}: ${(e as Error).message}`]);
    }
    const flat = new Map<string, unknown>();
    if (doc !== null && doc !== undefined) flatten(doc, '', flat);
    for (const [key, value] of flat) {
      if (!KEY_SPECS.some((s) => s.key === key)) errors.push(`unknown key "${key}" in ${sources.file}`);
      else raw.set(key, { value, from: `${sources.file}: ${key}` });
    }
  }
  const env = sources.env ?? {};
  const known = new Set(KEY_SPECS.map(envNameOf));
  const cliOnlyEnv = new Set([
    'MOLESIGNAL_URL',
    'MOLESIGNAL_USER',
    'MOLESIGNAL_PASSWORD',
    'MOLESIGNAL_TOKEN',
    'MOLESIGNAL_ORG',
    'MOLESIGNAL_CONFIG',
  ]);
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('MOLESIGNAL_') || value === undefined) continue;
    if (!known.has(name) && !cliOnlyEnv.has(name)) errors.push(`unknown environment variable ${name}`);
  }
  for (const spec of KEY_SPECS) {
    const v = env[envNameOf(spec)];
    if (v !== undefined && v !== '') raw.set(spec.key, { value: v, from: envNameOf(spec) });
  }
  for (const [key, value] of Object.entries(sources.flags ?? {})) {
    if (value !== undefined) raw.set(key, { value, from: KEY_SPECS.find((s) => s.key === key)?.flag ?? key });
  }
  const out: Record<string, unknown> = {};
  const testingEnabled = raw.get('testing.enabled')?.value;
  for (const spec of KEY_SPECS) {
    const given = raw.get(spec.key);
    if (
      given &&
      spec.testOnly &&
      spec.key !== 'testing.enabled' &&
      !(testingEnabled === true || testingEnabled === 'true')
    ) {
      errors.push(`${given.from}: "${spec.key}" is a test-only setting and needs testing.enabled=true`);
      continue;
    }
    const parsed = spec.schema.safeParse(given ? given.value : spec.default);
    if (!parsed.success) {
      const msg = parsed.error.issues
        .map((i) => (i.path.length > 0 ? `${pathText(i.path)}: ${i.message}` : i.message))
        .join('; ');
      errors.push(
        `${given?.from ?? spec.key}: invalid value ${JSON.stringify(given?.value)} for "${spec.key}": ${msg}`,
      );
      continue;
    }
    setPath(out, spec.key, parsed.data);
  }
  if (errors.length > 0) throw configError(errors);
  const config = out as unknown as Config;
  deriveFromMemoryBudget(config, (key) => raw.has(key));
  return config;
}

/**
 * `memory.budgetBytes` (when set) sizes the memory consumers not set explicitly: shares of the
 * budget (docs/operations.md#memory-rotation-backpressure-late-data-and-metrics, "Memory budget"). DuckDB's limit is per org instance.
 */
export function deriveFromMemoryBudget(config: Config, isSet: (key: string) => boolean): void {
  const budget = config.memory.budgetBytes;
  if (budget <= 0) return;
  const share = (f: number) => Math.floor(budget * f);
  if (!isSet('query.duckdbMemoryLimit'))
    config.query.duckdbMemoryLimit = `${Math.floor(share(0.3) / 1024 / 1024)}MiB`;
  if (!isSet('memtable.refuseAboveBytes')) config.memtable.refuseAboveBytes = share(0.2);
  if (!isSet('memtable.maxTotalBytes'))
    config.memtable.maxTotalBytes = Math.min(share(0.1), config.memtable.refuseAboveBytes);
  if (!isSet('memtable.maxBytes'))
    config.memtable.maxBytes = Math.min(config.memtable.maxBytes, config.memtable.maxTotalBytes);
  if (!isSet('query.sampleCacheBytes'))
    config.query.sampleCacheBytes = Math.min(config.query.sampleCacheBytes, share(0.05));
}

/** A secret as shown: a URL keeps all but its password; anything else is `********`. */
function maskSecret(value: unknown): string {
  if (typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    try {
      const u = new URL(value);
      if (u.password !== '') u.password = '********';
      return u.toString();
    } catch {
      /* not a URL after all */
    }
  }
  return '********';
}

/** The effective config as shown by `molesignal config`: secrets masked. */
export function maskedConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of KEY_SPECS) {
    const value = spec.key
      .split('.')
      .reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], config);
    setPath(out, spec.key, spec.secret && value ? maskSecret(value) : value);
  }
  return out;
}

export const specFor = (key: string): KeySpec | undefined => KEY_SPECS.find((s) => s.key === key);

/** The process environment: the only place outside tests that reads it. */
export const processEnv = (): Record<string, string | undefined> => process.env;
