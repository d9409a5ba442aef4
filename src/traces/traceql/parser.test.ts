import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TraceQLError } from './lexer.ts';
import { parseTraceQL } from './parser.ts';

const err = (q: string): string => {
  try {
    parseTraceQL(q);
  } catch (e) {
    assert.ok(e instanceof TraceQLError, String(e));
    return e.message;
  }
  assert.fail(`parsed: ${q}`);
};

test('spansets, conditions and precedence', () => {
  assert.deepEqual(parseTraceQL('{ }').root, { k: 'filter', cond: null });
  assert.deepEqual(parseTraceQL('{}').root, { k: 'filter', cond: null });
  const q = parseTraceQL('{ a.b = 1 }'.replace('a.b', 'span.http.status_code'));
  assert.deepEqual(q.root, {
    k: 'filter',
    cond: {
      k: 'binary',
      op: '=',
      l: { k: 'attr', scope: 'span', name: 'http.status_code', text: 'span.http.status_code' },
      r: { k: 'static', v: { t: 'int', v: 1 } },
    },
  });
  // && and || have equal precedence, left-associative, above the structural operators
  const r = parseTraceQL('{ } > { } && { } >> { }').root;
  assert.equal(r.k === 'op' && r.op, '&&');
  const arith = parseTraceQL('{ span.a / 100 = 5 }').root;
  assert.equal(arith.k === 'filter' && arith.cond?.k === 'binary' && arith.cond.op, '=');
});

test('values: durations, enums, quoted names, scoped intrinsics', () => {
  const c = (q: string) => {
    const r = parseTraceQL(q).root;
    assert.ok(r.k === 'filter' && r.cond?.k === 'binary');
    return r.cond;
  };
  assert.deepEqual(c('{ duration > 1.5s }').r, { k: 'static', v: { t: 'duration', v: 1_500_000_000 } });
  assert.deepEqual(c('{ duration < 70us }').r, { k: 'static', v: { t: 'duration', v: 70_000 } });
  assert.deepEqual(c('{ status = error }').r, { k: 'static', v: { t: 'status', v: 2 } });
  assert.deepEqual(c('{ kind = consumer }').r, { k: 'static', v: { t: 'kind', v: 5 } });
  assert.deepEqual(c('{ nestedSetParent = -1 }').r, { k: 'static', v: { t: 'int', v: -1 } });
  assert.deepEqual(c('{ span."http.route" = "/x" }').l, {
    k: 'attr',
    scope: 'span',
    name: 'http.route',
    text: 'span.http.route',
  });
  assert.deepEqual(c('{ trace:rootService = "api" }').l, {
    k: 'intrinsic',
    name: 'rootServiceName',
    text: 'trace:rootService',
  });
  assert.deepEqual(c('{ .db.system = "x" }').l, {
    k: 'attr',
    scope: 'none',
    name: 'db.system',
    text: '.db.system',
  });
});

test('pipelines and hints', () => {
  const r = parseTraceQL(
    '{ status = error } | by(resource.service.name) | count() > 1 | select(name) with (sample=true)',
  );
  assert.equal(r.root.k, 'pipeline');
  assert.deepEqual(r.hints, ['sample=true']);
  const p = r.root.k === 'pipeline' ? r.root.stages : [];
  assert.deepEqual(
    p.map((s) => s.k),
    ['by', 'scalar', 'select'],
  );
  assert.equal(p[0]!.k === 'by' && p[0]!.text, 'by(resource.service.name)');
});

test("Tempo's error texts", () => {
  assert.equal(err('{ .foo = }'), 'parse error at line 1, col 10: syntax error: unexpected }');
  assert.equal(
    err('{ resource.service.name = "api" '),
    'parse error at line 1, col 33: syntax error: unexpected $end',
  );
  assert.equal(err("{ name = 'single' }"), 'parse error at line 1, col 10: invalid char literal');
  assert.equal(
    err('{ duration > 5xs }'),
    'parse error at line 1, col 15: syntax error: unexpected IDENTIFIER',
  );
  assert.equal(
    err('{ status = failed }'),
    'parse error at line 1, col 12: syntax error: unexpected IDENTIFIER',
  );
  assert.equal(
    err('{ span.a = 1 } >>> { }'),
    'parse error at line 1, col 18: syntax error: unexpected >, expecting { or (',
  );
  assert.equal(err('{ } | select()'), 'parse error at line 1, col 14: syntax error: unexpected )');
  assert.equal(err('{ }}'), 'parse error at line 1, col 4: syntax error: unexpected }, expecting with');
  assert.equal(
    err('{ } with (sample=true) | count() > 38'),
    'parse error at line 1, col 24: syntax error: unexpected |, expecting with',
  );
  assert.equal(
    err('{ } | avg(name) > 2'),
    'aggregate field expressions must resolve to a number type: avg(name)',
  );
  assert.equal(err('{ childCount > 8 }'), 'intrinsic (childCount) not yet supported');
  assert.equal(err('{ span.a = nil }'), '{.a = nil} not yet supported');
  assert.equal(err('{ name = 1 }'), 'binary operations must operate on the same type: name = 1');
  assert.match(err('{ name =~ "(" }'), /error parsing regexp/);
  assert.doesNotThrow(() => parseTraceQL('{ span.a != nil }'));
});
