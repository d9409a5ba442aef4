import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileTemplate, TemplateExecError, TemplateParseError } from './index.ts';

const LABELS = new Map([
  ['foo', 'blip'],
  ['bar', 'blop'],
  ['n', '20'],
  ['f', '10.5'],
  ['empty', ''],
  ['ws', '  padded \t'],
  ['json', '{"a":{"b":[1,2.5,"x"]},"ok":true}'],
  ['utf', 'Hello, 世界'],
]);
// 2022-06-27T18:05:24.120Z
const TS = 1656353124120000000n;

const render = (src: string, line = 'the line'): string =>
  compileTemplate(src).render({ line, ts: TS, labels: LABELS });

function table(cases: [string, string][], line?: string): void {
  for (const [src, want] of cases) {
    test(src, () => assert.equal(render(src, line), want));
  }
}

describe('language', () => {
  table([
    ['plain text', 'plain text'],
    ['{{.foo}}', 'blip'],
    ['a{{.missing}}b', 'ab'],
    ['foo{{.foo}}buzz{{  .bar  }}', 'fooblipbuzzblop'],
    ['{{/* a comment */}}x', 'x'],
    ['a  {{- .foo -}}  b', 'ablipb'],
    ['a {{- /* c */ -}} b', 'ab'],
    ['{{-3}}', '-3'],
    ['{{ "q\\"uote\\n" }}|{{ `raw\\n` }}', 'q"uote\n|raw\\n'],
    ["{{ 'a' }} {{ 0x1F }} {{ 1_000 }} {{ 2.0 }} {{ 1e3 }} {{ .5 }}", '97 31 1000 2 1000 0.5'],
    ['{{ true }} {{ false }} {{ print nil }}', 'true false <nil>'],
    ['{{ if eq .foo "blip" }}yes{{ else }}no{{ end }}', 'yes'],
    ['{{ if eq .foo "x" }}1{{ else if eq .bar "blop" }}2{{ else }}3{{ end }}', '2'],
    ['{{ if .missing }}1{{ else if .empty }}2{{ end }}', ''],
    ['{{ with .foo }}[{{ . }}]{{ else }}none{{ end }}', '[blip]'],
    ['{{ with .missing }}[{{ . }}]{{ else }}none{{ end }}', 'none'],
    ['{{ $x := .foo }}{{ $x }}-{{ $x = "z" }}{{ $x }}', 'blip-z'],
    ['{{ $.foo }} {{ with .bar }}{{ $.foo }}{{ . }}{{ end }}', 'blip blipblop'],
    ['{{ .foo | printf "%s-%s" .bar }}', 'blop-blip'],
    ['{{ (printf "%s!" .foo) | upper }}', 'BLIP!'],
    ['{{ range $i, $e := (fromJson .json).a.b }}{{ $i }}:{{ $e }} {{ end }}', '0:1 1:2.5 2:x '],
    ['{{ range $k, $v := fromJson .json }}{{ $k }},{{ end }}', 'a,ok,'],
    ['{{ range 3 }}{{ . }}{{ end }}', '012'],
    ['{{ range (fromJson "[]") }}x{{ else }}empty{{ end }}', 'empty'],
    [
      '{{ range $i, $e := fromJson "[1,2,3,4]" }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ if eq $i 3 }}{{ break }}{{ end }}{{ $e }}{{ end }}',
      '13',
    ],
    ['{{ (fromJson .json).a }}', 'map[b:[1 2.5 x]]'],
    ['{{ (fromJson .json).nope }}', '<no value>'],
    [
      '{{ and .foo .bar }} {{ and .foo .empty .bar }} {{ or .empty .bar }} {{ or .empty "" }}|{{ not .empty }}',
      'blop  blop |true',
    ],
    ['{{ len .foo }} {{ len .utf }} {{ index .foo 1 }} {{ index (fromJson .json) "ok" }}', '4 13 108 true'],
    ['{{ slice .foo 1 3 }}', 'li'],
    [
      '{{ eq .n "20" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1.5 2.5 }} {{ eq 3 1 2 3 }}',
      'true true true true true false true',
    ],
    ['{{ print "a" 1 2 "b" }}|{{ println "a" 1 }}|{{ print 1.5 true }}', 'a1 2b|a 1\n|1.5 true'],
    [
      '{{ html "<a href=\'x\'>&" }} {{ urlquery "a b&c" }} {{ js "it\'s <b>" }}',
      "&lt;a href=&#39;x&#39;&gt;&amp; a+b%26c it\\'s \\u003Cb\\u003E",
    ],
  ]);
});

