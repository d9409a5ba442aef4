/**
 * Parser for Prometheus' PromQL test scripts (promql/promqltest/testdata/*.test): `load`, `clear`
 * and `eval` commands with their `expect` lines and expected results. Times are ms since the
 * epoch (test time 0 is the epoch). Native histogram values (`{{...}}`) are recognized but not
 * decoded: they only mark the series / eval as needing native histograms.
 */
import { Labels, METRIC_NAME, type Label } from '../labels.ts';

/** One position of an expanded value sequence. */
export type SeqValue =
  | { kind: 'float'; v: number }
  | { kind: 'omitted' }
  | { kind: 'stale' }
  | { kind: 'histogram'; text: string };

export interface SeriesDesc {
  labels: Labels;
  values: SeqValue[];
}

export interface LoadedSeries {
  labels: Labels;
  /** float samples (stale markers included, flagged in `stale`); histogram samples are not stored */
  t: number[];
  v: number[];
  stale: boolean[];
  hasHistograms: boolean;
}

export interface LoadCmd {
  kind: 'load';
  line: number;
  intervalMs: number;
  /** `load_with_nhcb`: classic histograms are also converted to native histograms with custom buckets */
  withNhcb: boolean;
  series: LoadedSeries[];
}

export interface ClearCmd {
  kind: 'clear';
  line: number;
}

/** `expect <type> [msg: ...|regex: ...]`; neither set = matches anything. */
export interface ExpectMatcher {
  message?: string;
  regex?: RegExp;
}

export interface ExpectedSeries {
  labels: Labels;
  values: SeqValue[];
  /** 1-based position among the expected result lines (for `ordered`) */
  pos: number;
}

export interface EvalCmd {
  kind: 'eval';
  /** `<file>:<line>` */
  id: string;
  line: number;
  expr: string;
  isRange: boolean;
  /** instant: the evaluation time; range: start */
  startMs: number;
  endMs: number;
  stepMs: number;
  /** instant queries: the evaluation time (= end when `expect range vector` is given) */
  evalMs: number;
  fail: ExpectMatcher | null;
  /** legacy `eval_warn` / `eval_info`: at least one annotation of the level */
  legacyWarn: boolean;
  legacyInfo: boolean;
  warn: ExpectMatcher[];
  info: ExpectMatcher[];
  noWarn: boolean;
  noInfo: boolean;
  ordered: boolean;
  expectedString: string | null;
  /** `expect range vector from .. to .. step ..` was given (instant query returning a matrix) */
  expectRangeVector: boolean;
  /** a bare number line: the result is a scalar */
  expectScalar: number | null;
  expected: ExpectedSeries[];
  /** true when the expected results contain native histograms */
  expectsHistograms: boolean;
  /** a problem in the eval's definition (counted as a failure of this eval) */
  defError: string | null;
}

export type Command = LoadCmd | ClearCmd | EvalCmd;

export class ScriptError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'ScriptError';
  }
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** Prometheus' model.ParseDuration: `1h30m`, `10s53ms`, `0`; returns ms. */
export function parseDuration(s: string): number {
  if (s === '0') return 0;
  const re = /(\d+)(ms|s|m|h|d|w|y)/y;
  let i = 0;
  let total = 0;
  if (s === '') throw new Error('empty duration string');
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) throw new Error(`not a valid duration string: "${s}"`);
    total += Number(m[1]) * (DURATION_UNITS[m[2] ?? ''] ?? NaN);
    i = re.lastIndex;
  }
  return total;
}

