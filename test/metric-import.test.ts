/**
 * Prometheus text push (`/api/v1/import/prometheus`) with the real `/metrics` pages of Debian's
 * prometheus-node-exporter and prometheus (text 0.0.4; OpenMetrics is covered by the parser's unit
 * tests and the replay case below, as neither serves it), and VictoriaMetrics JSON
 * lines: import → export round trip, and a real export produced by Debian's victoria-metrics
 * 1.79.5 imported and exported back unchanged. Malformed bodies store nothing; a SIGKILL loses
 * nothing (replay decodes `prom-text` and `vm-json-lines` records with their params).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeDir, startServer, tempDir, type ServerProcess } from './harness.ts';
import { rowLines, storedSamples } from './metric-rows.ts';
import { debianBinary, freePort, startPeer, type Peer } from './peers.ts';

const NODE_EXPORTER = debianBinary('prometheus-node-exporter', 'prometheus-node-exporter');
const PROMETHEUS = debianBinary('prometheus', 'prometheus');
const VICTORIA = debianBinary('victoria-metrics', 'victoria-metrics');

/** Exported series → `name{labels}` → [t, v] pairs (an independent reading of the JSON lines). */
function exported(text: string): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const o = JSON.parse(line.replace(/([[,])\s*([+-]Inf)\s*(?=[,\]])/g, '$1"$2"')) as {
      metric: Record<string, string>;
      values: (number | string | null)[];
      timestamps: number[];
    };
    const { __name__: name, ...rest } = o.metric;
    const key = `${name}${JSON.stringify(Object.fromEntries(Object.entries(rest).sort()))}`;
    const num = (v: number | string | null) =>
      v === null
        ? NaN
        : typeof v === 'number'
          ? v
          : v.includes('-Inf')
            ? -Infinity
            : v.includes('Inf')
              ? Infinity
              : Number(v);
    out.set(key, [
      ...(out.get(key) ?? []),
      ...o.timestamps.map((t, i): [number, number] => [t, num(o.values[i]!)]),
    ]);
  }
  return out;
}

/** Sample lines of an exposition page (neither comments nor blank). */
const sampleLines = (page: string) => page.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));