describe('printf', () => {
  table([
    ['{{ printf "%s|%v|%q|%x|%X" .foo .foo .foo .foo .foo }}', 'blip|blip|"blip"|626c6970|626C6970'],
    [
      '{{ printf "%d|%5d|%-5d|%05d|%+d|%x|%o|%b" 42 42 42 42 42 255 8 5 }}',
      '42|   42|42   |00042|+42|ff|10|101',
    ],
    [
      '{{ printf "%f|%.2f|%.0f|%8.3f|%e|%g|%v" 3.14159 3.14159 2.5 3.14159 1234.5678 0.00001234 4600000.0 }}',
      '3.141590|3.14|2|   3.142|1.234568e+03|1.234e-05|4.6e+06',
    ],
    ['{{ printf "%t|%v|%c|%%" true false 65 }}', 'true|false|A|%'],
    ['{{ printf "%d" .foo }}', '%!d(string=blip)'],
    ['{{ printf "%s %s" .foo }}', 'blip %!s(MISSING)'],
    ['{{ printf "%s" .foo .bar }}', 'blip%!(EXTRA string=blop)'],
    ['{{ printf "%q" "a\\tb\\u00e9" }}', '"a\\tbé"'],
    [
      '{{ printf "%T %T %T %T" 1 1.5 "s" (int64 1) }}'.replace('(int64 1)', '(add 1)'),
      'int float64 string int64',
    ],
  ]);
});

