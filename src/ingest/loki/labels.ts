/**
 * Loki's stream labels as a selector string, `{app="api", env="prod"}`, as the push protobuf
 * carries them (StreamAdapter.labels). Loki parses it with the PromQL parser
 * (`syntax.ParseLabels`), so values are Go string literals: double-quoted with escapes
 * (\" \\ \n \t \r \a \b \f \v \' \xHH \ooo \uHHHH \UHHHHHHHH), single-quoted, or backquoted raw.
 * Only `=` pairs are allowed; at least one label (Loki: "at least one label pair is required per
 * stream"). Names follow the Prometheus rule [a-zA-Z_][a-zA-Z0-9_]*.
 */
import { badRequest, type MoleError } from '../../lib/errors.ts';

export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const bad = (message: string): MoleError => badRequest(message, 'MS_ERR_BAD_LABELS');

const clip = (s: string) => (s.length > 60 ? `${s.slice(0, 60)}…` : s);

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
};

export function checkLabelName(name: string, where: string): void {
  if (!LABEL_NAME.test(name)) {
    throw bad(`${where}: label name ${JSON.stringify(clip(name))} is invalid; use [a-zA-Z_][a-zA-Z0-9_]*`);
  }
}

/** Parses `{a="b", ...}` into [name, value] pairs in order; a repeated name is refused. */
export function parseLabelSelector(text: string, where: string): [string, string][] {
  const fail = (what: string, at: number) =>
    bad(`${where}: labels ${JSON.stringify(clip(text))}: ${what} at character ${at}`);
  const out: [string, string][] = [];
  const seen = new Set<string>();
  let i = 0;
  const n = text.length;
  const space = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  space();
  if (text[i] !== '{') throw fail('expected "{"', i);
  i++;
  space();
  if (text[i] === '}') throw bad(`${where}: at least one label pair is required per stream`);
  for (;;) {
    space();
    const start = i;
    while (i < n && /[a-zA-Z0-9_]/.test(text[i]!)) i++;
    const name = text.slice(start, i);
    if (name === '') throw fail('expected a label name', i);
    checkLabelName(name, where);
    space();
    if (text[i] !== '=') throw fail(`expected "=" after ${name} (only equality pairs are allowed)`, i);
    i++;
    space();
    const [value, next] = readString(text, i, fail);
    i = next;
    if (seen.has(name)) throw bad(`${where}: label ${name} appears twice`);
    seen.add(name);
    out.push([name, value]);
    space();
    if (text[i] === ',') {
      i++;
      space();
      if (text[i] === '}') {
        i++;
        break;
      }
      continue;
    }
    if (text[i] === '}') {
      i++;
      break;
    }
    throw fail('expected "," or "}"', i);
  }
  space();
  if (i !== n) throw fail('unexpected text after "}"', i);
  return out;
}

function readString(
  text: string,
  i: number,
  fail: (what: string, at: number) => MoleError,
): [string, number] {
  const quote = text[i];
  if (quote === '`') {
    const end = text.indexOf('`', i + 1);
    if (end < 0) throw fail('unterminated raw string', i);
    return [text.slice(i + 1, end), end + 1];
  }
  if (quote !== '"' && quote !== "'") throw fail('expected a quoted value', i);
  let out = '';
  let j = i + 1;
  for (;;) {
    if (j >= text.length) throw fail('unterminated string', i);
    const c = text[j]!;
    if (c === quote) return [out, j + 1];
    if (c === '\n') throw fail('newline in string', j);
    if (c !== '\\') {
      out += c;
      j++;
      continue;
    }
    const e = text[j + 1];
    if (e === undefined) throw fail('unterminated escape', j);
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined && (e !== "'" || quote === "'") && (e !== '"' || quote === '"')) {
      out += simple;
      j += 2;
      continue;
    }
    const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLen > 0) {
      const hex = text.slice(j + 2, j + 2 + hexLen);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== hexLen) throw fail(`bad \\${e} escape`, j);
      const code = parseInt(hex, 16);
      if (e === 'x') {
        // \xHH is one byte in Go; values ≥ 0x80 would be a raw byte, not a character.
        if (code >= 0x80) throw fail('\\x escape above 0x7f (a raw byte) is not valid UTF-8 text', j);
        out += String.fromCharCode(code);
      } else {
        if (code > 0x10ffff || (code >= 0xd800 && code < 0xe000))
          throw fail(`invalid code point \\${e}${hex}`, j);
        out += String.fromCodePoint(code);
      }
      j += 2 + hexLen;
      continue;
    }
    if (e >= '0' && e <= '7') {
      const oct = text.slice(j + 1, j + 4);
      if (!/^[0-7]{3}$/.test(oct)) throw fail('bad octal escape', j);
      const code = parseInt(oct, 8);
      if (code >= 0x80) throw fail('octal escape above 0177 (a raw byte) is not valid UTF-8 text', j);
      out += String.fromCharCode(code);
      j += 4;
      continue;
    }
    throw fail(`unknown escape \\${e}`, j);
  }
}