/** Go's strconv.ParseInt(s, 0, 64) then ParseFloat, as the test scripts' bare number lines. */
export function parseNumber(s: string): number | null {
  const t = s.trim();
  if (/^[+-]?(0x[0-9a-f]+|0o?[0-7]+|0b[01]+|\d+)$/i.test(t) && !/^[+-]?0\d*[89]/.test(t)) {
    const neg = t.startsWith('-');
    const body = t.replace(/^[+-]/, '');
    let n: number;
    if (/^0x/i.test(body)) n = parseInt(body.slice(2), 16);
    else if (/^0b/i.test(body)) n = parseInt(body.slice(2), 2);
    else if (/^0o/i.test(body)) n = parseInt(body.slice(2), 8);
    else if (body.length > 1 && body.startsWith('0')) n = parseInt(body.slice(1), 8);
    else n = Number(body);
    return neg ? -n : n;
  }
  return parseFloatToken(t);
}

/** A float literal as Go's strconv.ParseFloat / the PromQL lexer accept it (incl. Inf, NaN, hex). */
export function parseFloatToken(s: string): number | null {
  const m = /^([+-]?)(.*)$/.exec(s);
  if (!m) return null;
  const sign = m[1] === '-' ? -1 : 1;
  const body = (m[2] ?? '').replace(/_/g, '');
  if (/^(inf|infinity)$/i.test(body)) return sign * Infinity;
  if (/^nan$/i.test(body)) return NaN;
  if (/^0x[0-9a-f]+$/i.test(body)) return sign * parseInt(body.slice(2), 16);
  if (/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(body)) return sign * Number(body);
  return null;
}

const NUM = String.raw`(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[iI][nN][fF]|[nN][aA][nN])`;
const RE_SEQ_ITEM = new RegExp(`^([+-]?${NUM})(?:([+-])(${NUM}))?(?:x(\\d+))?$`);

/** Expands one whitespace-free value token (`1`, `1+2x3`, `_`, `_x3`, `stale`, `5x2`). */
export function expandToken(tok: string): SeqValue[] {
  if (tok === '_') return [{ kind: 'omitted' }];
  const om = /^_x(\d+)$/.exec(tok);
  if (om) return Array.from({ length: Number(om[1]) }, () => ({ kind: 'omitted' }) as const);
  if (tok === 'stale') return [{ kind: 'stale' }];
  const m = RE_SEQ_ITEM.exec(tok);
  if (!m) throw new Error(`invalid value "${tok}"`);
  const start = parseFloatToken(m[1] ?? '');
  if (start === null) throw new Error(`invalid value "${tok}"`);
  if (m[4] === undefined) {
    if (m[2] !== undefined) throw new Error(`invalid value "${tok}": missing x<count>`);
    return [{ kind: 'float', v: start }];
  }
  const times = Number(m[4]);
  let delta = 0;
  if (m[2] !== undefined) {
    const d = parseFloatToken(m[3] ?? '');
    if (d === null) throw new Error(`invalid value "${tok}"`);
    delta = m[2] === '-' ? -d : d;
  }
  const out: SeqValue[] = [];
  let v = start;
  for (let i = 0; i <= times; i++) {
    out.push({ kind: 'float', v });
    v += delta;
  }
  return out;
}

/** Splits the values part into tokens, keeping `{{...}}` (with a `+{{..}}x3` tail) as one token. */
function tokenizeValues(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    let j = i;
    while (j < s.length && s[j] !== ' ' && s[j] !== '\t') {
      if (s.startsWith('{{', j)) {
        const end = s.indexOf('}}', j + 2);
        if (end < 0) throw new Error('unterminated native histogram "{{"');
        j = end + 2;
      } else j++;
    }
    out.push(s.slice(i, j));
    i = j;
  }
  return out;
}

function expandValues(s: string): SeqValue[] {
  const out: SeqValue[] = [];
  for (const tok of tokenizeValues(s)) {
    if (tok.includes('{{')) {
      // `{{h}}`, `{{h}}x3`, `{{h}}+{{d}}x3`: count positions only
      const m = /x(\d+)$/.exec(tok.slice(tok.lastIndexOf('}}')));
      const n = m ? Number(m[1]) + 1 : 1;
      for (let i = 0; i < n; i++) out.push({ kind: 'histogram', text: tok });
    } else out.push(...expandToken(tok));
  }
  return out;
}

