/**
 * JSON log lines stored as columns (docs/logs.md "Storage of JSON lines"). A flush splits a line
 * that is a flat JSON object into its values (raw text, `"json.<key>"` VARCHAR columns) and its
 * **shape**: the text between the values (braces, keys, colons, commas, quotes, whitespace). The
 * body of such a row is stored NULL with the shape's id in `_json_shape`; every reader sees
 * `COALESCE(body, <shape pieces and values concatenated>)`.
 *
 * Invariant: the pieces and values of a split line concatenate back to the very same text (they
 * are consecutive ranges of it that cover it all), so a rebuilt body is always the original bytes;
 * a round-trip test holds the split to that (json-columns.test.ts). A line is
 * split only when it is a valid JSON object whose values are strings without escapes or control
 * characters, numbers, true, false or null, whose keys are unique and column-like
 * (`[A-Za-z_][A-Za-z0-9_]*`): a string's column value is then its JSON value, and `| json` reads
 * the columns as Loki's parser reads the line. Every other line keeps its body.
 *
 * A shape is its pieces joined by NUL (a valid JSON text holds no raw control character outside
 * whitespace); slot i is a string when piece i ends with `"`. Its id is a 53-bit hash of that
 * text; the shapes of a file are kept with its catalog row (`FileRow.jsonShapes`).
 */

/** The column of a split row's shape id (BIGINT; NULL: the body is stored). */
export const SHAPE_COLUMN = '_json_shape';
export const JSON_COLUMN_PREFIX = 'json.';
export const jsonColumn = (key: string): string => `${JSON_COLUMN_PREFIX}${key}`;

/** Lines longer than this keep their body (UTF-16 units). */
export const MAX_SPLIT_LINE_CHARS = 65536;
export const MAX_KEYS_PER_LINE = 32;
const MAX_KEY_CHARS = 64;

export interface SplitLine {
  /** the text around the values: pieces.length === values.length + 1 */
  pieces: string[];
  keys: string[];
  /** raw value texts (a string's without its quotes) */
  values: string[];
}

const isWs = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
const isDigit = (c: number) => c >= 48 && c <= 57;
const isKeyStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isKeyChar = (c: number) => isKeyStart(c) || isDigit(c);

/** End of a JSON number starting at `i`, or -1 when there is none (RFC 8259 grammar). */
function numberEnd(s: string, i: number): number {
  const n = s.length;
  if (s.charCodeAt(i) === 45) i++; // -
  if (i >= n) return -1;
  const c = s.charCodeAt(i);
  if (c === 48) i++;
  else if (c >= 49 && c <= 57) while (i < n && isDigit(s.charCodeAt(i))) i++;
  else return -1;
  if (s.charCodeAt(i) === 46) {
    i++;
    const f = i;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    if (i === f) return -1;
  }
  const e = s.charCodeAt(i);
  if (e === 101 || e === 69) {
    i++;
    const sign = s.charCodeAt(i);
    if (sign === 43 || sign === 45) i++;
    const f = i;
    while (i < n && isDigit(s.charCodeAt(i))) i++;
    if (i === f) return -1;
  }
  return i;
}

/** End of the literal `word` at `i`, or -1. */
const literalEnd = (s: string, i: number, word: string) => (s.startsWith(word, i) ? i + word.length : -1);

/**
 * Scans a flat JSON object line into `bounds` (value k spans `[bounds[2k], bounds[2k+1])`, the
 * text between values is the shape) and answers the number of values, or -1 when the line must
 * keep its body (not such an object, no value, an escape, a nested value, an odd key, too many
 * keys, too long). The values and the text around them are consecutive ranges that cover the whole
 * line, so they always give it back (the invariant above holds by construction). Unique keys are
 * checked per shape (`FlatJsonSplitter`, `splitFlatJson`), not per line.
 */
