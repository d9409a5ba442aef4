import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Expr } from '../ast.ts';
import { Labels } from '../labels.ts';
import type { QueryResult, Value } from '../value.ts';
import { almostEqual, checkAnnotations, compareLabels, compareResult } from './compare.ts';
import type { EngineApi } from './engine-api.ts';
import { MemoryStorage } from './memory-storage.ts';
import { runScript, withAtModifiers } from './runner.ts';
import { parseScript, type EvalCmd } from './script.ts';

const L = (r: Record<string, string>): Labels => Labels.fromRecord(r);

function evalOf(text: string): EvalCmd {
  const ev = parseScript(text, 't.test').find((c): c is EvalCmd => c.kind === 'eval');
  assert.ok(ev);
  return ev;
}

const instant = { startMs: 0, endMs: 0, stepMs: 0 };

test('almostEqual: relative tolerance, NaN equals NaN', () => {
  assert.ok(almostEqual(1, 1 + 1e-7));
  assert.ok(!almostEqual(1, 1 + 1e-5));
  assert.ok(almostEqual(1e20, 1e20 * (1 + 1e-7)));
  assert.ok(almostEqual(NaN, NaN));
  assert.ok(!almostEqual(NaN, 1));
  assert.ok(almostEqual(Infinity, Infinity));
  assert.ok(!almostEqual(Infinity, -Infinity));
  assert.ok(!almostEqual(0, 1e-300));
  assert.ok(almostEqual(0, -0));
});

test('vectors compare as sets unless ordered', () => {
  const ev = evalOf('eval instant at 0 x\n  x{a="1"} 1\n  x{a="2"} 2\n');
  const v = (order: string[]): Value => ({
    type: 'vector',
    samples: order.map((a) => ({ metric: L({ __name__: 'x', a }), t: 0, v: Number(a) })),
  });
  assert.equal(compareResult(ev, v(['2', '1']), instant), null);
  assert.match(compareResult(ev, v(['1']), instant) ?? '', /not found/);
  assert.match(compareResult(ev, v(['1', '2', '3']), instant) ?? '', /unexpected metric/);
  const ordered = evalOf('eval instant at 0 x\n  expect ordered\n  x{a="1"} 1\n  x{a="2"} 2\n');
  assert.equal(compareResult(ordered, v(['1', '2']), instant), null);
  assert.match(compareResult(ordered, v(['2', '1']), instant) ?? '', /position/);
  // wrong value, NaN
  const nan = evalOf('eval instant at 0 x\n  x NaN\n');
  assert.equal(
    compareResult(
      nan,
      { type: 'vector', samples: [{ metric: L({ __name__: 'x' }), t: 0, v: NaN }] },
      instant,
    ),
    null,
  );
  assert.match(
    compareResult(
      nan,
      { type: 'vector', samples: [{ metric: L({ __name__: 'x' }), t: 0, v: 1 }] },
      instant,
    ) ?? '',
    /expected NaN/,
  );
  // dropName is applied before comparing
  const dropped = evalOf('eval instant at 0 x\n  {a="1"} 1\n');
  assert.equal(
    compareResult(
      dropped,
      { type: 'vector', samples: [{ metric: L({ __name__: 'x', a: '1' }), t: 0, v: 1, dropName: true }] },
      instant,
    ),
    null,
  );
  // an empty expectation matches an empty vector only
  const empty = evalOf('eval instant at 0 x\n');
  assert.equal(compareResult(empty, { type: 'vector', samples: [] }, instant), null);
});

test('scalars, strings and matrices', () => {
  const sc = evalOf('eval instant at 0 1\n  1.0000001\n');
  assert.equal(compareResult(sc, { type: 'scalar', t: 0, v: 1 }, instant), null);
  assert.match(compareResult(sc, { type: 'vector', samples: [] }, instant) ?? '', /expected scalar/);
  const str = evalOf('eval instant at 0 "a"\n  expect string "a"\n');
  assert.equal(compareResult(str, { type: 'string', t: 0, s: 'a' }, instant), null);
  assert.match(compareResult(str, { type: 'string', t: 0, s: 'b' }, instant) ?? '', /expected string/);

  const rng = evalOf('eval range from 0 to 2m step 1m x\n  x{a="1"} 1 _ 3\n  x{a="2"} 1+1x2\n');
  const range = { startMs: 0, endMs: 120_000, stepMs: 60_000 };
  const m = (s1: { t: number; v: number }[], s2: { t: number; v: number }[]): Value => ({
    type: 'matrix',
    series: [
      { metric: L({ __name__: 'x', a: '1' }), points: s1 },
      { metric: L({ __name__: 'x', a: '2' }), points: s2 },
    ],
  });
  const full = [
    { t: 0, v: 1 },
    { t: 60_000, v: 2 },
    { t: 120_000, v: 3 },
  ];
  const gap = [
    { t: 0, v: 1 },
    { t: 120_000, v: 3 },
  ];
  assert.equal(compareResult(rng, m(gap, full), range), null);
  assert.match(compareResult(rng, m(full, full), range) ?? '', /expected 2 float points/);
  assert.match(
    compareResult(
      rng,
      m(gap, [
        { t: 0, v: 1 },
        { t: 60_000, v: 2 },
        { t: 120_000, v: 4 },
      ]),
      range,
    ) ?? '',
    /expected 3 at t=120000/,
  );
  // matrices must be sorted by labels
  const sorted = m(gap, full);
  assert.ok(sorted.type === 'matrix');
  const unsorted: Value = { type: 'matrix', series: [...sorted.series].reverse() };
  assert.match(compareResult(rng, unsorted, range) ?? '', /sorted/);
  assert.ok(compareLabels(L({ a: '1' }), L({ a: '2' })) < 0);
  assert.ok(compareLabels(L({ a: '1' }), L({ a: '1', b: '1' })) < 0);
});

