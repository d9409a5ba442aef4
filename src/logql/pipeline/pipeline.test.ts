import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PipelineStage } from '../ast.ts';
import { MoleError } from '../../lib/errors.ts';
import { compileExtractor, compileLineFilter, compilePipeline } from './index.ts';
import {
  and,
  bytes,
  decolorize,
  drop,
  dur,
  entry,
  json,
  keep,
  lbl,
  lf,
  lfIp,
  logfmt,
  m,
  num,
  or,
  pattern,
  regexp,
  str,
  unpack,
  unwrap,
} from './test-helpers.ts';

const run = (
  stages: PipelineStage[],
  line: string,
  stream: Record<string, string> = {},
  md: Record<string, string> = {},
) => {
  const r = compilePipeline(stages).process(entry(line, stream, md));
  return r === null ? null : { line: r.line, labels: Object.fromEntries(r.labels) };
};
const keeps = (stages: PipelineStage[], line: string) => run(stages, line) !== null;

describe('line filters', () => {
  it('contains / not contains, with or', () => {
    assert.ok(keeps([lf('|=', 'err')], 'an error'));
    assert.ok(!keeps([lf('|=', 'ERR')], 'an error'));
    assert.ok(keeps([lf('|=', 'x', 'err')], 'an error'));
    assert.ok(keeps([lf('|=', '')], ''));
    // a negative filter with or drops a line containing any alternative
    assert.ok(!keeps([lf('!=', 'error', 'ERROR')], 'an ERROR'));
    assert.ok(!keeps([lf('!=', 'error', 'ERROR')], 'an error'));
    assert.ok(keeps([lf('!=', 'error', 'ERROR')], 'fine'));
  });
  it('RE2 regexps are unanchored; (?i) works; . stops at newline', () => {
    assert.ok(keeps([lf('|~', 'err(or)?')], 'an error here'));
    assert.ok(keeps([lf('|~', '(?i)ERROR')], 'an error'));
    assert.ok(!keeps([lf('!~', '^an')], 'an error'));
    assert.ok(!keeps([lf('|~', 'a.b')], 'a\nb'));
    assert.ok(keeps([lf('|~', '" 5\\d\\d ')], 'GET /x HTTP/1.1" 503 12'));
  });
  it('rejects catastrophic and invalid regexps with a 400', () => {
    for (const re of ['(a+)+$', '(.*a){2,}', '(a|a)*b', '(\\w|\\d)+x']) {
      assert.throws(
        () =>
          compileLineFilter({
            type: 'LineFilter',
            op: '|~',
            values: [{ kind: 'string', value: re }],
            pos: { start: 0, end: 0 },
          }),
        (e: unknown) => e instanceof MoleError && e.status === 400 && /exponential/.test(e.message),
        re,
      );
    }
    assert.throws(
      () => run([lf('|~', '(unclosed')], 'x'),
      (e: unknown) => e instanceof MoleError && e.status === 400,
    );
    for (const ok of ['(error|warn)+', 'a+b+c*', '(\\s|,)+', '[a-z]+(-[a-z]+)?', '(ab){3}'])
      assert.doesNotThrow(() => run([lf('|~', ok)], 'x'), ok);
  });
  it('ip() matches any address of the line', () => {
    assert.ok(keeps([lfIp('|=', '192.168.1.0/24')], 'from 10.0.0.1 to 192.168.1.77 ok'));
    assert.ok(!keeps([lfIp('|=', '192.168.1.0/24')], 'from 192.168.2.1'));
    assert.ok(keeps([lfIp('|=', '10.0.0.1-10.0.0.9')], 'ip=10.0.0.5,'));
    assert.ok(keeps([lfIp('|=', '::1')], 'at ::1 port'));
    assert.ok(keeps([lfIp('!=', '192.168.1.0/24')], 'from 192.168.2.1'));
  });
  it('pattern filters follow Loki rules', () => {
    assert.ok(keeps([lf('|>', '<_> timeout <_>')], 'a timeout b'));
    assert.ok(!keeps([lf('|>', '<_> timeout <_>')], 'a timeout '));
    assert.ok(!keeps([lf('|>', '<_> bar')], 'foo bar baz'));
    assert.ok(keeps([lf('|>', 'foo <_>')], 'foo bar baz'));
    assert.ok(keeps([lf('!>', '<_> x <_>')], 'no match'));
  });
  it('a line filter after decolorize / unpack tests the original line (Loki reorders)', () => {
    const colored = '\x1b[32mINFO\x1b[0m user logged in';
    assert.equal(run([decolorize(), lf('|~', '^INFO ')], colored), null);
    assert.deepEqual(run([decolorize()], colored)?.line, 'INFO user logged in');
    assert.equal(run([unpack(), lf('|=', '_entry')], '{"_entry":"x","a":"b"}')?.line, 'x');
  });
});

