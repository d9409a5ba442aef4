/**
 * Loki's pattern expressions (`| pattern "<ip> - <_> ..."`, `|> "<_> timeout <_>"`): literals and
 * captures `<name>` / `<_>`. `matches` is the parser (a capture that finds no following literal
 * takes the rest of the line; a failed leading literal gives no captures at all); `test` is the
 * line filter, with Loki's rules (a trailing literal must end the line, a trailing capture must
 * not be empty, a capture between literals must not be empty).
 */
import { badRequest } from '../../lib/errors.ts';

type Node = { lit: string } | { cap: string };

export interface PatternMatcher {
  /** the named captures, in order */
  names: string[];
  /** captured values for the first names (fewer when the line ran out) */
  matches(line: string): string[];
  test(line: string): boolean;
}

function parse(src: string): Node[] {
  const out: Node[] = [];
  let lit = '';
  let i = 0;
  while (i < src.length) {
    if (src[i] === '<') {
      const m = /^<([A-Za-z_][A-Za-z0-9_]*)>/.exec(src.slice(i, i + 256));
      if (m !== null) {
        if (lit !== '') out.push({ lit });
        lit = '';
        out.push({ cap: m[1]! });
        i += m[0].length;
        continue;
      }
    }
    lit += src[i];
    i++;
  }
  if (lit !== '') out.push({ lit });
  return out;
}

export function compilePattern(src: string, requireCapture: boolean): PatternMatcher {
  const e = parse(src);
  const names = e.flatMap((n) => ('cap' in n && n.cap !== '_' ? [n.cap] : []));
  if (requireCapture && names.length === 0)
    throw badRequest(`invalid pattern ${JSON.stringify(src)}: at least one capture is required`);
  for (let i = 0; i + 1 < e.length; i++) {
    const a = e[i]!;
    const b = e[i + 1]!;
    if ('cap' in a && 'cap' in b)
      throw badRequest(`found consecutive capture '<${a.cap}><${b.cap}>': invalid expression`);
  }
  if (new Set(names).size !== names.length) {
    const dup = names.find((n, i) => names.indexOf(n) !== i) ?? '';
    throw badRequest(`duplicate capture name (${dup}): invalid expression`);
  }
  const lastIsCapture = e.length > 0 && 'cap' in e[e.length - 1]!;

  const matches = (line: string): string[] => {
    const caps: string[] = [];
    if (line === '' || e.length === 0) return caps;
    let k = 0;
    let pos = 0;
    const first = e[0]!;
    if ('lit' in first) {
      if (!line.startsWith(first.lit)) return caps;
      pos = first.lit.length;
      k = 1;
    }
    if (k >= e.length) return caps;
    while (k < e.length) {
      const cap = (e[k] as { cap: string }).cap;
      if (k + 1 >= e.length) {
        if (cap !== '_') caps.push(line.slice(pos));
        return caps;
      }
      const lit = (e[k + 1] as { lit: string }).lit;
      k += 2;
      const at = line.indexOf(lit, pos);
      if (at < 0) {
        if (cap !== '_') caps.push(line.slice(pos));
        return caps;
      }
      if (cap !== '_') caps.push(line.slice(pos, at));
      pos = at + lit.length;
    }
    return caps;
  };

  const test = (line: string): boolean => {
    if (line === '' || e.length === 0) return line === '' && e.length === 0;
    let off = 0;
    for (let i = 0; i < e.length; i++) {
      const n = e[i]!;
      if (!('lit' in n)) continue;
      const j = line.indexOf(n.lit, off);
      if (j < 0) return false;
      if (i !== 0 && j === off) return false;
      off = j + n.lit.length;
    }
    return lastIsCapture === (off !== line.length);
  };

  return { names, matches, test };
}