function scanFlatJson(line: string, bounds: Int32Array): number {
  const n = line.length;
  if (n < 2 || n > MAX_SPLIT_LINE_CHARS) return -1;
  let i = 0;
  while (i < n && isWs(line.charCodeAt(i))) i++;
  if (line.charCodeAt(i) !== 123) return -1; // {
  i++;
  let k = 0;
  for (;;) {
    while (i < n && isWs(line.charCodeAt(i))) i++;
    if (line.charCodeAt(i) !== 34) return -1; // a key (an empty object has no value to store)
    const ks = ++i;
    if (!isKeyStart(line.charCodeAt(i))) return -1;
    while (i < n && isKeyChar(line.charCodeAt(i))) i++;
    if (line.charCodeAt(i) !== 34 || i - ks > MAX_KEY_CHARS || k >= MAX_KEYS_PER_LINE) return -1;
    i++;
    while (i < n && isWs(line.charCodeAt(i))) i++;
    if (line.charCodeAt(i) !== 58) return -1; // :
    i++;
    while (i < n && isWs(line.charCodeAt(i))) i++;
    const c = line.charCodeAt(i);
    let vs: number;
    let ve: number;
    if (c === 34) {
      vs = ++i;
      for (;;) {
        if (i >= n) return -1;
        const d = line.charCodeAt(i);
        if (d === 34) break;
        if (d === 92 || d < 32) return -1; // an escape or a raw control character
        i++;
      }
      ve = i++;
    } else {
      vs = i;
      if (c === 116) ve = literalEnd(line, i, 'true');
      else if (c === 102) ve = literalEnd(line, i, 'false');
      else if (c === 110) ve = literalEnd(line, i, 'null');
      else ve = numberEnd(line, i);
      if (ve < 0) return -1;
      i = ve;
    }
    bounds[2 * k] = vs;
    bounds[2 * k + 1] = ve;
    k++;
    while (i < n && isWs(line.charCodeAt(i))) i++;
    const sep = line.charCodeAt(i);
    i++;
    if (sep === 44) continue; // ,
    if (sep !== 125) return -1; // }
    break;
  }
  while (i < n && isWs(line.charCodeAt(i))) i++;
  return i === n ? k : -1;
}

/** The pieces (the text around the values) of a scanned line. */
function piecesOf(line: string, bounds: Int32Array, count: number): string[] {
  const pieces: string[] = [];
  let at = 0;
  for (let k = 0; k < count; k++) {
    pieces.push(line.slice(at, bounds[2 * k]));
    at = bounds[2 * k + 1]!;
  }
  pieces.push(line.slice(at));
  return pieces;
}

const hasDuplicate = (keys: readonly string[]) => new Set(keys).size !== keys.length;

/**
 * The pieces and values of a flat JSON object line, or null when the line must keep its body (see
 * `scanFlatJson`; also a duplicate key).
 */
export function splitFlatJson(line: string): SplitLine | null {
  const bounds = new Int32Array(2 * MAX_KEYS_PER_LINE);
  const count = scanFlatJson(line, bounds);
  if (count < 0) return null;
  const pieces = piecesOf(line, bounds, count);
  const { keys } = parseShape(shapeText(pieces));
  if (hasDuplicate(keys)) return null;
  const values: string[] = [];
  for (let k = 0; k < count; k++) values.push(line.slice(bounds[2 * k], bounds[2 * k + 1]));
  return { pieces, keys, values };
}

/**
 * Splits the lines of one flush: each line's values and the index of its shape among the shapes
 * seen so far. Lines of one stream share a few shapes, so a line's shape is found by the lengths
 * of its pieces and then compared in place (no piece is cut out of the line, no shape text is built
 * and hashed); only a new shape is parsed.
 */
export class FlatJsonSplitter {
  /** the shape texts, by index */
  readonly shapes: string[] = [];
  /** keys of every shape */
  readonly keys = new Set<string>();
  /** every shape met: its pieces and its index in `shapes` (-1: a duplicate key, lines keep their body) */
  private readonly met: { pieces: string[]; index: number }[] = [];
  /** indexes into `met` by the lengths of their pieces */
  private readonly byLengths = new Map<number, number[]>();
  private readonly bounds = new Int32Array(2 * MAX_KEYS_PER_LINE);

