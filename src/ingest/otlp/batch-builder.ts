/**
 * Builds a ColumnBatch row by row for the OTLP decoders. Both encodings (protobuf and JSON) feed
 * the same builder with the same calls in document order, so equal data gives equal batches —
 * including dynamic column order, sparse-array holes and rejection messages.
 *
 * Invariants:
 * - `row` is the index the record being decoded will get; it only advances on `emit*`, so a
 *   rejected record leaves no trace in any column (its attribute values are truncated away).
 * - One dynamic column per (name, type), ordered by first appearance; a column whose every value
 *   was rolled back is dropped.
 * - Within one record (or one resource / scope) a repeated key keeps only its last value, even
 *   when the repeats have different types.
 * - Resource and scope attributes are buffered and written over the rows of their group when the
 *   group ends, because protobuf field order is not guaranteed (a resource may follow its logs).
 * - Sparse `values` arrays grow as rows are written and get `length = rowCount` at the end, so a
 *   rare attribute costs memory for its values only (V8 keeps very sparse arrays in dictionary
 *   mode) instead of rowCount slots per column.
 */
import type {
  ColumnBatch,
  DynamicColumn,
  FieldValue,
  FixedValue,
  SignalType,
  SpanEvent,
  SpanLink,
  ValueType,
} from '../../write/column-batch.ts';
import { fixedColumnsOf } from '../../write/fixed-columns.ts';

export const T_STR = 0;
export const T_INT = 1;
export const T_FLOAT = 2;
export const T_BOOL = 3;
export const T_BYTES = 4;
export const T_JSON = 5;
export type TypeId = 0 | 1 | 2 | 3 | 4 | 5;
const TYPE_NAMES: readonly ValueType[] = ['str', 'int', 'float', 'bool', 'bytes', 'json'];

/** Attribute levels; each has its own column-name prefix and key namespace. */
export const RESOURCE = 0;
export const SCOPE = 1;
const PREFIXES = ['resource.', 'scope.attr.', 'attr.'];

/**
 * AnyValue nesting limit for arrays and kvlists (both decoders recurse): deeper input is refused
 * so that a small body cannot exhaust the stack.
 */
export const MAX_ANY_VALUE_DEPTH = 64;

interface Col {
  name: string;
  type: TypeId;
  values: (FieldValue | undefined)[];
  /** Rows holding a value. */
  n: number;
  /** Last row written, -1 when unknown; rows only ever increase. */
  lastRow: number;
}

/** The columns one key has (one per type) and its last write, for last-wins de-duplication. */
interface KeyCols {
  cols: (Col | undefined)[];
  stamp: number;
  type: TypeId;
  /** Index into the pending group list when `stamp` is the current group's. */
  pending: number;
}

class AttrColumns {
  row = 0;
  rejectedCount = 0;
  rejectedMessage = '';
  private readonly cols: Col[] = [];
  /** Columns given a value at `row` by the current record, so `reject` costs O(its attributes). */
  private readonly touched: Col[] = [];
  private readonly keyMaps = [
    new Map<string, KeyCols>(),
    new Map<string, KeyCols>(),
    new Map<string, KeyCols>(),
  ];
  private stampSeq = 0;
  private recordStamp = 0;
  private readonly groupStamp = [0, 0];
  private readonly groupStart = [0, 0];
  private readonly pendingCols: Col[][] = [[], []];
  private readonly pendingValues: FieldValue[][] = [[], []];

  private keyCols(level: number, key: string, type: TypeId): KeyCols {
    const map = this.keyMaps[level]!;
    let kc = map.get(key);
    if (kc === undefined) {
      kc = {
        cols: [undefined, undefined, undefined, undefined, undefined, undefined],
        stamp: 0,
        type,
        pending: -1,
      };
      map.set(key, kc);
    }
    if (kc.cols[type] === undefined) {
      const col: Col = { name: PREFIXES[level]! + key, type, values: [], n: 0, lastRow: -1 };
      kc.cols[type] = col;
      this.cols.push(col);
    }
    return kc;
  }

  /** Starts a log record or span at `row`. */
  beginRecord(): void {
    this.recordStamp = ++this.stampSeq;
    this.touched.length = 0;
  }

  /** A record-level attribute (`attr.<key>`). */
  recordAttr(key: string, type: TypeId, value: FieldValue): void {
    const kc = this.keyCols(2, key, type);
    const row = this.row;
    if (kc.stamp === this.recordStamp) {
      if (kc.type !== type) unset(kc.cols[kc.type]!, row);
    } else {
      kc.stamp = this.recordStamp;
    }
    kc.type = type;
    const col = kc.cols[type]!;
    if (col.lastRow !== row) {
      col.n++;
      col.lastRow = row;
      this.touched.push(col);
    }
    col.values[row] = value;
  }

