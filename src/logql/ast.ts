/**
 * The LogQL syntax tree: the contract between the parser (src/logql/parser/), the log pipeline
 * (src/logql/pipeline/) and the evaluator (src/logql/engine/). It follows Loki's
 * `pkg/logql/syntax/ast.go` closely enough that Loki's error messages and quirks map one to one.
 * Range and offset durations are milliseconds (`number`); label-filter durations are nanoseconds.
 * Every node has its position in the query text, for error messages.
 */

/** Character offsets into the query text (0-based, end exclusive). */
export interface PosRange {
  start: number;
  end: number;
}

export type MatchType = '=' | '!=' | '=~' | '!~';

/** `name="value"` in a stream selector or a label filter. */
export interface Matcher {
  name: string;
  type: MatchType;
  value: string;
}

// ---------------------------------------------------------------------------------------------
// Log pipelines
// ---------------------------------------------------------------------------------------------

/** `|=` contains, `!=` not contains, `|~` regexp, `!~` not regexp, `|>` pattern, `!>` not pattern. */
export type LineFilterOp = '|=' | '!=' | '|~' | '!~' | '|>' | '!>';

/** One operand of a line filter: a string, or `ip("<cidr|range|address>")` (only with `|=`/`!=`). */
export type LineFilterValue = { kind: 'string'; value: string } | { kind: 'ip'; value: string };

/**
 * `|= "a" or "b"` — `values` holds every alternative ("a", "b"). Consecutive filters are separate
 * stages (`|= "a" != "b"` is two LineFilter stages).
 */
export interface LineFilterStage {
  type: 'LineFilter';
  op: LineFilterOp;
  values: LineFilterValue[];
  pos: PosRange;
}

/** `json` / `logfmt` parameter: `name="expression"` or a bare `name` (expression = name). */
export interface ExtractionParam {
  label: string;
  /** json: a JMESPath-like path (`request.client.ip`, `tags[0]`); logfmt: the key */
  expr: string;
}

export interface JsonStage {
  type: 'Json';
  /** empty: extract every field (nested keys joined with `_`) */
  params: ExtractionParam[];
  pos: PosRange;
}

export interface LogfmtStage {
  type: 'Logfmt';
  strict: boolean;
  keepEmpty: boolean;
  params: ExtractionParam[];
  pos: PosRange;
}

export interface RegexpStage {
  type: 'Regexp';
  /** RE2 syntax with named groups `(?P<name>...)` */
  pattern: string;
  pos: PosRange;
}

export interface PatternStage {
  type: 'Pattern';
  /** `<name>` captures, `<_>` skips */
  pattern: string;
  pos: PosRange;
}

export interface UnpackStage {
  type: 'Unpack';
  pos: PosRange;
}

/** Value kinds a label filter compares as. */
export type NumericOp = '==' | '!=' | '>' | '>=' | '<' | '<=';

export type LabelFilterExpr =
  /** `name="v"`, `name=~"re"` … (string comparison; `__error__=""` is one of these) */
  | { kind: 'string'; matcher: Matcher; pos: PosRange }
  /** `name > 5`, `name == 1.5` (the label's value parsed as a float) */
  | { kind: 'number'; name: string; op: NumericOp; value: number; pos: PosRange }
  /** `name > 1s` (the label's value parsed as a Go duration); `valueNs` in nanoseconds */
  | { kind: 'duration'; name: string; op: NumericOp; valueNs: number; pos: PosRange }
  /** `name > 1MB` (the label's value parsed as a humanized byte size); `value` in bytes */
  | { kind: 'bytes'; name: string; op: NumericOp; value: number; pos: PosRange }
  /** `name = ip("10.0.0.0/8")`, `name != ip(...)` */
  | { kind: 'ip'; name: string; op: '=' | '!='; value: string; pos: PosRange }
  /** `a and b`, `a , b`, `a b` (space) are 'and'; `a or b` is 'or' */
  | { kind: 'binary'; op: 'and' | 'or'; left: LabelFilterExpr; right: LabelFilterExpr; pos: PosRange };

export interface LabelFilterStage {
  type: 'LabelFilter';
  filter: LabelFilterExpr;
  pos: PosRange;
}

export interface LineFormatStage {
  type: 'LineFormat';
  /** a Go text/template */
  template: string;
  pos: PosRange;
}

/** `dst=src` renames a label; `dst="{{template}}"` sets it from a template. */
export type LabelFormatItem =
  { kind: 'rename'; dst: string; src: string } | { kind: 'template'; dst: string; template: string };

export interface LabelFormatStage {
  type: 'LabelFormat';
  items: LabelFormatItem[];
  pos: PosRange;
}