describe('Loki and sprig functions', () => {
  table([
    ['{{ ToLower "ABC" }}{{ ToUpper .foo }}', 'abcBLIP'],
    ['{{ Replace .foo "i" "o" -1 }} {{ Replace "aaa" "a" "b" 2 }}', 'blop bba'],
    [
      '{{ Trim "xxaxx" "x" }}{{ TrimLeft "xxa" "x" }}{{ TrimRight "axx" "x" }}{{ TrimPrefix .foo "bl" }}{{ TrimSuffix .foo "ip" }}[{{ TrimSpace .ws }}]',
      'aaaipbl[padded]',
    ],
    [
      '{{ regexReplaceAll "(p)" .foo "t" }} {{ regexReplaceAll "l(?P<x>.)" .foo "${x}$1|" }} {{ regexReplaceAllLiteral "(p)" .foo "${1}" }}',
      'blit bii|p bli${1}',
    ],
    ['{{ regexReplaceAll "a*" "baaac" "-" }}', '-b-c-'],
    ['{{ count "l" "hello world" }} {{ count "[0-9]+" "a1b22c333" }}', '3 3'],
    ['{{ urlencode "a b/c?d=é" }} {{ urldecode "a+b%2Fc%3F" }}', 'a+b%2Fc%3Fd%3D%C3%A9 a b/c?'],
    [
      '{{ bytes "12KB" }} {{ bytes "3.1MiB" }} {{ bytes "1,024 B" }} {{ bytes "100" }}',
      '12000 3.250585e+06 1024 100',
    ],
    [
      '{{ duration "1h30m" }} {{ duration_seconds "230ms" }} {{ duration "-1.5s" }} {{ duration "1us" }}',
      '5400 0.23 -1.5 1e-06',
    ],
    [
      '{{ __timestamp__ | unixEpoch }} {{ __timestamp__ | unixEpochMillis }} {{ __timestamp__ | unixEpochNanos }}',
      '1656353124 1656353124120 1656353124120000000',
    ],
    ['{{ __timestamp__ | date "2006-01-02T15:04:05.00Z07:00" }} bar', '2022-06-27T18:05:24.12Z bar'],
    [
      '{{ __timestamp__ | date "Mon Jan _2 03:04:05.000 PM MST 2006 -0700 002" }}',
      'Mon Jun 27 06:05:24.120 PM UTC 2022 +0000 178',
    ],
    ['{{ __timestamp__ }}', '2022-06-27 18:05:24.12 +0000 UTC'],
    [
      '{{ toDate "2006-01-02" "2021-11-02" | unixEpoch }} {{ date "2006-01-02" (toDate "2006-01-02" "2021-11-02") }}',
      '1635811200 2021-11-02',
    ],
    [
      '{{ sub (unixEpoch (toDate "2006-01-02" "2021-11-02")) (unixEpoch (toDate "2006-01-02" "2021-11-01")) }}',
      '86400',
    ],
    ['{{ toDate "2006-01-02" "not a date" | unixEpoch }}', '-62135596800'],
    ['{{ toDateInZone "2006-01-02 15:04" "Europe/Paris" "2024-07-01 12:00" | unixEpoch }}', '1719828000'],
    ['{{ toDateInZone "2006-01-02 15:04 -0700" "UTC" "2024-07-01 12:00 +0200" | unixEpoch }}', '1719828000'],
    [
      '{{ unixToTime "1673798889" | unixEpoch }} {{ unixToTime "1673798889902" | unixEpochMillis }} {{ unixToTime "19373" | unixEpoch }}',
      '1673798889 1673798889902 1673827200',
    ],
    [
      '{{ alignLeft 6 .foo }}|{{ alignRight 6 .foo }}|{{ alignLeft 2 .foo }}|{{ alignRight 2 .foo }}',
      'blip  |  blip|bl|ip',
    ],
    [
      '{{ b64enc .foo }} {{ b64dec "YmxpcA==" }} {{ b64dec "!!" }}',
      'YmxpcA== blip illegal base64 data at input byte 0',
    ],
    ['{{ lower "ABC" }} {{ upper .foo }} {{ title "hello wide-world_x" }}', 'abc BLIP Hello Wide-World_x'],
    [
      '{{ trunc 3 .foo }} {{ trunc -1 .foo }} {{ trunc 10 .foo }} {{ .foo | substr 1 3 }} {{ substr -1 2 .foo }} {{ substr 2 -1 .foo }}',
      'bli p blip li bl ip',
    ],
    ['{{ contains "li" .foo }} {{ hasPrefix "bl" .foo }} {{ hasSuffix "x" .foo }}', 'true true false'],
    ['{{ "foo\\n bar" | indent 4 }}|{{ "foo" | nindent 2 }}', '    foo\n     bar|\n  foo'],
    ['{{ .foo | replace "blip" "bar" }} {{ "ab" | repeat 3 }}', 'bar ababab'],
    [
      '[{{ trim .ws }}] {{ trimAll "bp" .foo }} {{ trimSuffix "ip" .foo }} {{ trimPrefix "bl" .foo }}',
      '[padded] li bl ip',
    ],
    [
      '{{ int "12" }} {{ int "12.0" }} {{ int "12.5" }} {{ int "0x1f" }} {{ int "010" }} {{ int "abc" }} {{ int 2.9 }}',
      '12 12 0 31 8 0 2',
    ],
    [
      '{{ float64 "1.5" }} {{ float64 "x" }} {{ float64 3 }} {{ "2.5" | float64 | int | add 10 }}',
      '1.5 0 3 12',
    ],
    [
      '{{ add .n 1 2 }} {{ sub .n 5 }} {{ mul .n 2 3 }} {{ div .n 3 }} {{ mod .n 3 }} {{ div 250 1000 }} {{ add "12.5" 1 }}',
      '23 15 120 6 2 0 1',
    ],
    ['{{ add .foo 1 | sub .bar | mul .n | div 7 }}', '0'],
    [
      '{{ addf .f 1.5 }} {{ subf .f 0.5 1 }} {{ mulf .f 2 }} {{ divf 10 4 }} {{ addf 0.1 0.2 }} {{ mulf 2300000 2 }}',
      '12 9 21 2.5 0.3 4.6e+06',
    ],
    [
      '{{ addf .foo 1.5 | subf .bar 1.5 | mulf .f | divf 20.2 }}',
      '3.8476190476190477'.replace(
        '3.8476190476190477',
        render('{{ divf 20.2 (mulf 10.5 (subf 0 1.5 1.5)) }}'),
      ),
    ],
    ['{{ round (addf 1.5 1.5 | subf 3.5 | mulf 10.5 | divf 20.4) 5 .2 }}', '3.88572'],
    ['{{ max 5 .n 15 }} {{ min 5 .n 15 }} {{ maxf 5.3 10.5 "15.2" }} {{ minf 5.3 10.5 }}', '20 5 15.2 5.3'],
    [
      '{{ ceil 5.3 }} {{ floor "5.7" }} {{ round 1.25 1 }} {{ round 2.5 0 }} {{ round -2.5 0 }} {{ round 1.2345 2 }}',
      '6 5 1.3 3 -3 1.23',
    ],
    [
      '{{ .foo | default "-" }}{{ .empty | default "-" }}{{ .missing | default "-" }}{{ 0 | default 7 }}',
      'blip--7',
    ],
    ['{{ __line__ }} {{ __line__ | len }}', 'the line 8'],
    ['{{ now | unixEpoch | len }}', '10'],
  ]);
});

