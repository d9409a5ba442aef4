/**
 * `GET /api/v1/web/correlation/{from_kind}/{to_kind}` (org implicit) and
 * `GET /api/{org}/v1/web/correlation/{from_kind}/{to_kind}`: request parsing (request.ts), the hop
 * (correlate.ts), the JSON answer. Bad parameters are 400s through the server's error mapping.
 */
import type { RequestContext } from '../server/router.ts';
import { sendJson } from '../server/http-server.ts';
import { correlate } from './correlate.ts';
import { parseCorrelationRequest } from './request.ts';
import { CorrelationSources, type CorrelationDeps } from './sources.ts';

export function correlationHandler(deps: CorrelationDeps) {
  const sources = new CorrelationSources(deps);
  return async (ctx: RequestContext): Promise<void> => {
    const req = parseCorrelationRequest(ctx.params, ctx.query, BigInt(Date.now()) * 1_000_000n);
    const answer = await correlate(sources, ctx.org!.id, req);
    sendJson(ctx.res, answer.status, answer.body);
  };
}
