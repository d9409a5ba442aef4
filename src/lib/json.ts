/**
 * JSON with exact 64-bit integers (DESIGN.md decision 14): integers inside ±2^53 are numbers,
 * larger ones (every nanosecond timestamp) are decimal strings. Bytes become base64, dates ISO.
 */
export function toJsonSafe(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'bigint':
      return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v.toString();
    case 'number':
      return Number.isFinite(v) ? v : String(v);
    case 'string':
    case 'boolean':
      return v;
    case 'object':
      if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
      if (v instanceof Date) return v.toISOString();
      if (Array.isArray(v)) return v.map(toJsonSafe);
      {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) out[k] = toJsonSafe(x);
        return out;
      }
    case 'undefined':
    case 'function':
    case 'symbol':
      return null;
  }
}
