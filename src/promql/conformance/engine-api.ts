/**
 * The parser and engine as the conformance runner sees them. They are loaded dynamically, so the
 * runner builds, runs and reports ("engine not available") before they exist.
 */
import type { Expr } from '../ast.ts';
import type { Queryable } from '../storage.ts';
import type { QueryResult } from '../value.ts';

export interface EngineApi {
  parseExpr(query: string): Expr;
  instantQuery(
    q: Queryable,
    expr: Expr,
    timeMs: number,
    opts: Record<string, unknown>,
  ): Promise<QueryResult> | QueryResult;
  rangeQuery(
    q: Queryable,
    expr: Expr,
    startMs: number,
    endMs: number,
    stepMs: number,
    opts: Record<string, unknown>,
  ): Promise<QueryResult> | QueryResult;
  /** error classes of the parser / engine (an expected failure must throw one of these) */
  errorClasses: (abstract new (...args: never[]) => Error)[];
}

/** Engine options of Prometheus' test engine (lookback 5m, subquery default step 1m). */
export const TEST_ENGINE_OPTS: Record<string, unknown> = {
  lookbackDeltaMs: 5 * 60_000,
  noStepSubqueryIntervalMs: 60_000,
  maxSamples: 10_000,
};

const PARSER_MODULES = ['../parser/index.ts', '../parser/parser.ts', '../parser/parse.ts'];
const ENGINE_MODULES = ['../engine/index.ts', '../engine/engine.ts'];

async function importFirst(candidates: readonly string[]): Promise<Record<string, unknown> | string> {
  const errors: string[] = [];
  for (const rel of candidates) {
    const url = new URL(rel, import.meta.url).href;
    try {
      return (await import(url)) as Record<string, unknown>;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(rel.replace('../', '')))
        errors.push(`${rel}: not found`);
      else errors.push(`${rel}: ${String(err.message).split('\n')[0] ?? ''}`);
    }
  }
  return errors.join('; ');
}

function isErrorClass(x: unknown): x is abstract new (...args: never[]) => Error {
  return typeof x === 'function' && (x as { prototype?: unknown }).prototype instanceof Error;
}

/** Loads the parser and engine; a string is the reason they are not available. */
export async function loadEngine(): Promise<EngineApi | string> {
  const parser = await importFirst(PARSER_MODULES);
  if (typeof parser === 'string') return `engine not available (parser: ${parser})`;
  const engine = await importFirst(ENGINE_MODULES);
  if (typeof engine === 'string') return `engine not available (engine: ${engine})`;
  const { parseExpr } = parser;
  const { instantQuery, rangeQuery } = engine;
  if (typeof parseExpr !== 'function') return 'engine not available (parser has no parseExpr)';
  if (typeof instantQuery !== 'function' || typeof rangeQuery !== 'function')
    return 'engine not available (engine has no instantQuery/rangeQuery)';
  const errorClasses = [parser.PromQLParseError, engine.PromQLExecError, engine.PromQLParseError].filter(
    isErrorClass,
  );
  return {
    parseExpr: parseExpr as EngineApi['parseExpr'],
    instantQuery: instantQuery as EngineApi['instantQuery'],
    rangeQuery: rangeQuery as EngineApi['rangeQuery'],
    errorClasses,
  };
}
