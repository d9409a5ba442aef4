/**
 * Live tail, `GET /loki/api/v1/tail` over WebSocket (`query`, `start`, `limit`, `delay_for`), fed
 * from the write path: every logs write hands its rows to the tail clients of its org, which run
 * them through their stream selector and pipeline and send what passes, in Loki's frame
 * `{"streams":[{"stream":{…},"values":[["<ns>","<line>"]]}],"dropped_entries":null}`. Storage is
 * read once per client, at connect, for the lines since `start` (at most `limit`); an idle client
 * costs nothing after that. A client too slow to take its frames loses entries, reported in
 * `dropped_entries` of the next frame it gets, as Loki does.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import { MoleError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { RequestContext } from '../../server/router.ts';
import type { OrgId } from '../../tenancy/org-id.ts';
import type { ColumnBatch, SignalType } from '../../write/column-batch.ts';
import type { Matcher } from '../ast.ts';
import { labelOfColumn } from '../engine/labels-mapping.ts';
import { compileMatcher, compilePipeline, type CompiledPipeline, type LogEntry } from '../pipeline/index.ts';
import { readLines, type LogStore } from './log-store.ts';
import { badParam, intParam, loki, parseLokiDuration, parseLokiTime, requiredSelector } from './params.ts';

const NS_PER_S = 1_000_000_000n;
/** Loki's limits: delay_for at most 5 s, history at most max_entries_limit_per_query lines */
const MAX_DELAY_S = 5;
const MAX_LIMIT = 5000;
const MAX_CLIENTS_PER_ORG = 1000;
/** a client whose socket holds more than this unsent is skipped (entries dropped) */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

interface Frame {
  streams: { stream: Record<string, string>; values: [string, string][] }[];
  dropped_entries: { labels: string; timestamp: string }[] | null;
}

const labelsText = (labels: Record<string, string>) =>
  `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ')}}`;