/** Reads a double-, single- or back-quoted string starting at s[i]; returns [value, next index]. */
function readQuoted(s: string, i: number): [string, number] {
  const q = s[i];
  if (q === '`') {
    const end = s.indexOf('`', i + 1);
    if (end < 0) throw new Error('unterminated raw string');
    return [s.slice(i + 1, end), end + 1];
  }
  let j = i + 1;
  let out = '';
  while (j < s.length && s[j] !== q) {
    if (s[j] === '\\') {
      const n = s[j + 1] ?? '';
      j += 2;
      switch (n) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '\\':
        case '"':
        case "'":
          out += n;
          break;
        case 'x': {
          out += String.fromCharCode(parseInt(s.slice(j, j + 2), 16));
          j += 2;
          break;
        }
        case 'u': {
          out += String.fromCodePoint(parseInt(s.slice(j, j + 4), 16));
          j += 4;
          break;
        }
        case 'U': {
          out += String.fromCodePoint(parseInt(s.slice(j, j + 8), 16));
          j += 8;
          break;
        }
        default:
          out += `\\${n}`;
      }
    } else out += s[j++];
  }
  if (j >= s.length) throw new Error('unterminated string');
  return [out, j + 1];
}

/** Go's strconv.Unquote for `"..."`, `'...'` and backquoted strings. */
export function unquote(s: string): string {
  const [v, end] = readQuoted(s, 0);
  if (end !== s.length || !/^["'`]/.test(s)) throw new Error(`not a quoted string: ${s}`);
  return v;
}

const RE_IDENT = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

/** Parses `<series> <values>` (Prometheus' ParseSeriesDesc). */
export function parseSeriesDesc(line: string): SeriesDesc {
  const s = line.trim();
  const labels: Label[] = [];
  let i = 0;
  const id = RE_IDENT.exec(s);
  if (id) {
    labels.push({ name: METRIC_NAME, value: id[0] });
    i = id[0].length;
  }
  if (s[i] === '{' && !s.startsWith('{{', i)) {
    i++;
    for (;;) {
      while (s[i] === ' ' || s[i] === '\t') i++;
      if (s[i] === '}') {
        i++;
        break;
      }
      if (i >= s.length) throw new Error('unterminated label set');
      let name: string;
      if (s[i] === '"' || s[i] === "'" || s[i] === '`') {
        [name, i] = readQuoted(s, i);
      } else {
        const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(s.slice(i));
        if (!m) throw new Error(`invalid label name at "${s.slice(i)}"`);
        name = m[0];
        i += name.length;
      }
      while (s[i] === ' ' || s[i] === '\t') i++;
      if (s[i] === '=') {
        i++;
        while (s[i] === ' ' || s[i] === '\t') i++;
        const q = s[i];
        if (q !== '"' && q !== "'" && q !== '`') throw new Error(`expected a quoted label value for ${name}`);
        let value: string;
        [value, i] = readQuoted(s, i);
        labels.push({ name, value });
      } else {
        // a quoted metric name alone: {"my.metric", a="b"}
        labels.push({ name: METRIC_NAME, value: name });
      }
      while (s[i] === ' ' || s[i] === '\t') i++;
      if (s[i] === ',') i++;
    }
  }
  if (labels.length === 0 && i === 0) throw new Error(`invalid series "${s}"`);
  return { labels: Labels.from(labels), values: expandValues(s.slice(i)) };
}

const RE_LOAD = /^load(?:_(with_nhcb))?\s+(.+?)$/;
const RE_EVAL_INSTANT = /^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$/;
const RE_EVAL_RANGE = /^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$/;
const RE_EXPECT = /^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$/;
const RE_EXPECT_RANGE = /^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$/;

/** Toggles the case of the letters of a character class body (escapes kept). */
function swapClassCase(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] ?? '';
    if (c === '\\') {
      i++;
      continue;
    }
    const lo = c.toLowerCase();
    const up = c.toUpperCase();
    if (lo !== up) out += c === lo ? up : lo;
    else if (c === '-' && out !== '' && i + 1 < body.length) out += '-';
  }
  // drop dangling range dashes (e.g. from "0-9a")
  return out.replace(/^-|-$/g, '');
}