describe('json', () => {
  it('extracts every field, nested keys joined, arrays skipped, raw numbers and bools', () => {
    const r = run(
      [json()],
      '{"a":1.50,"b":{"c-d":"x","e":{"f":true}},"tags":["t"],"n":null,"1x":"y","s":"q\\"\\u00e9"}',
    );
    assert.deepEqual(r?.labels, { a: '1.50', b_c_d: 'x', b_e_f: 'true', _1x: 'y', s: 'q"é' });
  });
  it('renames a key that clashes with a stream label, not with structured metadata', () => {
    const r = run([json()], '{"level":"info","trace_id":"t2"}', { level: 'error' }, { trace_id: 't1' });
    assert.deepEqual(r?.labels, { level: 'error', level_extracted: 'info', trace_id: 't2' });
  });
  it('keeps what was parsed before an error and reports jsonparser messages', () => {
    assert.deepEqual(run([json()], '{"a":"x","b" 2}')?.labels, {
      a: 'x',
      __error__: 'JSONParserErr',
      __error_details__: 'Malformed JSON error',
    });
    assert.equal(
      run([json()], 'INFO {"a":1}')?.labels.__error_details__,
      "Value looks like object, but can't find closing '}' symbol",
    );
    assert.equal(
      run([json()], '{"a":"x')?.labels.__error_details__,
      `Value is string, but can't find closing '"' symbol`,
    );
  });
  it('with parameters: paths, indexes, "" for missing, raw values', () => {
    const line = '{"a":{"b":"x","c":[1,2]},"tags":["t0","t1"],"o":{"k":1}}';
    const r = run(
      [json(['ab', 'a.b'], ['t', 'tags[1]'], ['q', 'a["b"]'], ['c1', 'a.c[1]'], ['miss', 'z'], ['o', 'o'])],
      line,
    );
    assert.deepEqual(r?.labels, { ab: 'x', t: 't1', q: 'x', c1: '2', miss: '', o: '{"k":1}' });
    assert.deepEqual(run([json('a')], 'text')?.labels, { a: '', __error__: 'JSONParserErr' });
  });
});

describe('logfmt', () => {
  const line = 'ts=1 level=info msg="hello world" user= empty ok=true';
  it('drops empty values unless --keep-empty', () => {
    assert.deepEqual(run([logfmt()], line)?.labels, {
      ts: '1',
      level: 'info',
      msg: 'hello world',
      ok: 'true',
    });
    assert.deepEqual(run([logfmt(false, true)], line)?.labels, {
      ts: '1',
      level: 'info',
      msg: 'hello world',
      user: '',
      empty: '',
      ok: 'true',
    });
  });
  it('sets an error only with --strict, keeping earlier labels', () => {
    assert.deepEqual(run([logfmt()], 'a=1 =orphan b=2')?.labels, { a: '1', b: '2' });
    assert.deepEqual(run([logfmt(true)], 'a=1 =orphan b=2')?.labels, {
      a: '1',
      __error__: 'LogfmtParserErr',
      __error_details__: "logfmt syntax error at pos 5 : unexpected '='",
    });
    assert.equal(
      run([logfmt(true)], 'a=1 b="open')?.labels.__error_details__,
      'logfmt syntax error at pos 12 : unterminated quoted value',
    );
  });
  it('with parameters renames keys and fills missing ones with ""', () => {
    assert.deepEqual(
      run([logfmt(false, false, 'msg', ['d', 'duration'], 'nope')], 'msg=hi duration=5ms x=1')?.labels,
      {
        msg: 'hi',
        d: '5ms',
        nope: '',
      },
    );
  });
});

describe('regexp, pattern, unpack', () => {
  it('regexp named groups', () => {
    assert.deepEqual(run([regexp('(?P<m>\\w+) (?P<p>\\S+)( (?P<opt>z))?')], 'GET /x')?.labels, {
      m: 'GET',
      p: '/x',
      opt: '',
    });
    assert.deepEqual(run([regexp('(?P<m>\\d+)')], 'none')?.labels, {});
    assert.throws(() => run([regexp('(\\w+)')], 'x'), /named capture/);
  });
  it('pattern captures, partial matches', () => {
    assert.deepEqual(run([pattern('<ip> - <_> "<method> <path>"')], '1.2.3.4 - u "GET /a"')?.labels, {
      ip: '1.2.3.4',
      method: 'GET',
      path: '/a',
    });
    assert.deepEqual(run([pattern('<lvl>: <msg>')], 'no colon here')?.labels, { lvl: 'no colon here' });
    assert.deepEqual(run([pattern('x<a> y')], 'z')?.labels, {});
    assert.throws(() => run([pattern('<a><b>')], 'x'), /consecutive capture/);
  });
  it('unpack: _entry becomes the line, other strings labels', () => {
    assert.deepEqual(run([unpack()], '{"_entry":"hi","pod":"p","n":1}', { job: 'x' }), {
      line: 'hi',
      labels: { job: 'x', pod: 'p' },
    });
    assert.deepEqual(run([unpack()], '{"pod":"p"}'), { line: '{"pod":"p"}', labels: {} });
    assert.equal(run([unpack()], 'text')?.labels.__error__, 'JSONParserErr');
  });
});