class TailClient {
  private readonly streamOk = new WeakMap<object, boolean>();
  private readonly tests: { name: string; test: (v: string) => boolean }[];
  private pending: LogEntry[] = [];
  private dropped: { labels: string; timestamp: string }[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** live entries wait here until the history frame has gone out */
  private live = false;

  constructor(
    readonly ws: WebSocket,
    matchers: readonly Matcher[],
    private readonly pipeline: CompiledPipeline,
    private readonly delayMs: number,
  ) {
    this.tests = matchers.map((m) => ({ name: m.name, test: compileMatcher(m) }));
  }

  private selects(stream: Readonly<Record<string, string>>): boolean {
    let ok = this.streamOk.get(stream);
    if (ok === undefined) {
      ok = this.tests.every((t) => t.test(stream[t.name] ?? ''));
      this.streamOk.set(stream, ok);
    }
    return ok;
  }

  offer(entries: readonly LogEntry[]): void {
    let added = false;
    for (const e of entries)
      if (this.selects(e.stream)) {
        this.pending.push(e);
        added = true;
      }
    if (added && this.live) this.schedule();
  }

  /** Sends the history (oldest first), then whatever arrived meanwhile. */
  start(history: LogEntry[]): void {
    this.live = true;
    // a line written while the history was read may be in both
    const seen = new Set(history.map((e) => `${e.ts}\u0000${e.line}`));
    this.pending = [...history, ...this.pending.filter((e) => !seen.has(`${e.ts}\u0000${e.line}`))];
    this.flush();
  }

  private schedule(): void {
    if (this.delayMs === 0) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  private flush(): void {
    this.timer = null;
    const entries = this.pending;
    this.pending = [];
    const groups = new Map<string, Frame['streams'][number]>();
    const out: { labels: Record<string, string>; ts: bigint; line: string }[] = [];
    for (const e of entries) {
      const r = this.pipeline.process(e);
      if (!r) continue;
      out.push({
        labels: Object.fromEntries([...r.labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
        ts: e.ts,
        line: r.line,
      });
    }
    if (out.length === 0 && this.dropped.length === 0) return;
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      for (const o of out) this.dropped.push({ labels: labelsText(o.labels), timestamp: String(o.ts) });
      if (this.dropped.length > MAX_LIMIT) this.dropped.splice(0, this.dropped.length - MAX_LIMIT);
      return;
    }
    for (const o of out) {
      const key = JSON.stringify(o.labels);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { stream: o.labels, values: [] }));
      g.values.push([String(o.ts), o.line]);
    }
    const frame: Frame = {
      streams: [...groups.values()],
      dropped_entries: this.dropped.length > 0 ? this.dropped : null,
    };
    this.dropped = [];
    this.ws.send(JSON.stringify(frame));
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** The rows of a logs write as pipeline entries; stream label objects shared per label set. */
export function batchEntries(batch: ColumnBatch): LogEntry[] {
  const ts = batch.fixed._timestamp as (bigint | null)[] | undefined;
  const body = batch.fixed.body as (string | null)[] | undefined;
  if (!ts) return [];
  const streamCols: { label: string; values: readonly unknown[] }[] = [];
  const metaCols: { label: string; unset: string; values: readonly unknown[] }[] = [];
  for (const d of batch.dynamic) {
    const l = labelOfColumn(d.name);
    if (l?.kind === 'stream') streamCols.push({ label: l.label, values: d.values });
    else if (l) metaCols.push({ label: l.label, unset: l.unset, values: d.values });
  }
  for (const [name, values] of Object.entries(batch.fixed)) {
    const l = labelOfColumn(name);
    if (l?.kind === 'metadata') metaCols.push({ label: l.label, unset: l.unset, values });
  }
  const text = (v: unknown): string => {
    if (v === undefined || v === null) return '';
    if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
    return JSON.stringify(v) ?? '';
  };
  const streams = new Map<string, Record<string, string>>();
  const out: LogEntry[] = [];
  for (let i = 0; i < batch.rowCount; i++) {
    const stream: Record<string, string> = {};
    for (const c of streamCols) {
      const v = text(c.values[i]);
      if (v !== '' && stream[c.label] === undefined) stream[c.label] = v;
    }
    const key = JSON.stringify(stream);
    let shared = streams.get(key);
    if (!shared) streams.set(key, (shared = stream));
    const metadata: Record<string, string> = {};
    for (const c of metaCols) {
      const v = text(c.values[i]);
      if (v !== '' && v !== c.unset && shared[c.label] === undefined && metadata[c.label] === undefined)
        metadata[c.label] = v;
    }
    out.push({ ts: ts[i] ?? 0n, line: body?.[i] ?? '', stream: shared, metadata });
  }
  return out;
}

export class TailHub {
  private readonly clients = new Map<OrgId, Set<TailClient>>();
  private readonly wss = new WebSocketServer({ noServer: true });

  constructor(private readonly deps: { store: LogStore; log: Logger }) {}

  /** Clients connected, all orgs. */
  get size(): number {
    let n = 0;
    for (const set of this.clients.values()) n += set.size;
    return n;
  }

  /** The write path's append listener. */
  readonly onAppend = (org: OrgId, signal: SignalType, batch: ColumnBatch): void => {
    if (signal !== 'logs') return;
    const set = this.clients.get(org);
    if (!set || set.size === 0) return;
    const entries = batchEntries(batch);
    for (const c of set) c.offer(entries);
  };

  readonly handler = (log: Logger) =>
    loki(async (ctx: RequestContext) => {
      const p = ctx.query;
      const sel = requiredSelector(p);
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      const startText = p.get('start');
      const startNs = startText ? parseLokiTime(startText, 'start') : nowNs - 3600n * NS_PER_S;
      const limit = intParam(p, 'limit', 100);
      if (limit > MAX_LIMIT)
        throw badParam(
          `max entries limit per query exceeded, limit > max_entries_limit (${limit} > ${MAX_LIMIT})`,
        );
      const delayText = p.get('delay_for');
      const delayNs = delayText ? parseLokiDuration(delayText, 'delay_for') : 0n;
      if (delayNs > BigInt(MAX_DELAY_S) * NS_PER_S)
        throw badParam(`delay_for can't be greater than ${MAX_DELAY_S}`);
      const pipeline = compilePipeline(sel.pipeline);
      const org = ctx.org!.id;
      let set = this.clients.get(org);
      if (!set) this.clients.set(org, (set = new Set()));
      if (set.size >= MAX_CLIENTS_PER_ORG)
        throw new MoleError(`too many live tail connections for this org (at most ${MAX_CLIENTS_PER_ORG})`, {
          code: 'MS_ERR_TAIL_LIMIT',
          status: 429,
          reason: 'backpressure',
        });
      if (!ctx.upgrade || (ctx.req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
        throw badParam(
          'the tail endpoint needs a WebSocket connection (Connection: Upgrade, Upgrade: websocket)',
        );
      const { socket, head } = ctx.upgrade;
      const ws = await new Promise<WebSocket>((resolve) =>
        this.wss.handleUpgrade(ctx.req, socket, head, resolve),
      );
      ctx.res.statusCode = 101;
      const client = new TailClient(ws, sel.matchers, pipeline, Number(delayNs / 1_000_000n));
      const clients = set;
      clients.add(client);
      ws.on('close', () => {
        client.close();
        clients.delete(client);
      });
      ws.on('error', () => ws.terminate());
      try {
        const history = await readLines(this.deps.store, org, { startNs, endNs: nowNs + 1n }, sel.matchers, {
          limit: sel.pipeline.length === 0 ? limit : Math.min(limit * 20, 100_000),
        });
        const kept = history
          .filter((e) => pipeline.process(e) !== null)
          .slice(0, limit)
          .reverse();
        client.start(kept);
      } catch (e) {
        log.warn({ err: e }, 'live tail: reading the history failed');
        ws.close(1011, e instanceof MoleError ? e.message.slice(0, 120) : 'history read failed');
      }
    }, log);

  /** Closes every connection (shutdown). */
  closeAll(): void {
    for (const set of this.clients.values())
      for (const c of set) {
        c.close();
        c.ws.close(1001, 'server shutting down');
      }
    this.clients.clear();
  }
}
