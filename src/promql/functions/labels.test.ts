import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Labels } from '../labels.ts';
import type { Sample } from '../value.ts';
import { expandTemplate } from './labels.ts';
import { compileAnchored } from './re2.ts';
import { call, selector, str, vec } from './testing.ts';

const testmetric = vec([
  { labels: { __name__: 'testmetric', src: 'source-value-10', dst: 'original-destination-value' }, v: 0 },
  { labels: { __name__: 'testmetric', src: 'source-value-20', dst: 'original-destination-value' }, v: 1 },
]);

const names = (out: Sample[] | number): string[] => (out as Sample[]).map((s) => s.metric.toString());

function replace(dst: string, repl: string, src: string, re: string, input = testmetric): Sample[] {
  return call('label_replace', [input, str(dst), str(repl), str(src), str(re)], 0).out as Sample[];
}

describe('label_replace (functions.test)', () => {
  it('full-string match and replace', () => {
    assert.deepEqual(names(replace('dst', 'destination-value-$1', 'src', 'source-value-(.*)')), [
      'testmetric{dst="destination-value-10", src="source-value-10"}',
      'testmetric{dst="destination-value-20", src="source-value-20"}',
    ]);
  });
  it('no sub-string match', () => {
    assert.deepEqual(names(replace('dst', 'destination-value-$1', 'src', 'value-(.*)')), [
      'testmetric{dst="original-destination-value", src="source-value-10"}',
      'testmetric{dst="original-destination-value", src="source-value-20"}',
    ]);
  });
  it('multiple capture groups', () => {
    assert.deepEqual(names(replace('dst', '$1-value-$2', 'src', '(.*)-value-(.*)')), [
      'testmetric{dst="source-value-10", src="source-value-10"}',
      'testmetric{dst="source-value-20", src="source-value-20"}',
    ]);
  });
  it('missing source label: empty string, matched only by a pattern matching ""', () => {
    assert.deepEqual(
      names(replace('dst', 'value-$1', 'nonexistent-src', 'source-value-(.*)'))[0],
      'testmetric{dst="original-destination-value", src="source-value-10"}',
    );
    assert.deepEqual(
      names(replace('dst', 'value-$1', 'nonexistent-src', '(.*)'))[0],
      'testmetric{dst="value-", src="source-value-10"}',
    );
  });
  it('empty value drops the label', () => {
    assert.deepEqual(names(replace('dst', '', 'dst', '.*')), [
      'testmetric{src="source-value-10"}',
      'testmetric{src="source-value-20"}',
    ]);
  });
  it('invalid regex, invalid destination, duplicate output are errors', () => {
    assert.throws(
      () => replace('dst', 'value-$1', 'src', '(.*'),
      /invalid regular expression in label_replace\(\): \(\.\*/,
    );
    assert.throws(
      () => replace('\uFFFD', '', 'src', '(.*)'),
      /invalid destination label name in label_replace\(\)/,
    );
    assert.throws(() => replace('', '', 'src', '(.*)'), /invalid destination label name/);
    assert.throws(() => replace('src', '', '', ''), /vector cannot contain metrics with the same labelset/);
  });
  it('keeps dropName unless the destination is __name__ (name_label_dropping.test)', () => {
    const rated: Sample[] = [
      { metric: Labels.fromRecord({ __name__: 'metric_total', env: '1' }), t: 0, v: 0.2, dropName: true },
      {
        metric: Labels.fromRecord({ __name__: 'another_metric_total', env: '1' }),
        t: 0,
        v: 0.2,
        dropName: true,
      },
    ];
    const input = { type: 'vector' as const, samples: rated };
    const a = replace('my_name', 'rate_$1', '__name__', '(.+)', input);
    assert.deepEqual(
      a.map((s) => [s.metric.get('my_name'), s.dropName]),
      [
        ['rate_metric_total', true],
        ['rate_another_metric_total', true],
      ],
    );
    const b = replace('__name__', 'rate_$1', '__name__', '(.+)', input);
    assert.deepEqual(
      b.map((s) => [s.metric.get('__name__'), s.dropName]),
      [
        ['rate_metric_total', undefined],
        ['rate_another_metric_total', undefined],
      ],
    );
  });
  it('RE2 syntax: (?i), (?P<name>), $name / ${1} expansion, dot matches newline', () => {
    const v = vec([{ labels: { src: 'Foo-Bar' }, v: 1 }]);
    assert.equal(replace('dst', '${1}x', 'src', '(?i)foo-(bar)', v)[0]?.metric.get('dst'), 'Barx');
    assert.equal(replace('dst', '$word', 'src', 'Foo-(?P<word>\\w+)', v)[0]?.metric.get('dst'), 'Bar');
    // $1x is the (missing) group named "1x", as in Go
    assert.equal(replace('dst', '$1x', 'src', 'Foo-(Bar)', v)[0]?.metric.has('dst'), false);
    const nl = vec([{ labels: { src: 'a\nb' }, v: 1 }]);
    assert.equal(replace('dst', '$1', 'src', '(.*)', nl)[0]?.metric.get('dst'), 'a\nb');
  });
});

describe('label_join (functions.test)', () => {
  const join = (input: ReturnType<typeof vec>, dst: string, sep: string, ...src: string[]) =>
    names(call('label_join', [input, str(dst), str(sep), ...src.map(str)], 0).out);
  const tm = vec([
    {
      labels: { __name__: 'testmetric', src: 'a', src1: 'b', src2: 'c', dst: 'original-destination-value' },
      v: 0,
    },
    {
      labels: { __name__: 'testmetric', src: 'd', src1: 'e', src2: 'f', dst: 'original-destination-value' },
      v: 1,
    },
  ]);
  it('joins in order; missing labels are empty; empty result removes dst', () => {
    assert.equal(
      join(tm, 'dst', '-', 'src', 'src1', 'src2')[0],
      'testmetric{dst="a-b-c", src="a", src1="b", src2="c"}',
    );
    assert.equal(
      join(tm, 'dst', '-', 'src', 'src3', 'src1')[1],
      'testmetric{dst="d--e", src="d", src1="e", src2="f"}',
    );
    assert.equal(join(tm, 'dst', '', 'emptysrc', 'emptysrc1')[0], 'testmetric{src="a", src1="b", src2="c"}');
    assert.equal(join(tm, 'dst', ', ')[0], 'testmetric{src="a", src1="b", src2="c"}');
  });
  it('duplicates fail', () => {
    const dup = vec([
      { labels: { __name__: 'dup', label: 'a', this: 'a' }, v: 1 },
      { labels: { __name__: 'dup', label: 'b', this: 'a' }, v: 1 },
    ]);
    assert.throws(
      () => join(dup, 'label', '', 'this'),
      /vector cannot contain metrics with the same labelset/,
    );
  });
});

describe('absent (functions.test)', () => {
  const none = vec([]);
  const absent = (matchers: { name: string; type: '=' | '!=' | '=~' | '!~'; value: string }[]) =>
    (call('absent', [none], 0, [selector('nonexistent', matchers)]).out as Sample[]).map((s) =>
      s.metric.toString(),
    );
  it('labels from equality matchers only', () => {
    assert.deepEqual(absent([]), ['{}']);
    assert.deepEqual(
      absent([
        { name: 'job', type: '=', value: 'testjob' },
        { name: 'instance', type: '=', value: 'testinstance' },
        { name: 'method', type: '=~', value: '.x' },
      ]),
      ['{instance="testinstance", job="testjob"}'],
    );
    assert.deepEqual(
      absent([
        { name: 'job', type: '=', value: 'testjob' },
        { name: 'job', type: '=', value: 'testjob2' },
        { name: 'foo', type: '=', value: 'bar' },
      ]),
      ['{foo="bar"}'],
    );
    assert.deepEqual(
      absent([
        { name: 'job', type: '=', value: 'testjob' },
        { name: 'job', type: '=~', value: 'testjob2' },
        { name: 'foo', type: '=', value: 'bar' },
      ]),
      ['{foo="bar"}'],
    );
  });
  it('non-selector argument gives {}; a non-empty vector gives nothing', () => {
    assert.deepEqual(
      (
        call('absent', [none], 0, [{ type: 'NumberLiteral', val: 1, pos: { start: 0, end: 0 } }])
          .out as Sample[]
      ).length,
      1,
    );
    assert.deepEqual(call('absent', [vec([{ labels: { a: 'b' }, v: 1 }])], 0, [selector('x')]).out, []);
  });
});

describe('RE2 translation', () => {
  const m = (re: string, s: string) => compileAnchored(re).test(s);
  it('is fully anchored', () => {
    assert.equal(m('a', 'a'), true);
    assert.equal(m('a', 'ba'), false);
    assert.equal(m('a|b', 'b'), true);
    assert.equal(m('(?m)a$', 'a\nb'), false);
  });
  it('accepts RE2-only syntax', () => {
    assert.equal(m('\\Qa.b\\E', 'a.b'), true);
    assert.equal(m('\\Qa.b\\E', 'axb'), false);
    assert.equal(m('[[:alpha:]]+', 'abc'), true);
    assert.equal(m('\\pL+', 'héllo'), true);
    assert.equal(m('\\p{Greek}', 'λ'), true);
    assert.equal(m('a{', 'a{'), true);
    assert.equal(m('a{1,2}', 'aa'), true);
    assert.equal(m('x\\-y', 'x-y'), true);
    assert.equal(m('\\x{41}', 'A'), true);
    assert.equal(m('a(?i:b)c', 'aBc'), true);
    assert.equal(m('a(?i:b)c', 'aBC'), false);
    assert.equal(m('(?i)[a-c]+', 'AbC'), true);
    assert.equal(m('\\s', '\u00a0'), false);
    assert.equal(m('[]a]', ']'), true);
    assert.equal(m('(?i)k', '\u212A'), true);
  });
  it('rejects what RE2 rejects', () => {
    for (const bad of ['(.*', '(?=a)', '(?!a)', '(?<=a)b', '(a)\\1', 'a{1001}', '\\k<x>', 'a**', '(?U)a']) {
      assert.throws(() => compileAnchored(bad), Error, bad);
    }
  });
  it('expandTemplate follows regexp.Expand', () => {
    const r = /(?<first>a)(b)?/u.exec('a');
    assert.ok(r !== null);
    assert.equal(expandTemplate('$1|$2|${first}|$$|$|${x', r), 'a||a|$|$|${x');
  });
});