/**
 * Rewrites RE2 syntax JavaScript lacks: inline flag groups `(?i)` / `(?i:...)` anywhere (case
 * folding is spelled out as `[aA]`), `(?P<name>`, `\z`, `\Q...\E`.
 */
export function translateGoRegex(pattern: string): { source: string; flags: string } {
  let flags = '';
  let p = pattern;
  const lead = /^\(\?([imsU]+)\)/.exec(p);
  let ci = false;
  if (lead) {
    p = p.slice(lead[0].length);
    if ((lead[1] ?? '').includes('s')) flags += 's';
    if ((lead[1] ?? '').includes('m')) flags += 'm';
    if ((lead[1] ?? '').includes('i')) ci = true;
  }
  const stack: boolean[] = [];
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const c: string = p[i] ?? '';
    if (c === '\\') {
      const n: string = p[i + 1] ?? '';
      if (n === 'Q') {
        const end = p.indexOf('\\E', i + 2);
        const lit = p.slice(i + 2, end < 0 ? p.length : end);
        out += lit.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
        i = end < 0 ? p.length : end + 1;
        continue;
      }
      if (n === 'z') {
        out += '$';
        i++;
        continue;
      }
      if ((n === 'p' || n === 'P') && p[i + 2] === '{') {
        const end = p.indexOf('}', i);
        out += p.slice(i, end + 1);
        i = end;
        continue;
      }
      out += c + n;
      i++;
      continue;
    }
    if (c === '[') {
      let j = i + 1;
      if (p[j] === '^') j++;
      if (p[j] === ']') j++;
      while (j < p.length && p[j] !== ']') {
        if (p[j] === '\\') j++;
        else if (p[j] === '[' && p[j + 1] === ':') {
          const e = p.indexOf(':]', j + 2);
          if (e > 0) j = e + 1;
        }
        j++;
      }
      const cls = p.slice(i, j + 1);
      if (ci) {
        const neg = cls.startsWith('[^');
        const body = cls.slice(neg ? 2 : 1, -1);
        out += `[${neg ? '^' : ''}${body}${swapClassCase(body)}]`;
      } else out += cls;
      i = j;
      continue;
    }
    if (c === '(') {
      const fm = /^\(\?([imsU]*)(?:-([imsU]*))?([:)])/.exec(p.slice(i));
      if (fm && (fm[1] !== '' || fm[2] !== undefined)) {
        const on = fm[1] ?? '';
        const off = fm[2] ?? '';
        const next: boolean = on.includes('i') ? true : off.includes('i') ? false : ci;
        if (fm[3] === ')') ci = next;
        else {
          stack.push(ci);
          ci = next;
          out += '(?:';
        }
        i += fm[0].length - 1;
        continue;
      }
      stack.push(ci);
      if (p.startsWith('(?P<', i)) {
        out += '(?<';
        i += 3;
      } else out += c;
      continue;
    }
    if (c === ')') {
      ci = stack.pop() ?? ci;
      out += c;
      continue;
    }
    if (ci && c.toLowerCase() !== c.toUpperCase()) {
      out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
      continue;
    }
    out += c;
  }
  return { source: out, flags };
}

/** Converts a Go (RE2) regexp to a JS RegExp; `anchored` = `^(?:re)$`. */
export function goRegex(pattern: string, anchored = false): RegExp {
  const { source, flags } = translateGoRegex(pattern);
  const src = anchored ? `^(?:${source})$` : source;
  try {
    return new RegExp(src, `${flags}u`);
  } catch {
    return new RegExp(src, flags);
  }
}

