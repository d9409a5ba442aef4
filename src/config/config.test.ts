import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, maskedConfig, type Config, type ConfigSources } from './config.ts';
import { KEY_SPECS } from './schema.ts';
import { MoleError } from '../lib/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'molesignal-config-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
/** Writes a YAML file and returns its path. */
function yamlFile(text: string): string {
  const path = join(dir, `config-${++fileCount}.yaml`);
  writeFileSync(path, text);
  return path;
}

/** Reads a dotted key out of the typed config. */
const valueAt = (config: Config, key: string): unknown =>
  key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], config);

/** The message of the MS_ERR_CONFIG error that loadConfig throws, or fails the test. */
function configErrorOf(sources: ConfigSources): string {
  try {
    loadConfig(sources);
  } catch (e) {
    assert.ok(e instanceof MoleError, 'a MoleError');
    assert.equal(e.code, 'MS_ERR_CONFIG');
    assert.equal(e.reason, 'config_invalid');
    return e.message;
  }
  assert.fail('loadConfig accepted an invalid configuration');
}

describe('loadConfig: defaults', () => {
  test('with no sources every key has its schema default', () => {
    const config = loadConfig({});
    for (const spec of KEY_SPECS) assert.deepEqual(valueAt(config, spec.key), spec.default, spec.key);
  });

  const cases: { key: string; expected: unknown }[] = [
    { key: 'dataDir', expected: './data' },
    { key: 'http.port', expected: 5080 },
    { key: 'grpc.port', expected: 4317 },
    { key: 'wal.fsync', expected: 'batch' },
    { key: 'wal.repair', expected: false },
    { key: 'auth.rootUser', expected: 'root@example.com' },
    { key: 'auth.rootPassword', expected: '' },
    { key: 'testing.enabled', expected: false },
  ];
  for (const c of cases) {
    test(`${c.key} defaults to ${JSON.stringify(c.expected)}`, () => {
      assert.deepEqual(valueAt(loadConfig({}), c.key), c.expected);
    });
  }
});

describe('loadConfig: file, then environment, then flags', () => {
  const file = yamlFile(
    'http:\n  port: 6000\n  host: 127.0.0.1\nwal:\n  fsync: interval\nmemtable.maxRows: 500\n',
  );
  const cases: { name: string; sources: ConfigSources; expected: Record<string, unknown> }[] = [
    {
      name: 'file values replace defaults (nested and dotted keys)',
      sources: { file },
      expected: {
        'http.port': 6000,
        'http.host': '127.0.0.1',
        'wal.fsync': 'interval',
        'memtable.maxRows': 500,
        dataDir: './data',
      },
    },
    {
      name: 'environment beats the file',
      sources: { file, env: { MOLESIGNAL_HTTP_PORT: '7000', MOLESIGNAL_WAL_FSYNC: 'batch' } },
      expected: { 'http.port': 7000, 'http.host': '127.0.0.1', 'wal.fsync': 'batch' },
    },
    {
      name: 'flags beat the environment and the file',
      sources: {
        file,
        env: { MOLESIGNAL_HTTP_PORT: '7000' },
        flags: { 'http.port': '8000', dataDir: '/srv/ms' },
      },
      expected: { 'http.port': 8000, 'http.host': '127.0.0.1', dataDir: '/srv/ms' },
    },
    {
      name: 'an undefined flag does not hide the environment',
      sources: { env: { MOLESIGNAL_HTTP_PORT: '7000' }, flags: { 'http.port': undefined } },
      expected: { 'http.port': 7000 },
    },
    {
      name: 'an empty environment variable counts as unset',
      sources: { file, env: { MOLESIGNAL_HTTP_PORT: '' } },
      expected: { 'http.port': 6000 },
    },
    {
      name: 'explicit environment names (MOLESIGNAL_ROOT_USER, MOLESIGNAL_DATA_DIR)',
      sources: { env: { MOLESIGNAL_ROOT_USER: 'admin@corp.test', MOLESIGNAL_DATA_DIR: '/data/ms' } },
      expected: { 'auth.rootUser': 'admin@corp.test', dataDir: '/data/ms' },
    },
    {
      name: 'derived environment names (camelCase → upper snake case)',
      sources: {
        env: { MOLESIGNAL_WAL_FSYNC_INTERVAL_MS: '250', MOLESIGNAL_QUERY_DUCKDB_MEMORY_LIMIT: '2GiB' },
      },
      expected: { 'wal.fsyncIntervalMs': 250, 'query.duckdbMemoryLimit': '2GiB' },
    },
    {
      name: 'booleans from text',
      sources: { env: { MOLESIGNAL_WAL_REPAIR: 'true' } },
      expected: { 'wal.repair': true },
    },
    {
      name: 'the CLI client variables are not unknown settings',
      sources: {
        env: {
          MOLESIGNAL_URL: 'http://127.0.0.1:5080',
          MOLESIGNAL_TOKEN: 'x',
          MOLESIGNAL_CONFIG: file,
          PATH: '/bin',
        },
      },
      expected: { 'http.port': 5080 },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const config = loadConfig(c.sources);
      for (const [key, value] of Object.entries(c.expected))
        assert.deepEqual(valueAt(config, key), value, key);
    });
  }
});

