/** The PromQL parser: text → ../ast.ts nodes, and back (formatExpr). */
export { parseExpr, type ParseOptions } from './parser.ts';
export { PromQLParseError } from './errors.ts';
export { formatExpr } from './format.ts';
export { parseDurationMs, formatDurationMs } from './durations.ts';
export { exprType } from './check.ts';
