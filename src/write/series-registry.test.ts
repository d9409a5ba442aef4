import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteCatalog } from '../catalog/sqlite.ts';
import { MoleError } from '../lib/errors.ts';
import type { LabelMatcher } from '../promql/labels.ts';
import { newOrgId } from '../tenancy/org-id.ts';
import { literalAlternatives, SeriesRegistry, seriesLabels } from './series-registry.ts';

const l = (r: Record<string, string>) =>
  seriesLabels(Object.entries(r).map(([name, value]) => ({ name, value })));

test('series get stable ids, persisted and reloaded; matchers select through the index', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'series-'));
  try {
    const catalog = new SqliteCatalog(join(dir, 'c.sqlite'));
    const org = newOrgId();
    await catalog.createOrg(org, 'o');
    const reg = new SeriesRegistry(catalog);
    const series = [
      l({ __name__: 'up', job: 'api', instance: 'a' }),
      l({ __name__: 'up', job: 'db', instance: 'b' }),
      l({ __name__: 'http_requests_total', job: 'api', code: '200' }),
      l({ job: 'api', __name__: 'up', instance: 'a' }), // same as the first
    ];
    const { ids } = await reg.resolve(org, series);
    assert.deepEqual([...ids], [1, 2, 3, 1]);

    const again = new SeriesRegistry(catalog);
    assert.equal(await again.load(), 3);
    assert.deepEqual([...again.lookup(org, series)!], [1, 2, 3, 1]);
    assert.equal(again.lookup(org, [l({ __name__: 'new' })]), null);
    assert.deepEqual([...(await again.resolve(org, [l({ __name__: 'new' })])).ids], [4]);

    const sel = (...m: [string, LabelMatcher['type'], string][]) =>
      again.select(
        org,
        m.map(([name, type, value]) => ({ name, type, value })),
      );
    assert.deepEqual(sel(['__name__', '=', 'up']), [1, 2]);
    assert.deepEqual(sel(['__name__', '=', 'up'], ['job', '!=', 'api']), [2]);
    assert.deepEqual(sel(['job', '=~', 'a.*']), [1, 3]);
    assert.deepEqual(sel(['job', '=~', 'a']), [], 'regex matchers are anchored');
    assert.deepEqual(sel(['code', '=', '']), [1, 2, 4], 'an empty equality matches series without the label');
    assert.deepEqual(sel(['__name__', '!~', 'up|new']), [3]);
    // literal alternations go through the posting lists; the result is the same as the regex's
    assert.deepEqual(sel(['instance', '=~', 'b|a|zzz']), [1, 2]);
    assert.deepEqual(sel(['__name__', '=', 'up'], ['instance', '=~', 'b|zzz']), [2]);
    assert.deepEqual(sel(['instance', '=~', 'b|a'], ['job', '=', 'api']), [1]);
    assert.deepEqual(sel(['job', '=~', 'ap|db']), [2], 'each literal is matched whole');
    assert.deepEqual(again.labelNames(org), ['__name__', 'code', 'instance', 'job']);
    assert.deepEqual(again.labelValues(org, 'job'), ['api', 'db']);
    assert.deepEqual(again.labelValues(org, 'instance', [2]), ['b']);
    await catalog.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('invalid series are refused with a clear message', () => {
  assert.throws(
    () => l({ job: 'x' }),
    (e: MoleError) => e.status === 400 && /no metric name/.test(e.message),
  );
  assert.throws(
    () =>
      seriesLabels([
        { name: '__name__', value: 'a' },
        { name: 'a', value: '1' },
        { name: 'a', value: '2' },
      ]),
    (e: MoleError) => /"a" twice/.test(e.message),
  );
  assert.throws(() => seriesLabels([{ name: '', value: '1' }]), /empty name/);
});

test('concurrent resolves of the same new series share one id; limits refuse new series only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'series-'));
  try {
    const catalog = new SqliteCatalog(join(dir, 'c.sqlite'));
    const org = newOrgId();
    await catalog.createOrg(org, 'o');
    const reg = new SeriesRegistry(catalog);
    const s = l({ __name__: 'm', a: '1' });
    const [x, y] = await Promise.all([reg.resolve(org, [s]), reg.resolve(org, [s])]);
    assert.equal(x.ids[0], y.ids[0]);
    assert.equal(reg.count(org), 1);

    const limits = { maxSeriesPerOrg: 10, maxSeriesPerMetric: 3 };
    const batch = [1, 2, 3, 4, 5].map((i) => l({ __name__: 'm', user: `u${i}` }));
    const r = await reg.resolve(org, batch, limits);
    assert.deepEqual(
      [...r.ids].map((id) => id > 0),
      [true, true, false, false, false],
      'm has 1 series already: 2 more fit',
    );
    assert.equal(r.rejected.length, 3);
    const known = await reg.resolve(org, [s], limits);
    assert.ok(known.ids[0]! > 0, 'known series are never refused');
    assert.deepEqual(reg.growthLabel(org, 'm'), { name: 'user', values: 2 });
    await catalog.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('literal alternations are recognised only when every branch is a plain word', () => {
  assert.deepEqual(literalAlternatives('host_1|host_22|a-b:c'), ['host_1', 'host_22', 'a-b:c']);
  assert.equal(literalAlternatives('a|'), null, 'an empty branch matches the empty string');
  assert.equal(literalAlternatives('a.b|c'), null);
  assert.equal(literalAlternatives('(?i)a|b'), null);
  assert.equal(literalAlternatives('a*'), null);
});
