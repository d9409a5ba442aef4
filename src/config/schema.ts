/**
 * The one configuration schema: every key with its default, unit, range and help text. Values come
 * from a YAML file, then MOLESIGNAL_* environment variables, then CLI flags (DESIGN.md decision 11).
 * docs/configuration.md is generated from this table (`npm run docs:config`), and a test checks it.
 */
import { z } from 'zod';
import { SLUG_RE } from '../tenancy/org-id.ts';
import { scrapeConfigsSchema } from './scrape-schema.ts';

export interface KeySpec {
  /** dotted path in the YAML file and in the typed config, e.g. `wal.fsync` */
  key: string;
  schema: z.ZodType;
  default: unknown;
  help: string;
  /** environment variable; defaults to MOLESIGNAL_ + upper snake case of the key */
  env?: string;
  /** CLI flag of `molesignal start`, kebab-case */
  flag?: string;
  secret?: boolean;
  /** test-only settings are not documented for users and refuse to load unless testing.enabled */
  testOnly?: boolean;
}

const port = z.coerce.number().int().min(0).max(65535);
const posInt = z.coerce.number().int().min(1);
const nonNegInt = z.coerce.number().int().min(0);
/** a port, or null (unset, `off`) for a listener that is off */
const optionalPort = z.preprocess((v) => (v === '' || v === 'off' ? null : v), port.nullable());
const streamName = z
  .string()
  .regex(SLUG_RE, 'use 1-63 characters of a-z, 0-9, _ and -, starting with a letter or digit');
/** column names: a YAML list, or a comma-separated string (environment, flags) */
const nameList = z.preprocess(
  (v) =>
    typeof v === 'string'
      ? v
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x !== '')
      : v,
  z.array(z.string().min(1)),
);
/** a list from YAML, or comma-separated text from the environment */
const commaList = (v: unknown) =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '')
    : v;
const bucketList = z.preprocess(
  commaList,
  z
    .array(z.coerce.number().positive())
    .min(1)
    .refine((b) => b.every((x, i) => i === 0 || x > b[i - 1]!), 'bucket bounds must be ascending'),
);
const bool = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