  beginGroup(level: typeof RESOURCE | typeof SCOPE): void {
    this.groupStamp[level] = ++this.stampSeq;
    this.groupStart[level] = this.row;
    this.pendingCols[level]!.length = 0;
    this.pendingValues[level]!.length = 0;
  }

  /** A resource or scope attribute, written over the group's rows by `endGroup`. */
  groupAttr(level: typeof RESOURCE | typeof SCOPE, key: string, type: TypeId, value: FieldValue): void {
    const kc = this.keyCols(level, key, type);
    const cols = this.pendingCols[level]!;
    const values = this.pendingValues[level]!;
    const col = kc.cols[type]!;
    if (kc.stamp === this.groupStamp[level]) {
      cols[kc.pending] = col;
      values[kc.pending] = value;
    } else {
      kc.stamp = this.groupStamp[level]!;
      kc.pending = cols.length;
      cols.push(col);
      values.push(value);
    }
    kc.type = type;
  }

  /** Returns the first row of the group. */
  endGroup(level: typeof RESOURCE | typeof SCOPE): number {
    const start = this.groupStart[level]!;
    const end = this.row;
    const cols = this.pendingCols[level]!;
    const values = this.pendingValues[level]!;
    if (end > start) {
      for (let i = 0; i < cols.length; i++) {
        const col = cols[i]!;
        const value = values[i]!;
        const out = col.values;
        for (let r = start; r < end; r++) out[r] = value;
        col.n += end - start;
        col.lastRow = end - 1;
      }
    }
    cols.length = 0;
    values.length = 0;
    return start;
  }

  /** Refuses the record being decoded (OTLP partial success) and rolls back its attributes. */
  reject(message: string): void {
    if (this.rejectedCount === 0) this.rejectedMessage = message;
    this.rejectedCount++;
    const row = this.row;
    for (const col of this.touched) unset(col, row);
    this.touched.length = 0;
  }

  protected dynamicColumns(): DynamicColumn[] {
    const out: DynamicColumn[] = [];
    const rowCount = this.row;
    for (const col of this.cols) {
      if (col.n === 0) continue;
      col.values.length = rowCount;
      out.push({ name: col.name, type: TYPE_NAMES[col.type]!, values: col.values });
    }
    return out;
  }

  protected batch(signal: SignalType, fixed: Record<string, FixedValue[]>): ColumnBatch {
    const ordered: Record<string, FixedValue[]> = {};
    for (const { name } of fixedColumnsOf(signal)) {
      const values = fixed[name];
      // A programming error, not input: every fixed column is filled by the builder.
      if (values?.length !== this.row) throw new Error(`fixed column ${name} is not filled`);
      ordered[name] = values;
    }
    return {
      signal,
      rowCount: this.row,
      fixed: ordered,
      dynamic: this.dynamicColumns(),
      rejectedCount: this.rejectedCount,
      rejectedMessage: this.rejectedMessage,
    };
  }
}

function unset(col: Col, row: number): void {
  if (col.lastRow !== row) return;
  col.values.length = row;
  col.n--;
  col.lastRow = -1;
}

export class LogBatchBuilder extends AttrColumns {
  private readonly timestamp: bigint[] = [];
  private readonly observed: (bigint | null)[] = [];
  private readonly severityNumber: number[] = [];
  private readonly severityText: (string | null)[] = [];
  private readonly body: (string | null)[] = [];
  private readonly traceId: (string | null)[] = [];
  private readonly spanId: (string | null)[] = [];
  private readonly flags: bigint[] = [];
  private readonly eventName: (string | null)[] = [];
  private readonly dropped: number[] = [];
  private readonly scopeName: (string | null)[] = [];
  private readonly scopeVersion: (string | null)[] = [];

  /**
   * Emits the current record. `timeNs`/`observedNs` are 0n when absent: `_timestamp` falls back
   * to the observed time, then to `nowNs` (logs.proto: "use time_unix_nano if it is present,
   * otherwise use observed_time_unix_nano").
   */
  emit(
    timeNs: bigint,
    observedNs: bigint,
    nowNs: bigint,
    severityNumber: number,
    severityText: string,
    body: string | null,
    traceId: string | null,
    spanId: string | null,
    flags: bigint,
    eventName: string,
    droppedAttributes: number,
  ): void {
    this.timestamp.push(timeNs !== 0n ? timeNs : observedNs !== 0n ? observedNs : nowNs);
    this.observed.push(observedNs !== 0n ? observedNs : null);
    this.severityNumber.push(severityNumber);
    this.severityText.push(severityText === '' ? null : severityText);
    this.body.push(body);
    this.traceId.push(traceId);
    this.spanId.push(spanId);
    this.flags.push(flags);
    this.eventName.push(eventName === '' ? null : eventName);
    this.dropped.push(droppedAttributes);
    this.row++;
  }