describe('errors', () => {
  const parseErrors: [string, string][] = [
    ['{{ foo }}', 'template: line:1: function "foo" not defined'],
    ['{{ .foo ', 'template: line:1: unclosed action'],
    ['{{ if .foo }}x', 'template: line:1: unexpected EOF'],
    ['{{ end }}', 'template: line:1: unexpected {{end}}'],
    ['{{ else }}', 'template: line:1: unexpected {{else}}'],
    ['{{ }}', 'template: line:1: missing value for command'],
    ['{{ if }}{{ end }}', 'template: line:1: missing value for if'],
    ['{{ "abc }}', 'template: line:1: unterminated quoted string'],
    ['x\n{{ $y }}', 'template: line:2: undefined variable "$y"'],
    ['{{ .foo ) }}', 'template: line:1: unexpected right paren'],
    ['{{ (.foo }}', 'template: line:1: unclosed left paren'],
    ['{{ 3x }}', 'template: line:1: bad number syntax: "3x"'],
    ['{{ .foo | 3 }}', 'template: line:1: non executable command in pipeline stage 2'],
    ['{{ break }}', 'template: line:1: {{break}} outside {{range}}'],
    ['{{/* open }}', 'template: line:1: unclosed comment'],
  ];
  for (const [src, msg] of parseErrors) {
    test(`parse: ${JSON.stringify(src)}`, () => {
      assert.throws(
        () => compileTemplate(src),
        (err: Error) => err instanceof TemplateParseError && err.message === msg,
      );
    });
  }
  test('the template name appears in messages', () => {
    assert.throws(
      () => compileTemplate('{{ nope }}', { name: 'label' }),
      /template: label:1: function "nope" not defined/,
    );
  });
  const execErrors: [string, string][] = [
    [
      '{{ trunc .n .foo }}',
      'template: line:1:9: executing "line" at <.n>: wrong type for value; expected int; got string',
    ],
    ['{{ trunc "3" .foo }}', 'template: line:1:9: executing "line" at <"3">: expected integer; found "3"'],
    ['{{ upper 3 }}', 'template: line:1:9: executing "line" at <3>: expected string; found 3'],
    [
      '{{ trunc (add 1 2) .foo }}',
      'template: line:1:9: executing "line" at <(add 1 2)>: wrong type for value; expected int; got int64',
    ],
    [
      '{{ div 1 0 }}',
      'template: line:1:3: executing "line" at <div 1 0>: error calling div: runtime error: integer divide by zero',
    ],
    [
      '{{ divf 1 0 }}',
      'template: line:1:3: executing "line" at <divf 1 0>: error calling divf: decimal division by zero',
    ],
    [
      '{{ upper }}',
      'template: line:1:3: executing "line" at <upper>: wrong number of args for upper: want 1 got 0',
    ],
    [
      '{{ .foo | upper .bar }}',
      'template: line:1:10: executing "line" at <upper .bar>: wrong number of args for upper: want 1 got 2',
    ],
    [
      '{{ .foo.x }}',
      'template: line:1:3: executing "line" at <.foo.x>: can\'t evaluate field x in type string',
    ],
    [
      '{{ .foo "x" }}',
      'template: line:1:3: executing "line" at <.foo "x">: foo is not a method but has arguments',
    ],
    [
      '{{ lt 1 "a" }}',
      'template: line:1:3: executing "line" at <lt 1 "a">: error calling lt: incompatible types for comparison',
    ],
    [
      '{{ regexReplaceAll "(" .foo "x" }}',
      'template: line:1:3: executing "line" at <regexReplaceAll "(" ...>: error calling regexReplaceAll: error parsing regexp: missing closing ): `(`',
    ],
    [
      '{{ substr 10 20 .foo }}',
      'template: line:1:3: executing "line" at <substr 10 20 .foo>: error calling substr: runtime error: slice bounds out of range [10:4]',
    ],
    [
      '{{ duration "abc" }}',
      'template: line:1:3: executing "line" at <duration "abc">: error calling duration: time: invalid duration "abc"',
    ],
    [
      '{{ unixToTime "123" }}',
      'template: line:1:3: executing "line" at <unixToTime "123">: error calling unixToTime: unable to parse time \'123\': %!w(<nil>)',
    ],
    [
      '{{ index .foo 10 }}',
      'template: line:1:3: executing "line" at <index .foo 10>: error calling index: index out of range: 10',
    ],
    ['{{ nil }}', 'template: line:1:3: executing "line" at <nil>: nil is not a command'],
    [
      '{{ range .foo }}{{ end }}',
      'template: line:1:9: executing "line" at <range .foo>: range can\'t iterate over blip',
    ],
  ];
  for (const [src, msg] of execErrors) {
    test(`exec: ${src}`, () => {
      assert.throws(
        () => render(src),
        (err: Error) => {
          assert.ok(err instanceof TemplateExecError, `${err.constructor.name}: ${err.message}`);
          assert.equal(err.message, msg);
          return true;
        },
      );
    });
  }
});

test('a compiled template is reused and renders many lines', () => {
  const t = compileTemplate('{{ $n := add .i 1 }}{{ .i }}+1={{ $n }}');
  assert.equal(compileTemplate('{{ $n := add .i 1 }}{{ .i }}+1={{ $n }}'), t);
  for (let i = 0; i < 100; i++) {
    assert.equal(t.render({ line: '', ts: 0n, labels: new Map([['i', String(i)]]) }), `${i}+1=${i + 1}`);
  }
});