  constructor(
    private readonly maxShapes: number,
    private readonly maxKeys: number,
  ) {}

  /** The shape index of `line` with its raw values in `values` (cleared first), or -1: keep the body. */
  split(line: string, values: string[]): number {
    const b = this.bounds;
    const count = scanFlatJson(line, b);
    if (count < 0) return -1;
    let sig = count;
    let at = 0;
    for (let k = 0; k < count; k++) {
      sig = (Math.imul(sig, 31) + (b[2 * k]! - at)) | 0;
      at = b[2 * k + 1]!;
    }
    sig = (Math.imul(sig, 31) + (line.length - at)) | 0;
    let m = -1;
    const candidates = this.byLengths.get(sig);
    if (candidates)
      for (const c of candidates)
        if (this.matches(line, count, c)) {
          m = c;
          break;
        }
    if (m < 0) {
      m = this.add(piecesOf(line, b, count), sig);
      if (m < 0) return -1;
    }
    const si = this.met[m]!.index;
    if (si < 0) return -1;
    values.length = 0;
    for (let k = 0; k < count; k++) values.push(line.slice(b[2 * k], b[2 * k + 1]));
    return si;
  }

  private matches(line: string, count: number, m: number): boolean {
    const { pieces } = this.met[m]!;
    if (pieces.length !== count + 1) return false;
    const b = this.bounds;
    let at = 0;
    for (let k = 0; k <= count; k++) {
      const piece = pieces[k]!;
      const end = k < count ? b[2 * k]! : line.length;
      if (end - at !== piece.length || !line.startsWith(piece, at)) return false;
      at = b[2 * k + 1]!;
    }
    return true;
  }

  /**
   * The new shape's place in `met`, or -1 when the limits of shapes or keys are reached. (A shape
   * met before has the same piece lengths, so `split` found it among the candidates.)
   */
  private add(pieces: string[], sig: number): number {
    const text = shapeText(pieces);
    if (this.shapes.length >= this.maxShapes || this.met.length >= 2 * this.maxShapes) return -1;
    const { keys } = parseShape(text);
    let index = -1;
    if (!hasDuplicate(keys)) {
      const fresh = keys.filter((k) => !this.keys.has(k)).length;
      if (this.keys.size + fresh > this.maxKeys) return -1;
      for (const k of keys) this.keys.add(k);
      index = this.shapes.length;
      this.shapes.push(text);
    }
    const m = this.met.length;
    this.met.push({ pieces, index });
    const list = this.byLengths.get(sig);
    if (list) list.push(m);
    else this.byLengths.set(sig, [m]);
    return m;
  }
}

/** The shape text of split pieces. */
export const shapeText = (pieces: readonly string[]): string => pieces.join('\u0000');

/** 53-bit id of a shape text (two FNV-1a hashes): an exact JS number and BIGINT literal. */
export function shapeId(shape: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < shape.length; i++) {
    const c = shape.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 13);
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}

/** A shape parsed back: its pieces, keys, and which slots are strings. */
export interface Shape {
  id: number;
  text: string;
  pieces: string[];
  keys: string[];
  strings: boolean[];
}

const KEY_AT_END = /"([A-Za-z_][A-Za-z0-9_]*)"[ \t\n\r]*:[ \t\n\r]*"?$/;

