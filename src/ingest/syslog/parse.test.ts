import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { newSyslogFields, parseSyslog, type SyslogFields } from './parse.ts';

const enc = new TextEncoder();
/** 2026-11-22T15:46:41Z */
const RECEIVED_MS = Date.UTC(2026, 10, 22, 15, 46, 41);
const ns = (iso: string, fracNs = 0n) => BigInt(Date.parse(iso)) * 1_000_000n + fracNs;

function parse(
  text: string | Uint8Array,
  utcOffsetMin = 0,
  receivedMs = RECEIVED_MS,
): { error: string | null; f: SyslogFields } {
  const f = newSyslogFields();
  const error = parseSyslog(typeof text === 'string' ? enc.encode(text) : text, f, receivedMs, utcOffsetMin);
  return { error, f };
}

const base = { ...newSyslogFields(), pri: 13, version: 1 };

describe('RFC 5424', () => {
  const cases: { name: string; input: string; want: Partial<SyslogFields> }[] = [
    {
      name: 'RFC 5424 example 1 (no SD, fraction, Z)',
      input: "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - BOM'su root' failed",
      want: {
        pri: 34,
        timeNs: ns('2003-10-11T22:14:15Z', 3_000_000n),
        hostname: 'mymachine.example.com',
        appName: 'su',
        msgId: 'ID47',
        msg: "BOM'su root' failed",
      },
    },
    {
      name: 'RFC 5424 example 2 (offset, microseconds, procid)',
      input:
        "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
      want: {
        pri: 165,
        timeNs: ns('2003-08-24T12:14:15Z', 3000n),
        hostname: '192.0.2.1',
        appName: 'myproc',
        procId: '8710',
        msg: "%% It's time to make the do-nuts.",
      },
    },
    {
      name: 'RFC 5424 example 4 (two SD-ELEMENTs, no MSG)',
      input:
        '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]',
      want: {
        pri: 165,
        timeNs: ns('2003-10-11T22:14:15Z', 3_000_000n),
        hostname: 'mymachine.example.com',
        appName: 'evntslog',
        msgId: 'ID47',
        sd: [
          'exampleSDID@32473.iut',
          '3',
          'exampleSDID@32473.eventSource',
          'Application',
          'exampleSDID@32473.eventID',
          '1011',
          'examplePriority@32473.class',
          'high',
        ],
      },
    },
    {
      name: 'SD-PARAM escapes; other backslashes stay; repeated params join with a comma',
      input: '<13>1 - - - - - [x@1 a="q\\"b\\\\c\\]d\\e" r="1" r="2"] m',
      want: { sd: ['x@1.a', 'q"b\\c]d\\e', 'x@1.r', '1,2'], msg: 'm' },
    },
    {
      name: 'UTF-8 BOM before MSG is dropped; UTF-8 kept',
      input: '<13>1 - h a p m - \uFEFFgrüße',
      want: { hostname: 'h', appName: 'a', procId: 'p', msgId: 'm', msg: 'grüße' },
    },
    {
      name: 'rsyslog RSYSLOG_SyslogProtocol23Format: trailing LF inside the frame',
      input:
        '<13>1 2026-11-22T15:46:41.142592+00:00 vm myapp - ID47 [timeQuality tzKnown="1" isSynced="0"][exampleSDID@32473 iut="3"] structured hello\n',
      want: {
        timeNs: ns('2026-11-22T15:46:41Z', 142_592_000n),
        hostname: 'vm',
        appName: 'myapp',
        msgId: 'ID47',
        sd: ['timeQuality.tzKnown', '1', 'timeQuality.isSynced', '0', 'exampleSDID@32473.iut', '3'],
        msg: 'structured hello',
      },
    },
    {
      name: 'rsyslog forwarding a 3164 input: two spaces before MSG',
      input: '<132>1 2026-11-22T15:46:41+00:00 vm myapp - - -  disk almost full\n',
      want: {
        pri: 132,
        timeNs: ns('2026-11-22T15:46:41Z'),
        hostname: 'vm',
        appName: 'myapp',
        msg: 'disk almost full',
      },
    },
    { name: 'header only, SD then LF', input: '<13>1 - - - - - -\n', want: {} },
    {
      name: 'nanosecond fraction',
      input: '<13>1 2026-01-01T00:00:00.123456789Z - - - - -',
      want: { timeNs: ns('2026-01-01T00:00:00Z', 123_456_789n) },
    },
    { name: 'invalid UTF-8 in MSG becomes U+FFFD', input: '', want: { msg: 'a\uFFFDb' } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const input =
        c.input === '' ? new Uint8Array([...enc.encode('<13>1 - - - - - - a'), 0xff, 0x62]) : c.input;
      const { error, f } = parse(input);
      assert.equal(error, null);
      assert.deepEqual({ ...f }, { ...base, ...c.want });
    });
  }

  const refused: [string, string, RegExp][] = [
    ['version 2', '<13>2 - - - - - -', /VERSION/],
    ['bad timestamp', '<13>1 2026-13-01T00:00:00Z h a - - - x', /RFC 3339/],
    ['February 30', '<13>1 2026-02-30T00:00:00Z h a - - - x', /RFC 3339/],
    ['no zone', '<13>1 2026-01-01T00:00:00 h a - - - x', /time zone/],
    ['year out of int64 range', '<13>1 9999-01-01T00:00:00Z h a - - - x', /out of range/],
    ['fraction of 10 digits', '<13>1 2026-01-01T00:00:00.1234567890Z h - - - -', /fraction/],
    ['APP-NAME of 49 characters', `<13>1 - h ${'a'.repeat(49)} - - -`, /APP-NAME is longer than 48/],
    ['control byte in HOSTNAME', '<13>1 - h\u0001x a - - -', /HOSTNAME/],
    ['unterminated SD', '<13>1 - h a - - [x@1 a="b"', /not closed/],
    ['unquoted SD value', '<13>1 - h a - - [x@1 a=b]', /a="value"/],
    ['SD without closing quote', '<13>1 - h a - - [x@1 a="b]', /closing quote/],
    ['garbage instead of SD', '<13>1 - h a - - x', /STRUCTURED-DATA/],
    ['header cut short', '<13>1 - h a', /message ends after APP-NAME/],
    ['empty message', '', /empty/],
  ];
  for (const [name, input, re] of refused) {
    test(`refused: ${name}`, () => {
      const { error } = parse(input);
      assert.match(error ?? '', re);
    });
  }
});

