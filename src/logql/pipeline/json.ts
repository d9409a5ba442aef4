/**
 * `| json` (every field; nested keys joined with `_`; arrays skipped), `| json a="path", ...`
 * (jsonparser.EachKey semantics: a path that is not found gives "", values are the raw text),
 * and `| unpack` (promtail pack: `_entry` becomes the line, the other string fields labels).
 * Errors: `__error__="JSONParserErr"` with jsonparser's message as `__error_details__`; labels
 * extracted before the error are kept, as in Loki.
 */
import type { ExtractionParam } from '../ast.ts';
import { badRequest } from '../../lib/errors.ts';
import { isLabelChar, type LabelState, sanitizeLabelKey } from './labels.ts';
import {
  blockEnd,
  ERR_MALFORMED_JSON,
  getValue,
  nextToken,
  objectEach,
  stringEnd,
  stringValue,
  unescape,
  type Value,
  VT,
  lastStringEscaped,
} from './json-scan.ts';

export const JSON_PARSER_ERR = 'JSONParserErr';

export type Stage = (line: string, st: LabelState) => string | null;

function valueText(line: string, v: Value): string | null {
  switch (v.type) {
    case VT.String:
      return stringValue(line, v.start, v.end);
    case VT.Number:
      return line.slice(v.start, v.end);
    case VT.Boolean:
      return line.charCodeAt(v.start) === 0x74 ? 'true' : 'false';
    case VT.NotExist:
    case VT.Object:
    case VT.Array:
    case VT.Null:
    case VT.Unknown:
      return null;
  }
}

/** Loki's appendSanitized: a nested key's part of the prefix. */
function appendSanitized(prefix: string, key: string): string {
  const k = key.trim();
  if (k === '') return prefix;
  let out = prefix === '' && k.charCodeAt(0) >= 0x30 && k.charCodeAt(0) <= 0x39 ? '_' : '';
  for (const ch of k) out += ch.length === 1 && isLabelChar(ch.charCodeAt(0)) ? ch : '_';
  return prefix + out;
}

/**
 * `| json` without parameters. The walk is a reusable object rather than per-line closures, and
 * label names are memoised per (prefix, key): this stage runs on every line of a query.
 */
class JsonAllWalker {
  private line = '';
  private st: LabelState | null = null;
  /** prefix → raw key → sanitized label name (before the `_extracted` rename) */
  private readonly names = new Map<string, Map<string, string>>();
  private namesSize = 0;
  private readonly onField = (prefix: string, key: string, v: Value): string | null => {
    const line = this.line;
    if (v.type === VT.Object) return this.walk(this.nameOf(prefix, key), v.start, v.end);
    const text = valueText(line, v);
    if (text === null) return null;
    const name = this.nameOf(prefix, key);
    if (name === '') return null;
    const st = this.st!;
    st.labels.set(st.parsedName(name), text);
    return null;
  };

  private nameOf(prefix: string, key: string): string {
    let byKey = this.names.get(prefix);
    if (byKey === undefined) {
      byKey = new Map();
      if (this.namesSize < 10_000) this.names.set(prefix, byKey);
    }
    let n = byKey.get(key);
    if (n === undefined) {
      n = prefix === '' ? sanitizeLabelKey(key) : appendSanitized(`${prefix}_`, key);
      if (this.namesSize++ < 10_000) byKey.set(key, n);
    }
    return n;
  }

  walk(prefix: string, from: number, to: number): string | null {
    return objectEach(this.line, from, to, this.onField, prefix);
  }

  run(line: string, st: LabelState): string | null {
    this.line = line;
    this.st = st;
    return this.walk('', 0, line.length);
  }
}

export function jsonAllStage(): Stage {
  const w = new JsonAllWalker();
  return (line, st) => {
    const err = w.run(line, st);
    if (err !== null) st.setError(JSON_PARSER_ERR, err);
    return line;
  };
}

/** A json parameter path: keys and `[n]` indexes (as jsonparser takes them). */
export function parseJsonPath(expr: string): string[] {
  const out: string[] = [];
  const bad = (why: string) => badRequest(`cannot parse expression [${expr}]: ${why}`);
  let i = 0;
  let expectField = true;
  while (i < expr.length) {
    const c = expr[i]!;
    if (c === '[') {
      const close = expr.indexOf(']', i);
      if (close < 0) throw bad('missing ]');
      const inner = expr.slice(i + 1, close).trim();
      if (/^\d+$/.test(inner)) out.push(`[${Number(inner)}]`);
      else if (/^"(?:[^"\\]|\\.)*"$/.test(inner)) out.push(JSON.parse(inner) as string);
      else throw bad(`invalid index ${inner}`);
      i = close + 1;
      expectField = false;
    } else if (c === '.') {
      if (expectField && out.length > 0) throw bad('unexpected .');
      i++;
      expectField = true;
    } else {
      const m = /^[^.[\]"]+/.exec(expr.slice(i));
      if (m === null || (!expectField && out.length > 0)) throw bad(`unexpected ${c}`);
      out.push(m[0]);
      i += m[0].length;
      expectField = false;
    }
  }
  if (out.length === 0 || expectField) throw bad('empty path');
  return out;
}

