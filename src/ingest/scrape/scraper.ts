/**
 * The scraper: one timer per target (first scrape at a random offset within the interval, then
 * every interval), at most MAX_CONCURRENT_SCRAPES at once. A scrape fetches the target's text
 * exposition, parses it with the push route's parser, merges the target labels as Prometheus does
 * (`honor_labels: false` renames a clashing scraped label to `exported_<name>`; `true` keeps the
 * scraped one), applies `metric_relabel_configs`, and writes ONE `prom-text` payload through the
 * write path: the resulting samples with explicit timestamps, HELP/TYPE lines, the health series
 * (`up`, `scrape_duration_seconds`, `scrape_samples_scraped`,
 * `scrape_samples_post_metric_relabeling`, `scrape_series_added`) and, after a `# STALE` line, the
 * staleness markers. So the WAL holds exactly what was stored and replay needs no config.
 * Staleness, as Prometheus: a series of the previous scrape missing from this one gets a marker at
 * this scrape's time; a failed scrape (connection, timeout, HTTP status, parse error) writes
 * `up` 0 and a marker for every series of the previous scrape. Samples with their own timestamp
 * (honor_timestamps) get none; nothing is marked at shutdown.
 */
import type { Logger } from '../../lib/logger.ts';
import { METRIC_NAME } from '../../promql/labels.ts';
import type { OrgId } from '../../tenancy/org-id.ts';
import { SAMPLES_STREAM } from '../../write/fixed-columns.ts';
import type { IngestPayload } from '../../write/wal-payload.ts';
import { MAX_FUTURE_MS, writeSeriesSamples, type SampleWriteDeps } from '../metric-samples.ts';
import { parsePromText } from '../prom-text/parse.ts';
import { STALE_SECTION, decodePromTextPayload, encodePromTextParams } from '../prom-text/to-samples.ts';
import type { ScrapeTarget } from './compile.ts';
import { relabel } from './relabel.ts';

export const MAX_CONCURRENT_SCRAPES = 8;
const ACCEPT = 'text/plain;version=0.0.4;q=1,*/*;q=0.1';
const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

const escapeValue = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const formatValue = (v: number) =>
  Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);

/** `name{a="b",...}` with sorted label names; null when a name cannot be written in the text format. */
function seriesText(labels: Map<string, string>): string | null {
  const name = labels.get(METRIC_NAME) ?? '';
  if (!METRIC_NAME_RE.test(name)) return null;
  const names = [...labels.keys()].filter((n) => n !== METRIC_NAME).sort();
  return `${name}{${names.map((n) => `${n}="${escapeValue(labels.get(n)!)}"`).join(',')}}`;
}

/** The body of a target, at most `maxBytes`. */
async function fetchExposition(
  t: ScrapeTarget,
  maxBytes: number,
): Promise<{ text: string; openMetrics: boolean }> {
  const res = await fetch(t.url, {
    signal: AbortSignal.timeout(t.timeoutMs),
    headers: { accept: ACCEPT, 'x-prometheus-scrape-timeout-seconds': String(t.timeoutMs / 1000) },
  });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`server returned HTTP status ${res.status}`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > maxBytes) throw new Error(`body is over ${maxBytes} bytes (ingest.maxDecodedBytes)`);
    chunks.push(chunk);
  }
  const openMetrics = /openmetrics-text/i.test(res.headers.get('content-type') ?? '');
  return { text: new TextDecoder().decode(Buffer.concat(chunks)), openMetrics };
}

export interface ScrapeResult {
  up: boolean;
  error: string;
  samples: number;
  stale: number;
}

interface TargetState {
  target: ScrapeTarget;
  org: OrgId;
  /** series written by the previous scrape (without their own timestamp): staleness candidates */
  previous: Set<string>;
  timer: NodeJS.Timeout | null;
  wasUp: boolean | null;
}

export class Scraper {
  private readonly states: TargetState[];
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly inflight = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(
    targets: readonly { target: ScrapeTarget; org: OrgId }[],
    private readonly deps: SampleWriteDeps & { log: Logger; maxBodyBytes: number },
  ) {
    this.states = targets.map(({ target, org }) => ({
      target,
      org,
      previous: new Set(),
      timer: null,
      wasUp: null,
    }));
  }

  get targetCount(): number {
    return this.states.length;
  }