describe('label filters', () => {
  it('numeric, duration, bytes comparisons; a missing label drops the line', () => {
    const base = [logfmt()];
    assert.ok(run([...base, lbl(num('s', '>=', 500))], 's=503'));
    assert.equal(run([...base, lbl(num('s', '>=', 500))], 'x=1'), null);
    assert.ok(run([...base, lbl(dur('d', '>', 1e9))], 'd=1.5s'));
    assert.equal(run([...base, lbl(dur('d', '>', 1e9))], 'd=900ms'), null);
    assert.ok(run([...base, lbl(bytes('b', '>', 1e6))], 'b=3.1MiB'));
    assert.ok(run([...base, lbl(or(num('s', '==', 404), num('s', '==', 429)))], 's=429'));
    assert.equal(run([...base, lbl(and(num('s', '>', 1), str('u', '=', 'a')))], 's=2 u=b'), null);
  });
  it('a value that does not convert keeps the line with LabelFilterErr (an earlier error wins)', () => {
    assert.deepEqual(run([logfmt(), lbl(num('s', '>', 1))], 's=abc')?.labels, {
      s: 'abc',
      __error__: 'LabelFilterErr',
      __error_details__: 'strconv.ParseFloat: parsing "abc": invalid syntax',
    });
    assert.equal(
      run([logfmt(), lbl(dur('d', '>', 1))], 'd=5x')?.labels.__error_details__,
      'time: unknown unit "x" in duration "5x"',
    );
    assert.equal(run([json(), lbl(num('s', '>', 1))], '{"s":"x"')?.labels.__error__, 'JSONParserErr');
  });
  it('string matchers: missing is "", __error__ is the pipeline error', () => {
    assert.ok(run([lbl(str('x', '=', ''))], 'l'));
    assert.ok(run([json(), lbl(str('__error__', '!=', ''))], 'bad'));
    assert.equal(run([json(), lbl(str('__error__', '=', ''))], 'bad'), null);
    assert.ok(run([lbl(str('trace_id', '=~', '00.*'))], 'l', {}, { trace_id: '00ab' }));
    assert.equal(run([lbl(str('trace_id', '=~', '0'))], 'l', {}, { trace_id: '00ab' }), null);
  });
});

describe('drop and keep', () => {
  it('drop names, matchers and the error', () => {
    assert.deepEqual(run([logfmt(), drop('a', m('b', '=', 'x'), m('c', '=', 'y'))], 'a=1 b=x c=z')?.labels, {
      c: 'z',
    });
    assert.deepEqual(run([json(), drop('__error__', '__error_details__')], 'bad')?.labels, {});
  });
  it('keep removes stream labels too, but not the error', () => {
    assert.deepEqual(run([logfmt(), keep('a', m('b', '=~', 'x.*'))], 'a=1 b=y', { job: 'j' })?.labels, {
      a: '1',
    });
    assert.deepEqual(
      run([keep('host', 'pod')], 'l', { host: 'h', job: 'j' }, { pod: 'p', trace_id: 't' })?.labels,
      { host: 'h', pod: 'p' },
    );
    assert.deepEqual(run([json(), keep('a')], 'bad')?.labels, {
      __error__: 'JSONParserErr',
      __error_details__: "Value looks like object, but can't find closing '}' symbol",
    });
  });
});

describe('unwrap', () => {
  const ex = (stages: PipelineStage[], uw: ReturnType<typeof unwrap>, line: string) => {
    const r = compileExtractor(stages, uw).process(entry(line, { job: 'j' }));
    return r === null ? null : { value: r.value, labels: Object.fromEntries(r.labels) };
  };
  it('float, bytes, duration; the unwrapped label is removed', () => {
    assert.deepEqual(ex([logfmt()], unwrap('v'), 'v=1.5 x=y'), { value: 1.5, labels: { job: 'j', x: 'y' } });
    assert.equal(ex([logfmt()], unwrap('v', 'bytes'), 'v=12KB')?.value, 12000);
    assert.equal(ex([logfmt()], unwrap('v', 'duration'), 'v=230ms')?.value, 0.23);
    assert.equal(ex([logfmt()], unwrap('v', 'duration_seconds'), 'v=1m30s')?.value, 90);
  });
  it('a missing or empty label gives no sample', () => {
    assert.equal(ex([logfmt(false, true)], unwrap('v'), 'v= x=1'), null);
    assert.equal(ex([logfmt()], unwrap('v'), 'x=1'), null);
  });
  it('conversion errors in Go wording; post filters see them', () => {
    assert.deepEqual(ex([logfmt()], unwrap('v'), 'v=8.7MB'), {
      value: 0,
      labels: {
        job: 'j',
        __error__: 'SampleExtractionErr',
        __error_details__: 'strconv.ParseFloat: parsing "8.7MB": invalid syntax',
      },
    });
    assert.equal(
      ex([logfmt()], unwrap('v', 'duration'), 'v="request completed"')?.labels.__error_details__,
      'time: invalid duration "request completed"',
    );
    assert.equal(ex([logfmt()], unwrap('v', '', str('__error__', '=', '')), 'v=abc'), null);
  });
});
