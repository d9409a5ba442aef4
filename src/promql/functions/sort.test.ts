import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Sample } from '../value.ts';
import { natLess } from './sort.ts';
import { call, str, vec } from './testing.ts';

const http = vec([
  { labels: { __name__: 'http_requests', job: 'api-server', instance: '0', group: 'production' }, v: 100 },
  { labels: { __name__: 'http_requests', job: 'api-server', instance: '1', group: 'production' }, v: 200 },
  { labels: { __name__: 'http_requests', job: 'api-server', instance: '0', group: 'canary' }, v: 300 },
  { labels: { __name__: 'http_requests', job: 'api-server', instance: '1', group: 'canary' }, v: 400 },
  { labels: { __name__: 'http_requests', job: 'api-server', instance: '2', group: 'canary' }, v: NaN },
  { labels: { __name__: 'http_requests', job: 'app-server', instance: '0', group: 'production' }, v: 500 },
  { labels: { __name__: 'http_requests', job: 'app-server', instance: '1', group: 'production' }, v: 600 },
  { labels: { __name__: 'http_requests', job: 'app-server', instance: '0', group: 'canary' }, v: 700 },
  { labels: { __name__: 'http_requests', job: 'app-server', instance: '1', group: 'canary' }, v: 800 },
  { labels: { __name__: 'http_requests', job: 'api-server', instance: '2', group: 'production' }, v: 100 },
]);

const order = (out: Sample[] | number) =>
  (out as Sample[]).map((s) => `${s.metric.get('group')}/${s.metric.get('instance')}/${s.metric.get('job')}`);

describe('sort / sort_desc', () => {
  it('sort ascending, NaN last; keeps names', () => {
    const out = call('sort', [http], 0).out as Sample[];
    assert.deepEqual(
      out.map((s) => s.v),
      [100, 100, 200, 300, 400, 500, 600, 700, 800, NaN],
    );
    assert.ok(out.every((s) => s.dropName === undefined && s.metric.get('__name__') === 'http_requests'));
  });
  it('sort_desc descending, NaN last', () => {
    assert.deepEqual(
      (call('sort_desc', [http], 0).out as Sample[]).map((s) => s.v),
      [800, 700, 600, 500, 400, 300, 200, 100, 100, NaN],
    );
  });
});

describe('sort_by_label (functions.test)', () => {
  it('by instance, then the full label set', () => {
    assert.deepEqual(order(call('sort_by_label', [http, str('instance')], 0).out), [
      'canary/0/api-server',
      'canary/0/app-server',
      'production/0/api-server',
      'production/0/app-server',
      'canary/1/api-server',
      'canary/1/app-server',
      'production/1/api-server',
      'production/1/app-server',
      'canary/2/api-server',
      'production/2/api-server',
    ]);
  });
  it('by group, instance, job', () => {
    assert.deepEqual(
      order(call('sort_by_label', [http, str('group'), str('instance'), str('job')], 0).out).slice(0, 5),
      [
        'canary/0/api-server',
        'canary/0/app-server',
        'canary/1/api-server',
        'canary/1/app-server',
        'canary/2/api-server',
      ],
    );
  });
  it('desc by instance, group, job', () => {
    assert.deepEqual(
      order(call('sort_by_label_desc', [http, str('instance'), str('group'), str('job')], 0).out),
      [
        'production/2/api-server',
        'canary/2/api-server',
        'production/1/app-server',
        'production/1/api-server',
        'canary/1/app-server',
        'canary/1/api-server',
        'production/0/app-server',
        'production/0/api-server',
        'canary/0/app-server',
        'canary/0/api-server',
      ],
    );
  });
  it('natural order of numbers inside values', () => {
    const cpus = ['0', '1', '2', '3', '10', '11', '12', '20', '21', '100'];
    const v = vec([...cpus].reverse().map((cpu) => ({ labels: { job: 'cpu', cpu }, v: 100 })));
    assert.deepEqual(
      (call('sort_by_label', [v, str('cpu')], 0).out as Sample[]).map((s) => s.metric.get('cpu')),
      cpus,
    );
    const rel = vec(
      ['1.2.3', '1.11.3', '1.111.3'].reverse().map((release) => ({ labels: { release }, v: 1 })),
    );
    assert.deepEqual(
      (call('sort_by_label', [rel, str('release')], 0).out as Sample[]).map((s) => s.metric.get('release')),
      ['1.2.3', '1.11.3', '1.111.3'],
    );
    assert.equal(natLess('4m5', '4m600'), true);
    assert.equal(natLess('4m600', '4m1000'), true);
    assert.equal(natLess('4m1000', '4m5'), false);
  });
});