const sameTree = (p: string[], buf: string[], level: number): boolean => {
  const n = Math.min(p.length, level);
  for (let k = 0; k < n; k++) if (p[k] !== buf[k]) return false;
  return true;
};

/** searchKeys for the rest of a path inside an array element: the value's start, or -1. */
function searchIn(s: string, from: number, to: number, keys: string[]): number {
  if (keys.length === 0) return from;
  let at = from;
  let end = to;
  for (const k of keys) {
    const v: Value = { type: VT.NotExist, start: 0, end: 0, next: 0, error: null };
    if (k.startsWith('[')) {
      const idx = Number(k.slice(1, -1));
      const o = nextToken(s, at, end);
      if (o < 0 || s.charCodeAt(o) !== 0x5b) return -1;
      let p = o + 1;
      let n = 0;
      let found: number;
      for (;;) {
        getValue(s, p, end, v);
        if (v.error !== null) return -1;
        if (n === idx) {
          found = nextToken(s, p, end);
          break;
        }
        n++;
        const q = nextToken(s, v.next, end);
        if (q < 0 || s.charCodeAt(q) !== 0x2c) return -1;
        p = q + 1;
      }
      at = found;
      getValue(s, at, end, v);
      end = v.type === VT.String ? v.next : v.end;
      continue;
    }
    let found = -1;
    const err = objectEach(s, at, end, (_p, key, val) => {
      if (key === k && found < 0) {
        found = val.type === VT.String ? val.start - 1 : val.start;
        return 'stop';
      }
      return null;
    });
    if (found < 0 || (err !== null && err !== 'stop')) return -1;
    at = found;
    getValue(s, at, end, v);
    end = v.type === VT.String ? v.next : v.end;
  }
  return at;
}

/**
 * jsonparser.EachKey: calls `cb(i, value)` for each path found, or `cb(-1, null, error)` for the
 * malformed cases EachKey reports. A port of its scanning loop, quirks included, because which
 * malformed lines give an error (and which just give "") depends on them.
 */