describe('Prometheus text push and VictoriaMetrics JSON lines', () => {
  let server: ServerProcess;
  let dir = '';
  const peers: Peer[] = [];
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 120_000;

  const post = (path: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
    server.fetch(path, { method: 'POST', body, headers });

  before(async () => {
    server = await startServer();
    dir = await tempDir('molesignal-import-peers-');
  });
  after(async () => {
    for (const p of peers) await p.stop();
    await server.stop();
    await removeDir(dir);
  });

  test(
    "node_exporter's /metrics page pushed as text 0.0.4: every sample, its labels plus extra_label, metadata",
    { skip: NODE_EXPORTER.skip },
    async () => {
      const port = await freePort();
      const ne = await startPeer(
        NODE_EXPORTER.path,
        [`--web.listen-address=127.0.0.1:${port}`],
        dir,
        port,
        '/metrics',
      );
      peers.push(ne);
      const page = await (await fetch(`${ne.url}/metrics`)).text();
      const res = await post(
        '/api/v1/import/prometheus?extra_label=job=node&extra_label=instance=ne:9100',
        page,
      );
      assert.equal(res.status, 204, await res.text());
      const rows = (await storedSamples(server)).filter((r) => r.series.includes('job="node"'));
      assert.equal(rows.length, sampleLines(page).length, 'one stored sample per sample line');
      const build = /^node_exporter_build_info\{(.*)\} 1$/m.exec(page);
      assert.ok(build, 'the page has node_exporter_build_info');
      const labels = Object.fromEntries(
        [...build[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]),
      );
      const row = rows.find((r) => r.series.startsWith('node_exporter_build_info{'));
      assert.equal(row?.value, 1);
      for (const [k, v] of Object.entries({ ...labels, job: 'node', instance: 'ne:9100' }))
        assert.ok(row.series.includes(`${k}=${JSON.stringify(v)}`), `${k} in ${row.series}`);
      const md = (await (await server.fetch('/api/v1/metadata?metric=node_cpu_seconds_total')).json()) as {
        data: Record<string, { type: string; help: string }[]>;
      };
      assert.deepEqual(md.data.node_cpu_seconds_total, [
        { type: 'counter', help: 'Seconds the CPUs spent in each mode.', unit: '' },
      ]);
      const q = (await (
        await server.fetch(
          '/api/v1/query?query=' + encodeURIComponent('count(node_cpu_seconds_total{job="node"})'),
        )
      ).json()) as {
        data: { result: { value: [number, string] }[] };
      };
      assert.equal(
        Number(q.data.result[0]!.value[1]),
        sampleLines(page).filter((l) => l.startsWith('node_cpu_seconds_total{')).length,
      );
    },
  );

  test(
    "prometheus' own /metrics page (the org path; Prometheus 2.42 serves no OpenMetrics for it)",
    { skip: PROMETHEUS.skip },
    async () => {
      const port = await freePort();
      await writeFile(join(dir, 'prometheus.yml'), 'global: {}\n');
      const prom = await startPeer(
        PROMETHEUS.path,
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'prom-data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--log.level=warn',
        ],
        dir,
        port,
        '/-/ready',
      );
      peers.push(prom);
      const r = await fetch(`${prom.url}/metrics`, {
        headers: { accept: 'application/openmetrics-text; version=1.0.0' },
      });
      const contentType = r.headers.get('content-type') ?? '';
      const page = await r.text();
      const res = await post('/api/default/prometheus/api/v1/import/prometheus?extra_label=job=prom', page, {
        'content-type': contentType,
      });
      assert.equal(res.status, 204, await res.text());
      const rows = (await storedSamples(server)).filter((r) => r.series.includes('job="prom"'));
      assert.equal(rows.length, sampleLines(page).length);
      const info = rows.find((x) => x.series.startsWith('prometheus_build_info{'));
      assert.equal(info?.value, 1);
      assert.match(info.series, /goversion="go[0-9.]+"/);
      const buckets = rows.filter((x) =>
        x.series.startsWith('prometheus_http_request_duration_seconds_bucket{'),
      );
      assert.ok(
        buckets.some((x) => x.series.includes('le="+Inf"')),
        'histogram buckets with le="+Inf"',
      );
      const md = (await (
        await server.fetch('/api/v1/metadata?metric=prometheus_http_request_duration_seconds')
      ).json()) as {
        data: Record<string, { type: string }[]>;
      };
      assert.equal(md.data.prometheus_http_request_duration_seconds?.[0]?.type, 'histogram');
    },
  );

  test('VictoriaMetrics JSON lines: import → export gives the same series and samples', async () => {
    const lines = [
      {
        metric: { __name__: 'rt_requests_total', path: '/a', 'weird.label': 'x"y' },
        values: [1, 2, 3.5],
        timestamps: [t0, t0 + 1000, t0 + 2000],
      },
      {
        metric: { __name__: 'rt_temp', room: 'lab' },
        values: [21.5, 'Infinity', '-Infinity', null],
        timestamps: [t0, t0 + 1, t0 + 2, t0 + 3],
      },
      { metric: { __name__: 'rt_requests_total', path: '/b' }, values: [7], timestamps: [t0] },
    ];
    const body = lines.map((l) => JSON.stringify(l)).join('\n');
    assert.equal((await post('/api/v1/import', body)).status, 204);
    const res = await server.fetch(
      '/api/v1/export?' +
        new URLSearchParams({ 'match[]': '{__name__=~"rt_.*"}', start: String(t0 / 1000 - 1) }).toString(),
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/stream+json');
    const text = await res.text();
    assert.deepEqual(exported(text), exported(body));
    assert.match(text, /"values":\[21\.5,"Infinity","-Infinity",null\]/);
    // POST form and the org path answer the same
    const viaPost = await server.fetch('/api/default/prometheus/api/v1/export', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ 'match[]': 'rt_temp', start: String(t0 / 1000 - 1) }).toString(),
    });
    assert.deepEqual(exported(await viaPost.text()), exported(JSON.stringify(lines[1])));
  });

  test(
    'a real export of victoria-metrics 1.79.5 imports and exports back unchanged',
    { skip: VICTORIA.skip || NODE_EXPORTER.skip },
    async () => {
      const port = await freePort();
      const vm = await startPeer(
        VICTORIA.path,
        [
          `-storageDataPath=${join(dir, 'vm-data')}`,
          `-httpListenAddr=127.0.0.1:${port}`,
          '-retentionPeriod=100y',
          '-search.latencyOffset=0s',
          '-loggerLevel=ERROR',
        ],
        dir,
        port,
        '/health',
      );
      peers.push(vm);
      const nePort = await freePort();
      const ne = await startPeer(
        NODE_EXPORTER.path,
        [`--web.listen-address=127.0.0.1:${nePort}`],
        dir,
        nePort,
        '/metrics',
      );
      peers.push(ne);
      for (let i = 0; i < 2; i++) {
        const page = await (await fetch(`${ne.url}/metrics`)).text();
        const r = await fetch(
          `${vm.url}/api/v1/import/prometheus?extra_label=src=vm&timestamp=${(t0 + i * 15_000) / 1000}`,
          { method: 'POST', body: page },
        );
        assert.equal(r.status, 204, await r.text());
      }
      await fetch(`${vm.url}/internal/force_flush`);
      const vmExport = await (
        await fetch(`${vm.url}/api/v1/export?` + new URLSearchParams({ 'match[]': '{src="vm"}' }).toString())
      ).text();
      const expected = exported(vmExport);
      assert.ok(expected.size > 100, `VictoriaMetrics exported ${expected.size} series`);
      const imp = await post('/api/v1/import', vmExport);
      assert.equal(imp.status, 204, await imp.text());
      const ours = await (
        await server.fetch(
          '/api/v1/export?' + new URLSearchParams({ 'match[]': '{src="vm"}', start: '0' }).toString(),
        )
      ).text();
      assert.deepEqual(exported(ours), expected);
    },
  );

  test('malformed bodies: 400 naming the line, nothing stored, the server keeps serving', async () => {
    const before = await storedSamples(server);
    const future = Date.now() + 3_600_000;
    const bad: [string, string | Uint8Array, RegExp][] = [
      ['/api/v1/import/prometheus', 'ok 1\nbad{x="1" 2', /line 2: expected "," or "}" after label x/],
      ['/api/v1/import/prometheus', 'ok 1\nbad abc', /line 2: value "abc" is not a number/],
      [
        '/api/v1/import/prometheus',
        `ok 1\nbad 1 ${future}`,
        /line 2: timestamp .* ahead of the server clock/,
      ],
      [
        '/api/v1/import/prometheus',
        `ok 1\nbad{x="${'y'.repeat(300_000)}"} 1`,
        /line 2: 300\d+ characters, over the limit/,
      ],
      [
        '/api/v1/import/prometheus',
        Buffer.concat([Buffer.from('ok 1\nbad{x="'), Buffer.from([0xff]), Buffer.from('"} 1')]),
        /line 2: not valid UTF-8/,
      ],
      ['/api/v1/import/prometheus?extra_label=bad', 'ok 1', /extra_label "bad" is not name=value/],
      [
        '/api/v1/import',
        '{"metric":{"__name__":"ok"},"values":[1],"timestamps":[1]}\n{"metric":{"__name__":"bad"},"values":[1],"timestamps":',
        /line 2: not JSON/,
      ],
      [
        '/api/v1/import',
        '{"metric":{"__name__":"ok"},"values":[1],"timestamps":[1]}\n{"metric":{"__name__":"bad"},"values":[true],"timestamps":[1]}',
        /line 2: values\[0\] is true, not a number/,
      ],
      [
        '/api/v1/import',
        `{"metric":{"__name__":"bad"},"values":[1],"timestamps":[${future}]}`,
        /line 1: timestamp .* ahead/,
      ],
      [
        '/api/v1/import',
        Buffer.concat([
          Buffer.from('{"metric":{"__name__":"b'),
          Buffer.from([0xc0, 0xaf]),
          Buffer.from('"},"values":[1],"timestamps":[1]}'),
        ]),
        /line 1: not valid UTF-8/,
      ],
    ];
    for (const [path, body, re] of bad) {
      const res = await post(path, body);
      assert.equal(res.status, 400, `${path} ${String(body).slice(0, 40)}`);
      assert.match(((await res.json()) as { error: { message: string } }).error.message, re);
    }
    assert.deepEqual(await storedSamples(server), before);
    assert.equal((await post('/api/v1/import/prometheus', 'after_bad 1')).status, 204);
  });

  test('a SIGKILL loses nothing: prom-text (with OpenMetrics and extra_label params) and vm-json-lines replay', async () => {
    assert.equal(
      (
        await post(
          '/api/v1/import/prometheus?extra_label=k=v',
          `# TYPE om counter\nom_total 3 ${t0 / 1000}.5\n# EOF\n`,
          { 'content-type': 'application/openmetrics-text; version=1.0.0' },
        )
      ).status,
      204,
    );
    assert.equal(
      (
        await post(
          '/api/v1/import?extra_label=k=w',
          '{"metric":{"__name__":"vmj","a":"b"},"values":[1,2],"timestamps":[' + `${t0},${t0 + 1}]}`,
        )
      ).status,
      204,
    );
    const before = await storedSamples(server);
    assert.ok(
      rowLines(before).includes(`om_total{k="v"} 3 @${t0 + 500}`),
      rowLines(before)
        .filter((l) => l.startsWith('om'))
        .join('\n'),
    );
    assert.ok(rowLines(before).includes(`vmj{a="b", k="w"} 2 @${t0 + 1}`));
    await server.kill();
    server = await startServer({ dataDir: server.dataDir });
    assert.deepEqual(await storedSamples(server), before);
  });
});
