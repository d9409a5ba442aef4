/**
 * Scraping from `scrape_configs`: Debian's prometheus-node-exporter and prometheus (its own
 * /metrics) as real targets, plus a target served by this test whose page changes (honor_labels,
 * metric_relabel_configs, a series that disappears, a target that fails): `up`, the health series,
 * `job`/`instance`, staleness markers, checked through the PromQL API and SQL; scraped data
 * survives a SIGKILL; a bad section stops the start with every problem listed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeDir, startServer, tempDir, type ServerProcess } from './harness.ts';
import { storedSamples } from './metric-rows.ts';
import { debianBinary, freePort, startPeer, type Peer } from './peers.ts';

const NODE_EXPORTER = debianBinary('prometheus-node-exporter', 'prometheus-node-exporter');
const PROMETHEUS = debianBinary('prometheus', 'prometheus');
const SKIP = NODE_EXPORTER.skip || PROMETHEUS.skip;

interface VectorResult {
  metric: Record<string, string>;
  value: [number, string];
}

describe('scraping Prometheus targets', { skip: SKIP }, () => {
  let server: ServerProcess;
  let dir = '';
  const peers: Peer[] = [];
  let fake: Server;
  let fakePage = 'a{job="inner"} 1\nb 2\ndrop_me 3\n';
  let fakeStatus = 200;
  const addr: Record<string, string> = {};

  const query = async (q: string): Promise<VectorResult[]> => {
    const res = await server.fetch(`/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { data: { result: VectorResult[] } };
    return body.data.result;
  };
  const until = async (what: string, check: () => Promise<boolean>) => {
    const deadline = Date.now() + 20_000;
    while (!(await check())) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}:\n${server.log.slice(-2000)}`);
      await sleep(250);
    }
  };

  before(async () => {
    dir = await tempDir('molesignal-scrape-');
    const nePort = await freePort();
    peers.push(
      await startPeer(
        NODE_EXPORTER.path,
        [`--web.listen-address=127.0.0.1:${nePort}`],
        dir,
        nePort,
        '/metrics',
      ),
    );
    const promPort = await freePort();
    await writeFile(join(dir, 'prometheus.yml'), 'global: {}\n');
    peers.push(
      await startPeer(
        PROMETHEUS.path,
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'prom-data')}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
          '--log.level=warn',
        ],
        dir,
        promPort,
        '/-/ready',
      ),
    );
    fake = createServer((req, res) => {
      if (fakeStatus !== 200) res.writeHead(fakeStatus).end('down');
      else res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(fakePage);
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    const fakePort = (fake.address() as { port: number }).port;
    addr.node = `127.0.0.1:${nePort}`;
    addr.prom = `127.0.0.1:${promPort}`;
    addr.fake = `127.0.0.1:${fakePort}`;
    // the scrape_configs of docs/ingest.md ("Scraping")
    const config = `
scrape_configs:
  - job_name: node
    scrape_interval: 1s
    scrape_timeout: 900ms
    static_configs:
      - targets: ['${addr.node}']
        labels: { env: test }
  - job_name: prometheus
    scrape_interval: 1s
    scrape_timeout: 900ms
    static_configs:
      - targets: ['${addr.prom}']
    relabel_configs:
      - source_labels: [__address__]
        regex: '([^:]+):\\d+'
        target_label: host
        replacement: '$1'
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: 'prometheus_(build_info|http_requests_total)'
        action: keep
  - job_name: fake
    scrape_interval: 1s
    scrape_timeout: 500ms
    honor_labels: true
    static_configs:
      - targets: ['${addr.fake}']
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: drop_me
        action: drop
`;
    await writeFile(join(dir, 'molesignal.yml'), config);
    server = await startServer({ args: ['--config', join(dir, 'molesignal.yml')] });
  });
  after(async () => {
    await server?.stop();
    for (const p of peers) await p.stop();
    await new Promise((resolve) => fake?.close(resolve));
    await removeDir(dir);
  });

  test('every target is up, with job and instance (and relabelled labels) on its series', async () => {
    await until('three targets up', async () => (await query('up == 1')).length === 3);
    const up = (await query('up')).map((r) => r.metric).sort((a, b) => (a.job! < b.job! ? -1 : 1));
    assert.deepEqual(up, [
      { __name__: 'up', instance: addr.fake, job: 'fake' },
      { __name__: 'up', env: 'test', instance: addr.node, job: 'node' },
      { __name__: 'up', host: '127.0.0.1', instance: addr.prom, job: 'prometheus' },
    ]);
    const build = await query('node_exporter_build_info');
    assert.equal(build.length, 1);
    assert.equal(build[0]!.metric.job, 'node');
    assert.equal(build[0]!.metric.instance, addr.node);
    assert.equal(build[0]!.metric.env, 'test');
    assert.equal(build[0]!.value[1], '1');
    assert.ok((await query('node_cpu_seconds_total{job="node",mode="idle"}')).length >= 1);
    // metric_relabel_configs kept only two names of prometheus' page (plus the health series)
    const names = new Set((await query('{job="prometheus"}')).map((r) => r.metric.__name__));
    assert.deepEqual([...names].sort(), [
      'prometheus_build_info',
      'prometheus_http_requests_total',
      'scrape_duration_seconds',
      'scrape_samples_post_metric_relabeling',
      'scrape_samples_scraped',
      'scrape_series_added',
      'up',
    ]);
    const scraped = Number((await query('scrape_samples_scraped{job="prometheus"}'))[0]!.value[1]);
    const kept = Number(
      (await query('scrape_samples_post_metric_relabeling{job="prometheus"}'))[0]!.value[1],
    );
    assert.ok(scraped > kept && kept > 1, `${scraped} scraped, ${kept} kept`);
    const md = (await (await server.fetch('/api/v1/metadata?metric=node_cpu_seconds_total')).json()) as {
      data: Record<string, { type: string }[]>;
    };
    assert.equal(md.data.node_cpu_seconds_total?.[0]?.type, 'counter');
  });

  test('honor_labels keeps the scraped job; metric_relabel_configs drops; health series', async () => {
    await until(
      'a second scrape (no series added)',
      async () => (await query('scrape_series_added{job="fake"} == 0')).length === 1,
    );
    const series = (await query('{instance="' + addr.fake + '"}'))
      .map((r) => `${r.metric.__name__}/${r.metric.job} ${r.value[1]}`)
      .sort();
    assert.deepEqual(
      series.filter((s) => !s.startsWith('scrape_duration')),
      [
        'a/inner 1',
        'b/fake 2',
        'scrape_samples_post_metric_relabeling/fake 2',
        'scrape_samples_scraped/fake 3',
        'scrape_series_added/fake 0',
        'up/fake 1',
      ],
    );
  });

  test('a series that disappears and a target that fails get staleness markers; up becomes 0', async () => {
    fakePage = 'a{job="inner"} 1\n';
    await until(
      'b marked stale',
      async () => (await storedSamples(server, "s.metric_name = 'b' AND m.stale")).length > 0,
    );
    assert.deepEqual(await query('b'), [], 'a stale series is gone from instant queries');
    fakeStatus = 500;
    await until('up 0 for the failing target', async () => (await query(`up{job="fake"} == 0`)).length === 1);
    await until(
      'a marked stale',
      async () => (await storedSamples(server, "s.metric_name = 'a' AND m.stale")).length > 0,
    );
    assert.equal((await query('scrape_samples_scraped{job="fake"}'))[0]!.value[1], '0');
    fakeStatus = 200;
    await until('the target is back', async () => (await query(`up{job="fake"} == 1`)).length === 1);
    assert.equal((await query('a'))[0]!.value[1], '1');
  });

  test('scraped samples survive a SIGKILL (the WAL holds the written payloads)', async () => {
    const cutoff = Date.now() - 1500;
    const before = (await storedSamples(server, "json_extract_string(s.labels, '$.job') = 'fake'")).filter(
      (r) => r.t <= cutoff,
    );
    assert.ok(before.length > 10);
    await server.kill();
    server = await startServer({ dataDir: server.dataDir, args: ['--config', join(dir, 'molesignal.yml')] });
    const after = (await storedSamples(server, "json_extract_string(s.labels, '$.job') = 'fake'")).filter(
      (r) => r.t <= cutoff,
    );
    assert.deepEqual(after, before);
  });
});

test('a bad scrape_configs section stops the start, listing every problem', async () => {
  const dir = await tempDir('molesignal-scrape-bad-');
  try {
    await writeFile(
      join(dir, 'bad.yml'),
      `scrape_configs:
  - job_name: a
    scrape_interval: 1x
    static_configs: [ { targets: ['http://host:9100/metrics'] } ]
  - job_name: b
    scrape_interval: 1s
    scrape_timeout: 5s
    static_configs: [ { targets: ['h:1'], labels: { 'bad-name': x } } ]
    metric_relabel_configs: [ { regex: '(', action: keep, source_labels: [a] } ]
  - job_name: b
    scheme: ftp
`,
    );
    const err = await startServer({ args: ['--config', join(dir, 'bad.yml')] }).then(
      async (s) => {
        await s.stop();
        return null;
      },
      (e: unknown) => e as Error,
    );
    assert.ok(err, 'the server must not start');
    assert.match(err.message, /for "scrape_configs": \[2\]\.scheme: Invalid option/);
    const fixed = (await readConfigError(dir)).message;
    assert.match(
      fixed,
      /scrape_configs\[0\] \(job "a"\)\.static_configs\[0\] target "http:\/\/host:9100\/metrics"\.scrape_interval: not a valid duration string: "1x"/,
    );
    assert.match(fixed, /target address "http:\/\/host:9100\/metrics" is not host:port/);
    assert.match(fixed, /scrape_configs\[1\] \(job "b"\)\.metric_relabel_configs\[0\]: invalid regex "\("/);
    assert.match(fixed, /scrape_timeout 5s is longer than scrape_interval 1s/);
    assert.match(fixed, /labels: "bad-name" is not a valid label name/);
    assert.match(fixed, /job_name is used twice/);
  } finally {
    await removeDir(dir);
  }
});

/** The same file with only the structural error fixed: the semantic ones are listed together. */
async function readConfigError(dir: string): Promise<Error> {
  const { readFile } = await import('node:fs/promises');
  const text = (await readFile(join(dir, 'bad.yml'), 'utf8')).replace('    scheme: ftp\n', '');
  await writeFile(join(dir, 'bad2.yml'), text);
  return startServer({ args: ['--config', join(dir, 'bad2.yml')] }).then(
    async (s) => {
      await s.stop();
      return new Error('started');
    },
    (e: unknown) => e as Error,
  );
}