describe('loadConfig: errors', () => {
  const cases: { name: string; sources: () => ConfigSources; mentions: string[] }[] = [
    {
      name: 'an unknown YAML key is named',
      sources: () => ({ file: yamlFile('wal:\n  fsyncc: batch\nhttp:\n  port: 5080\n') }),
      mentions: ['unknown key "wal.fsyncc"'],
    },
    {
      name: 'an unknown top-level YAML key is named',
      sources: () => ({ file: yamlFile('colour: blue\n') }),
      mentions: ['unknown key "colour"'],
    },
    {
      name: 'an unknown MOLESIGNAL_ environment variable is named',
      sources: () => ({ env: { MOLESIGNAL_HTTP_PROT: '5080' } }),
      mentions: ['unknown environment variable MOLESIGNAL_HTTP_PROT'],
    },
    {
      name: 'a bad number names key and value',
      sources: () => ({ env: { MOLESIGNAL_HTTP_PORT: 'abc' } }),
      mentions: ['MOLESIGNAL_HTTP_PORT', '"http.port"', '"abc"'],
    },
    {
      name: 'a bad enum names key and value',
      sources: () => ({ flags: { 'wal.fsync': 'sometimes' } }),
      mentions: ['"wal.fsync"', '"sometimes"'],
    },
    {
      name: 'an out-of-range value is an error',
      sources: () => ({ file: yamlFile('http:\n  port: 70000\nwal:\n  groupCommitWindowMs: 11\n') }),
      mentions: ['"http.port"', '70000', '"wal.groupCommitWindowMs"', '11'],
    },
    {
      name: 'several errors from several sources are listed at once',
      sources: () => ({
        file: yamlFile('http:\n  port: abc\nnope: 1\n'),
        env: { MOLESIGNAL_WAL_FSYNC: 'sometimes', MOLESIGNAL_WHAT: '1' },
        flags: { 'log.level': 'loud' },
      }),
      mentions: [
        '"http.port"',
        '"abc"',
        'unknown key "nope"',
        '"wal.fsync"',
        '"sometimes"',
        'MOLESIGNAL_WHAT',
        '"log.level"',
        '"loud"',
      ],
    },
    {
      name: 'a test-only key without testing.enabled is refused',
      sources: () => ({ env: { MOLESIGNAL_CRASHPOINT: 'wal.after-fsync-before-ack:1' } }),
      mentions: ['"testing.crashpoint" is a test-only setting', 'testing.enabled=true'],
    },
    {
      name: 'a test-only key in the file without testing.enabled is refused',
      sources: () => ({ file: yamlFile('testing:\n  disableSqlValidator: true\n') }),
      mentions: ['"testing.disableSqlValidator" is a test-only setting'],
    },
    {
      name: 'an unreadable file is named',
      sources: () => ({ file: join(dir, 'missing.yaml') }),
      mentions: ['cannot read config file', 'missing.yaml'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const message = configErrorOf(c.sources());
      for (const text of c.mentions) assert.ok(message.includes(text), `error mentions ${text}:\n${message}`);
    });
  }

  test('each problem is on its own line', () => {
    const message = configErrorOf({
      env: { MOLESIGNAL_HTTP_PORT: 'abc', MOLESIGNAL_WAL_FSYNC: 'sometimes' },
    });
    assert.equal(message.split('\n').length, 3, message);
  });

  test('test-only keys load when testing.enabled is true', () => {
    const config = loadConfig({
      env: {
        MOLESIGNAL_TESTING_ENABLED: 'true',
        MOLESIGNAL_CRASHPOINT: 'wal.after-fsync-before-ack:2',
        MOLESIGNAL_TESTING_DISABLE_SQL_VALIDATOR: 'true',
      },
    });
    assert.equal(config.testing.enabled, true);
    assert.equal(config.testing.crashpoint, 'wal.after-fsync-before-ack:2');
    assert.equal(config.testing.disableSqlValidator, true);
  });
});