function parseExpectLine(line: string): { type: string; matcher: ExpectMatcher } {
  const m = RE_EXPECT.exec(line);
  if (!m)
    throw new Error('invalid expect statement, must match `expect <type> <match_type>: <string>` format');
  const type = m[1] ?? '';
  if (m[2] === 'msg') return { type, matcher: { message: (m[3] ?? '').trim() } };
  if (m[2] === 'regex') return { type, matcher: { regex: goRegex((m[3] ?? '').trim()) } };
  return { type, matcher: {} };
}

function newEval(id: string, line: number, expr: string): EvalCmd {
  return {
    kind: 'eval',
    id,
    line,
    expr,
    isRange: false,
    startMs: 0,
    endMs: 0,
    stepMs: 0,
    evalMs: 0,
    fail: null,
    legacyWarn: false,
    legacyInfo: false,
    warn: [],
    info: [],
    noWarn: false,
    noInfo: false,
    ordered: false,
    expectedString: null,
    expectRangeVector: false,
    expectScalar: null,
    expected: [],
    expectsHistograms: false,
    defError: null,
  };
}

/** Parses a test script. `file` names the case ids (`<file>:<line>`). */
export function parseScript(text: string, file: string): Command[] {
  const lines = text.split('\n').map((l) => {
    const t = l.trim();
    return t.startsWith('#') ? '' : t;
  });
  const cmds: Command[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] ?? '';
    if (l === '') continue;
    const word = (l.split(/[\t ]+/, 1)[0] ?? '').toLowerCase();
    if (word === 'clear') {
      cmds.push({ kind: 'clear', line: i + 1 });
    } else if (word.startsWith('load')) {
      const m = RE_LOAD.exec(l);
      if (!m) throw new ScriptError(i + 1, 'invalid load command. (load[_with_nhcb] <step:duration>)');
      let intervalMs: number;
      try {
        intervalMs = parseDuration(m[2] ?? '');
      } catch (e) {
        throw new ScriptError(i + 1, `invalid step definition: ${(e as Error).message}`);
      }
      const cmd: LoadCmd = {
        kind: 'load',
        line: i + 1,
        intervalMs,
        withNhcb: m[1] === 'with_nhcb',
        series: [],
      };
      while (i + 1 < lines.length && (lines[i + 1] ?? '') !== '') {
        i++;
        const def = lines[i] ?? '';
        // start-timestamp lines (`metric@st ...`) carry no samples: ignored
        const sp = def.search(/[ \t]/);
        if (sp > 0 && def.slice(0, sp).endsWith('@st')) continue;
        if (def.startsWith('@st')) continue;
        let desc: SeriesDesc;
        try {
          desc = parseSeriesDesc(def);
        } catch (e) {
          throw new ScriptError(i + 1, (e as Error).message);
        }
        const s: LoadedSeries = { labels: desc.labels, t: [], v: [], stale: [], hasHistograms: false };
        desc.values.forEach((sv, k) => {
          const t = k * intervalMs;
          if (sv.kind === 'float') {
            s.t.push(t);
            s.v.push(sv.v);
            s.stale.push(false);
          } else if (sv.kind === 'stale') {
            s.t.push(t);
            s.v.push(NaN);
            s.stale.push(true);
          } else if (sv.kind === 'histogram') s.hasHistograms = true;
        });
        // a later line for the same series replaces the earlier one (Prometheus keys by hash)
        const prev = cmd.series.findIndex((x) => x.labels.key === s.labels.key);
        if (prev >= 0) cmd.series[prev] = s;
        else cmd.series.push(s);
      }
      cmds.push(cmd);
    } else if (word.startsWith('eval')) {
      const inst = RE_EVAL_INSTANT.exec(l);
      const rng = inst ? null : RE_EVAL_RANGE.exec(l);
      if (!inst && !rng) throw new ScriptError(i + 1, `invalid evaluation command: ${l}`);
      const expr = (inst ? inst[3] : rng?.[5]) ?? '';
      const cmd = newEval(`${file}:${i + 1}`, i + 1, expr);
      const mod = (inst ? inst[1] : rng?.[1]) ?? '';
      try {
        if (inst) {
          cmd.evalMs = cmd.startMs = cmd.endMs = parseDuration(inst[2] ?? '0s');
        } else if (rng) {
          cmd.isRange = true;
          cmd.startMs = parseDuration(rng[2] ?? '');
          cmd.endMs = parseDuration(rng[3] ?? '');
          cmd.stepMs = parseDuration(rng[4] ?? '');
          if (cmd.endMs < cmd.startMs) throw new Error('end timestamp is before start timestamp');
        }
      } catch (e) {
        cmd.defError = (e as Error).message;
      }
      if (mod === 'ordered') cmd.ordered = true;
      else if (mod === 'fail') cmd.fail = {};
      else if (mod === 'warn') cmd.legacyWarn = true;
      else if (mod === 'info') cmd.legacyInfo = true;
      let pos = 1;
      while (i + 1 < lines.length && (lines[i + 1] ?? '') !== '') {
        i++;
        const def = lines[i] ?? '';
        try {
          if (cmd.fail && def.startsWith('expected_fail_message')) {
            cmd.fail = { message: def.slice('expected_fail_message'.length).trim() };
            break;
          }
          if (cmd.fail && def.startsWith('expected_fail_regexp')) {
            cmd.fail = { regex: goRegex(def.slice('expected_fail_regexp'.length).trim()) };
            break;
          }
          if (def.startsWith('expect range vector')) {
            const m = RE_EXPECT_RANGE.exec(def);
            if (!m) throw new Error(`invalid range vector definition "${def}"`);
            cmd.expectRangeVector = true;
            cmd.startMs = parseDuration(m[1] ?? '');
            cmd.endMs = parseDuration(m[2] ?? '');
            cmd.stepMs = parseDuration(m[3] ?? '');
            cmd.evalMs = cmd.endMs;
            continue;
          }
          if (def.startsWith('expect string')) {
            const rest = def.slice('expect string'.length).trim();
            if (rest === '')
              throw new Error('expected string literal not valid - a quoted string literal is required');
            cmd.expectedString = unquote(rest);
            continue;
          }
          if (def.split(' ')[0] === 'expect') {
            const { type, matcher } = parseExpectLine(def);
            switch (type) {
              case 'ordered':
                cmd.ordered = true;
                break;
              case 'fail':
                if (cmd.fail && (cmd.fail.message !== undefined || cmd.fail.regex))
                  throw new Error('multiple expect fail lines are not allowed');
                cmd.fail = matcher;
                break;
              case 'warn':
                cmd.warn.push(matcher);
                break;
              case 'info':
                cmd.info.push(matcher);
                break;
              case 'no_warn':
                cmd.noWarn = true;
                break;
              case 'no_info':
                cmd.noInfo = true;
                break;
            }
            continue;
          }
          const n = parseNumber(def);
          if (n !== null) {
            cmd.expectScalar = n;
            break;
          }
          const desc = parseSeriesDesc(def);
          if (desc.values.some((v) => v.kind === 'histogram')) cmd.expectsHistograms = true;
          if (desc.values.length > 1 && !cmd.isRange && !cmd.expectRangeVector)
            throw new Error('expecting multiple values in instant evaluation not allowed');
          cmd.expected.push({ labels: desc.labels, values: desc.values, pos: pos++ });
        } catch (e) {
          cmd.defError ??= `line ${i + 1}: ${(e as Error).message}`;
        }
      }
      cmds.push(cmd);
    } else {
      throw new ScriptError(i + 1, `invalid command "${l}"`);
    }
  }
  return cmds;
}