/** `drop a, b="v", c=~"re"`: a bare name, or a matcher that must also match the value. */
export interface DropKeepItem {
  name: string;
  matcher: Matcher | null;
}

export interface DropStage {
  type: 'Drop';
  items: DropKeepItem[];
  pos: PosRange;
}

export interface KeepStage {
  type: 'Keep';
  items: DropKeepItem[];
  pos: PosRange;
}

export interface DecolorizeStage {
  type: 'Decolorize';
  pos: PosRange;
}

/** `| unwrap label`, `| unwrap bytes(label)`, `| unwrap duration(label)` / `duration_seconds(label)`. */
export interface UnwrapStage {
  type: 'Unwrap';
  label: string;
  conversion: '' | 'bytes' | 'duration' | 'duration_seconds';
  /** label filters written after the unwrap (`| unwrap x | __error__=""`) */
  postFilters: LabelFilterExpr[];
  pos: PosRange;
}

export type PipelineStage =
  | LineFilterStage
  | JsonStage
  | LogfmtStage
  | RegexpStage
  | PatternStage
  | UnpackStage
  | LabelFilterStage
  | LineFormatStage
  | LabelFormatStage
  | DropStage
  | KeepStage
  | DecolorizeStage;

/** `{job="api"} |= "x" | json` — a stream selector and its pipeline (no unwrap). */
export interface LogSelectorExpr {
  type: 'LogSelector';
  matchers: Matcher[];
  pipeline: PipelineStage[];
  pos: PosRange;
}

// ---------------------------------------------------------------------------------------------
// Metric queries
// ---------------------------------------------------------------------------------------------

export type RangeOp =
  | 'count_over_time'
  | 'rate'
  | 'bytes_over_time'
  | 'bytes_rate'
  | 'absent_over_time'
  | 'sum_over_time'
  | 'avg_over_time'
  | 'min_over_time'
  | 'max_over_time'
  | 'stddev_over_time'
  | 'stdvar_over_time'
  | 'quantile_over_time'
  | 'first_over_time'
  | 'last_over_time'
  | 'rate_counter';

/** `by (a, b)` / `without (a)`; null when absent. */
export interface Grouping {
  without: boolean;
  labels: string[];
}

/** `count_over_time({...} | ... [5m] offset 1h)`; with `unwrap` for the value-based ops. */
export interface RangeAggregationExpr {
  type: 'RangeAggregation';
  op: RangeOp;
  selector: LogSelectorExpr;
  unwrap: UnwrapStage | null;
  rangeMs: number;
  offsetMs: number;
  /** quantile_over_time's φ */
  param: number | null;
  /** `max_over_time(... [1h]) by (job)` (only for unwrapped ops) */
  grouping: Grouping | null;
  pos: PosRange;
}

export type VectorOp =
  'sum' | 'avg' | 'min' | 'max' | 'count' | 'stddev' | 'stdvar' | 'topk' | 'bottomk' | 'sort' | 'sort_desc';

export interface VectorAggregationExpr {
  type: 'VectorAggregation';
  op: VectorOp;
  expr: SampleExpr;
  grouping: Grouping | null;
  /** topk/bottomk's k */
  param: number | null;
  pos: PosRange;
}

export type BinaryOp =
  'or' | 'and' | 'unless' | '+' | '-' | '*' | '/' | '%' | '^' | '==' | '!=' | '>' | '>=' | '<' | '<=';

export interface VectorMatching {
  /** `on(...)` true, `ignoring(...)` false */
  on: boolean;
  labels: string[];
  card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  /** `group_left(a, b)` / `group_right(...)` extra labels */
  include: string[];
}

export interface BinaryOpExpr {
  type: 'BinaryOp';
  op: BinaryOp;
  lhs: SampleExpr;
  rhs: SampleExpr;
  returnBool: boolean;
  /** null: no `on`/`ignoring`/`group_*` written */
  matching: VectorMatching | null;
  pos: PosRange;
}

export interface LiteralExpr {
  type: 'Literal';
  value: number;
  pos: PosRange;
}

/** `vector(5)` */
export interface VectorExpr {
  type: 'Vector';
  value: number;
  pos: PosRange;
}

/** `label_replace(expr, "dst", "replacement", "src", "regex")` */
export interface LabelReplaceExpr {
  type: 'LabelReplace';
  expr: SampleExpr;
  dst: string;
  replacement: string;
  src: string;
  regex: string;
  pos: PosRange;
}

export type SampleExpr =
  RangeAggregationExpr | VectorAggregationExpr | BinaryOpExpr | LiteralExpr | VectorExpr | LabelReplaceExpr;

export type Expr = LogSelectorExpr | SampleExpr;

export const isLogSelector = (e: Expr): e is LogSelectorExpr => e.type === 'LogSelector';
