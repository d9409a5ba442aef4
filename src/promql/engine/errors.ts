/** Errors raised while evaluating a PromQL expression (Prometheus' errorType "execution" / "timeout"). */
import { MoleError } from '../../lib/errors.ts';

export class PromQLExecError extends MoleError {
  constructor(message: string, cause?: unknown) {
    super(message, {
      code: 'MS_ERR_PROMQL_EXEC',
      status: 422,
      reason: 'query_failed',
      ...(cause === undefined ? {} : { cause }),
    });
    this.name = 'PromQLExecError';
  }
}

/** The query ran past its deadline (Prometheus' errorType "timeout"). */
export class PromQLTimeoutError extends MoleError {
  constructor(message = 'query timed out in query execution') {
    super(message, { code: 'MS_ERR_PROMQL_TIMEOUT', status: 503, reason: 'query_timeout', retryable: true });
    this.name = 'PromQLTimeoutError';
  }
}

export const execError = (message: string): PromQLExecError => new PromQLExecError(message);
