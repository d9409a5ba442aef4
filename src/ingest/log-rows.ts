/**
 * Log rows for the protocols that are not OTLP (Loki push, HEC, `_bulk`, JSON): the same column
 * layout as OTLP logs (LogBatchBuilder), with stream-level labels as `resource.<name>` strings,
 * record fields as `attr.<key>` with their JSON types, and the receive time as
 * `observed_timestamp`. There is no instrumentation scope: `scope.name`/`scope.version` are null.
 *
 * JSON values map as: string → str, boolean → bool, integer → int (a JSON number that is a safe
 * integer), other numbers → float, array → json (its JSON text), object → flattened with dots
 * (`{"http":{"status":200}}` → `attr.http.status` int), null → no value. Objects nested deeper
 * than MAX_FLATTEN_DEPTH stay JSON text at that depth, so a deep document cannot exhaust the stack.
 */
import {
  LogBatchBuilder,
  RESOURCE,
  SCOPE,
  T_BOOL,
  T_FLOAT,
  T_INT,
  T_JSON,
  T_STR,
} from './otlp/batch-builder.ts';
import type { ColumnBatch } from '../write/column-batch.ts';

export const MAX_FLATTEN_DEPTH = 16;

export class LogRows {
  private readonly b = new LogBatchBuilder();
  private readonly nowNs: bigint;

  constructor(nowNs: bigint) {
    this.nowNs = nowNs;
    this.b.beginGroup(SCOPE);
  }

  /** Starts a group of records sharing resource labels (a Loki stream, one HEC event). */
  beginLabels(): void {
    this.b.beginGroup(RESOURCE);
  }

  label(name: string, value: string): void {
    this.b.groupAttr(RESOURCE, name, T_STR, value);
  }

  endLabels(): void {
    this.b.endGroup(RESOURCE);
  }

  beginRecord(): void {
    this.b.beginRecord();
  }

  attrString(key: string, value: string): void {
    this.b.recordAttr(key, T_STR, value);
  }

  /** A JSON value as `attr.<prefix+key>` column(s), objects flattened with dots. */
  attrJson(key: string, v: unknown, depth = 0): void {
    if (v === null || v === undefined || key === '') return;
    switch (typeof v) {
      case 'string':
        this.b.recordAttr(key, T_STR, v);
        return;
      case 'boolean':
        this.b.recordAttr(key, T_BOOL, v);
        return;
      case 'number':
        if (Number.isSafeInteger(v)) this.b.recordAttr(key, T_INT, BigInt(v));
        else this.b.recordAttr(key, T_FLOAT, v);
        return;
      case 'object':
        if (Array.isArray(v) || depth >= MAX_FLATTEN_DEPTH) {
          this.b.recordAttr(key, T_JSON, JSON.stringify(v));
          return;
        }
        for (const k in v) this.attrJson(`${key}.${k}`, (v as Record<string, unknown>)[k], depth + 1);
        return;
      case 'bigint':
      case 'function':
      case 'symbol':
      case 'undefined':
        return;
    }
  }

  /** Every field of `doc` except `skip` as attributes. */
  attrFields(doc: Readonly<Record<string, unknown>>, skip1?: string, skip2?: string): void {
    for (const k in doc) {
      if (k === skip1 || k === skip2) continue;
      this.attrJson(k, doc[k]);
    }
  }

  /** Emits the record; `timeNs` null means "none given": the receive time is used. */
  emit(timeNs: bigint | null, body: string | null): void {
    const now = this.nowNs;
    this.b.emit(timeNs ?? now, now, now, 0, '', body, null, null, 0n, '', 0);
  }

  finish(): ColumnBatch {
    this.b.endScope('', '');
    return this.b.finish();
  }
}