test('annotations: warn/info with msg and regex, no_warn/no_info, legacy forms', () => {
  const ev = evalOf('eval instant at 0 x\n  expect warn msg: w1\n  expect info regex: ^i\n');
  assert.equal(
    checkAnnotations(ev, [
      { level: 'warn', message: 'w1' },
      { level: 'info', message: 'info one' },
    ]),
    null,
  );
  assert.match(checkAnnotations(ev, [{ level: 'info', message: 'info one' }]) ?? '', /warn annotations/);
  assert.match(
    checkAnnotations(ev, [
      { level: 'warn', message: 'w1' },
      { level: 'warn', message: 'w2' },
      { level: 'info', message: 'i' },
    ]) ?? '',
    /unexpected warn annotation "w2"/,
  );
  const none = evalOf('eval instant at 0 x\n  expect no_warn\n  expect no_info\n');
  assert.equal(checkAnnotations(none, []), null);
  assert.match(checkAnnotations(none, [{ level: 'info', message: 'i' }]) ?? '', /unexpected info/);
  // without expect lines annotations are not checked
  assert.equal(checkAnnotations(evalOf('eval instant at 0 x\n'), [{ level: 'warn', message: 'w' }]), null);
  assert.match(checkAnnotations(evalOf('eval_warn instant at 0 x\n'), []) ?? '', /expected warnings/);
  assert.equal(
    checkAnnotations(evalOf('eval_info instant at 0 x\n'), [{ level: 'info', message: 'i' }]),
    null,
  );
});

test('memory storage: matchers with anchored regexes, time range, stale mask', async () => {
  const st = new MemoryStorage();
  st.add(L({ __name__: 'm', job: 'api' }), [
    { t: 0, v: 1, stale: false },
    { t: 10, v: NaN, stale: true },
    { t: 20, v: 3, stale: false },
  ]);
  st.add(L({ __name__: 'm', job: 'apiserver' }), [{ t: 0, v: 5, stale: false }]);
  const sel = async (m: { name: string; type: '=' | '!=' | '=~' | '!~'; value: string }[], a = 0, b = 100) =>
    (await st.select(m, a, b)).map((s) => s.labels.get('job')).sort();
  assert.deepEqual(await sel([{ name: 'job', type: '=~', value: 'api' }]), ['api']);
  assert.deepEqual(await sel([{ name: 'job', type: '=~', value: 'api.*' }]), ['api', 'apiserver']);
  assert.deepEqual(await sel([{ name: 'job', type: '!~', value: 'api' }]), ['apiserver']);
  assert.deepEqual(await sel([{ name: 'job', type: '=~', value: 'API|x' }]), []);
  assert.deepEqual(await sel([{ name: 'job', type: '=~', value: '(?i)API' }]), ['api']);
  assert.deepEqual(await sel([{ name: 'nope', type: '=', value: '' }]), ['api', 'apiserver']);
  assert.deepEqual(await sel([{ name: 'job', type: '!=', value: 'api' }]), ['apiserver']);
  assert.deepEqual(await sel([{ name: '__name__', type: '=', value: 'm' }], 5, 25), ['api']);
  const [s] = await st.select([{ name: 'job', type: '=', value: 'api' }], 5, 25);
  assert.ok(s);
  assert.deepEqual([...s.t], [10, 20]);
  assert.deepEqual([...(s.stale ?? [])], [1, 0]);
  const [s2] = await st.select([{ name: 'job', type: '=', value: 'api' }], 15, 25);
  assert.equal(s2?.stale, null);
});