describe('RFC 3164', () => {
  const cases: {
    name: string;
    input: string;
    offset?: number;
    receivedMs?: number;
    want: Partial<SyslogFields>;
  }[] = [
    {
      name: 'logger --rfc3164',
      input: '<132>Nov 22 15:46:41 vm myapp: disk almost full',
      want: {
        pri: 132,
        timeNs: ns('2026-11-22T15:46:41Z'),
        hostname: 'vm',
        appName: 'myapp',
        msg: 'disk almost full',
      },
    },
    {
      name: 'tag with pid, space-padded day',
      input: '<30>Nov  2 08:00:01 host.example sshd[4711]: Accepted key',
      want: {
        pri: 30,
        timeNs: ns('2026-11-02T08:00:01Z'),
        hostname: 'host.example',
        appName: 'sshd',
        procId: '4711',
        msg: 'Accepted key',
      },
    },
    {
      name: 'no hostname (local form)',
      input: '<13>Nov 22 15:46:41 cron[12]: job done',
      want: { timeNs: ns('2026-11-22T15:46:41Z'), appName: 'cron', procId: '12', msg: 'job done' },
    },
    {
      name: 'zone from the receive time (UTC+2)',
      input: '<13>Nov 22 17:46:41 h t: x',
      offset: 120,
      want: { timeNs: ns('2026-11-22T15:46:41Z'), hostname: 'h', appName: 't', msg: 'x' },
    },
    {
      name: 'December message received on New Year: the closest year',
      input: '<13>Dec 31 23:59:59 h t: x',
      receivedMs: Date.UTC(2026, 0, 1, 0, 0, 5),
      want: { timeNs: ns('2025-12-31T23:59:59Z'), hostname: 'h', appName: 't', msg: 'x' },
    },
    {
      name: 'RFC 3339 timestamp (rsyslog forward format)',
      input: '<13>2026-11-22T15:46:41.5+01:00 h t: x',
      want: { timeNs: ns('2026-11-22T14:46:41Z', 500_000_000n), hostname: 'h', appName: 't', msg: 'x' },
    },
    { name: 'no timestamp, tag only', input: '<13>myapp: hello', want: { appName: 'myapp', msg: 'hello' } },
    { name: 'no timestamp, no tag', input: '<13>just some words', want: { msg: 'just some words' } },
    { name: 'no PRI at all', input: 'plain line', want: { pri: -1, msg: 'plain line' } },
    { name: 'PRI over 191 is text', input: '<192>x', want: { pri: -1, msg: '<192>x' } },
    {
      name: 'hostname and no tag',
      input: '<13>Nov 22 15:46:41 h free text here',
      want: { timeNs: ns('2026-11-22T15:46:41Z'), hostname: 'h', msg: 'free text here' },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { error, f } = parse(c.input, c.offset, c.receivedMs);
      assert.equal(error, null);
      assert.deepEqual({ ...f }, { ...base, version: 0, ...c.want });
    });
  }
});

test('property: never throws, and an error is a string', () => {
  const prefixes = [
    '<13>1 ',
    '<13>1 2026-01-01T00:00:00Z h a p m ',
    '<13>1 - - - - - [a@1 ',
    '<13>Nov 22 ',
    '<13>',
    '',
  ];
  fc.assert(
    fc.property(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 200 }), (prefix, tail) => {
      const bytes = new Uint8Array([...enc.encode(prefix), ...tail]);
      const f = newSyslogFields();
      const error = parseSyslog(bytes, f, RECEIVED_MS, 0);
      assert.ok(error === null || typeof error === 'string');
      if (f.timeNs !== null) assert.ok(f.timeNs > -(2n ** 63n) && f.timeNs < 2n ** 63n);
    }),
    { numRuns: 3000 },
  );
});
