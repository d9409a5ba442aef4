/**
 * What makes trace by id fast or slow in our span files: rewrites the Parquet files of a traces
 * stream (a data dir kept by `npm run bench -- traces --keep 1`) in several layouts and times the
 * lookup the SQL path runs, `SELECT * FROM read_parquet([every file]) WHERE trace_id = '…'`, in a
 * DuckDB with the server's settings (2 threads), for random trace ids of the data.
 *
 *   node --import tsx bench/trace-storage.ts <data dir> [--ids 200] [--probe 20] [--only 0,3,8]
 *
 * Per layout: bytes, row groups, lookup p50/p99 (wall time; noisy on a loaded machine) and CPU
 * time per lookup (this process, DuckDB's threads included: steadier), and for --probe ids how many row groups each
 * lookup must read: those whose trace_id min/max statistics admit the id, and of those the ones
 * whose Parquet bloom filter says "maybe" (DuckDB's parquet_bloom_probe; DuckDB writes one for
 * each dictionary-encoded column chunk). Layouts: the files as the flush wrote them, and rewrites
 * of each file (same hour files) in time or trace_id order, with 122,880- or 16,384-row groups and
 * three dictionary limits. Prints a Markdown table; the temp copies are removed.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from './lib/tsbs-data.ts';

interface Layout {
  name: string;
  /** ORDER BY of the rewrite; null: the files as flushed */
  order: string | null;
  rowGroup: number;
  /**
   * DICTIONARY_SIZE_LIMIT: `rowgroup` = the row group size (what the flush sets, so that every
   * string column, unique ids too, is dictionary-encoded and gets a bloom filter); `default` =
   * DuckDB's own (a column is dictionary-encoded, and trace_id gets its bloom filter, only while a
   * row group holds few enough distinct values); `none` = 1 (no dictionary, no bloom filter).
   */
  dict: 'rowgroup' | 'default' | 'none';
  /** with DuckDB's `parquet_metadata_cache` on (footers parsed once, not per query; off in the server) */
  cache?: boolean;
  /** each hour file cut into this many files by time (as frequent flushes leave them) */
  split?: number;
}

const LAYOUTS: Layout[] = [
  { name: 'as flushed: _timestamp order, 122,880 rows/group, dictionary limit = row group', order: null, rowGroup: 122_880, dict: 'rowgroup' },
  { name: '_timestamp order, 122,880, default dictionary limit', order: '_timestamp', rowGroup: 122_880, dict: 'default' },
  { name: '_timestamp order, 122,880, no dictionary (no bloom filter)', order: '_timestamp', rowGroup: 122_880, dict: 'none' },
  { name: '_timestamp order, 16,384, dictionary limit = row group', order: '_timestamp', rowGroup: 16_384, dict: 'rowgroup' },
  { name: '_timestamp order, 16,384, default dictionary limit', order: '_timestamp', rowGroup: 16_384, dict: 'default' },
  { name: 'trace_id order, 122,880, default dictionary limit', order: 'trace_id, _timestamp', rowGroup: 122_880, dict: 'default' },
  { name: 'trace_id order, 122,880, no dictionary (no bloom filter)', order: 'trace_id, _timestamp', rowGroup: 122_880, dict: 'none' },
  { name: 'trace_id order, 16,384, default dictionary limit', order: 'trace_id, _timestamp', rowGroup: 16_384, dict: 'default' },
  { name: 'as flushed, each hour file cut into 10 by time', order: '_timestamp', rowGroup: 122_880, dict: 'rowgroup', split: 10 },
  { name: 'as flushed, parquet_metadata_cache on', order: null, rowGroup: 122_880, dict: 'rowgroup', cache: true },
  { name: 'trace_id order, 16,384, default dictionary limit, parquet_metadata_cache on', order: 'trace_id, _timestamp', rowGroup: 16_384, dict: 'default', cache: true },
];

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

async function parquetFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile() && e.name.endsWith('.parquet') && join(e.parentPath, e.name).includes('/traces/'))
      out.push(join(e.parentPath, e.name));
  return out.sort();
}

async function rows(conn: DuckDBConnection, sql: string): Promise<unknown[][]> {
  return (await conn.runAndReadAll(sql)).getRows();
}

const q = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

