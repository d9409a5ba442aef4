/** The LogQL parser: text → ../ast.ts, with Loki's error messages; and the tree back to text. */
export { parseLogQL } from './parser.ts';
export { formatLogQL } from './format.ts';
export { LogQLParseError } from './errors.ts';
