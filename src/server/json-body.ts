/** Small JSON request bodies for the query and admin APIs (prototype keys are dropped). */
import type { IncomingMessage } from 'node:http';
import { badRequest } from '../lib/errors.ts';
import { readRawBody } from './body.ts';

const MAX_JSON_BODY_BYTES = 1024 * 1024;

export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readRawBody(req, MAX_JSON_BODY_BYTES);
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'), (k, val: unknown) =>
      k === '__proto__' || k === 'constructor' ? undefined : val,
    );
  } catch (e) {
    throw badRequest(
      `request body is not valid JSON: ${(e as Error).message}`,
      'MS_ERR_BAD_JSON',
      'bad_json',
    );
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw badRequest('request body must be a JSON object', 'MS_ERR_BAD_JSON', 'bad_json');
  return v as Record<string, unknown>;
}
