import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLogSelector } from '../ast.ts';
import { parseLogQL } from '../parser/index.ts';
import { compilePipeline } from './index.ts';
import { entry } from './test-helpers.ts';

/** Runs the pipeline of a parsed log query over one line. */
function run(query: string, line: string, stream: Record<string, string> = { job: 'a' }, ts = 0n) {
  const e = parseLogQL(query);
  assert.ok(isLogSelector(e));
  const r = compilePipeline(e.pipeline).process({ ...entry(line, stream, {}), ts });
  return r === null ? null : { line: r.line, labels: Object.fromEntries(r.labels) };
}

const parseError = (query: string): string => {
  try {
    parseLogQL(query);
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail(`${query} parsed`);
};

describe('line_format', () => {
  it('replaces the line; templates see labels, __line__ and __timestamp__', () => {
    const r = run(
      '{job="a"} | logfmt | line_format `{{.level | upper}} {{ __line__ | len }} {{ __timestamp__ | unixEpoch }}`',
      'level=info msg=hi',
      { job: 'a' },
      1_767_225_600_000_000_000n,
    );
    assert.deepEqual(r, {
      line: 'INFO 17 1767225600',
      labels: { job: 'a', level: 'info', msg: 'hi' },
    });
  });

  it('a missing label renders as the empty string', () => {
    assert.equal(run('{job="a"} | line_format "[{{.nope}}]"', 'x')?.line, '[]');
  });

  it("a failed render keeps the line and sets TemplateFormatErr with Go's message", () => {
    assert.deepEqual(run('{job="a"} | line_format "{{ div 1 0 }}"', 'original'), {
      line: 'original',
      labels: {
        job: 'a',
        __error__: 'TemplateFormatErr',
        __error_details__:
          'template: line:1:3: executing "line" at <div 1 0>: error calling div: runtime error: integer divide by zero',
      },
    });
  });

  it('templates see the pipeline error of an earlier stage', () => {
    const r = run('{job="a"} | json | line_format "{{.__error__}}"', 'not json');
    assert.equal(r?.line, 'JSONParserErr');
  });

  it('line filters after it test the formatted line', () => {
    assert.equal(run('{job="a"} | line_format "B" |= "B"', 'A')?.line, 'B');
    assert.equal(run('{job="a"} | line_format "B" |= "A"', 'A'), null);
  });

  it("an invalid template is a parse error in Loki's words", () => {
    assert.equal(
      parseError('{job="a"} | line_format "{{ .a "'),
      'parse error : stage \'| line_format "{{ .a "\' : invalid line template: template: line:1: unclosed action',
    );
    assert.match(
      parseError('{job="a"} | line_format "{{ nope }}"'),
      /invalid line template: template: line:1: function "nope" not defined$/,
    );
  });
});

describe('label_format', () => {
  it('renames (the source goes) and templates', () => {
    // the rename comes before the stage's first template, which therefore sees it
    const r = run(
      '{job="a"} | logfmt | label_format who=user, both="{{.who}}-{{.user}}-{{.job}}"',
      'user=bob',
    );
    assert.deepEqual(r?.labels, { job: 'a', who: 'bob', both: 'bob--a' });
  });

  it('renaming a missing label changes nothing; a stream label can be renamed', () => {
    assert.deepEqual(run('{job="a"} | label_format x=nope', 'l')?.labels, { job: 'a' });
    assert.deepEqual(run('{job="a"} | label_format service=job', 'l')?.labels, { service: 'a' });
  });

  it('the templates of one stage read the labels as they were at its first template', () => {
    const r = run('{job="a"} | label_format x="1", y="{{.x}}|{{.job}}", job=x', 'l', { job: 'a' });
    // y does not see x="1" (same stage); the rename after the templates moves x to job
    assert.deepEqual(r?.labels, { y: '|a', job: '1' });
    // a second stage sees the first one's results
    const r2 = run('{job="a"} | label_format x="1" | label_format y="{{.x}}"', 'l');
    assert.deepEqual(r2?.labels, { job: 'a', x: '1', y: '1' });
  });

  it('templates see __line__ and the line is unchanged', () => {
    const r = run('{job="a"} | label_format first=`{{ substr 0 3 __line__ }}`', 'abcdef');
    assert.deepEqual(r, { line: 'abcdef', labels: { job: 'a', first: 'abc' } });
  });

  it('a failed render leaves the label alone and sets TemplateFormatErr', () => {
    const r = run('{job="a"} | label_format job="{{ div 1 0 }}", ok="y"', 'l');
    assert.equal(r?.labels.job, 'a');
    assert.equal(r?.labels.ok, 'y');
    assert.equal(r?.labels.__error__, 'TemplateFormatErr');
    assert.match(r?.labels.__error_details__ ?? '', /^template: label:1:3: executing "label" at <div 1 0>/);
  });

  it('rejects __error__ as a target, a target named twice and an invalid template (parse errors)', () => {
    assert.equal(
      parseError('{job="a"} | label_format __error__="x"'),
      'parse error : stage \'| label_format __error__="x"\' : __error__ cannot be formatted',
    );
    assert.match(
      parseError('{job="a"} | label_format a=b, a="{{.c}}"'),
      /: multiple label name 'a' not allowed in a single format operation$/,
    );
    assert.match(
      parseError('{job="a"} | label_format a="{{ .b "'),
      /: invalid template for label 'a': template: label:1: unclosed action$/,
    );
  });
});

describe('bytes label filters (recorded labelfilter-15)', () => {
  it('compare with the bound as Loki prints it: `>= 1KiB` keeps 1KB, `< 2KB` drops 2KB', () => {
    const q = '{job="a"} | logfmt | bytes >= 1KiB and bytes < 2KB';
    for (const [v, kept] of [
      ['999B', false],
      ['1KB', true],
      ['1KiB', true],
      ['1.9KiB', true],
      ['2KB', false],
      ['2KiB', false],
    ] as const)
      assert.equal(run(q, `bytes=${v}`) !== null, kept, v);
  });
});
