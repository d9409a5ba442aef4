/**
 * Request parameters of the Prometheus HTTP API: GET query strings and form-encoded POST bodies
 * (Grafana's default), times as Unix seconds or RFC 3339, steps as seconds or durations.
 * https://prometheus.io/docs/prometheus/latest/querying/api/
 */
import type { IncomingMessage } from 'node:http';
import { MoleError } from '../../lib/errors.ts';
import { readRawBody } from '../../server/body.ts';
import { parseDurationMs } from '../parser/index.ts';

const MAX_FORM_BYTES = 1024 * 1024;

export const badData = (message: string) =>
  new MoleError(message, { code: 'MS_ERR_PROMQL_BAD_DATA', status: 400, reason: 'bad_request' });

export async function readParams(req: IncomingMessage, query: URLSearchParams): Promise<URLSearchParams> {
  const params = new URLSearchParams(query);
  if (req.method === 'POST') {
    const ct = (req.headers['content-type'] ?? '').toLowerCase();
    const raw = await readRawBody(req, MAX_FORM_BYTES);
    if (raw.length > 0) {
      if (!ct.startsWith('application/x-www-form-urlencoded')) {
        throw badData(`POST bodies must be application/x-www-form-urlencoded, got "${ct.slice(0, 60)}"`);
      }
      for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) params.append(k, v);
    }
  }
  return params;
}

/** Unix seconds (decimal) or RFC 3339 → ms. */
export function parseTimeMs(value: string, name: string): number {
  const s = value.trim();
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) {
    const ms = Number(s) * 1000;
    if (Number.isFinite(ms)) return Math.round(ms);
  }
  const t = Date.parse(s);
  if (!Number.isNaN(t) && /^\d{4}-\d{2}-\d{2}T/.test(s)) return t;
  throw badData(`invalid parameter "${name}": cannot parse "${s.slice(0, 60)}" to a valid timestamp`);
}

export function timeParam(p: URLSearchParams, name: string, dflt: number): number {
  const v = p.get(name);
  return v === null || v === '' ? dflt : parseTimeMs(v, name);
}

/** Seconds (decimal) or a Prometheus duration (`15s`, `1m30s`) → ms. */
export function durationParam(p: URLSearchParams, name: string): number | null {
  const v = p.get(name);
  if (v === null || v === '') return null;
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(v.trim())) {
    const ms = Number(v) * 1000;
    if (Number.isFinite(ms)) return Math.round(ms);
  }
  try {
    return parseDurationMs(v.trim());
  } catch {
    throw badData(`invalid parameter "${name}": cannot parse "${v.slice(0, 60)}" to a valid duration`);
  }
}

export function limitParam(p: URLSearchParams): number {
  const v = p.get('limit');
  if (v === null || v === '') return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw badData(`invalid parameter "limit": must be a non-negative integer, got "${v.slice(0, 20)}"`);
  return n;
}

/**
 * A float as Prometheus prints it (Go's strconv.FormatFloat(v, 'f', -1, 64)): shortest exact
 * decimal, no exponent, and `NaN`, `+Inf`, `-Inf`.
 */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  const s = String(v);
  if (!s.includes('e')) return s;
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s)!;
  const [, sign, int, frac = '', expText] = m as unknown as [
    string,
    string,
    string,
    string | undefined,
    string,
  ];
  const exp = Number(expText);
  const digits = int + frac;
  if (exp >= 0)
    return sign + digits.padEnd(exp + 1, '0') + (digits.length > exp + 1 ? '.' + digits.slice(exp + 1) : '');
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
}
