/**
 * The TraceQL syntax tree (Tempo 2.7): a query is a pipeline of spanset expressions and stages;
 * field expressions inside `{ … }` compare span attributes and intrinsics with static values.
 */

/** intrinsic fields as the evaluator knows them (scoped forms `span:x`, `trace:x` map onto these) */
export type Intrinsic =
  | 'name'
  | 'status'
  | 'statusMessage'
  | 'duration'
  | 'kind'
  | 'rootName'
  | 'rootServiceName'
  | 'traceDuration'
  | 'traceID'
  | 'spanID'
  | 'parentID'
  | 'nestedSetParent'
  | 'event:name'
  | 'link:traceID'
  | 'link:spanID'
  | 'instrumentation:name'
  | 'instrumentation:version';

export type AttrScope = 'span' | 'resource' | 'none' | 'event' | 'link' | 'instrumentation';

export type Static =
  | { t: 'string'; v: string }
  | { t: 'int'; v: number }
  | { t: 'float'; v: number }
  /** nanoseconds */
  | { t: 'duration'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'nil' }
  /** OTLP status code: 0 unset, 1 ok, 2 error */
  | { t: 'status'; v: number }
  /** OTLP span kind: 0 unspecified … 5 consumer */
  | { t: 'kind'; v: number };

export type CompareOp = '=' | '!=' | '>' | '>=' | '<' | '<=' | '=~' | '!~';
export type ArithOp = '+' | '-' | '*' | '/' | '%' | '^';
export type BoolOp = '&&' | '||';

export type FieldExpr =
  | { k: 'static'; v: Static }
  /** `text` is the attribute as written (`span.http.route`), used in `by(...)` keys and echoes */
  | { k: 'attr'; scope: AttrScope; name: string; text: string }
  | { k: 'intrinsic'; name: Intrinsic; text: string }
  | { k: 'binary'; op: CompareOp | ArithOp | BoolOp; l: FieldExpr; r: FieldExpr }
  | { k: 'unary'; op: '!' | '-'; e: FieldExpr };

export type StructuralOp =
  '>' | '>>' | '<' | '<<' | '~' | '!>' | '!>>' | '!<' | '!<<' | '!~' | '&>' | '&>>' | '&<' | '&<<' | '&~';

export type AggregateOp = 'count' | 'avg' | 'min' | 'max' | 'sum';

export interface Aggregate {
  op: AggregateOp;
  /** absent for count() */
  e?: FieldExpr;
  /** as Tempo prints it: `count()`, `avg(duration)` */
  text: string;
}

export type Stage =
  | { k: 'filter'; cond: FieldExpr | null }
  | { k: 'scalar'; agg: Aggregate; op: CompareOp; v: Static }
  | { k: 'by'; e: FieldExpr; text: string }
  | { k: 'select'; es: FieldExpr[] }
  | { k: 'coalesce' };

export type SpansetExpr =
  | { k: 'filter'; cond: FieldExpr | null }
  | { k: 'op'; op: BoolOp | StructuralOp; l: SpansetExpr; r: SpansetExpr }
  | { k: 'pipeline'; head: SpansetExpr; stages: Stage[] };

export interface Query {
  root: SpansetExpr;
  /** `with(...)` hints, accepted and ignored */
  hints: string[];
}
