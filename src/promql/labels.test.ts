import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Labels } from './labels.ts';

const m = Labels.fromRecord({ __name__: 'cpu', host: 'a', region: 'eu' });

test('grouping: by keeps the named labels, without drops them and the metric name', () => {
  assert.equal(m.grouping(['region'], false).toString(), '{region="eu"}');
  assert.equal(m.grouping(['region'], true).toString(), '{host="a"}');
  assert.equal(m.grouping([], true).key, m.without(['__name__']).key);
  assert.equal(m.grouping([], false).key, Labels.EMPTY.key);
});

test('grouping: answers stay right when the names or the mode change between calls', () => {
  const by = ['host'];
  const other = ['region'];
  for (let i = 0; i < 3; i++) {
    assert.equal(m.grouping(by, false).toString(), '{host="a"}');
    assert.equal(m.grouping(other, false).toString(), '{region="eu"}');
    assert.equal(m.grouping(by, true).toString(), '{region="eu"}');
    assert.equal(m.grouping([], true).toString(), '{host="a", region="eu"}');
  }
  // the same list, asked again: the same object (no new label set per step)
  assert.equal(m.grouping(by, false), m.grouping(by, false));
  assert.equal(m.grouping([], true), m.grouping([], true));
});