test('withAtModifiers pins selectors but not those inside subqueries', () => {
  const vs = (name: string): Expr => ({
    type: 'VectorSelector',
    name,
    matchers: [{ name: '__name__', type: '=', value: name }],
    offsetMs: 0,
    at: null,
    pos: { start: 0, end: 0 },
  });
  const expr: Expr = {
    type: 'BinaryExpr',
    op: '+',
    lhs: vs('a'),
    rhs: {
      type: 'SubqueryExpr',
      expr: vs('b'),
      rangeMs: 60_000,
      stepMs: 0,
      offsetMs: 0,
      at: null,
      pos: { start: 0, end: 0 },
    },
    returnBool: false,
    matching: null,
    pos: { start: 0, end: 0 },
  };
  const { expr: out, unsafe } = withAtModifiers(expr, 5000);
  assert.equal(unsafe, false);
  assert.ok(
    out.type === 'BinaryExpr' && out.lhs.type === 'VectorSelector' && out.rhs.type === 'SubqueryExpr',
  );
  assert.deepEqual(out.lhs.at, { kind: 'time', timeMs: 5000 });
  assert.deepEqual(out.rhs.at, { kind: 'time', timeMs: 5000 });
  assert.ok(out.rhs.expr.type === 'VectorSelector' && out.rhs.expr.at === null);
  assert.ok(expr.lhs.type === 'VectorSelector' && expr.lhs.at === null, 'the input is not modified');
  const call: Expr = { type: 'Call', func: 'time', args: [], pos: { start: 0, end: 0 } };
  assert.equal(withAtModifiers(call, 0).unsafe, true);
});

/** A fake engine: the query text is a number literal `n` → vector `x` with value n, or `fail`/`hang`/`crash`. */
function fakeEngine(): EngineApi {
  class FakeError extends Error {}
  const lit = (q: string): Expr => ({ type: 'StringLiteral', val: q, pos: { start: 0, end: q.length } });
  const result = (expr: Expr, t: number): QueryResult => {
    const q = expr.type === 'StringLiteral' ? expr.val : '';
    if (q === 'fail') throw new FakeError('boom');
    if (q === 'crash') throw new TypeError('x is undefined');
    if (q === 'scalar') return { value: { type: 'scalar', t, v: 7 }, annotations: [] };
    return {
      value: { type: 'vector', samples: [{ metric: L({ __name__: 'x' }), t, v: Number(q) }] },
      annotations: q === '2' ? [{ level: 'warn', message: 'two' }] : [],
    };
  };
  return {
    parseExpr: (q) => {
      if (q === 'syntax(') throw new FakeError('1:7: parse error: unclosed left parenthesis');
      return lit(q);
    },
    instantQuery: (_st, expr, t) =>
      expr.type === 'StringLiteral' && expr.val === 'hang' ? new Promise(() => {}) : result(expr, t),
    rangeQuery: (_st, expr, start, end, step) => {
      const pts: { t: number; v: number }[] = [];
      for (let t = start; t <= end; t += step) {
        const r = result(expr, t).value;
        if (r.type === 'vector' && r.samples[0]) pts.push({ t, v: r.samples[0].v });
        if (r.type === 'scalar') pts.push({ t, v: r.v });
      }
      const value: Value = {
        type: 'matrix',
        series: [
          {
            metric: L(expr.type === 'StringLiteral' && expr.val === 'scalar' ? {} : { __name__: 'x' }),
            points: pts,
          },
        ],
      };
      return { value, annotations: [] };
    },
    errorClasses: [FakeError],
  };
}

test('runner: eval outcomes with a fake engine', async () => {
  const script = `
load 1m
  x 1

eval instant at 1m 1
  x 1

eval instant at 1m 1
  x 2

eval instant at 1m fail
  expect fail msg: boom

eval instant at 1m fail
  expect fail regex: ^nope

eval instant at 1m crash
  expect fail

eval instant at 1m 1
  expect fail

eval instant at 1m syntax(
  expect fail regex: unclosed

eval instant at 1m 2
  expect warn msg: two
  x 2

eval instant at 1m 2
  expect no_warn
  x 2

eval instant at 1m hang
  x 1

eval range from 0 to 2m step 1m 3
  x 3 3 3

eval instant at 1m scalar
  7
`;
  const results = await runScript(script, 's.test', fakeEngine(), { timeoutMs: 200 });
  const byLine = new Map(results.map((r) => [r.line, r]));
  const ok = (line: number): boolean | undefined => byLine.get(line)?.ok;
  assert.equal(results.length, 12);
  assert.equal(ok(5), true);
  assert.equal(ok(8), false);
  assert.equal(ok(11), true);
  assert.equal(ok(14), false);
  assert.equal(ok(17), false, 'a TypeError is not an expected failure');
  assert.equal(ok(20), false, 'expected an error but got none');
  assert.equal(ok(23), false, 'a query that does not parse never passes');
  assert.equal(ok(26), true);
  assert.equal(ok(30), false);
  assert.equal(ok(34), false);
  assert.match(byLine.get(34)?.reason ?? '', /timed out/);
  assert.equal(ok(37), true);
  assert.equal(ok(40), true);
  assert.equal(byLine.get(5)?.id, 's.test:5');
});

test('runner: a missing engine fails every eval with the reason', async () => {
  const results = await runScript(
    'eval instant at 0 1\n  1\n\neval instant at 0 2\n  2\n',
    'e.test',
    'engine not available',
  );
  assert.deepEqual(
    results.map((r) => [r.ok, r.reason]),
    [
      [false, 'engine not available'],
      [false, 'engine not available'],
    ],
  );
});
