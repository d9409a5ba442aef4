/**
 * A translation of RE2 syntax (Go's regexp/syntax, as PromQL uses it) to a JavaScript RegExp with the
 * 'u' flag. Covers: leading and scoped flags (i, s, m; U is rejected), (?P<name>…), \Q…\E, \A, \z,
 * \pL / \p{Name}, POSIX [[:class:]], RE2's \s, octal escapes, escaped punctuation, literal braces and
 * brackets, and rejects what RE2 rejects but JS accepts (lookarounds, backreferences, repeat > 1000).
 */

export class Re2SyntaxError extends Error {}

const SYNTAX = new Set([...'^$\\.*+?()[]{}|/']);
const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};
const GENERAL_CATEGORIES = new Set(
  'C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(
    ' ',
  ),
);

const hex = (c: string): string => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`;

function unicodeClass(name: string, negated: boolean): string {
  const p = negated ? 'P' : 'p';
  if (name === 'Any') return negated ? '[^\\s\\S]' : '[\\s\\S]';
  if (GENERAL_CATEGORIES.has(name)) return `\\${p}{${name}}`;
  return `\\${p}{Script=${name}}`;
}

/** Simple case-folding orbits beyond lower/upper case (RE2 folds these too). */
const FOLD_EXTRA: Record<string, string> = { k: '\u212A', s: '\u017F', å: '\u212B' };

/** All simple case folds of a character as class content, or the escaped character. */
function foldedClassItem(c: string): string {
  const lo = c.toLowerCase();
  const up = c.toUpperCase();
  const extra = FOLD_EXTRA[lo] ?? '';
  if (lo === up || [...lo].length !== 1 || [...up].length !== 1) return hex(c);
  return hex(lo) + hex(up) + (extra === '' ? '' : hex(extra));
}

interface Out {
  source: string;
  flags: string;
}

/**
 * `dotAll` undefined: `.` is left to the RegExp's own flags (PromQL compiles with 's'; `(?s)` is
 * ignored). A boolean: Go's `.` — any character but `\n`, or any at all under `(?s)` (scoped
 * like `i`), starting from `dotAll` — written out as a class, whatever the RegExp's flags.
 */
export function translateRe2(src: string, dotAll?: boolean): Out {
  const chars = [...src];
  // the s flag per open group, when `.` is translated (dotAll given)
  const dotStack: boolean[] = [dotAll ?? false];
  const dot = (): boolean => dotStack[dotStack.length - 1] ?? false;
  let i = 0;
  let out = '';
  let globalFlags = '';
  // case-insensitivity per open group (scoped flags)
  const ciStack: boolean[] = [false];
  const ci = (): boolean => ciStack[ciStack.length - 1] ?? false;
  const setCi = (v: boolean): void => {
    ciStack[ciStack.length - 1] = v;
  };
  const peek = (k = 0): string => chars[i + k] ?? '';

  const literal = (c: string, inClass: boolean): string => {
    if (ci()) return inClass ? foldedClassItem(c) : /\p{L}/u.test(c) ? `[${foldedClassItem(c)}]` : hex(c);
    if (SYNTAX.has(c) || (inClass && c === '-')) return `\\${c}`;
    return /[\p{L}\p{N} ]/u.test(c) ? c : hex(c);
  };

  /** Parses an escape after the backslash; returns JS source. */
  const escape = (inClass: boolean): string => {
    const c = peek();
    i++;
    if (c === '') throw new Re2SyntaxError('trailing backslash at end of expression');
    switch (c) {
      case 'd':
      case 'D':
      case 'w':
      case 'W':
        return `\\${c}`;
      case 's':
        return inClass ? '\\t\\n\\f\\r ' : '[\\t\\n\\f\\r ]';
      case 'S':
        return inClass ? '\\S' : '[^\\t\\n\\f\\r ]';
      case 'b':
      case 'B':
        if (inClass) throw new Re2SyntaxError('invalid escape sequence');
        return `\\${c}`;
      case 'A':
        if (inClass) throw new Re2SyntaxError('invalid escape sequence');
        return '(?<![\\s\\S])';
      case 'z':
        if (inClass) throw new Re2SyntaxError('invalid escape sequence');
        return '(?![\\s\\S])';
      case 'a':
        return '\\x07';
      case 'f':
      case 't':
      case 'n':
      case 'r':
      case 'v':
        return `\\${c}`;
      case 'x': {
        if (peek() === '{') {
          const close = chars.indexOf('}', i);
          if (close < 0) throw new Re2SyntaxError('invalid escape sequence');
          const h = chars.slice(i + 1, close).join('');
          if (!/^[0-9A-Fa-f]+$/.test(h) || parseInt(h, 16) > 0x10ffff)
            throw new Re2SyntaxError('invalid escape');
          i = close + 1;
          return `\\u{${h}}`;
        }
        const h = peek() + peek(1);
        if (!/^[0-9A-Fa-f]{2}$/.test(h)) throw new Re2SyntaxError('invalid escape sequence');
        i += 2;
        return `\\x${h}`;
      }
      case 'p':
      case 'P': {
        let name: string;
        if (peek() === '{') {
          const close = chars.indexOf('}', i);
          if (close < 0) throw new Re2SyntaxError('invalid character class range');
          name = chars.slice(i + 1, close).join('');
          i = close + 1;
        } else {
          name = peek();
          i++;
        }
        let negated = c === 'P';
        if (name.startsWith('^')) {
          negated = !negated;
          name = name.slice(1);
        }
        if (!/^[A-Za-z_]+$/.test(name)) throw new Re2SyntaxError('invalid character class range');
        const cls = unicodeClass(name, negated);
        if (inClass && cls.startsWith('[')) throw new Re2SyntaxError('unsupported class in class');
        return cls;
      }
      case 'Q': {
        let lit = '';
        while (i < chars.length && !(peek() === '\\' && peek(1) === 'E')) {
          lit += literal(peek(), inClass);
          i++;
        }
        if (i < chars.length) i += 2;
        return inClass || lit === '' ? lit : `(?:${lit})`;
      }
      default:
        break;
    }
    if (c >= '0' && c <= '7') {
      // a single non-zero digit would be a backreference, which RE2 does not support
      if (c !== '0' && !(peek() >= '0' && peek() <= '7')) throw new Re2SyntaxError('invalid escape sequence');
      let oct = c;
      while (oct.length < 3 && peek() >= '0' && peek() <= '7') {
        oct += peek();
        i++;
      }
      return hex(String.fromCodePoint(parseInt(oct, 8)));
    }
    if (/[\p{L}\p{N}_]/u.test(c) || c.codePointAt(0)! > 0x7f)
      throw new Re2SyntaxError('invalid escape sequence');
    // escaped ASCII punctuation is a literal
    return literal(c, inClass);
  };

  const charClass = (): string => {
    // at '[' already consumed
    let s = '[';
    if (peek() === '^') {
      s += '^';
      i++;
    }
    let first = true;
    for (;;) {
      const c = peek();
      if (c === '') throw new Re2SyntaxError('missing closing ]');
      if (c === ']' && !first) {
        i++;
        break;
      }
      first = false;
      if (c === '[' && peek(1) === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(chars.slice(i).join(''));
        if (m !== null) {
          const body = POSIX[m[2] ?? ''];
          if (body === undefined) throw new Re2SyntaxError('invalid character class range');
          if (m[1] === '^') throw new Re2SyntaxError('negated POSIX classes are not supported');
          s += body;
          i += m[0].length;
          continue;
        }
      }
      i++;
      if (c === '\\') s += escape(true);
      else if (c === '-') s += '-';
      else if (ci() && peek() === '-' && peek(1) !== ']' && peek(1) !== '') {
        // a range under case folding: add the range and its other-case range
        const hi = peek(1);
        i += 2;
        s += `${hex(c)}-${hex(hi)}`;
        const lo2 = c.toUpperCase();
        const hi2 = hi.toUpperCase();
        const lo3 = c.toLowerCase();
        const hi3 = hi.toLowerCase();
        if (lo2 !== c || hi2 !== hi) s += `${hex(lo2)}-${hex(hi2)}`;
        if (lo3 !== c || hi3 !== hi) s += `${hex(lo3)}-${hex(hi3)}`;
      } else s += literal(c, true);
    }
    return s + ']';
  };

  while (i < chars.length) {
    const c = peek();
    i++;
    if (c === '\\') {
      out += escape(false);
    } else if (c === '[') {
      out += charClass();
    } else if (c === '(') {
      if (peek() === '?') {
        const rest = chars.slice(i + 1).join('');
        if (rest.startsWith('P<') || rest.startsWith('<')) {
          if (rest.startsWith('<=') || rest.startsWith('<!'))
            throw new Re2SyntaxError('invalid or unsupported Perl syntax');
          const m = /^P?<([A-Za-z0-9_]+)>/.exec(rest);
          if (m === null) throw new Re2SyntaxError('invalid named capture');
          i += 1 + m[0].length;
          out += `(?<${m[1] ?? ''}>`;
          ciStack.push(ci());
          dotStack.push(dot());
          continue;
        }
        const fm = /^([imsU]*)(?:-([imsU]*))?([:)])/.exec(rest);
        if (fm === null) throw new Re2SyntaxError('invalid or unsupported Perl syntax');
        const on = fm[1] ?? '';
        const off = fm[2] ?? '';
        if (on + off === '' && fm[2] === undefined && fm[3] === ')')
          throw new Re2SyntaxError('missing argument to repetition operator');
        if ((on + off).includes('U')) throw new Re2SyntaxError('the U (ungreedy) flag is not supported');
        if (on.includes('m') || off.includes('m')) {
          if (out === '' && fm[3] === ')' && !off.includes('m')) globalFlags += 'm';
          else throw new Re2SyntaxError('a scoped m flag is not supported');
        }
        i += 1 + fm[0].length;
        const newCi = on.includes('i') ? true : off.includes('i') ? false : ci();
        const newDot = on.includes('s') ? true : off.includes('s') ? false : dot();
        if (fm[3] === ')') {
          setCi(newCi);
          dotStack[dotStack.length - 1] = newDot;
        } else {
          out += '(?:';
          ciStack.push(newCi);
          dotStack.push(newDot);
        }
        continue;
      }
      out += '(';
      ciStack.push(ci());
      dotStack.push(dot());
    } else if (c === ')') {
      if (ciStack.length <= 1) throw new Re2SyntaxError('unexpected )');
      ciStack.pop();
      dotStack.pop();
      out += ')';
    } else if (c === '{') {
      const m = /^(\d+)(,(\d*))?\}/.exec(chars.slice(i).join(''));
      if (m === null) {
        out += '\\{';
        continue;
      }
      const min = Number(m[1]);
      const max = m[3] === undefined || m[3] === '' ? min : Number(m[3]);
      if (min > 1000 || max > 1000 || (m[3] !== undefined && m[3] !== '' && max < min)) {
        throw new Re2SyntaxError('invalid repeat count');
      }
      out += `{${m[0]}`;
      i += m[0].length;
    } else if (c === '}' || c === ']') {
      out += `\\${c}`;
    } else if (c === '.' && dotAll !== undefined) {
      out += dot() ? '[\\s\\S]' : '[^\\n]';
    } else if (c === '.' || c === '^' || c === '$' || c === '|' || c === '*' || c === '+' || c === '?') {
      out += c;
    } else {
      out += literal(c, false);
    }
  }
  if (ciStack.length !== 1) throw new Re2SyntaxError('missing closing )');
  return { source: out, flags: globalFlags };
}

/** A fully anchored RE2 pattern (`^(?s:re)$`) as a JS RegExp; throws on invalid syntax. */
export function compileAnchored(re: string): RegExp {
  // functions run at every step: compile each pattern once (a RegExp without the g flag keeps no state)
  let out = compiled.get(re);
  if (out) return out;
  const { source, flags } = translateRe2(re);
  // lookarounds rather than ^/$ so that a leading (?m) does not loosen the anchoring
  out = new RegExp(`(?<![\\s\\S])(?:${source})(?![\\s\\S])`, `su${flags}`);
  if (compiled.size >= 1000) compiled.clear();
  compiled.set(re, out);
  return out;
}

const compiled = new Map<string, RegExp>();
