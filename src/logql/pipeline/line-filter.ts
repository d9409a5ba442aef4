/**
 * Line filters: `|=` contains, `!=` not contains, `|~` / `!~` RE2 regexp (unanchored), `|>` / `!>`
 * pattern, and `ip("...")`. With `or` alternatives a positive filter keeps a line that matches
 * any alternative; a negative one keeps a line that matches none of them (Loki: `!= "a" or "b"`
 * drops lines containing "a" and lines containing "b").
 */
import type { LineFilterStage, LineFilterValue } from '../ast.ts';
import { badRequest } from '../../lib/errors.ts';
import { compileIpPattern, lineHasIp } from './ip.ts';
import { compilePattern } from './pattern.ts';
import { compileUnanchored } from './regex.ts';

export type LineTest = (line: string) => boolean;

function positiveTest(op: LineFilterStage['op'], v: LineFilterValue): LineTest {
  if (v.kind === 'ip') {
    if (op !== '|=' && op !== '!=') throw badRequest(`ip() line filters work only with |= and !=, not ${op}`);
    const m = compileIpPattern(v.value);
    return (line) => lineHasIp(line, m);
  }
  const s = v.value;
  switch (op) {
    case '|=':
    case '!=':
      if (s === '') return () => true;
      return (line) => line.includes(s);
    case '|~':
    case '!~': {
      const re = compileUnanchored(s);
      return (line) => re.test(line);
    }
    case '|>':
    case '!>': {
      const p = compilePattern(s, false);
      return (line) => p.test(line);
    }
  }
}

export function compileLineFilter(stage: LineFilterStage): LineTest {
  const tests = stage.values.map((v) => positiveTest(stage.op, v));
  const negative = stage.op === '!=' || stage.op === '!~' || stage.op === '!>';
  if (tests.length === 1) {
    const t = tests[0]!;
    return negative ? (line) => !t(line) : t;
  }
  if (negative) return (line) => !tests.some((t) => t(line));
  return (line) => tests.some((t) => t(line));
}

/** Several filters in a row, all of which must pass. */
export function allOf(tests: LineTest[]): LineTest {
  if (tests.length === 1) return tests[0]!;
  return (line) => {
    for (const t of tests) if (!t(line)) return false;
    return true;
  };
}
