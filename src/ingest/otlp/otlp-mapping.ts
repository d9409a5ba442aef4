/**
 * Mapping rules shared by the protobuf and JSON decoders, so that both turn the same data into
 * the same text: AnyValue → JSON text, and the id checks with their rejection messages.
 */

/**
 * A double as JSON text. A whole value keeps a fraction (`100.0`, still valid JSON), so that a
 * reader of the text (event and link attributes, array elements) tells it from an int.
 * Non-finite values have no JSON number form; they become the strings the proto3 JSON mapping
 * uses ("NaN", "Infinity", "-Infinity").
 */
export function doubleJson(n: number): string {
  if (!Number.isFinite(n)) return `"${String(n)}"`;
  const s = String(n);
  return Number.isInteger(n) && !/[e.]/.test(s) ? `${s}.0` : s;
}

/**
 * A kvlist as a JSON object. Keys must be unique in OTLP; if a sender repeats one, the last value
 * wins and keeps the position of the first, as a JSON parser would read it.
 */
export function objectJson(keys: readonly string[], values: readonly string[]): string {
  const n = keys.length;
  if (n === 0) return '{}';
  let unique = true;
  if (n > 1) {
    const seen = new Set<string>();
    for (const k of keys) {
      if (seen.has(k)) {
        unique = false;
        break;
      }
      seen.add(k);
    }
  }
  let out = '{';
  if (unique) {
    for (let i = 0; i < n; i++) out += (i === 0 ? '' : ',') + JSON.stringify(keys[i]) + ':' + values[i]!;
  } else {
    const merged = new Map<string, string>();
    for (let i = 0; i < n; i++) merged.set(keys[i]!, values[i]!);
    let first = true;
    for (const [k, v] of merged) {
      out += (first ? '' : ',') + JSON.stringify(k) + ':' + v;
      first = false;
    }
  }
  return out + '}';
}

export const TRACE_ID_BYTES = 16;
export const SPAN_ID_BYTES = 8;

/**
 * Why an id of `byteLength` bytes is refused, or '' when it is acceptable. Empty ids are
 * "absent" (OTLP/JSON: an empty string is zero-length); `required` ids may not be absent or
 * all zero (trace.proto: "An ID with all zeroes OR of length other than 16 bytes is considered
 * invalid"). For optional ids an all-zero value means "none" and is mapped to null by the caller.
 */
export function idProblem(
  path: string,
  byteLength: number,
  expectedBytes: number,
  isAllZero: boolean,
  required: boolean,
): string {
  if (byteLength === 0) return required ? `${path}: missing; a span needs a ${expectedBytes}-byte id` : '';
  if (byteLength !== expectedBytes) {
    return `${path}: expected ${expectedBytes} bytes (${expectedBytes * 2} hex characters), got ${byteLength} bytes`;
  }
  if (isAllZero && required) return `${path}: an all-zero id is invalid`;
  return '';
}

export const isZeroHex = (hex: string): boolean => /^0*$/.test(hex);

export function isZeroBytes(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}
