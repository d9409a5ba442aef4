/**
 * Errors every Loki endpoint answers alike (Loki's pkg/util/server/error.go): a query past its
 * deadline is 504 with Loki's text; a regexp the storage engine's RE2 refuses is the user's
 * pattern, so 400, not 500.
 */
import { MoleError, badRequest } from '../../lib/errors.ts';

/** Loki's ErrDeadlineExceeded, plus the limit that stopped the query. */
export const queryTimeoutError = (timeoutMs: number): MoleError =>
  new MoleError(
    `Request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed. (query.timeoutMs=${timeoutMs} ms)`,
    { code: 'MS_ERR_QUERY_TIMEOUT', status: 504, reason: 'query_timeout' },
  );

/**
 * RE2's error codes as DuckDB reports them (`Invalid Input Error: invalid perl operator: (?<`).
 * The patterns pushed down to DuckDB were accepted by re2js (Go's RE2 dialect) first; DuckDB's
 * older RE2 still refuses a few of them, such as the named group `(?<name>…)`.
 */
const RE2_ERROR =
  /^Invalid Input Error: ((?:invalid (?:escape sequence|character class(?: range)?|repetition size|perl operator|UTF-8|named capture group)|missing [\])]|unexpected \)|trailing \\|no argument for repetition operator|bad repetition operator|bad named capture group|duplicate capture group name|pattern too large)[^\n]*)/;

/** The storage engine refused a regexp of the query: a 400 naming it, or null for other errors. */
export function storageRegexpError(e: unknown): MoleError | null {
  if (e instanceof MoleError || !(e instanceof Error)) return null;
  const m = RE2_ERROR.exec(e.message);
  if (!m) return null;
  return badRequest(
    `error parsing regexp: ${m[1]!}: the storage engine's RE2 refuses this pattern; rewrite it (a named group as (?P<name>...))`,
    'MS_ERR_LOGQL_REGEXP',
  );
}