  start(): void {
    for (const s of this.states) {
      let next = Date.now() + Math.floor(Math.random() * s.target.intervalMs);
      const tick = async () => {
        const run = this.limited(() => this.scrape(s));
        this.inflight.add(run);
        await run.catch(() => undefined);
        this.inflight.delete(run);
        if (this.stopped) return;
        next += s.target.intervalMs;
        while (next <= Date.now()) next += s.target.intervalMs;
        s.timer = setTimeout(() => void tick(), next - Date.now());
      };
      s.timer = setTimeout(() => void tick(), next - Date.now());
    }
  }

  /** Stops the timers and waits for the scrapes under way (their writes complete). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.states) if (s.timer) clearTimeout(s.timer);
    await Promise.allSettled([...this.inflight]);
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= MAX_CONCURRENT_SCRAPES) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** One scrape of one target, written as one payload. */
  async scrape(s: TargetState): Promise<ScrapeResult> {
    const t = s.target;
    const started = Date.now();
    const lines: string[] = [];
    const current = new Set<string>();
    let scraped = 0;
    let kept = 0;
    let error = '';
    try {
      const { text, openMetrics } = await fetchExposition(t, this.deps.maxBodyBytes);
      const seen = new Set<string>();
      parsePromText(text, openMetrics, {
        sample: (name, sampleLabels, _series, value, timestampMs) => {
          scraped++;
          const labels = new Map<string, string>([[METRIC_NAME, name]]);
          for (const l of sampleLabels) labels.set(l.name, l.value);
          for (const l of t.labels) {
            if (t.honorLabels) {
              if (!labels.get(l.name)) labels.set(l.name, l.value);
              continue;
            }
            const clash = labels.get(l.name);
            if (clash) labels.set(`exported_${l.name}`, clash);
            labels.set(l.name, l.value);
          }
          if (!relabel(labels, t.metricRelabel)) return;
          const series = seriesText(labels);
          const ts = t.honorTimestamps && timestampMs !== null ? timestampMs : started;
          if (series === null || seen.has(series) || ts > started + MAX_FUTURE_MS) return;
          seen.add(series);
          if (ts === started) current.add(series);
          lines.push(`${series} ${formatValue(value)} ${ts}`);
          kept++;
        },
        metadata: (family, kind, value) => {
          lines.push(`# ${kind.toUpperCase()} ${family} ${kind === 'help' ? escapeHelp(value) : value}`);
        },
      });
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
      lines.length = 0;
      current.clear();
      kept = 0;
    }
    const up = error === '';
    let added = 0;
    for (const series of current) if (!s.previous.has(series)) added++;
    const stale = [...s.previous].filter((series) => !current.has(series));
    const target = new Map(t.labels.map((l) => [l.name, l.value]));
    const health = (name: string, value: number) => {
      target.set(METRIC_NAME, name);
      lines.push(`${seriesText(target)!} ${formatValue(value)} ${started}`);
    };
    health('up', up ? 1 : 0);
    health('scrape_duration_seconds', (Date.now() - started) / 1000);
    health('scrape_samples_scraped', up ? scraped : 0);
    health('scrape_samples_post_metric_relabeling', kept);
    health('scrape_series_added', added);
    if (stale.length > 0) {
      lines.push(`# ${STALE_SECTION}`);
      for (const series of stale) lines.push(`${series} NaN ${started}`);
    }
    s.previous = current;
    if (s.wasUp !== up) {
      if (up) this.deps.log.info({ job: t.job, url: t.url }, 'scrape target is up');
      else this.deps.log.warn({ job: t.job, url: t.url, error }, 'scrape failed; target marked down');
      s.wasUp = up;
    }
    await this.write(s, lines.join('\n') + '\n');
    return { up, error, samples: kept, stale: stale.length };
  }

  private async write(s: TargetState, text: string): Promise<void> {
    const now = Date.now();
    const payload: IngestPayload = {
      org: s.org,
      signal: 'metrics',
      stream: SAMPLES_STREAM,
      format: 'prom-text',
      params: encodePromTextParams({ openMetrics: false, extraLabels: [], scrape: true }),
      idempotencyKey: '',
      receivedAtMs: now,
      nowNs: BigInt(now) * 1_000_000n,
      body: Buffer.from(text, 'utf8'),
    };
    try {
      await writeSeriesSamples(this.deps, payload, decodePromTextPayload(payload));
    } catch (e) {
      this.deps.log.warn(
        { job: s.target.job, url: s.target.url, err: e },
        'scraped samples not (all) stored',
      );
    }
  }
}
