/**
 * `GET /loki/api/v1/detected_fields`: the fields Loki would find in the newest lines of a query
 * (`line_limit`, 100 by default — what Loki 3.4.6's answers show): each line through `| json`,
 * or `| logfmt` when it is no JSON object (the real pipeline stages, so nested keys join with `_`
 * and a key clashing with a stream label becomes `<key>_extracted`), plus the structured metadata
 * (`parsers: null` unless a parser found the same name). A field's type is Loki's determineType
 * of its first value seen: int, float, boolean, duration, bytes, else string; its cardinality is
 * the number of distinct values in the sample (Loki estimates it with a sketch).
 */
import type { OrgId } from '../../tenancy/org-id.ts';
import type { PipelineStage } from '../ast.ts';
import { parseGoDuration, parseGoFloat, parseHumanBytes } from '../pipeline/go-conversions.ts';
import { compilePipeline, type LogEntry } from '../pipeline/index.ts';
import { readLines, type LogStore } from './log-store.ts';
import type { SelectorQuery, TimeRange } from './params.ts';

export type FieldType = 'int' | 'float' | 'boolean' | 'duration' | 'bytes' | 'string';

const GO_BOOLS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Loki's determineType: the first of Go's ParseInt, ParseFloat, ParseBool, ParseDuration, humanize.ParseBytes that accepts the value. */
export function determineType(v: string): FieldType {
  if (/^[+-]?\d+$/.test(v) && Number.isSafeInteger(Number(v))) return 'int';
  if (parseGoFloat(v).ok) return 'float';
  if (GO_BOOLS.has(v)) return 'boolean';
  if (parseGoDuration(v).ok) return 'duration';
  if (parseHumanBytes(v).ok) return 'bytes';
  return 'string';
}

const POS = { start: 0, end: 0 };
const INTERNAL = new Set(['__error__', '__error_details__']);

interface FieldAcc {
  type: FieldType;
  values: Set<string>;
  parsers: Set<string>;
}

export interface DetectedField {
  label: string;
  type: FieldType;
  cardinality: number;
  parsers: string[] | null;
}

export async function detectedFields(
  store: LogStore,
  org: OrgId,
  range: TimeRange,
  sel: SelectorQuery,
  opts: { lineLimit: number; fieldLimit: number },
): Promise<DetectedField[]> {
  // the query's own pipeline first (line filters, label filters), then the parsers
  const filter = sel.pipeline.length ? compilePipeline(sel.pipeline) : null;
  const parser = (stage: PipelineStage) => compilePipeline([stage]);
  const json = parser({ type: 'Json', params: [], pos: POS });
  const logfmt = parser({ type: 'Logfmt', strict: false, keepEmpty: false, params: [], pos: POS });
  const lines = await readLines(store, org, range, sel.matchers, {
    limit: filter ? opts.lineLimit * 20 : opts.lineLimit,
  });
  const fields = new Map<string, FieldAcc>();
  const note = (name: string, value: string, parserName: string | null) => {
    let f = fields.get(name);
    if (!f) fields.set(name, (f = { type: 'string', values: new Set(), parsers: new Set() }));
    // the value seen last decides, lines newest first: the oldest line of the sample (as Loki)
    f.type = determineType(value);
    f.values.add(value);
    if (parserName) f.parsers.add(parserName);
  };
  let used = 0;
  for (const e of lines) {
    if (used >= opts.lineLimit) break;
    if (filter && filter.process(e) === null) continue;
    used++;
    for (const [k, v] of Object.entries(e.metadata)) note(k, v, null);
    const bare: LogEntry = { ts: e.ts, line: e.line, stream: e.stream, metadata: {} };
    let out = json.process(bare);
    let name = 'json';
    if (!out || out.labels.has('__error__')) {
      out = logfmt.process(bare);
      name = 'logfmt';
    }
    if (!out || out.labels.has('__error__')) continue;
    for (const [k, v] of out.labels) {
      if (INTERNAL.has(k) || (e.stream[k] !== undefined && e.stream[k] === v) || v === '') continue;
      note(k, v, name);
    }
  }
  return [...fields].slice(0, opts.fieldLimit).map(([label, f]) => ({
    label,
    type: f.type,
    cardinality: f.values.size,
    parsers: f.parsers.size ? [...f.parsers].sort() : null,
  }));
}
