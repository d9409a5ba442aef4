import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SyslogFramer, type FrameDrop } from './framing.ts';

function run(chunks: string[], max = 100, clean = true) {
  const messages: string[] = [];
  const drops: FrameDrop[] = [];
  const framer = new SyslogFramer(max, {
    message: (m) => messages.push(Buffer.from(m).toString('latin1')),
    drop: (r) => drops.push(r),
  });
  let ok = true;
  for (const c of chunks) if (ok) ok = framer.push(Buffer.from(c, 'latin1'));
  framer.end(clean);
  return { messages, drops, badFrame: framer.badFrame };
}

const cases: {
  name: string;
  chunks: string[];
  messages: string[];
  drops?: FrameDrop[];
  bad?: RegExp;
  clean?: boolean;
}[] = [
  { name: 'octet counting', chunks: ['5 <13>a3 <1>'], messages: ['<13>a', '<1>'] },
  {
    name: 'LF framing with CRLF and empty lines',
    chunks: ['<13>a\r\n\n<13>b\n'],
    messages: ['<13>a', '<13>b'],
  },
  { name: 'mixed per message', chunks: ['<13>a\n4 <1>b<13>c\n'], messages: ['<13>a', '<1>b', '<13>c'] },
  {
    name: 'frame split across chunks, count split too',
    chunks: ['1', '0 <13>', 'abcdef', '<13>x\n'],
    messages: ['<13>abcdef', '<13>x'],
  },
  { name: 'octet frame content may hold LF', chunks: ['6 <1>a\nb'], messages: ['<1>a\nb'] },
  {
    name: 'partial octet frame at disconnect is dropped',
    chunks: ['3 <1>', '10 <13>abc'],
    messages: ['<1>'],
    drops: ['truncated'],
  },
  {
    name: 'unterminated last line at a clean end is a message',
    chunks: ['<13>a\n<13>b'],
    messages: ['<13>a', '<13>b'],
  },
  {
    name: 'unterminated last line on a reset is dropped',
    chunks: ['<13>a\n<13>b'],
    messages: ['<13>a'],
    drops: ['truncated'],
    clean: false,
  },
  {
    name: 'count not a number closes',
    chunks: ['3 <1>', '12x <13>'],
    messages: ['<1>'],
    bad: /not a number/,
  },
  { name: 'leading zero count closes', chunks: ['03 <1>'], messages: [], bad: /not a number/ },
  {
    name: 'count over the limit closes',
    chunks: ['3 <1>', '101 '],
    messages: ['<1>'],
    bad: /over syslog.maxMessageBytes=100/,
  },
  { name: 'eleven digits close', chunks: ['12345678901 '], messages: [], bad: /not a number/ },
  {
    name: 'over-long line is skipped to its LF, in one chunk or many',
    chunks: [`<13>${'x'.repeat(150)}\n<13>ok\n<13>${'y'.repeat(80)}`, 'y'.repeat(80), 'yy\n<13>ok2\n'],
    messages: ['<13>ok', '<13>ok2'],
    drops: ['oversize', 'oversize'],
  },
];
for (const c of cases) {
  test(`framing: ${c.name}`, () => {
    const r = run(c.chunks, 100, c.clean ?? true);
    assert.deepEqual(r.messages, c.messages);
    assert.deepEqual(r.drops, c.drops ?? []);
    if (c.bad) assert.match(r.badFrame ?? '', c.bad);
    else assert.equal(r.badFrame, null);
  });
}

test('property: any split of an octet-counted stream frames the same messages', () => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 10 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (msgs, cuts) => {
        const stream = msgs.map((m) => `${Buffer.byteLength(m, 'latin1')} ${m}`).join('');
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const chunks: string[] = [];
        let prev = 0;
        for (const p of points) {
          chunks.push(stream.slice(prev, p));
          prev = p;
        }
        chunks.push(stream.slice(prev));
        const r = run(
          chunks.filter((c) => c.length > 0),
          1000,
        );
        assert.deepEqual(r.messages, msgs);
      },
    ),
  );
});
