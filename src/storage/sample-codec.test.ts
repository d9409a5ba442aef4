import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chooseScale, decodeValues, encodeValues, minimalScale, MAX_SCALE } from './sample-codec.ts';

/** Encodes, then decodes as the PromQL reader does (NULL columns read as 0 / scale -1). */
function roundTrip(series: number[], window: number[], value: number[]): Float64Array {
  const n = value.length;
  const enc = encodeValues({
    n,
    series: Float64Array.from(series),
    window: Float64Array.from(window),
    value: Float64Array.from(value),
  });
  const out = new Float64Array(n);
  const scale = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    if (enc.raw[i] === 1) {
      out[i] = value[i]!;
      scale[i] = -1;
    } else scale[i] = enc.scale[i]!;
  }
  decodeValues(n, Int32Array.from(series), out, enc.z0, enc.z1, scale, enc.start);
  return out;
}

const sameBits = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

test('minimal scale of a value', () => {
  const cases: [number, number][] = [
    [0, 0],
    [42, 0],
    [-7, 0],
    [0.5, 1],
    [12.345, 3],
    [99.999, 3],
    [0.1 + 0.2, -1],
    [1e-9, 9],
    [1e-10, -1],
    [-0, -1],
    [NaN, -1],
    [Infinity, -1],
    [-Infinity, -1],
    [2 ** 53, -1],
    [Number.MAX_VALUE, -1],
    [5e-324, -1],
  ];
  for (const [v, e] of cases) assert.equal(minimalScale(v), e, `minimalScale(${v})`);
});

test('a chain takes the scale that costs least', () => {
  const h = (counts: Record<number, number>) => {
    const a = new Int32Array(MAX_SCALE + 1);
    for (const [e, c] of Object.entries(counts)) a[Number(e)] = c;
    return a;
  };
  assert.equal(chooseScale(h({})), -1);
  assert.equal(chooseScale(h({ 0: 10 })), 0);
  assert.equal(chooseScale(h({ 0: 5, 3: 5 })), 3);
  assert.equal(chooseScale(h({ 3: 1000, 9: 1 })), 3, 'one 9-digit value is kept as is');
});

test('round-trips integers, 3-decimal floats, arbitrary doubles and special values exactly', () => {
  const value = [
    1,
    2,
    2,
    5,
    100,
    0,
    -3,
    12.345,
    12.346,
    99.999,
    0.1 + 0.2,
    Math.PI,
    NaN,
    Infinity,
    -Infinity,
    -0,
    0,
    1e300,
    5e-324,
    2 ** 52,
    -(2 ** 49),
    2 ** 49,
    0.001,
    7,
  ];
  const n = value.length;
  const series = value.map((_, i) => (i < 12 ? 1 : 2));
  const window = value.map((_, i) => (i < 6 ? 0 : 1));
  const out = roundTrip(series, window, value);
  for (let i = 0; i < n; i++) assert.ok(sameBits(out[i]!, value[i]!), `row ${i}: ${out[i]} vs ${value[i]}`);
});

test('each chain starts at the first encoded row of its series and window', () => {
  const value = [NaN, 1, 2, 3, 4, 0.5, 0.25];
  const enc = encodeValues({
    n: 7,
    series: Float64Array.from([1, 1, 1, 2, 2, 2, 2]),
    window: Float64Array.from([0, 0, 0, 0, 0, 1, 1]),
    value: Float64Array.from(value),
  });
  assert.deepEqual([...enc.raw], [1, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...enc.start], [0, 1, 0, 1, 0, 1, 0]);
  assert.deepEqual([...enc.scale], [0, 0, 0, 0, 0, 2, 2]);
});

test('a chain that continues across a series change is refused', () => {
  const enc = encodeValues({
    n: 2,
    series: Float64Array.from([1, 1]),
    window: Float64Array.from([0, 0]),
    value: Float64Array.from([1, 2]),
  });
  assert.throws(
    () => decodeValues(2, Int32Array.from([1, 2]), new Float64Array(2), enc.z0, enc.z1, enc.scale, enc.start),
    /no start row/,
  );
});

test('property: any doubles round-trip bit for bit (NaN as NaN)', () => {
  const sample = fc.oneof(
    fc.double(),
    fc.integer({ min: -1e6, max: 1e6 }),
    fc.integer({ min: -1e8, max: 1e8 }).map((k) => k / 1000),
    fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 2 ** 50, -(2 ** 50), 2 ** 50 - 1),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), sample), { maxLength: 200 }), (rows) => {
      // sorted by series as the writer reads them; windows change every few rows
      rows.sort((a, b) => a[0] - b[0]);
      const out = roundTrip(
        rows.map((r) => r[0]),
        rows.map((_, i) => Math.floor(i / 7)),
        rows.map((r) => r[1]),
      );
      return rows.every((r, i) => sameBits(out[i]!, r[1]));
    }),
  );
});
