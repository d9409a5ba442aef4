import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsRegistry } from './metrics.ts';

describe('Histogram', () => {
  test('cumulative buckets, +Inf, sum and count per label set', () => {
    const r = new MetricsRegistry();
    const h = r.histogram('x_seconds', 'A duration.', [0.1, 1]);
    h.observe(0.05, { a: 'p' });
    h.observe(0.5, { a: 'p' });
    h.observe(5, { a: 'p' });
    assert.equal(h.count({ a: 'p' }), 3);
    const text = r.render();
    for (const line of [
      '# TYPE x_seconds histogram',
      'x_seconds_bucket{a="p",le="0.1"} 1',
      'x_seconds_bucket{a="p",le="1"} 2',
      'x_seconds_bucket{a="p",le="+Inf"} 3',
      'x_seconds_sum{a="p"} 5.55',
      'x_seconds_count{a="p"} 3',
    ])
      assert.ok(text.includes(line + '\n'), `${line} in:\n${text}`);
  });
  test('without labels', () => {
    const r = new MetricsRegistry();
    r.histogram('y', 'Y.', [1]).observe(2);
    assert.match(r.render(), /^y_bucket\{le="1"\} 0$/m);
    assert.match(r.render(), /^y_count 1$/m);
  });
  test('collectors run before a render; a failing one leaves the others', async () => {
    const r = new MetricsRegistry();
    const g = r.gauge('g', 'G.');
    r.onCollect(() => {
      throw new Error('unreadable');
    });
    r.onCollect(async () => g.set(7));
    await r.collect();
    assert.match(r.render(), /^g 7$/m);
  });
});