describe('maskedConfig', () => {
  test('masks auth.rootPassword and keeps every other value', () => {
    const config = loadConfig({
      env: { MOLESIGNAL_ROOT_PASSWORD: 's3cret-value', MOLESIGNAL_HTTP_PORT: '6000' },
    });
    const masked = maskedConfig(config);
    assert.equal((masked.auth as Record<string, unknown>).rootPassword, '********');
    assert.equal((masked.http as Record<string, unknown>).port, 6000);
    assert.ok(!JSON.stringify(masked).includes('s3cret-value'));
  });

  test('an empty password stays empty (nothing to hide)', () => {
    assert.equal((maskedConfig(loadConfig({})).auth as Record<string, unknown>).rootPassword, '');
  });
});

describe('memory.budgetBytes derives the memory consumers not set explicitly', () => {
  const GiB = 1024 * 1024 * 1024;
  test('shares of the budget', () => {
    const c = loadConfig({ env: { MOLESIGNAL_MEMORY_BUDGET_BYTES: String(4 * GiB) } });
    assert.equal(c.query.duckdbMemoryLimit, `${Math.floor((4 * GiB * 0.3) / 1024 / 1024)}MiB`);
    assert.equal(c.memtable.refuseAboveBytes, Math.floor(4 * GiB * 0.2));
    assert.equal(c.memtable.maxTotalBytes, Math.floor(4 * GiB * 0.1));
    assert.equal(c.memtable.maxBytes, 256 * 1024 * 1024, 'the default, below 10 % of the budget');
    assert.equal(c.query.sampleCacheBytes, Math.floor(4 * GiB * 0.05));
  });
  test('an explicit key wins over its derived value', () => {
    const c = loadConfig({
      env: {
        MOLESIGNAL_MEMORY_BUDGET_BYTES: String(GiB),
        MOLESIGNAL_MEMTABLE_REFUSE_ABOVE_BYTES: '1000000',
        MOLESIGNAL_QUERY_DUCKDB_MEMORY_LIMIT: '1GiB',
      },
    });
    assert.equal(c.memtable.refuseAboveBytes, 1_000_000);
    assert.equal(c.memtable.maxTotalBytes, 1_000_000, 'never above the refusal limit');
    assert.equal(c.query.duckdbMemoryLimit, '1GiB');
  });
  test('unset (0): the defaults stand; too small a budget is refused with the reason', () => {
    const d = loadConfig({});
    assert.equal(d.memtable.refuseAboveBytes, 1536 * 1024 * 1024);
    assert.equal(d.query.duckdbMemoryLimit, '25%');
    assert.throws(
      () => loadConfig({ env: { MOLESIGNAL_MEMORY_BUDGET_BYTES: '1000' } }),
      /memory\.budgetBytes.*at least 268435456/,
    );
  });
});