export const KEY_SPECS: readonly KeySpec[] = [
  {
    key: 'role',
    schema: z.enum(['standalone']),
    default: 'standalone',
    help: 'Process role. Only `standalone` (everything in one process) exists yet.',
  },
  {
    key: 'dataDir',
    schema: z.string().min(1),
    default: './data',
    help: 'Directory for the WAL, the catalog and (with the local object store) the Parquet files.',
    env: 'MOLESIGNAL_DATA_DIR',
    flag: '--data-dir',
  },
  {
    key: 'http.host',
    schema: z.string().min(1),
    default: '0.0.0.0',
    help: 'Address the HTTP API listens on.',
    flag: '--http-host',
  },
  {
    key: 'http.port',
    schema: port,
    default: 5080,
    help: 'HTTP port for the API and every HTTP ingest path (0 = any free port).',
    env: 'MOLESIGNAL_HTTP_PORT',
    flag: '--http-port',
  },
  {
    key: 'http.headersTimeoutMs',
    schema: posInt,
    default: 10_000,
    help: 'Close a connection whose request headers take longer than this (slowloris guard).',
  },
  {
    key: 'http.requestTimeoutMs',
    schema: posInt,
    default: 120_000,
    help: 'Upper bound for receiving one whole request.',
  },
  {
    key: 'grpc.port',
    schema: port,
    default: 4317,
    help: 'gRPC port for OTLP (logs, metrics, traces) and Jaeger `PostSpans` (0 = any free port). Binds the `http.host` address.',
    env: 'MOLESIGNAL_GRPC_PORT',
    flag: '--grpc-port',
  },
  {
    key: 'jaeger.udpCompactPort',
    schema: port,
    default: 0,
    help: 'UDP port for Jaeger agent `emitBatch` in the compact Thrift protocol (the agent used 6831); 0 = off. UDP carries no credentials: spans land in org `default`, stream `default`.',
    flag: '--jaeger-udp-compact-port',
  },
  {
    key: 'jaeger.udpBinaryPort',
    schema: port,
    default: 0,
    help: 'UDP port for Jaeger agent `emitBatch` in the binary Thrift protocol (the agent used 6832); 0 = off. Same org and stream as the compact port.',
    flag: '--jaeger-udp-binary-port',
  },
  {
    key: 'auth.rootUser',
    schema: z.string().min(1),
    default: 'root@example.com',
    help: 'Root user created on first start (admin of every org).',
    env: 'MOLESIGNAL_ROOT_USER',
  },
  {
    key: 'auth.rootPassword',
    schema: z.string(),
    default: '',
    help: 'Root password used on first start. Empty: a random one is generated and printed once.',
    env: 'MOLESIGNAL_ROOT_PASSWORD',
    secret: true,
  },
  {
    key: 'auth.protectMetrics',
    schema: bool,
    default: false,
    help: '`/metrics` needs a credential: the root user, an org admin, or an API key with the `metrics` scope (401 without one, 403 with another). Off: open, as in Prometheus and Loki.',
  },
  {
    key: 'ingest.maxBodyBytes',
    schema: posInt,
    default: 8 * 1024 * 1024,
    help: 'Largest request body accepted on the wire (bytes, before decompression); larger gets 413.',
  },
  {
    key: 'ingest.maxDecodedBytes',
    schema: posInt,
    default: 32 * 1024 * 1024,
    help: 'Largest body after decompression (bytes); decoding stops there with 413.',
  },
  {
    key: 'ingest.idempotencyTtlMs',
    schema: posInt,
    default: 600_000,
    help: 'How long an acknowledged Idempotency-Key is remembered (ms).',
  },
  {
    key: 'ingest.maxLineBytes',
    schema: posInt,
    default: 256 * 1024,
    help: "Longest log line (the `body` column, UTF-8 bytes) that Loki push, Splunk HEC, Elasticsearch `_bulk` and JSON ingest accept (Loki's `max_line_size` default); a longer one refuses the request with 400 `line_too_long`.",
  },
  {
    key: 'ingest.maxFutureMs',
    schema: nonNegInt,
    default: 600_000,
    help: "How far past the receive time a log timestamp may be (ms; Loki's `creation_grace_period` default) on Loki push, HEC, `_bulk` and JSON ingest; later refuses the request with 400 `too_far_in_future`. 0 = no limit.",
  },
  {
    key: 'ingest.maxAgeMs',
    schema: nonNegInt,
    default: 0,
    help: 'How far before the receive time a log timestamp may be (ms) on Loki push, HEC, `_bulk` and JSON ingest; older refuses the request with 400 `too_old`. 0 = no limit: backfills are accepted and stored in their own hour bucket. Loki refuses data older than 1 week by default (`reject_old_samples_max_age`): 604800000 behaves like it.',
  },
  {
    key: 'streams.maxFieldsPerStream',
    schema: posInt,
    default: 1000,
    help: 'Attribute columns per stream; further fields go into the `_attributes` JSON column.',
  },
  {
    key: 'streams.defaultRetentionDays',
    schema: nonNegInt,
    default: 0,
    help: "Retention for new streams in days (0 = keep forever), stored per stream and enforced by the compactor. A stream whose own retention is 0 follows its org's `default_retention_days` (`PUT /api/{org}/_settings`) when set; see docs/operations.md#compaction-retention-and-deletes.",
  },
  {
    key: 'compactor.enabled',
    schema: bool,
    default: true,
    help: 'Run the compactor in the background: merge small Parquet files per stream and hour, enforce retention, delete replaced objects.',
  },
  {
    key: 'compactor.intervalMs',
    schema: posInt,
    default: 300_000,
    help: 'Time between two background compactor cycles, in ms.',
  },
  {
    key: 'compactor.minFileAgeSeconds',
    schema: nonNegInt,
    default: 60,
    help: 'The background compactor merges an hour bucket only when its newest file is older than this (`POST /api/{org}/_compact` ignores it).',
  },
  {
    key: 'compactor.targetFileBytes',
    schema: posInt,
    default: 128 * 1024 * 1024,
    help: 'Size a merged Parquet file aims at; files of at least 80 % of it are not merged again.',
  },
  {
    key: 'compactor.deleteGraceMs',
    schema: nonNegInt,
    default: 600_000,
    help: 'Replaced or dropped objects are deleted from the object store this long after the catalog swap (queries that listed them can still read them). Keep it above `query.timeoutMs`.',
  },
  {
    key: 'streams.tokenFilterFields',
    schema: nameList,
    default: ['body'],
    help: 'Columns of log streams that get a per-file token filter (a bloom filter of their words, written beside each Parquet file) so a full-text search skips files that cannot match; see docs/format/token-filter.md. A comma-separated list (YAML: a list); empty: none.',
  },
  {
    key: 'streams.parquetBloomColumns',
    schema: nameList,
    default: ['trace_id'],
    help: "Id columns that get Parquet bloom filters (an equality lookup such as `trace_id = '…'` skips row groups). DuckDB writes them only for dictionary-encoded columns, so files that have one of these columns are written with a dictionary for every string column (about 10 % larger). A comma-separated list (YAML: a list); empty: none.",
  },
  {
    key: 'streams.jsonColumns',
    schema: bool,
    default: true,
    help: 'Store log lines that are flat JSON objects as columns: a flush keeps their values in `json.<key>` columns and their layout as a shape, and every reader gets the very same line back (docs/logs.md, "Storage of JSON lines"). Smaller files, and `| json` reads the columns instead of parsing lines. Lines of any other form keep their text.',
  },
  {
    key: 'storage.backend',
    schema: z.enum(['local', 's3']),
    default: 'local',
    help: 'Where Parquet files live: `local` (under `dataDir/objects`) or `s3` (an S3-compatible bucket, read through the disk cache).',
  },
  {
    key: 'storage.s3.endpoint',
    schema: z.string(),
    default: '',
    help: 'S3 endpoint URL (`http://127.0.0.1:7480` for Ceph RGW or MinIO). Empty: AWS S3 of `storage.s3.region`.',
  },
  {
    key: 'storage.s3.region',
    schema: z.string(),
    default: '',
    help: 'S3 region. Empty: `AWS_REGION` from the environment, else `us-east-1`.',
  },
  {
    key: 'storage.s3.bucket',
    schema: z.string(),
    default: '',
    help: 'Bucket of the Parquet files (required with `storage.backend: s3`; must exist).',
  },
  {
    key: 'storage.s3.prefix',
    schema: z
      .string()
      .regex(
        /^((?!\.\.?\/)[A-Za-z0-9._-]+\/)*$/,
        'use path segments of A-Z, a-z, 0-9, `.`, `_` and `-` (not `.` or `..`), each ending in `/`',
      ),
    default: '',
    help: 'Key prefix inside the bucket, ending in `/` (e.g. `molesignal/`); empty: the bucket root.',
  },
  {
    key: 'storage.s3.forcePathStyle',
    schema: bool,
    default: false,
    help: 'Address the bucket as `endpoint/bucket/key` (path-style; Ceph RGW, MinIO) rather than `bucket.endpoint/key` (virtual-host; AWS).',
  },
  {
    key: 'storage.s3.accessKeyId',
    schema: z.string(),
    default: '',
    help: 'S3 access key. Empty: the standard AWS chain (`AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, web identity, instance role).',
  },
  {
    key: 'storage.s3.secretAccessKey',
    schema: z.string(),
    default: '',
    help: 'S3 secret key (with `storage.s3.accessKeyId`).',
    secret: true,
  },
  {
    key: 'storage.cache.dir',
    schema: z.string(),
    default: '',
    help: 'Directory of the local disk cache of S3 objects (and the staging files of flushes). Empty: `<dataDir>/cache`.',
  },
  {
    key: 'storage.cache.maxBytes',
    schema: posInt,
    default: 10 * 1024 ** 3,
    help: 'Upper bound of the disk cache in bytes (least recently used objects are evicted; objects a running query reads are kept until it ends).',
  },
  {
    key: 'catalog.backend',
    schema: z.enum(['sqlite', 'postgres']),
    default: 'sqlite',
    help: 'Where the catalog (orgs, users, keys, streams, the file list) lives: `sqlite` (`<dataDir>/catalog.sqlite`) or `postgres` (`catalog.postgresUrl`). `molesignal migrate` copies a SQLite catalog into PostgreSQL.',
  },
  {
    key: 'catalog.postgresUrl',
    schema: z
      .string()
      .regex(
        /^$|^postgres(ql)?:\/\//,
        'use a postgres://user:password@host:port/database URL, or leave it empty to use the PG* environment variables',
      ),
    default: '',
    help: 'PostgreSQL catalog, `postgres://user:password@host:5432/database` (`?sslmode=require` for TLS). Empty: the standard PG* environment variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD). Used when `catalog.backend` is `postgres`.',
    secret: true,
  },
  {
    key: 'wal.fsync',
    schema: z.enum(['batch', 'interval']),
    default: 'batch',
    help: '`batch`: acknowledge only after fsync, concurrent requests share one fsync (group commit). `interval`: acknowledge after the write, fsync every `wal.fsyncIntervalMs` (faster; power loss may lose that window).',
  },
  {
    key: 'wal.groupCommitWindowMs',
    schema: nonNegInt.max(10),
    default: 2,
    help: 'How long a group of writes may wait to share one fsync (ms, at most 10).',
  },
  {
    key: 'wal.fsyncIntervalMs',
    schema: posInt,
    default: 1000,
    help: 'fsync period when `wal.fsync` is `interval` (ms).',
  },
  {
    key: 'wal.segmentBytes',
    schema: posInt,
    default: 64 * 1024 * 1024,
    help: 'Roll to a new WAL segment past this size (bytes).',
  },
  {
    key: 'wal.repair',
    schema: bool,
    default: false,
    help: 'Start even if a WAL segment is corrupt in the middle, truncating it there (reports how many records were discarded).',
    flag: '--wal-repair',
  },
  {
    key: 'memtable.maxRows',
    schema: posInt,
    default: 1_000_000,
    help: 'Flush a stream to Parquet when its memtable holds this many rows.',
  },
  {
    key: 'memtable.maxBytes',
    schema: posInt,
    default: 256 * 1024 * 1024,
    help: 'Flush a stream when its memtable holds about this many bytes of ingested data.',
  },
  {
    key: 'memtable.maxAgeMs',
    schema: posInt,
    default: 600_000,
    help: 'Flush a stream whose oldest unflushed row is older than this (ms).',
  },
  {
    key: 'memtable.maxTotalBytes',
    schema: posInt,
    default: 1024 * 1024 * 1024,
    help: 'Memory pressure: flush the largest streams (the oldest among equals) when all memtables together, incl. those being flushed, hold more than this (bytes).',
  },
  {
    key: 'memtable.refuseAboveBytes',
    schema: posInt,
    default: 1536 * 1024 * 1024,
    help: 'Backpressure: a request that would take memtables (all streams, incl. those being flushed and requests not yet applied) past this (bytes) gets 429 with a Retry-After derived from the flush rate, instead of memory growing without bound; a request larger than this alone gets 413. Keep it above `memtable.maxTotalBytes`.',
  },
  {
    key: 'memtable.checkIntervalMs',
    schema: posInt,
    default: 1000,
    help: 'How often the flush policy is checked (ms).',
  },
  {
    key: 'memory.budgetBytes',
    schema: z.coerce
      .number()
      .int()
      .refine((n) => n === 0 || n >= 256 * 1024 * 1024, 'must be 0 (unset) or at least 268435456 (256 MiB)'),
    default: 0,
    help: 'Memory budget of the whole process (bytes; 0 = unset). When set, the keys not set explicitly are derived from it: `query.duckdbMemoryLimit` 30 %, `memtable.refuseAboveBytes` 20 %, `memtable.maxTotalBytes` 10 %, `memtable.maxBytes` at most 10 %, `query.sampleCacheBytes` 5 %; the rest is for the Node heap (start Node with `--max-old-space-size` at about 40 % of it) and request buffers. See docs/operations.md#memory-rotation-backpressure-late-data-and-metrics.',
  },
  {
    key: 'limits.maxSeriesPerOrg',
    schema: posInt,
    default: 100_000,
    help: 'Most metric series an org may have; new series past it are refused with 429 (reason series_limit) naming the metric and the label driving its growth.',
  },
  {
    key: 'limits.maxSeriesPerMetric',
    schema: posInt,
    default: 50_000,
    help: 'Most series one metric name may have in an org; past it, new series of that metric are refused (429, series_limit).',
  },
  {
    key: 'query.timeoutMs',
    schema: posInt,
    default: 30_000,
    help: 'A query (SQL, PromQL, LogQL, trace search and the Loki metadata endpoints) running longer is stopped (ms); LogQL and trace search answer 504.',
  },
  {
    key: 'query.maxSqlBytes',
    schema: posInt,
    default: 16 * 1024,
    help: 'Longest SQL text accepted (bytes).',
  },
  {
    key: 'query.maxConcurrent',
    schema: posInt,
    default: 2,
    help: 'Queries running at once; others wait up to `query.maxQueueMs`.',
  },
  {
    key: 'query.maxQueueMs',
    schema: posInt,
    default: 10_000,
    help: 'How long a query may wait for a slot before 503 (ms).',
  },
  {
    key: 'query.maxSamples',
    schema: posInt,
    default: 50_000_000,
    help: 'Most samples one PromQL query may hold in memory; more gives a 422 "execution" error.',
  },
  {
    key: 'query.maxPointsPerSeries',
    schema: posInt,
    default: 11_000,
    help: 'Most points per series a PromQL range query may return ((end - start) / step); more is a 400.',
  },
  {
    key: 'query.traceSearchMaxSpans',
    schema: posInt,
    default: 300_000,
    help: 'Most spans a trace search (Tempo /api/search, TraceQL; Jaeger and Zipkin trace searches) holds in memory at once: it reads its candidate traces in chunks of at most this many spans (counted in the search window) and stops at `limit` matches; a single trace with more spans in the window is a 400 asking for a narrower range.',
  },
  {
    key: 'query.lookbackDeltaMs',
    schema: posInt,
    default: 300_000,
    help: 'How far back a PromQL instant vector selector looks for a sample (ms; Prometheus default 5m).',
  },
  {
    key: 'query.defaultSize',
    schema: posInt,
    default: 1000,
    help: 'Rows returned by /_search when the request has no `size`.',
  },
  {
    key: 'query.maxSize',
    schema: posInt,
    default: 100_000,
    help: 'Largest `size` a /_search request may ask for.',
  },
  {
    key: 'query.duckdbMemoryLimit',
    schema: z.string().regex(/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB|%)$/i),
    default: '25%',
    help: 'DuckDB memory limit per org instance, e.g. `2GiB` or `25%` of RAM.',
  },
  {
    key: 'query.sampleCacheBytes',
    schema: nonNegInt,
    default: 512 * 1024 * 1024,
    help: 'Memory for decoded metric samples of Parquet files, shared by all orgs (bytes; 0 turns the cache off). PromQL decodes a series from a file once, then reads it from memory; the least recently used series go first.',
  },
  { key: 'query.duckdbThreads', schema: posInt, default: 2, help: 'DuckDB worker threads per org instance.' },
  {
    key: 'logql.maxEntriesLimitPerQuery',
    schema: posInt,
    default: 5000,
    help: "Largest `limit` a LogQL log query may ask for (Loki's `max_entries_limit_per_query`); more is a 400.",
  },
  {
    key: 'logql.maxQuerySeries',
    schema: posInt,
    default: 500,
    help: "Most series a LogQL metric query may return, and most streams (stream-label sets) a log query may read (Loki's `max_query_series`); more is a 400.",
  },
  {
    key: 'logql.maxQueryLengthMs',
    schema: posInt,
    default: 721 * 3600 * 1000,
    help: "Longest `end - start` of a LogQL query (ms; Loki's `max_query_length`, 721h); longer is a 400.",
  },
  {
    key: 'logql.pushdown',
    schema: bool,
    default: true,
    help: 'Compute LogQL range aggregations (count_over_time, rate, bytes_*, the unwrap ops) as SQL aggregations where that is exact (line filters, string label filters, `| json` on simple lines); false: every line goes through the pipeline in JS.',
  },
  {
    key: 'exemplars.maxPerOrg',
    schema: posInt,
    default: 100_000,
    help: "Exemplars kept in memory per org for `/api/v1/query_exemplars` (the newest; Prometheus' `max_exemplars`). Rebuilt at start from the WAL.",
  },
  {
    key: 'spanMetrics.enabled',
    schema: bool,
    default: true,
    help: "Derive span metrics (`traces_spanmetrics_*`) and service graph metrics (`traces_service_graph_*`) from every span written, with Tempo's metric names (see docs/traces.md).",
  },
  {
    key: 'spanMetrics.intervalMs',
    schema: posInt,
    default: 15_000,
    help: "How often span metrics are written: one sample per series per interval (ms; Tempo's `collection_interval`).",
  },
  {
    key: 'spanMetrics.staleMs',
    schema: posInt,
    default: 15 * 60 * 1000,
    help: "A span metrics series not updated for this long is no longer written (ms; Tempo's `stale_duration`).",
  },
  {
    key: 'spanMetrics.latencyBuckets',
    schema: bucketList,
    default: [
      0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384,
    ],
    help: 'Upper bounds of the `traces_spanmetrics_latency` histogram (seconds, ascending; from the environment: comma-separated).',
  },
  {
    key: 'spanMetrics.serviceGraphBuckets',
    schema: bucketList,
    default: [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8],
    help: 'Upper bounds of the `traces_service_graph_request_{server,client}_seconds` histograms (seconds, ascending; from the environment: comma-separated).',
  },
  {
    key: 'spanMetrics.dimensions',
    schema: nameList,
    default: [],
    help: 'Extra span metrics labels: span attributes (else resource attributes) by key, the label named with `.` → `_` (e.g. `http.method` → `http_method`). From the environment: comma-separated.',
  },
  {
    key: 'spanMetrics.serviceGraphWaitMs',
    schema: posInt,
    default: 10_000,
    help: "How long a client or server span waits for its other half before the edge is given up (ms; Tempo's `wait`).",
  },
  {
    key: 'spanMetrics.serviceGraphMaxItems',
    schema: posInt,
    default: 10_000,
    help: "Most edge halves waiting per org; past it, new halves are dropped (Tempo's `max_items`).",
  },
  {
    key: 'syslog.host',
    schema: z.string(),
    default: '',
    help: 'Address the syslog listeners bind to; empty: the same as `http.host`.',
  },
  {
    key: 'syslog.udpPort',
    schema: optionalPort,
    default: null,
    help: 'Syslog over UDP (RFC 5424 / RFC 3164, one message per datagram). Unset: off; 0: any free port.',
    flag: '--syslog-udp-port',
  },
  {
    key: 'syslog.tcpPort',
    schema: optionalPort,
    default: null,
    help: 'Syslog over TCP (RFC 6587 octet counting or newline framing, detected per message). Unset: off; 0: any free port.',
    flag: '--syslog-tcp-port',
  },
  {
    key: 'syslog.tlsPort',
    schema: optionalPort,
    default: null,
    help: 'Syslog over TLS (RFC 5425; needs `syslog.tlsCert` and `syslog.tlsKey`). Unset: off; 0: any free port.',
    flag: '--syslog-tls-port',
  },
  {
    key: 'syslog.tlsCert',
    schema: z.string(),
    default: '',
    help: 'PEM certificate (chain) file of the syslog TLS listener.',
  },
  {
    key: 'syslog.tlsKey',
    schema: z.string(),
    default: '',
    help: 'PEM private key file of the syslog TLS listener.',
  },
  ...(['udp', 'tcp', 'tls'] as const).flatMap((t): KeySpec[] => [
    {
      key: `syslog.${t}Org`,
      schema: z.string().min(1),
      default: 'default',
      help: `Org that messages received over ${t.toUpperCase()} go to (it must exist; messages for a missing org are dropped and counted).`,
    },
    {
      key: `syslog.${t}Stream`,
      schema: streamName,
      default: 'syslog',
      help: `Log stream that messages received over ${t.toUpperCase()} go to.`,
    },
  ]),
  {
    key: 'syslog.maxMessageBytes',
    schema: posInt,
    default: 64 * 1024,
    help: 'Longest syslog message (bytes, without framing); longer ones are dropped and counted (reason `oversize`), an octet-counted TCP frame announcing more closes its connection.',
  },
  {
    key: 'syslog.batchWindowMs',
    schema: posInt.max(1000),
    default: 5,
    help: 'Messages of one listener arriving within this time are written as one batch (ms).',
  },
  {
    key: 'log.level',
    schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
    default: 'info',
    help: 'Log level; `debug` logs one line per request (never the payload).',
    flag: '--log-level',
  },
  {
    key: 'shutdown.timeoutMs',
    schema: posInt,
    default: 10_000,
    help: 'On SIGTERM: drain, fsync, flush, and exit within this time (ms).',
  },
  {
    key: 'scrape_configs',
    schema: scrapeConfigsSchema,
    default: [],
    help: 'Prometheus targets this server scrapes itself, written as in Prometheus (`job_name`, `static_configs`, `scrape_interval`, `scrape_timeout`, `metrics_path`, `scheme`, `params`, `honor_labels`, `honor_timestamps`, `relabel_configs`, `metric_relabel_configs`) plus `org` (default `default`). See docs/ingest.md, "Scraping". From the environment: the list as JSON.',
  },
  {
    key: 'testing.enabled',
    schema: bool,
    default: false,
    help: 'Enables the test-only settings below. Never in production.',
    testOnly: true,
  },
  {
    key: 'testing.disableSqlValidator',
    schema: bool,
    default: false,
    help: 'Run user SQL without the validator (to prove the DuckDB sandbox alone holds).',
    testOnly: true,
  },
  {
    key: 'testing.walFault',
    schema: z.string().regex(/^$|^(eio-on-fsync|short-write|enospc):[1-9]\d*$/),
    default: '',
    help: 'Inject a WAL file-system fault: `eio-on-fsync:<n>`, `short-write:<n>` or `enospc:<n>` (the n-th call fails).',
    testOnly: true,
  },
  {
    key: 'testing.catalogFault',
    schema: z.string().regex(/^$|^commit-lost:[1-9]\d*$/),
    default: '',
    help: 'Report the n-th flush commit as failed after it was committed (`commit-lost:<n>`), as when the connection to PostgreSQL breaks during COMMIT.',
    testOnly: true,
  },
  {
    key: 'testing.crashpoint',
    schema: z.string(),
    default: '',
    help: 'Kill the process at a named point: `<name>:<n>`.',
    env: 'MOLESIGNAL_CRASHPOINT',
    testOnly: true,
  },
];

export const envNameOf = (spec: KeySpec): string =>
  spec.env ??
  'MOLESIGNAL_' +
    spec.key
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .replace(/\./g, '_')
      .toUpperCase();
