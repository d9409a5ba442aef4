import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relabelConfigSchema } from '../../config/scrape-schema.ts';
import { compileScrapeConfigs } from './compile.ts';
import { compileRelabel, relabel } from './relabel.ts';

const rule = (r: Record<string, unknown>) => compileRelabel(relabelConfigSchema.parse(r));
const run = (labels: Record<string, string>, rules: Record<string, unknown>[]) => {
  const m = new Map(Object.entries(labels));
  return relabel(m, rules.map(rule)) ? Object.fromEntries([...m].sort()) : null;
};

test('relabel actions as Prometheus applies them', () => {
  const l = { __name__: 'http_requests_total', __address__: 'web-1:8080', job: 'api', code: '500' };
  assert.deepEqual(
    run(l, [
      { source_labels: ['__address__'], regex: '(.*):(\\d+)', target_label: 'host', replacement: '$1' },
    ]),
    { ...l, host: 'web-1' },
  );
  assert.deepEqual(run(l, [{ source_labels: ['job', 'code'], separator: '/', target_label: 'jc' }]), {
    ...l,
    jc: 'api/500',
  });
  assert.deepEqual(
    run(l, [{ source_labels: ['nope'], regex: 'x', target_label: 'y', replacement: 'z' }]),
    l,
    'no match: unchanged',
  );
  assert.deepEqual(run(l, [{ source_labels: ['code'], target_label: 'code', replacement: '' }]), {
    __name__: 'http_requests_total',
    __address__: 'web-1:8080',
    job: 'api',
  });
  assert.equal(run(l, [{ source_labels: ['code'], regex: '5..', action: 'drop' }]), null);
  assert.deepEqual(run(l, [{ source_labels: ['code'], regex: '5..', action: 'keep' }]), l);
  assert.equal(run(l, [{ source_labels: ['code'], regex: '2..', action: 'keep' }]), null);
  assert.deepEqual(run({ __meta_x_a: '1', b: '2' }, [{ regex: '__meta_x_(.+)', action: 'labelmap' }]), {
    __meta_x_a: '1',
    a: '1',
    b: '2',
  });
  assert.deepEqual(run({ a: '1', b: '2', c: '3' }, [{ regex: 'a|b', action: 'labeldrop' }]), { c: '3' });
  assert.deepEqual(run({ a: '1', b: '2', c: '3' }, [{ regex: 'a|b', action: 'labelkeep' }]), {
    a: '1',
    b: '2',
  });
  assert.deepEqual(run({ a: 'MiXed' }, [{ source_labels: ['a'], target_label: 'b', action: 'lowercase' }]), {
    a: 'MiXed',
    b: 'mixed',
  });
  assert.deepEqual(
    run({ a: 'x' }, [{ source_labels: ['a'], target_label: 'bad-name', replacement: 'y' }]),
    { a: 'x' },
    'an invalid target leaves the set',
  );
  assert.throws(() => rule({ regex: '(' }), /invalid regex/);
  assert.throws(() => rule({ action: 'replace' }), /needs a target_label/);
  assert.throws(() => rule({ action: 'keep' }), /needs source_labels/);
});

test('targets get job, instance and the URL from their labels', () => {
  const [t] = compileScrapeConfigs([
    {
      job_name: 'node',
      org: 'default',
      scrape_interval: '15s',
      scrape_timeout: '10s',
      metrics_path: '/metrics',
      scheme: 'http',
      honor_labels: false,
      honor_timestamps: true,
      params: { 'collect[]': ['cpu', 'mem'] },
      static_configs: [{ targets: ['h:9100'], labels: { env: 'prod' } }],
      relabel_configs: [
        relabelConfigSchema.parse({
          source_labels: ['__address__'],
          target_label: '__metrics_path__',
          replacement: '/probe',
        }),
      ],
      metric_relabel_configs: [],
    },
  ]);
  assert.equal(t!.url, 'http://h:9100/probe?collect%5B%5D=cpu&collect%5B%5D=mem');
  assert.deepEqual(t!.labels, [
    { name: 'env', value: 'prod' },
    { name: 'instance', value: 'h:9100' },
    { name: 'job', value: 'node' },
  ]);
  assert.equal(t!.intervalMs, 15_000);
  assert.equal(t!.timeoutMs, 10_000);
});
