import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drilldownLimits, formatModelDuration } from './drilldown-limits.ts';
import { storageRegexpError } from './errors.ts';
import { wantsCategorizedLabels } from './query.ts';

describe('formatModelDuration (Prometheus model.Duration.String)', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [1, '1ms'],
    [30_000, '30s'],
    [90_000, '1m30s'],
    [721 * 3_600_000, '30d1h'],
    [7 * 86_400_000, '1w'],
    [8 * 86_400_000, '8d'],
    [365 * 86_400_000, '1y'],
    [1500, '1s500ms'],
  ];
  for (const [ms, text] of cases) it(`${ms} ms → ${text}`, () => assert.equal(formatModelDuration(ms), text));
});

describe('drilldown-limits', () => {
  it('reports the configured limits in Loki names', () => {
    const d = drilldownLimits({
      maxEntriesLimitPerQuery: 5000,
      maxQuerySeries: 500,
      maxQueryLengthMs: 721 * 3_600_000,
      timeoutMs: 30_000,
      retentionDays: 14,
    });
    assert.equal(d.limits.max_query_length, '30d1h');
    assert.equal(d.limits.query_timeout, '30s');
    assert.equal(d.limits.retention_period, '2w');
    assert.equal(d.limits.volume_enabled, true);
    assert.equal(d.pattern_ingester_enabled, false);
    assert.equal(d.version, '3.4.6');
  });
});

describe('the categorize-labels request header', () => {
  const cases: [string | string[] | undefined, boolean][] = [
    [undefined, false],
    ['', false],
    ['categorize-labels', true],
    ['other, categorize-labels', true],
    [['other', 'categorize-labels'], true],
    ['categorize-labels-not', false],
  ];
  for (const [header, want] of cases)
    it(`${JSON.stringify(header)} → ${want}`, () => assert.equal(wantsCategorizedLabels(header), want));
});

describe('storageRegexpError', () => {
  it("turns DuckDB's RE2 refusal into a 400 naming the error", () => {
    const e = storageRegexpError(new Error('Invalid Input Error: invalid perl operator: (?<'));
    assert.equal(e?.status, 400);
    assert.match(e.message, /^error parsing regexp: invalid perl operator: \(\?</);
  });
  it('leaves other errors alone', () => {
    assert.equal(storageRegexpError(new Error('Invalid Input Error: something else')), null);
    assert.equal(storageRegexpError(new Error('IO Error: disk')), null);
    assert.equal(storageRegexpError('text'), null);
  });
});