export function parseShape(text: string): Shape {
  const pieces = text.split('\u0000');
  const keys: string[] = [];
  const strings: boolean[] = [];
  for (let k = 0; k + 1 < pieces.length; k++) {
    const m = KEY_AT_END.exec(pieces[k]!);
    if (!m) throw new Error(`corrupt JSON line shape: piece ${k} names no key`);
    keys.push(m[1]!);
    strings.push(pieces[k]!.endsWith('"'));
  }
  return { id: shapeId(text), text, pieces, keys, strings };
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** The shapes of some files, by id (a later file's copy of a shape is the same shape). */
export class ShapeSet {
  readonly byId = new Map<number, Shape>();

  static of(texts: Iterable<readonly string[] | undefined>): ShapeSet {
    const set = new ShapeSet();
    for (const list of texts) for (const t of list ?? []) set.add(t);
    return set;
  }

  add(text: string): void {
    const id = shapeId(text);
    const known = this.byId.get(id);
    if (known === undefined) this.byId.set(id, parseShape(text));
    else if (known.text !== text) throw new Error(`two JSON line shapes share the id ${id}`);
  }

  get size(): number {
    return this.byId.size;
  }

  /** Every `json.*` column the shapes use (`stringsOnly`: that some shape has a string in). */
  columns(stringsOnly = false): string[] {
    const out = new Set<string>();
    for (const s of this.byId.values())
      s.keys.forEach((k, i) => {
        if (!stringsOnly || s.strings[i]) out.add(jsonColumn(k));
      });
    return [...out];
  }

  /**
   * The line of a row as SQL over the stored `body` (or `bodySql`): the body, or for a split row
   * its shape's pieces and its values. `body` when there is no shape.
   */
  bodySql(bodySql = 'body'): string {
    if (this.byId.size === 0) return bodySql;
    const whens = [...this.byId.values()].map((s) => {
      const parts: string[] = [sqlString(s.pieces[0]!)];
      s.keys.forEach((k, i) => parts.push(quoteIdent(jsonColumn(k)), sqlString(s.pieces[i + 1]!)));
      return `WHEN ${s.id} THEN concat(${parts.join(', ')})`;
    });
    return `COALESCE(${bodySql}, CASE ${quoteIdent(SHAPE_COLUMN)} ${whens.join(' ')} END)`;
  }

  /**
   * `contains(<line>, needle)` as SQL, NULL where the line is NULL. On a split row without
   * rebuilding the line when the needle cannot span a value and the text around it (no quote,
   * brace, colon, comma, whitespace or control character): it is then in one value or in the
   * shape (a key).
   */
  containsSql(needle: string, bodySql = 'body'): string {
    const n = sqlString(needle);
    if (this.byId.size === 0) return `contains(${bodySql}, ${n})`;
    // eslint-disable-next-line no-control-regex
    if (/["{}:,\s\u0000-\u001f]/.test(needle)) return `contains(${this.bodySql(bodySql)}, ${n})`;
    const inShape = [...this.byId.values()].filter((s) => s.text.includes(needle)).map((s) => s.id);
    // a number, true, false or null holds only these characters: other needles are in strings
    const inScalars =
      /^[0-9eE.+-]+$/.test(needle) || ['true', 'false', 'null'].some((w) => w.includes(needle));
    const terms = [
      ...(inShape.length > 0 ? [`${quoteIdent(SHAPE_COLUMN)} IN (${inShape.join(', ')})`] : []),
      ...this.columns(!inScalars).map((c) => `contains(${quoteIdent(c)}, ${n})`),
    ];
    // the stored line first: the split test runs only where it is NULL
    const split = terms.length > 0 ? `COALESCE(${terms.join(' OR ')}, false)` : 'false';
    return `COALESCE(contains(${bodySql}, ${n}), CASE WHEN ${quoteIdent(SHAPE_COLUMN)} IS NOT NULL THEN ${split} END)`;
  }

  /**
   * The JSON text of key `key`'s value on a split row as SQL (a string quoted again, as
   * `json_extract` gives it); NULL where the row's shape has no such key.
   */
  valueJsonSql(key: string): string {
    const col = jsonColumn(key);
    const asString: number[] = [];
    let has = false;
    for (const s of this.byId.values()) {
      const k = s.keys.indexOf(key);
      if (k < 0) continue;
      has = true;
      if (s.strings[k]) asString.push(s.id);
    }
    if (!has) return 'NULL::VARCHAR';
    if (asString.length === 0) return quoteIdent(col);
    return `CASE WHEN ${quoteIdent(SHAPE_COLUMN)} IN (${asString.join(', ')}) THEN concat('"', ${quoteIdent(col)}, '"') ELSE ${quoteIdent(col)} END`;
  }
}
