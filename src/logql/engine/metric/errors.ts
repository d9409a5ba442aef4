/**
 * Errors of metric evaluation, with Loki's exact messages (the HTTP layer sends the message as
 * the body of a 400).
 */
import { MoleError } from '../../../lib/errors.ts';
import { ERROR_LABEL, type LabelSet } from './labels.ts';

export function queryError(message: string, code = 'MS_ERR_LOGQL_EXEC'): MoleError {
  return new MoleError(message, { code, status: 400, reason: 'bad_request' });
}

/** A sample still carries `__error__`: Loki fails the query and names the series. */
export function pipelineError(labels: LabelSet): MoleError {
  const errType = labels.get(ERROR_LABEL) ?? '';
  return queryError(
    `pipeline error: '${errType}' for series: '${labels.toString()}'.\n` +
      `Use a label filter to intentionally skip this error. (e.g | __error__!="${errType}").\n` +
      `To skip all potential errors you can match empty errors.(e.g __error__="")\n` +
      `The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__="" )`,
    'MS_ERR_LOGQL_PIPELINE',
  );
}

/** Loki's `max_query_series` limit. */
export function seriesLimitError(maxSeries: number): MoleError {
  return new MoleError(`maximum number of series (${maxSeries}) reached for a single query`, {
    code: 'MS_ERR_LOGQL_SERIES_LIMIT',
    status: 400,
    reason: 'series_limit',
  });
}

/** Loki's limit of 11,000 points per series (checked before any data is read). */
export const MAX_POINTS_PER_SERIES = 11_000;

export function tooManyPointsError(): MoleError {
  return queryError(
    'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
    'MS_ERR_LOGQL_TOO_MANY_POINTS',
  );
}