  /** Ends a scope group: its name and version go on each of its rows. */
  endScope(name: string, version: string): void {
    const start = this.endGroup(SCOPE);
    const n = name === '' ? null : name;
    const v = version === '' ? null : version;
    for (let r = start; r < this.row; r++) {
      this.scopeName.push(n);
      this.scopeVersion.push(v);
    }
  }

  finish(): ColumnBatch {
    return this.batch('logs', {
      _timestamp: this.timestamp,
      observed_timestamp: this.observed,
      severity_number: this.severityNumber,
      severity_text: this.severityText,
      body: this.body,
      trace_id: this.traceId,
      span_id: this.spanId,
      flags: this.flags,
      event_name: this.eventName,
      dropped_attributes_count: this.dropped,
      'scope.name': this.scopeName,
      'scope.version': this.scopeVersion,
    });
  }
}

/** The fields of one span, gathered by a decoder before `emit`. */
export interface SpanFields {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  statusCode: number;
  statusMessage: string;
  flags: bigint;
  droppedAttributes: number;
  droppedEvents: number;
  droppedLinks: number;
  events: SpanEvent[];
  links: SpanLink[];
}

export const emptySpanFields = (): SpanFields => ({
  traceId: '',
  spanId: '',
  parentSpanId: '',
  traceState: '',
  name: '',
  kind: 0,
  startNs: 0n,
  endNs: 0n,
  statusCode: 0,
  statusMessage: '',
  flags: 0n,
  droppedAttributes: 0,
  droppedEvents: 0,
  droppedLinks: 0,
  events: [],
  links: [],
});

export class SpanBatchBuilder extends AttrColumns {
  private readonly start: bigint[] = [];
  private readonly end: bigint[] = [];
  private readonly duration: bigint[] = [];
  private readonly traceId: string[] = [];
  private readonly spanId: string[] = [];
  private readonly parentSpanId: (string | null)[] = [];
  private readonly traceState: (string | null)[] = [];
  private readonly name: string[] = [];
  private readonly kind: number[] = [];
  private readonly statusCode: number[] = [];
  private readonly statusMessage: (string | null)[] = [];
  private readonly flags: bigint[] = [];
  private readonly droppedAttributes: number[] = [];
  private readonly droppedEvents: number[] = [];
  private readonly droppedLinks: number[] = [];
  private readonly events: SpanEvent[][] = [];
  private readonly links: SpanLink[][] = [];
  private readonly scopeName: (string | null)[] = [];
  private readonly scopeVersion: (string | null)[] = [];

  /** Emits the current span; ids must already be validated lowercase hex. */
  emit(s: SpanFields): void {
    this.start.push(s.startNs);
    this.end.push(s.endNs);
    this.duration.push(s.endNs - s.startNs);
    this.traceId.push(s.traceId);
    this.spanId.push(s.spanId);
    this.parentSpanId.push(s.parentSpanId === '' ? null : s.parentSpanId);
    this.traceState.push(s.traceState === '' ? null : s.traceState);
    this.name.push(s.name);
    this.kind.push(s.kind);
    this.statusCode.push(s.statusCode);
    this.statusMessage.push(s.statusMessage === '' ? null : s.statusMessage);
    this.flags.push(s.flags);
    this.droppedAttributes.push(s.droppedAttributes);
    this.droppedEvents.push(s.droppedEvents);
    this.droppedLinks.push(s.droppedLinks);
    this.events.push(s.events);
    this.links.push(s.links);
    this.row++;
  }

  endScope(name: string, version: string): void {
    const start = this.endGroup(SCOPE);
    const n = name === '' ? null : name;
    const v = version === '' ? null : version;
    for (let r = start; r < this.row; r++) {
      this.scopeName.push(n);
      this.scopeVersion.push(v);
    }
  }

  finish(): ColumnBatch {
    return this.batch('traces', {
      _timestamp: this.start,
      end_timestamp: this.end,
      duration_ns: this.duration,
      trace_id: this.traceId,
      span_id: this.spanId,
      parent_span_id: this.parentSpanId,
      trace_state: this.traceState,
      name: this.name,
      kind: this.kind,
      status_code: this.statusCode,
      status_message: this.statusMessage,
      flags: this.flags,
      dropped_attributes_count: this.droppedAttributes,
      dropped_events_count: this.droppedEvents,
      dropped_links_count: this.droppedLinks,
      events: this.events,
      links: this.links,
      'scope.name': this.scopeName,
      'scope.version': this.scopeVersion,
    });
  }
}
