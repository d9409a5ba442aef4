import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGoDuration, parseGoFloat, parseHumanBytes } from './go-conversions.ts';

const val = (p: ReturnType<typeof parseGoFloat>) => (p.ok ? p.value : p.error);

describe('Go value parsers', () => {
  it('strconv.ParseFloat', () => {
    const cases: [string, number | string][] = [
      ['1', 1],
      ['-1.5e3', -1500],
      ['.5', 0.5],
      ['5.', 5],
      ['+Inf', Infinity],
      ['nan', NaN],
      ['0x1p-2', 0.25],
      ['1_000', 'strconv.ParseFloat: parsing "1_000": invalid syntax'],
      ['', 'strconv.ParseFloat: parsing "": invalid syntax'],
      [' 1', 'strconv.ParseFloat: parsing " 1": invalid syntax'],
      ['1e400', 'strconv.ParseFloat: parsing "1e400": value out of range'],
    ];
    for (const [s, want] of cases) assert.deepEqual(val(parseGoFloat(s)), want, s);
  });
  it('time.ParseDuration', () => {
    const cases: [string, number | string][] = [
      ['230ms', 230e6],
      ['1.5s', 1.5e9],
      ['1h2m3s', 3723e9],
      ['-2µs', -2000],
      ['0', 0],
      ['5', 'time: missing unit in duration "5"'],
      ['5d', 'time: unknown unit "d" in duration "5d"'],
      ['request completed', 'time: invalid duration "request completed"'],
      ['', 'time: invalid duration ""'],
    ];
    for (const [s, want] of cases) assert.deepEqual(val(parseGoDuration(s)), want, s);
  });
  it('humanize.ParseBytes', () => {
    const cases: [string, number | string][] = [
      ['12KB', 12000],
      ['3.1MiB', Math.trunc(3.1 * 1024 * 1024)],
      ['595B', 595],
      ['1,000 kb', 1e6],
      ['42', 42],
      ['5 XB', 'unhandled size name: xb'],
      ['abc', 'strconv.ParseFloat: parsing "": invalid syntax'],
    ];
    for (const [s, want] of cases) assert.deepEqual(val(parseHumanBytes(s)), want, s);
  });
});