function eachKey(
  s: string,
  paths: string[][],
  cb: (idx: number, v: Value | null, err: string | null) => void,
): void {
  const ln = s.length;
  let level = 0;
  let matched = 0;
  const flags = new Array<boolean>(paths.length).fill(false);
  let maxPath = 0;
  for (const p of paths) if (p.length > maxPath) maxPath = p.length;
  const buf = new Array<string>(maxPath).fill('');
  const v: Value = { type: VT.NotExist, start: 0, end: 0, next: 0, error: null };
  let i = 0;
  while (i < ln) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      i++;
      const keyBegin = i;
      const se = stringEnd(s, i, ln);
      if (se < 0) return;
      const escaped = lastStringEscaped;
      i = se;
      const keyEnd = i - 1;
      const vo = nextToken(s, i, ln);
      if (vo < 0) return;
      i = vo;
      if (s.charCodeAt(i) === 0x3a) {
        let match = -1;
        let key: string;
        if (escaped) {
          const k = unescape(s, keyBegin, keyEnd);
          if (k === null) return;
          key = k;
        } else key = s.slice(keyBegin, keyEnd);
        if (maxPath >= level) {
          if (level < 1) {
            cb(-1, null, ERR_MALFORMED_JSON);
            return;
          }
          buf[level - 1] = key;
          for (let pi = 0; pi < paths.length; pi++) {
            const p = paths[pi]!;
            if (p.length !== level || flags[pi] || p[level - 1] !== key || !sameTree(p, buf, level)) continue;
            match = pi;
            matched++;
            flags[pi] = true;
            getValue(s, i + 1, ln, v);
            cb(pi, v, v.error);
            if (matched === paths.length) break;
          }
          if (matched === paths.length) return;
        }
        if (match === -1) {
          const t = nextToken(s, i + 1, ln);
          // jsonparser adds the offset relative to i+1 to i: it lands one before the value
          i += t < 0 ? -1 : t - (i + 1);
          if (i >= 0 && s.charCodeAt(i) === 0x7b) {
            const be = blockEnd(s, i, ln, 0x7b, 0x7d);
            i += be < 0 ? 0 : be - i + 1;
          }
        }
        if (i < ln && i >= 0) {
          const d = s.charCodeAt(i);
          if (d === 0x7b || d === 0x7d || d === 0x5b || d === 0x22) i--;
        }
      } else i--;
    } else if (c === 0x7b) level++;
    else if (c === 0x7d) level--;
    else if (c === 0x5b) {
      if (level < 0) {
        cb(-1, null, ERR_MALFORMED_JSON);
        return;
      }
      const wanted = new Map<number, number[]>();
      for (let pi = 0; pi < paths.length; pi++) {
        const p = paths[pi]!;
        if (p.length < level + 1 || flags[pi] || !p[level]!.startsWith('[') || !sameTree(p, buf, level))
          continue;
        const idx = Number(p[level]!.slice(1, -1));
        const list = wanted.get(idx) ?? [];
        list.push(pi);
        wanted.set(idx, list);
      }
      if (wanted.size > 0) {
        level++;
        // ArrayEach over the elements
        let o = i + 1;
        let cur = 0;
        const t0 = nextToken(s, o, ln);
        let arrEnd = t0 < 0 ? o : t0;
        if (t0 >= 0 && s.charCodeAt(t0) !== 0x5d) {
          o = t0;
          for (;;) {
            getValue(s, o, ln, v);
            if (v.error !== null) {
              arrEnd = o;
              break;
            }
            const list = wanted.get(cur);
            if (list !== undefined) {
              const elStart = v.type === VT.String ? v.start - 1 : v.start;
              const elEnd = v.type === VT.String ? v.next : v.end;
              for (const pi of list) {
                const p = paths[pi]!;
                matched++;
                flags[pi] = true;
                const at = searchIn(s, elStart, elEnd, p.slice(level));
                if (at >= 0) {
                  const w: Value = { type: VT.NotExist, start: 0, end: 0, next: 0, error: null };
                  getValue(s, at, elEnd, w);
                  cb(pi, w, w.error);
                }
              }
            }
            cur++;
            o = v.next;
            const q = nextToken(s, o, ln);
            if (q < 0) {
              arrEnd = o;
              break;
            }
            o = q;
            if (s.charCodeAt(o) === 0x5d) {
              arrEnd = o;
              break;
            }
            if (s.charCodeAt(o) !== 0x2c) {
              arrEnd = o;
              break;
            }
            o++;
          }
        }
        if (matched === paths.length) return;
        i = arrEnd - 1;
      } else {
        const be = blockEnd(s, i, ln, 0x5b, 0x5d);
        if (be < 0) return;
        i = be - 1;
      }
    } else if (c === 0x5d) level--;
    i++;
  }
}

/** `| json a="path", b` */
export function jsonParamsStage(params: ExtractionParam[]): Stage {
  const ids = params.map((p) => p.label);
  const paths = params.map((p) => parseJsonPath(p.expr));
  return (line, st) => {
    const labels = st.labels;
    if (line === '') return line;
    const c0 = line.charCodeAt(0);
    if (c0 !== 0x22 && c0 !== 0x7b && c0 !== 0x5b) {
      st.setError(JSON_PARSER_ERR, null);
    } else {
      eachKey(line, paths, (idx, v, err) => {
        if (err !== null || v === null) {
          st.setError(JSON_PARSER_ERR, null);
          return;
        }
        const name = st.parsedName(ids[idx]!);
        if (v.type === VT.Null) labels.set(name, '');
        else if (v.type === VT.String) labels.set(name, line.slice(v.start, v.end));
        else labels.set(name, line.slice(v.start, v.end));
      });
    }
    for (const id of ids) if (!labels.has(id)) labels.set(id, '');
    return line;
  };
}

const UNPACK_NOT_OBJECT = 'expecting json object(6), but it is not';

/** `| unpack` */
export function unpackStage(): Stage {
  return (line, st) => {
    if (line === '') return line;
    if (line.charCodeAt(0) !== 0x7b) {
      st.setError(JSON_PARSER_ERR, UNPACK_NOT_OBJECT);
      return line;
    }
    let entry: string | null = null;
    const found: string[] = [];
    const err = objectEach(line, 0, line.length, (_p, key, v) => {
      if (v.type !== VT.String) return null;
      if (key === '_entry') {
        const e = unescape(line, v.start, v.end);
        if (e === null) return 'Encountered an invalid escape sequence in a string';
        entry = e;
        return null;
      }
      found.push(st.parsedName(key), stringValue(line, v.start, v.end));
      return null;
    });
    if (err !== null) {
      st.setError(JSON_PARSER_ERR, err);
      return line;
    }
    if (entry === null) return line;
    for (let k = 0; k < found.length; k += 2) st.labels.set(found[k]!, found[k + 1]!);
    return entry;
  };
}
