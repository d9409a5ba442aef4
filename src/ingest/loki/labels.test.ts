import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MoleError } from '../../lib/errors.ts';
import { parseLabelSelector } from './labels.ts';

test('label selector strings, with Go string-literal escapes', () => {
  const cases: [string, [string, string][]][] = [
    ['{a="b"}', [['a', 'b']]],
    [
      ' { a = "b" , c="d", } ',
      [
        ['a', 'b'],
        ['c', 'd'],
      ],
    ],
    [
      '{level="info",job="x y"}',
      [
        ['level', 'info'],
        ['job', 'x y'],
      ],
    ],
    [
      '{q="say \\"hi\\"", n="a\\nb\\tc\\\\"}',
      [
        ['q', 'say "hi"'],
        ['n', 'a\nb\tc\\'],
      ],
    ],
    ['{u="\\u00e9\\U0001F600\\x41\\101"}', [['u', 'é😀AA']]],
    [
      "{s='it\\'s', r=`raw\\n`}",
      [
        ['s', "it's"],
        ['r', 'raw\\n'],
      ],
    ],
    ['{_x1="é"}', [['_x1', 'é']]],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseLabelSelector(text, 't'), want, text);
});

test('bad selectors are 400s naming the problem', () => {
  const cases: [string, RegExp][] = [
    ['{}', /at least one label/],
    ['a="b"', /expected "\{"/],
    ['{a=b}', /quoted value/],
    ['{a!="b"}', /only equality/],
    ['{a="b"', /expected "," or "\}"/],
    ['{a="b}', /unterminated string/],
    ['{1a="b"}', /label name/],
    ['{a="b",a="c"}', /appears twice/],
    ['{a="\\q"}', /unknown escape/],
    ['{a="\\xff"}', /raw byte/],
    ['{a="b"} x', /unexpected text/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseLabelSelector(text, 't'),
      (e: unknown) => e instanceof MoleError && e.status === 400 && message.test(e.message),
      text,
    );
  }
});

test('property: never throws anything but a MoleError; round-trips JSON-quoted values', () => {
  fc.assert(
    fc.property(fc.string(), (s) => {
      try {
        parseLabelSelector(s, 't');
      } catch (e) {
        if (!(e instanceof MoleError)) throw e;
      }
    }),
  );
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme' }), (v) => {
      assert.deepEqual(parseLabelSelector(`{k=${JSON.stringify(v)}}`, 't'), [['k', v]]);
    }),
  );
});
