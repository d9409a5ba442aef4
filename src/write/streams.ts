/**
 * The stream registry: every (org, type, stream) with its schema, settings and memtables.
 * Loaded from the catalog at start; a stream is created on first write. Schema changes and
 * memtable rotation of one stream happen under that stream's lock; appends never wait for it.
 */
import type { Catalog, StreamSettings, StreamType } from '../catalog/catalog.ts';
import { Mutex } from '../lib/mutex.ts';
import { badRequest } from '../lib/errors.ts';
import type { EnginePool } from '../memtable/org-engine.ts';
import { StreamMemtables } from '../memtable/memtable.ts';
import { SLUG_RE, type OrgId } from '../tenancy/org-id.ts';
import type { ColumnBatch, SignalType } from './column-batch.ts';
import { StreamSchema } from './stream-schema.ts';

export interface StreamState {
  org: OrgId;
  type: StreamType;
  name: string;
  schema: StreamSchema;
  mem: StreamMemtables;
  lock: Mutex;
  settings: StreamSettings;
  flushedSeq: number;
}

const streamKey = (org: OrgId, type: StreamType, name: string) => `${org}/${type}/${name}`;

export function checkStreamName(name: string): string {
  if (!SLUG_RE.test(name)) {
    throw badRequest(
      `stream name ${JSON.stringify(name.slice(0, 80))} is invalid: use 1-63 characters of a-z, 0-9, "_" and "-", starting with a letter or digit`,
      'MS_ERR_BAD_STREAM_NAME',
    );
  }
  return name;
}

export class StreamRegistry {
  private readonly streams = new Map<string, StreamState>();
  private readonly creating = new Map<string, Promise<StreamState>>();

  constructor(
    private readonly catalog: Catalog,
    private readonly engines: EnginePool,
    private readonly defaults: { maxFieldsPerStream: number; defaultRetentionDays: number },
  ) {}

  /** Loads every stream of the catalog and creates its empty memtable. */
  async load(): Promise<void> {
    for (const row of await this.catalog.listStreams(null)) {
      const schema = new StreamSchema(row.type);
      for (const f of await this.catalog.listStreamFields(row.org, row.type, row.name)) schema.restore(f);
      const state = await this.build(row.org, row.type, row.name, schema, row.settings, row.flushedSeq);
      this.streams.set(streamKey(row.org, row.type, row.name), state);
    }
  }

  private async build(
    org: OrgId,
    type: StreamType,
    name: string,
    schema: StreamSchema,
    settings: StreamSettings,
    flushedSeq: number,
  ) {
    const engine = await this.engines.get(org);
    const mem = await StreamMemtables.create(engine, `mem_${type}_${name}`, schema);
    return { org, type, name, schema, mem, lock: new Mutex(), settings, flushedSeq };
  }

  get(org: OrgId, type: StreamType, name: string): StreamState | undefined {
    return this.streams.get(streamKey(org, type, name));
  }

  list(org: OrgId | null): StreamState[] {
    return [...this.streams.values()].filter((s) => org === null || s.org === org);
  }

  async getOrCreate(org: OrgId, type: SignalType, name: string): Promise<StreamState> {
    const key = streamKey(org, type, name);
    const existing = this.streams.get(key);
    if (existing) return existing;
    let p = this.creating.get(key);
    if (!p) {
      p = (async () => {
        const settings = {
          retentionDays: this.defaults.defaultRetentionDays,
          maxFields: this.defaults.maxFieldsPerStream,
        };
        const row = await this.catalog.upsertStream(org, type, name, settings);
        const state = await this.build(org, type, name, new StreamSchema(type), row.settings, row.flushedSeq);
        this.streams.set(key, state);
        return state;
      })();
      this.creating.set(key, p);
      p.finally(() => this.creating.delete(key)).catch(() => undefined);
    }
    return p;
  }

  isPrepared(s: StreamState, batch: ColumnBatch): boolean {
    return batch.dynamic.every((d) => s.schema.placementOf(d.name, d.type) !== undefined);
  }

  /** Makes sure every field of the batch has a place (new columns are persisted, then added). */
  async prepare(s: StreamState, batch: ColumnBatch): Promise<void> {
    if (this.isPrepared(s, batch)) return;
    await s.lock.run(async () => {
      const rows = s.schema.plan(batch.dynamic, s.settings.maxFields);
      if (rows.length === 0) return;
      await this.catalog.addStreamFields(s.org, s.type, s.name, rows);
      const added = s.schema.apply(rows);
      await s.mem.addColumns(added);
    });
  }

  async updateSettings(s: StreamState, settings: StreamSettings): Promise<void> {
    await this.catalog.updateStreamSettings(s.org, s.type, s.name, settings);
    s.settings = settings;
  }

  /** Lowest WAL seq still only in memtables, over all streams. */
  minUnflushedSeq(): number {
    let min = Infinity;
    for (const s of this.streams.values()) min = Math.min(min, s.mem.minUnflushedSeq());
    return min;
  }
}
