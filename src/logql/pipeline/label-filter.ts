/**
 * Label filters, Loki's label_filter.go: string matchers (a missing label is ""; `__error__` and
 * `__error_details__` test the pipeline error), numeric / duration / bytes comparisons (the label
 * parsed with Go's parsers; a value that does not parse keeps the line and sets
 * `__error__="LabelFilterErr"` unless an earlier stage set an error; a missing label drops the
 * line), `ip()` (which, as in Loki, keeps every line that already has an error), and `and` / `or`.
 */
import type { LabelFilterExpr, Matcher, NumericOp } from '../ast.ts';
import { parseGoDuration, parseGoFloat, parseHumanBytes, type Parsed } from './go-conversions.ts';
import { compileIpPattern, parseAddr } from './ip.ts';
import type { LabelState } from './labels.ts';
import { compileAnchoredRe2 } from './regex.ts';

export const LABEL_FILTER_ERR = 'LabelFilterErr';

export type LabelTest = (st: LabelState) => boolean;

export function compileMatcher(m: Matcher): (value: string) => boolean {
  switch (m.type) {
    case '=':
      return (v) => v === m.value;
    case '!=':
      return (v) => v !== m.value;
    case '=~': {
      const re = compileAnchoredRe2(m.value);
      return (v) => re.test(v);
    }
    case '!~': {
      const re = compileAnchoredRe2(m.value);
      return (v) => !re.test(v);
    }
  }
}

function compare(op: NumericOp, a: number, b: number): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
  }
}

function numericTest(name: string, op: NumericOp, want: number, parse: (s: string) => Parsed): LabelTest {
  return (st) => {
    const v = st.labels.get(name);
    if (v === undefined) return false;
    const p = parse(v);
    if (!p.ok) {
      // Loki keeps an earlier (more useful) error
      if (st.err === '') st.setError(LABEL_FILTER_ERR, p.error);
      return true;
    }
    return compare(op, p.value, want);
  };
}

export function compileLabelFilter(f: LabelFilterExpr): LabelTest {
  switch (f.kind) {
    case 'string': {
      const match = compileMatcher(f.matcher);
      const name = f.matcher.name;
      return (st) => match(st.get(name) ?? '');
    }
    case 'number':
      return numericTest(f.name, f.op, f.value, parseGoFloat);
    case 'duration':
      return numericTest(f.name, f.op, f.valueNs, parseGoDuration);
    case 'bytes':
      return numericTest(f.name, f.op, f.value, parseHumanBytes);
    case 'ip': {
      const m = compileIpPattern(f.value);
      const name = f.name;
      const eq = f.op === '=';
      return (st) => {
        if (st.err !== '') return true;
        const v = st.labels.get(name);
        if (v === undefined) return false;
        const a = parseAddr(v.trim());
        const inside = a !== null && m(a);
        return eq ? inside : !inside;
      };
    }
    case 'binary': {
      const l = compileLabelFilter(f.left);
      const r = compileLabelFilter(f.right);
      if (f.op === 'or') return (st) => l(st) || r(st);
      // Loki evaluates the right side even when the left one failed (it may set an error)
      return (st) => {
        const a = l(st);
        const b = r(st);
        return a && b;
      };
    }
  }
}
