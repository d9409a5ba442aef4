/**
 * Replays the templates of the recorded format-* queries (../shared/conformance/logql, Loki 3.4.6)
 * line by line: the labels of each expected stream (the labels the template saw) and, where the
 * template reads `__line__`, the original line from the pushed data set must render the recorded
 * line. label_format templates must render the recorded label value.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { compileTemplate } from './index.ts';

const DIR = fileURLToPath(new URL('../../../../shared/conformance/logql/', import.meta.url));

interface Case {
  id: string;
  line?: string;
  /** label name → label_format template */
  labels?: Record<string, string>;
  needsLine?: boolean;
}

const CASES: Case[] = [
  { id: 'format-03', line: '{{if eq .level "error"}}E{{else}}-{{end}} {{.queue}} {{ trunc 3 .msg }}' },
  { id: 'format-04', line: '{{.who}} {{.http_status}}', labels: { http_status: '{{.status}}' } },
  { id: 'format-06', line: '{{ __timestamp__ | date "15:04:05" }} {{ __line__ }}', needsLine: true },
  { id: 'format-07', line: '{{ replace "i" "!" .msg }} {{ .job_id | lower }} {{ title .queue }}' },
  { id: 'format-08', line: '{{ div .duration_ms 1000 }} {{ add .status 1 }} {{ mul .status 2 }}' },
  {
    id: 'format-11',
    line: '{{.host_upper}} {{ substr 0 12 __line__ }}',
    labels: { host_upper: '{{ ToUpper .host }}' },
    needsLine: true,
  },
  { id: 'format-13', line: '{{ regexReplaceAll "[0-9]+" __line__ "N" }}', needsLine: true },
  {
    id: 'format-14',
    line: '{{ .duration_ms | float64 | mulf 2 }} {{ round 1.25 1 }} {{ .request_client_ip | default "x" }}',
  },
  {
    id: 'format-15',
    line: '{{ __line__ | trimPrefix "cron: " | upper }}',
    labels: { j: '{{.job}}' },
    needsLine: true,
  },
];

interface Pushed {
  streams: { stream: Record<string, string>; values: [string, string, Record<string, string>?][] }[];
}

interface Expected {
  status: number;
  data: { result: { stream: Record<string, string>; values: [string, string][] }[] };
}

/** host + timestamp → the original lines (a few timestamps repeat within a stream) */
function indexLines(): Map<string, string[]> {
  const pushed = JSON.parse(gunzipSync(readFileSync(`${DIR}data.json.gz`)).toString('utf8')) as Pushed;
  const out = new Map<string, string[]>();
  for (const s of pushed.streams) {
    for (const [ts, line] of s.values) {
      const key = `${s.stream.host ?? ''}\u0000${ts}`;
      const list = out.get(key);
      if (list) list.push(line);
      else out.set(key, [line]);
    }
  }
  return out;
}

test('the recorded format-* queries render as Loki 3.4.6 did', (t) => {
  if (!existsSync(DIR)) {
    if (process.env.CI === 'true') assert.fail(`conformance data missing: ${DIR}`);
    t.skip(`conformance data missing: ${DIR}`);
    return;
  }
  const queries = JSON.parse(readFileSync(`${DIR}queries.json`, 'utf8')) as { id: string; query: string }[];
  const lines = indexLines();
  for (const c of CASES) {
    const q = queries.find((x) => x.id === c.id);
    assert.ok(q, `${c.id} missing from queries.json`);
    for (const tpl of [c.line, ...Object.values(c.labels ?? {})]) {
      if (tpl !== undefined) assert.ok(q.query.includes(tpl), `${c.id}: template ${tpl} not in ${q.query}`);
    }
    const expected = JSON.parse(readFileSync(`${DIR}expected/${c.id}.json`, 'utf8')) as Expected;
    assert.equal(expected.status, 200);
    const lineTpl = compileTemplate(c.line ?? '');
    let checked = 0;
    for (const s of expected.data.result) {
      const labels = new Map(Object.entries(s.stream));
      for (const [name, tpl] of Object.entries(c.labels ?? {})) {
        assert.equal(
          compileTemplate(tpl, { name: 'label' }).render({ line: '', ts: 0n, labels }),
          s.stream[name],
          `${c.id} label ${name}`,
        );
      }
      for (const [ts, want] of s.values) {
        const originals = c.needsLine ? (lines.get(`${s.stream.host ?? ''}\u0000${ts}`) ?? []) : [''];
        assert.ok(originals.length > 0, `${c.id}: no pushed line at ${s.stream.host} ${ts}`);
        const got = originals.map((line) => lineTpl.render({ line, ts: BigInt(ts), labels }));
        assert.ok(
          got.includes(want),
          `${c.id} ${JSON.stringify(s.stream)} @${ts}: want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`,
        );
        checked++;
      }
    }
    assert.ok(checked > 0, `${c.id}: no lines checked`);
  }
});
