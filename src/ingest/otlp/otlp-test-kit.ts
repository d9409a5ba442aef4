/**
 * Helpers for the OTLP decoder tests: a tiny protobuf writer for hand-made (and deliberately
 * odd) requests, and batch assertions. Not imported by the server.
 */
import assert from 'node:assert/strict';
import { MoleError } from '../../lib/errors.ts';
import type { ColumnBatch, FieldValue, ValueType } from '../../write/column-batch.ts';
import { fixedColumnsOf } from '../../write/fixed-columns.ts';

export type Bytes = number[];

export function varint(v: bigint | number): Bytes {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: Bytes = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

const littleEndian = (v: bigint, size: number): Bytes => {
  const out: Bytes = [];
  let x = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
  }
  return out;
};

const utf8 = new TextEncoder();
export const tag = (field: number, wire: number): Bytes => varint((field << 3) | wire);
/** Varint field. */
export const pv = (field: number, value: bigint | number): Bytes => [...tag(field, 0), ...varint(value)];
/** Length-delimited field (a string is UTF-8 encoded). */
export const pl = (field: number, payload: Bytes | string): Bytes => {
  const body = typeof payload === 'string' ? [...utf8.encode(payload)] : payload;
  return [...tag(field, 2), ...varint(body.length), ...body];
};
/** fixed64 field. */
export const pf64 = (field: number, value: bigint): Bytes => [...tag(field, 1), ...littleEndian(value, 8)];
/** fixed32 field. */
export const pf32 = (field: number, value: number): Bytes => [
  ...tag(field, 5),
  ...littleEndian(BigInt(value), 4),
];
/** double field. */
export const pdouble = (field: number, value: number): Bytes => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, value, true);
  return [...tag(field, 1), ...b];
};
export const hexBytes = (hex: string): Bytes => (hex.match(/../g) ?? []).map((h) => parseInt(h, 16));

/** AnyValue builders (common.proto). */
export const any = {
  str: (s: string): Bytes => pl(1, s),
  bool: (b: boolean): Bytes => pv(2, b ? 1 : 0),
  int: (n: bigint): Bytes => pv(3, n),
  double: (d: number): Bytes => pdouble(4, d),
  array: (...values: Bytes[]): Bytes =>
    pl(
      5,
      values.flatMap((v) => pl(1, v)),
    ),
  kvlist: (...kvs: Bytes[]): Bytes =>
    pl(
      6,
      kvs.flatMap((kv) => pl(1, kv)),
    ),
  bytes: (b: Bytes): Bytes => pl(7, b),
  empty: (): Bytes => [],
};
/** KeyValue; without `value` the field is absent. */
export const kv = (key: string, value?: Bytes): Bytes => [...pl(1, key), ...(value ? pl(2, value) : [])];

/** Unknown fields of every wire type, with a field number no OTLP message uses. */
export const unknownFields = (): Bytes => [
  ...pv(99, 1n << 40n),
  ...pf64(98, 7n),
  ...pl(97, [1, 2, 3]),
  ...pf32(96, 5),
];

/** An array with holes except at the given rows, as the batch builder makes them. */
export function sparse(rowCount: number, entries: Record<number, FieldValue>): (FieldValue | undefined)[] {
  const out = new Array<FieldValue | undefined>(rowCount);
  for (const [row, value] of Object.entries(entries)) out[Number(row)] = value;
  return out;
}

export function dynamicColumn(
  batch: ColumnBatch,
  name: string,
  type: ValueType,
): (FieldValue | undefined)[] | undefined {
  return batch.dynamic.find((c) => c.name === name && c.type === type)?.values;
}

/** The ColumnBatch contract: every fixed column, all arrays rowCount long, unique (name, type). */
export function assertBatchShape(batch: ColumnBatch): void {
  const names = fixedColumnsOf(batch.signal).map((c) => c.name);
  assert.deepEqual(Object.keys(batch.fixed), names);
  for (const name of names) assert.equal(batch.fixed[name]!.length, batch.rowCount, `fixed column ${name}`);
  const seen = new Set<string>();
  for (const col of batch.dynamic) {
    assert.equal(col.values.length, batch.rowCount, `dynamic column ${col.name}`);
    const id = `${col.name}\u0000${col.type}`;
    assert.ok(!seen.has(id), `duplicate dynamic column ${col.name} ${col.type}`);
    seen.add(id);
    assert.ok(
      col.values.some((v) => v !== undefined),
      `dynamic column ${col.name} has no value`,
    );
  }
  assert.ok(batch.rejectedCount >= 0);
  assert.equal(batch.rejectedCount === 0, batch.rejectedMessage === '');
}

/** Asserts `fn` throws a 400 MoleError with `code` and a message matching `message`. */
export function assertBadRequest(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MoleError, `expected a MoleError, got ${String(e)}`);
    assert.equal(e.status, 400);
    assert.equal(e.code, code);
    assert.match(e.message, message);
    return true;
  });
}

/** For property tests: anything but a 400 MoleError is a bug. */
export function onlyBadRequests(fn: () => ColumnBatch): void {
  let batch: ColumnBatch;
  try {
    batch = fn();
  } catch (e) {
    if (e instanceof MoleError && e.status === 400) return;
    throw e;
  }
  assertBatchShape(batch);
}