async function main(): Promise<void> {
  const [dataDir, ...rest] = process.argv.slice(2);
  if (!dataDir) throw new Error('usage: node --import tsx bench/trace-storage.ts <data dir> [--ids N] [--probe N]');
  const flag = (n: string, d: number) => {
    const i = rest.indexOf(`--${n}`);
    return i >= 0 ? Number(rest[i + 1]) : d;
  };
  const nIds = flag('ids', 200);
  const nProbe = flag('probe', 20);
  const only = rest.includes('--only') ? rest[rest.indexOf('--only') + 1]!.split(',').map(Number) : null;
  const original = await parquetFiles(join(dataDir, 'objects'));
  if (original.length === 0) throw new Error(`no traces Parquet files under ${dataDir}/objects`);
  const db = await DuckDBInstance.create(':memory:', { threads: '2' });
  const conn = await db.connect();
  const list = (files: string[]) => `[${files.map(sqlString).join(', ')}]`;
  const all = (await rows(conn, `SELECT DISTINCT trace_id FROM read_parquet(${list(original)}) ORDER BY trace_id`)).map(
    (r) => r[0] as string,
  );
  const rand = seededRandom(3);
  const ids = Array.from({ length: nIds }, () => all[Math.floor(rand() * all.length)]!);
  const tmp = await mkdtemp(join(tmpdir(), 'trace-storage-'));
  const out: string[] = [
    `${original.length} hour files, ${all.length.toLocaleString('en')} traces; ${nIds} random ids; row groups read per lookup over ${nProbe} ids`,
    '',
    '| layout | files | MB | row groups | lookup p50 / p99 (ms) | CPU ms per lookup | row groups admitted by min/max | … and by bloom filter | trace_id chunks with a bloom filter |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  try {
    for (const [li, l] of LAYOUTS.entries()) {
      if (only && !only.includes(li)) continue;
      let files = original;
      if (l.order !== null) {
        files = [];
        const split = l.split ?? 1;
        for (const [i, f] of original.entries()) {
          for (let part = 0; part < split; part++) {
            const dst = join(tmp, `l${li}-${i}-${part}.parquet`);
            const src = `(SELECT * FROM (SELECT *, ntile(${split}) OVER (ORDER BY _timestamp) - 1 AS part FROM read_parquet(${sqlString(f)})) WHERE part = ${part})`;
            await conn.run(
              `COPY (SELECT * EXCLUDE (part) FROM ${src} ORDER BY ${l.order}) TO ${sqlString(dst)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${l.rowGroup}${l.dict === 'rowgroup' ? `, DICTIONARY_SIZE_LIMIT ${l.rowGroup}` : l.dict === 'none' ? ', DICTIONARY_SIZE_LIMIT 1' : ''})`,
            );
            files.push(dst);
          }
        }
      }
      let bytes = 0;
      for (const f of files) bytes += (await stat(f)).size;
      const rg = Number((await rows(conn, `SELECT count(DISTINCT (file_name, row_group_id)) FROM parquet_metadata(${list(files)})`))[0]![0]);
      // min/max per row group of trace_id, to count what the statistics admit
      const stats = (await rows(
        conn,
        `SELECT stats_min_value, stats_max_value, bloom_filter_offset IS NOT NULL FROM parquet_metadata(${list(files)}) WHERE path_in_schema = 'trace_id'`,
      )) as [string, string, boolean][];
      const blooms = stats.filter((r) => r[2]).length;
      await conn.run(`SET parquet_metadata_cache = ${l.cache === true}`);
      const times: number[] = [];
      // warm-up: metadata into the OS cache
      await rows(conn, `SELECT count(*) FROM read_parquet(${list(files)}, union_by_name = true) WHERE trace_id = ${sqlString(ids[0]!)}`);
      const cpu0 = process.cpuUsage();
      for (const id of ids) {
        const s = performance.now();
        await rows(conn, `SELECT * FROM read_parquet(${list(files)}, union_by_name = true) WHERE trace_id = ${sqlString(id)}`);
        times.push(performance.now() - s);
      }
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = (cpu.user + cpu.system) / 1000 / ids.length;
      times.sort((a, b) => a - b);
      let admitted = 0;
      let maybe = 0;
      for (const id of ids.slice(0, nProbe)) {
        admitted += stats.filter(([lo, hi]) => lo <= id && id <= hi).length;
        for (const f of files) {
          const probe = await rows(conn, `SELECT row_group_id, bloom_filter_excludes FROM parquet_bloom_probe(${sqlString(f)}, 'trace_id', ${sqlString(id)})`);
          const fileStats = (await rows(
            conn,
            `SELECT row_group_id, stats_min_value, stats_max_value FROM parquet_metadata(${sqlString(f)}) WHERE path_in_schema = 'trace_id'`,
          )) as [number, string, string][];
          for (const [rgId, lo, hi] of fileStats) {
            if (!(lo <= id && id <= hi)) continue;
            const p = probe.find((r) => Number(r[0]) === Number(rgId));
            if (!p || p[1] !== true) maybe++;
          }
        }
      }
      const row = `| ${l.name} | ${files.length} | ${(bytes / 1e6).toFixed(1)} | ${rg} | ${q(times, 0.5).toFixed(1)} / ${q(times, 0.99).toFixed(1)} | ${cpuMs.toFixed(1)} | ${(admitted / nProbe).toFixed(1)} | ${(maybe / nProbe).toFixed(2)} | ${blooms} of ${stats.length} |`;
      out.push(row);
      process.stderr.write(`${row}\n`);
    }
  } finally {
    conn.closeSync();
    await rm(tmp, { recursive: true, force: true });
  }
  console.log(out.join('\n'));
}

await main();
