/**
 * `| logfmt [--strict] [--keep-empty] [params]`, Loki's logfmt decoder (a go-logfmt fork) with
 * its error messages and positions (1-based byte offsets). Without --strict a malformed pair is
 * skipped and no error is set; with it, decoding stops and `__error__="LogfmtParserErr"` is set
 * (labels decoded before stay). Without --keep-empty a key with an empty value gives no label.
 */
import type { ExtractionParam } from '../ast.ts';
import type { Stage } from './json.ts';
import { unescape } from './json-scan.ts';
import { type LabelState, sanitizeLabelKey } from './labels.ts';

export const LOGFMT_PARSER_ERR = 'LogfmtParserErr';

/** Decoder state, reused across lines. */
class Decoder {
  line = '';
  pos = 0;
  key: string | null = null;
  value: string | null = null;
  err: string | null = null;

  reset(line: string): void {
    this.line = line;
    this.pos = 0;
    this.err = null;
  }

  eol(): boolean {
    return this.pos >= this.line.length;
  }

  private bytePos(): number {
    // Go reports byte offsets; only non-ASCII text before the error makes them differ
    const head = this.line.slice(0, this.pos);
    return Buffer.byteLength(head, 'utf8') + 1;
  }

  private syntaxError(msg: string): void {
    this.err = `logfmt syntax error at pos ${this.bytePos()} : ${msg}`;
  }

  private unexpected(c: number): void {
    this.syntaxError(`unexpected ${goQuoteByte(c)}`);
  }

  private skipValue(): boolean {
    const l = this.line;
    for (let p = this.pos; p < l.length; p++) {
      if (l.charCodeAt(p) <= 0x20) {
        this.pos = p;
        return false;
      }
    }
    this.pos = l.length;
    return false;
  }

  /** One key/value pair; false when decoding of this pair failed or the line ended. */
  scan(): boolean {
    this.key = null;
    this.value = null;
    const l = this.line;
    const n = l.length;
    let p = this.pos;
    while (p < n && l.charCodeAt(p) <= 0x20) p++;
    if (p >= n) {
      this.pos = n;
      return false;
    }
    this.pos = p;
    // key
    const start = p;
    for (; p < n; p++) {
      const c = l.charCodeAt(p);
      if (c === 0x3d) {
        this.pos = p;
        if (p > start) {
          this.key = l.slice(start, p);
          if (this.key.includes('\uFFFD')) {
            this.syntaxError('invalid key');
            return this.skipValue();
          }
        }
        if (this.key === null) {
          this.unexpected(c);
          return this.skipValue();
        }
        return this.afterEqual();
      }
      if (c === 0x22) {
        this.pos = p;
        this.unexpected(c);
        return this.skipValue();
      }
      if (c <= 0x20) {
        this.pos = p;
        this.key = l.slice(start, p);
        if (this.key.includes('\uFFFD')) {
          this.syntaxError('invalid key');
          return false;
        }
        return true;
      }
    }
    this.pos = n;
    this.key = l.slice(start, n);
    if (this.key.includes('\uFFFD')) {
      this.syntaxError('invalid key');
      return false;
    }
    return true;
  }

  private afterEqual(): boolean {
    const l = this.line;
    const n = l.length;
    this.pos++;
    if (this.pos >= n) return true;
    const c0 = l.charCodeAt(this.pos);
    if (c0 <= 0x20) return true;
    if (c0 === 0x22) return this.quoted();
    const start = this.pos;
    for (let p = start; p < n; p++) {
      const c = l.charCodeAt(p);
      if (c === 0x3d || c === 0x22) {
        this.pos = p;
        this.unexpected(c);
        return this.skipValue();
      }
      if (c <= 0x20) {
        this.pos = p;
        if (p > start) this.value = l.slice(start, p);
        return true;
      }
    }
    this.pos = n;
    if (n > start) this.value = l.slice(start, n);
    return true;
  }

  private quoted(): boolean {
    const l = this.line;
    const n = l.length;
    const start = this.pos;
    let hasEsc = false;
    let esc = false;
    for (let p = start + 1; p < n; p++) {
      const c = l.charCodeAt(p);
      if (esc) esc = false;
      else if (c === 0x5c) hasEsc = esc = true;
      else if (c === 0x22) {
        this.pos = p + 1;
        if (hasEsc) {
          const v = unquote(l.slice(start + 1, p));
          if (v === null) {
            this.syntaxError('invalid quoted value');
            return false;
          }
          this.value = v;
        } else if (p > start + 1) this.value = l.slice(start + 1, p);
        return true;
      }
    }
    this.pos = n;
    this.syntaxError('unterminated quoted value');
    return false;
  }
}

function goQuoteByte(c: number): string {
  // Go's %q of a byte: a quoted rune literal
  if (c === 0x27) return "'\\''";
  if (c === 0x5c) return "'\\\\'";
  return `'${String.fromCharCode(c)}'`;
}

/** go-logfmt's unquoteBytes: JSON string escapes plus `\'`; null when invalid. */
const unquote = (s: string): string | null => unescape(s, 0, s.length, true);

interface LogfmtOptions {
  strict: boolean;
  keepEmpty: boolean;
}

/** `| logfmt` without parameters. */
export function logfmtAllStage(opts: LogfmtOptions): Stage {
  const dec = new Decoder();
  const names = new Map<string, string>();
  return (line, st) => {
    const labels = st.labels;
    dec.reset(line);
    while (!dec.eol()) {
      if (!dec.scan()) {
        if (opts.strict) break;
        continue;
      }
      const key = dec.key!;
      let name = names.get(key);
      if (name === undefined) {
        name = sanitizeLabelKey(key);
        if (names.size < 10_000) names.set(key, name);
      }
      if (name === '') continue;
      let val = dec.value ?? '';
      if (val.includes('\uFFFD')) val = '';
      if (!opts.keepEmpty && val === '') continue;
      labels.set(st.parsedName(name), val);
    }
    if (opts.strict && dec.err !== null) st.setError(LOGFMT_PARSER_ERR, dec.err);
    return line;
  };
}

/** `| logfmt a="key", b` */
export function logfmtParamsStage(params: ExtractionParam[], opts: LogfmtOptions): Stage {
  const dec = new Decoder();
  // logfmt key → label id (the last param wins when two name the same key)
  const byKey = new Map<string, string>();
  const ids = new Set<string>();
  for (const p of params) {
    byKey.set(p.expr, p.label);
    ids.add(p.label);
  }
  return (line: string, st: LabelState) => {
    const labels = st.labels;
    for (const id of ids) if (!st.streamHas(id)) labels.set(id, '');
    dec.reset(line);
    while (!dec.eol()) {
      if (!dec.scan()) {
        if (opts.strict) break;
        continue;
      }
      const sanitized = sanitizeLabelKey(dec.key!);
      if (sanitized === '') continue;
      const key = byKey.get(sanitized) ?? sanitized;
      if (!ids.has(key)) continue;
      let val = dec.value ?? '';
      if (val.includes('\uFFFD')) val = '';
      labels.set(st.parsedName(key), val);
    }
    if (opts.strict && dec.err !== null) st.setError(LOGFMT_PARSER_ERR, dec.err);
    return line;
  };
}
