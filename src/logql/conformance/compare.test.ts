import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareAnswer, type Expected } from './compare.ts';

const ok = (data: unknown) => ({
  status: 200,
  body: { status: 'success', data },
  text: JSON.stringify(data),
});
const streams = (result: unknown) => ({ resultType: 'streams', result });

test('streams: a set by label set, lines in exact order', () => {
  const exp: Expected = {
    status: 200,
    data: streams([
      {
        stream: { a: '1' },
        values: [
          ['2', 'y'],
          ['1', 'x'],
        ],
      },
      { stream: { a: '2' }, values: [['1', 'z']] },
    ]),
  };
  assert.equal(
    compareAnswer(
      exp,
      ok(
        streams([
          { stream: { a: '2' }, values: [['1', 'z']] },
          {
            stream: { a: '1' },
            values: [
              ['2', 'y'],
              ['1', 'x'],
            ],
          },
        ]),
      ),
      false,
    ),
    null,
  );
  assert.match(
    compareAnswer(
      exp,
      ok(
        streams([
          {
            stream: { a: '1' },
            values: [
              ['1', 'x'],
              ['2', 'y'],
            ],
          },
          { stream: { a: '2' }, values: [['1', 'z']] },
        ]),
      ),
      false,
    )!,
    /line 0/,
  );
  assert.match(
    compareAnswer(
      exp,
      ok(
        streams([
          {
            stream: { a: '1' },
            values: [
              ['2', 'y'],
              ['1', 'x'],
            ],
          },
        ]),
      ),
      false,
    )!,
    /missing 1/,
  );
});

test('matrix values agree within 1e-9 relative; NaN only equals NaN', () => {
  const m = (v: string) => ({ resultType: 'matrix', result: [{ metric: {}, values: [[1, v]] }] });
  const exp: Expected = { status: 200, data: m('0.1') };
  assert.equal(compareAnswer(exp, ok(m('0.10000000000000002')), false), null);
  assert.notEqual(compareAnswer(exp, ok(m('0.1001')), false), null);
  assert.equal(compareAnswer({ status: 200, data: m('NaN') }, ok(m('NaN')), false), null);
  assert.notEqual(compareAnswer({ status: 200, data: m('NaN') }, ok(m('0')), false), null);
});

test('ordered vectors compare the sequence of values', () => {
  const v = (pairs: [string, string][]) => ({
    resultType: 'vector',
    result: pairs.map(([h, x]) => ({ metric: { h }, value: [1, x] })),
  });
  const exp: Expected = {
    status: 200,
    data: v([
      ['a', '3'],
      ['b', '2'],
      ['c', '2'],
    ]),
  };
  assert.equal(
    compareAnswer(
      exp,
      ok(
        v([
          ['a', '3'],
          ['c', '2'],
          ['b', '2'],
        ]),
      ),
      true,
    ),
    null,
  );
  assert.match(
    compareAnswer(
      exp,
      ok(
        v([
          ['b', '2'],
          ['a', '3'],
          ['c', '2'],
        ]),
      ),
      true,
    )!,
    /order/,
  );
  assert.equal(
    compareAnswer(
      exp,
      ok(
        v([
          ['b', '2'],
          ['a', '3'],
          ['c', '2'],
        ]),
      ),
      false,
    ),
    null,
  );
});

test('errors: status and message, or status and prefix', () => {
  const text = (status: number, t: string) => ({ status, body: null, text: `${t}\n` });
  assert.equal(compareAnswer({ status: 400, error: 'bad thing' }, text(400, 'bad thing'), false), null);
  assert.notEqual(compareAnswer({ status: 400, error: 'bad thing' }, text(400, 'bad things'), false), null);
  assert.notEqual(compareAnswer({ status: 400, error: 'bad thing' }, text(500, 'bad thing'), false), null);
  assert.equal(
    compareAnswer({ status: 400, error: 'p: x', errorPrefix: 'p:' }, text(400, 'p: y'), false),
    null,
  );
});
