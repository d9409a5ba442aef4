/**
 * The composition root: config → catalog → storage → streams → WAL replay → write path →
 * listeners. SIGTERM: stop accepting, drain in-flight requests, flush memtables, fsync and close
 * the WAL, then exit (RELIABILITY.md D7).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Authenticator } from './auth/principal.ts';
import { hashPassword, randomPassword } from './auth/secrets.ts';
import type { Catalog } from './catalog/catalog.ts';
import { openCatalog } from './catalog/open.ts';
import type { Config } from './config/config.ts';
import { decodeOtlp } from './ingest/otlp/decode.ts';
import { decoderTable } from './ingest/decoders.ts';
import { otlpHandler } from './ingest/otlp/handler.ts';
import { remoteWriteHandler } from './ingest/remote-write/handler.ts';
import { decodeSyslog } from './ingest/syslog/decode.ts';
import { startSyslogListeners } from './ingest/syslog/listeners.ts';
import { lokiPushHandler } from './ingest/loki/handler.ts';
import { decodeLokiJson } from './ingest/loki/parse-json.ts';
import { decodeLokiProto } from './ingest/loki/parse-proto.ts';
import { jsonDocsHandler } from './ingest/json-docs/handler.ts';
import { hecEventHandler, hecHealthHandler, hecRawHandler } from './ingest/hec/handler.ts';
import { decodeHecEvents, decodeHecRaw } from './ingest/hec/parse.ts';
import { bulkHandler } from './ingest/es-bulk/handler.ts';
import { esHandshakeHandlers } from './ingest/es-bulk/handshake.ts';
import { decodeEsBulk } from './ingest/es-bulk/parse.ts';
import { decodeJsonArray, decodeNdjson } from './ingest/json-docs/parse.ts';
import { otlpMetricsHandler, replayOtlpMetricsBatch } from './ingest/otlp-metrics/handler.ts';
import { promApiHandlers } from './promql/api/handlers.ts';
import { lokiQueryHandlers } from './logql/api/query.ts';
import { lokiApiHandlers, lokiTailHub } from './logql/api/handlers.ts';
import { traceSearchHandler } from './traces/traceql/api.ts';
import { replayMetricsBatch } from './ingest/remote-write/to-batch.ts';
import { influxPing, influxWriteHandler, replayInfluxBatch } from './ingest/influx/handler.ts';
import { promTextImportHandler, replayPromTextBatch } from './ingest/prom-text/handler.ts';
import { replayVmImportBatch, vmImportHandler } from './ingest/vm-import/handler.ts';
import { vmExportHandler } from './promql/api/export.ts';
import { compileScrapeConfigs } from './ingest/scrape/compile.ts';
import { Scraper } from './ingest/scrape/scraper.ts';
import { configError } from './config/config.ts';
import { SeriesRegistry } from './write/series-registry.ts';
import { armCrashpoint } from './lib/crashpoint.ts';
import type { Logger } from './lib/logger.ts';
import { MetricsRegistry, createServerMetrics } from './lib/metrics.ts';
import { metricsHandler, registerSelfMetrics } from './server/self-metrics.ts';
import { Flusher, configureParquetBloomColumns, removeOrphans } from './memtable/flush.ts';
import { configureTokenFilters, tokenFilterCache } from './storage/token-filter.ts';
import { configureJsonColumns } from './memtable/json-split.ts';
import { EnginePool } from './memtable/org-engine.ts';
import { flushDirtyAppenders, setAppendFailureHandler } from './memtable/memtable.ts';
import { QueryExecutor } from './query/executor.ts';
import { SpanReader } from './traces/span-reader.ts';
import { tempoHandlers } from './traces/api/tempo.ts';
import { jaegerZipkinHandlers } from './traces/api/jaeger-zipkin.ts';
import { searchHandler } from './query/search-handler.ts';
import { Compactor } from './compactor/compactor.ts';
import { compactorHandlers } from './compactor/handlers.ts';
import { SampleCache } from './query/sample-cache.ts';
import { storageReads } from './query/stream-relation.ts';
import { adminHandlers } from './server/admin-handlers.ts';
import { createHttpServer, sendJson } from './server/http-server.ts';
import { startGrpcServer } from './server/grpc-server.ts';
import { otlpGrpcMethods } from './ingest/otlp-grpc/methods.ts';
import { decodeZipkin, zipkinHandler } from './ingest/zipkin/handler.ts';
import { decodeJaeger, jaegerGrpcMethod, jaegerThriftHandler } from './ingest/jaeger/handler.ts';
import { startJaegerUdp, type JaegerUdpListener } from './ingest/jaeger/udp.ts';
import { Router } from './server/router.ts';
import { buildRoutes } from './server/routes.ts';
import { streamHandlers } from './server/stream-handlers.ts';
import { openObjectStore } from './storage/open-store.ts';
import { registerCacheMetrics } from './storage/cache-metrics.ts';
import { FileListCache, withFileListCache } from './catalog/file-list-cache.ts';
import { newOrgId, type OrgId } from './tenancy/org-id.ts';
import { OrgResolver } from './tenancy/org-resolver.ts';
import { Wal } from './wal/wal.ts';
import { FaultyWalFs } from './wal/wal-fs.ts';
import { StreamRegistry } from './write/streams.ts';
import { WritePath } from './write/write-path.ts';
import { correlationHandler } from './correlation/handler.ts';
import { ExemplarStore } from './ingest/exemplar-store.ts';
import { SpanMetricsRuntime } from './traces/metrics-generator/runtime.ts';
import { lastValuesReader } from './traces/metrics-generator/last-values.ts';

/** Test-only: a WAL file system that fails the n-th fsync / write (RELIABILITY.md D5). */
function faultyWalFs(spec: string): FaultyWalFs {
  const [kind, n] = spec.split(':');
  const fs = new FaultyWalFs();
  if (kind === 'eio-on-fsync') fs.failSyncAfter(Number(n));
  else if (kind === 'short-write') fs.shortWriteAfter(Number(n));
  else fs.enospcAfter(Number(n));
  return fs;
}

const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface RunningServer {
  httpPort: number;
  grpcPort: number;
  /** bound Jaeger agent UDP ports by Thrift protocol (`compact`, `binary`), only those configured */
  udpPorts: Record<string, number>;
  /** set when this start created the root user with a generated password */
  generatedRootPassword: string | null;
  shutdown(reason: string): Promise<void>;
}

/** First start: org `default` and the root user. */
async function bootstrap(catalog: Catalog, config: Config): Promise<string | null> {
  if (!(await catalog.getOrgByName('default'))) await catalog.createOrg(newOrgId(), 'default');
  if (await catalog.getUserByName(config.auth.rootUser)) return null;
  const generated = config.auth.rootPassword === '' ? randomPassword() : null;
  const password = generated ?? config.auth.rootPassword;
  await catalog.createUser({
    id: randomUUID(),
    name: config.auth.rootUser,
    passwordHash: hashPassword(password),
    isRoot: true,
  });
  return generated;
}

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  armCrashpoint(config.testing.crashpoint || undefined);
  const scrapeTargets = compileScrapeConfigs(config.scrape_configs);
  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true });
  const registry = new MetricsRegistry();
  const metrics = createServerMetrics(registry);

  const fileLists = new FileListCache();
  const catalog = withFileListCache(await openCatalog(config, dataDir, log), fileLists);
  const generatedRootPassword = await bootstrap(catalog, config);
  const objects = await openObjectStore(config, dataDir);
  const store = objects.store;
  const orgIds = (await catalog.listOrgs()).map((o) => o.id);
  const orphans = await removeOrphans(store, catalog, orgIds, log);
  if (orphans > 0) log.info({ removed: orphans }, 'removed files left by an interrupted flush');

  const engines = new EnginePool((org) => store.localPath(org), {
    memoryLimit: config.query.duckdbMemoryLimit,
    threads: config.query.duckdbThreads,
  });
  const streams = new StreamRegistry(catalog, engines, config.streams);
  await streams.load();
  const maxFlushed = Math.max(0, ...streams.list(null).map((s) => s.flushedSeq));

  const seriesRegistry = new SeriesRegistry(catalog);
  const sampleCache = new SampleCache(config.query.sampleCacheBytes);
  registry.gauge(
    'molesignal_sample_cache_bytes',
    'Bytes of decoded metric samples held for PromQL.',
    () => sampleCache.bytes,
  );
  registry.counter(
    'molesignal_sample_cache_hits_total',
    'Series reads of Parquet files PromQL served from memory.',
    () => sampleCache.hits,
  );
  registry.counter(
    'molesignal_sample_cache_misses_total',
    'Series reads of Parquet files PromQL decoded with DuckDB.',
    () => sampleCache.misses,
  );
  registry.counter(
    'molesignal_storage_reads_total',
    "Reads of a stream's rows for a time range (files listed for a query).",
    () => storageReads.count,
  );
  registerCacheMetrics(registry, {
    ...(objects.diskCache ? { disk: objects.diskCache } : {}),
    file_list: fileLists,
    token_filter: tokenFilterCache,
    samples: sampleCache,
  });
  const seriesCount = await seriesRegistry.load();
  log.info({ series: seriesCount }, 'metric series loaded');

  const wal = await Wal.open({
    ...(config.testing.walFault ? { fs: faultyWalFs(config.testing.walFault) } : {}),
    dir: join(dataDir, 'wal'),
    fsync: config.wal.fsync,
    groupCommitWindowMs: config.wal.groupCommitWindowMs,
    fsyncIntervalMs: config.wal.fsyncIntervalMs,
    segmentBytes: config.wal.segmentBytes,
    repair: config.wal.repair,
    minNextSeq: maxFlushed + 1,
    onWarn: (msg, fields) => log.warn(fields, msg),
    onCorruption: () => metrics.walCorruptions.inc(),
    onFsync: (seconds) => metrics.walFsyncDuration.observe(seconds),
  });
  const writePath = new WritePath({
    wal,
    streams,
    catalog,
    metrics,
    log,
    decode: decoderTable({
      'otlp-proto': decodeOtlp,
      'otlp-json': decodeOtlp,
      'otlp-metrics-proto': (p) => replayOtlpMetricsBatch(p, seriesRegistry),
      'otlp-metrics-json': (p) => replayOtlpMetricsBatch(p, seriesRegistry),
      'prw-v1': (p) => replayMetricsBatch(p, seriesRegistry),
      'prw-v2': (p) => replayMetricsBatch(p, seriesRegistry),
      'prw-v1-snappy': (p) => replayMetricsBatch(p, seriesRegistry),
      'prw-v2-snappy': (p) => replayMetricsBatch(p, seriesRegistry),
      syslog: decodeSyslog,
      'loki-json': decodeLokiJson,
      'loki-proto': decodeLokiProto,
      'json-array': decodeJsonArray,
      ndjson: decodeNdjson,
      'hec-event': decodeHecEvents,
      'hec-raw': decodeHecRaw,
      'es-bulk': decodeEsBulk,
      'influx-line': (p) => replayInfluxBatch(p, seriesRegistry),
      'prom-text': (p) => replayPromTextBatch(p, seriesRegistry),
      'vm-json-lines': (p) => replayVmImportBatch(p, seriesRegistry),
      'zipkin-json': decodeZipkin,
      'zipkin-proto': decodeZipkin,
      'jaeger-thrift-binary': decodeJaeger,
      'jaeger-thrift-compact': decodeJaeger,
      'jaeger-proto': decodeJaeger,
    }),
    idempotencyTtlMs: config.ingest.idempotencyTtlMs,
    refuseAboveBytes: config.memtable.refuseAboveBytes,
  });
  configureTokenFilters(config.streams.tokenFilterFields);
  configureParquetBloomColumns(config.streams.parquetBloomColumns);
  configureJsonColumns(config.streams.jsonColumns);
  const spanMetrics = config.spanMetrics.enabled
    ? new SpanMetricsRuntime({
        writePath,
        registry: seriesRegistry,
        limits: config.limits,
        log,
        decode: (p) => writePath.decodeBatch(p),
        readLast: lastValuesReader({
          catalog,
          store,
          engines,
          streams,
          registry: seriesRegistry,
          cache: sampleCache,
        }),
        config: config.spanMetrics,
      })
    : null;
  const exemplars = new ExemplarStore(seriesRegistry, config.exemplars.maxPerOrg);
  writePath.onApply(exemplars.onApply);
  writePath.onReplay(exemplars.onReplay);
  if (spanMetrics) {
    writePath.onApply(spanMetrics.onApply);
    writePath.onReplay(spanMetrics.onReplay);
  }
  const replayStarted = performance.now();
  const recovered = await writePath.recover();
  log.info({ ...recovered, ms: Math.round(performance.now() - replayStarted) }, 'WAL replayed');
  if (spanMetrics) {
    const restored = await spanMetrics.restore((await catalog.listOrgs()).map((o) => o.id));
    log.info(restored, 'span metrics state restored');
    spanMetrics.start();
  }

  const flusher = new Flusher({
    catalog,
    store,
    engines,
    streams,
    metrics,
    log,
    policy: config.memtable,
    onCommitted: async (flushedBelowSeq) => {
      await wal.truncateBefore(flushedBelowSeq);
    },
  });
  flusher.start();
  const compactor = new Compactor({
    catalog,
    store,
    engines,
    streams,
    flusher,
    metrics,
    log,
    config: config.compactor,
    onFilesGone: (keys) => {
      for (const k of keys) sampleCache.dropFile(k);
    },
  });
  setAppendFailureHandler((table, err) => {
    log.fatal({ err, table }, 'memtable append failed; exiting so that WAL replay restores the rows');
    process.exit(1);
  });
  const appenderTimer = setInterval(flushDirtyAppenders, 1000);
  appenderTimer.unref();
  writePath.setFlushBacklog(flusher);
  registerSelfMetrics({
    registry,
    metrics,
    writePath,
    streams,
    engines,
    walStats: () => wal.stats(),
    refuseAboveBytes: config.memtable.refuseAboveBytes,
    maxTotalBytes: config.memtable.maxTotalBytes,
    budgetBytes: config.memory.budgetBytes,
  });

  const spanReader = new SpanReader({ catalog, store, engines, streams, timeoutMs: config.query.timeoutMs });
  registry.counter(
    'molesignal_trace_spans_read_total',
    'Spans read into memory by trace queries (trace by id, searches; not dependencies, computed in SQL).',
    () => spanReader.spansRead,
  );
  const executor = new QueryExecutor({
    registry: seriesRegistry,
    catalog,
    engines,
    streams,
    store,
    metrics,
    log,
    config: {
      ...config.query,
      disableValidator: config.testing.enabled && config.testing.disableSqlValidator,
    },
  });

  let ready = false;
  let draining = false;
  let inflight = 0;
  const ingestDeps = { writePath, config: config.ingest };
  const metricsStore = { catalog, store, engines, streams, registry: seriesRegistry, cache: sampleCache };
  const sampleDeps = { ...ingestDeps, registry: seriesRegistry, catalog, limits: config.limits };
  const scrapeOrgs = new Map<string, OrgId>();
  for (const name of new Set(scrapeTargets.map((t) => t.org))) {
    const org = await catalog.getOrgByName(name);
    if (!org)
      throw configError([`scrape_configs: org "${name}" does not exist; create it first or use another org`]);
    scrapeOrgs.set(name, org.id);
  }
  const scraper = new Scraper(
    scrapeTargets.map((target) => ({ target, org: scrapeOrgs.get(target.org)! })),
    { ...sampleDeps, log, maxBodyBytes: config.ingest.maxDecodedBytes },
  );
  const logStoreDeps = { catalog, store, engines, streams, timeoutMs: config.query.timeoutMs };
  const lokiTail = lokiTailHub({ store: logStoreDeps, log });
  writePath.onAppend(lokiTail.onAppend);
  const router = new Router(
    buildRoutes({
      healthz: async (ctx) => sendJson(ctx.res, 200, { status: 'ok' }),
      readyz: async (ctx) =>
        sendJson(ctx.res, ready && !draining ? 200 : 503, {
          status: ready && !draining ? 'ready' : 'not ready',
        }),
      metrics: metricsHandler(registry, config.auth.protectMetrics),
      metricsProtected: config.auth.protectMetrics,
      otlpLogs: otlpHandler('logs', ingestDeps),
      otlpTraces: otlpHandler('traces', ingestDeps),
      lokiPush: lokiPushHandler(ingestDeps),
      jsonDocs: {
        json: jsonDocsHandler('json-array', ingestDeps),
        multi: jsonDocsHandler('ndjson', ingestDeps),
      },
      hec: {
        event: hecEventHandler(ingestDeps),
        raw: hecRawHandler(ingestDeps),
        health: hecHealthHandler(() => ready && !draining),
      },
      elastic: { bulk: bulkHandler(ingestDeps), ...esHandshakeHandlers({ clusterUuid: randomUUID() }) },
      zipkin: zipkinHandler(ingestDeps),
      jaegerThrift: jaegerThriftHandler(ingestDeps),
      remoteWrite: remoteWriteHandler({
        ...ingestDeps,
        registry: seriesRegistry,
        catalog,
        limits: config.limits,
      }),
      otlpMetrics: otlpMetricsHandler({
        ...ingestDeps,
        registry: seriesRegistry,
        catalog,
        limits: config.limits,
      }),
      metricImport: {
        influxV1: influxWriteHandler('v1', sampleDeps),
        influxV2: influxWriteHandler('v2', sampleDeps),
        influxPing,
        promText: promTextImportHandler(sampleDeps),
        vmImport: vmImportHandler(sampleDeps),
        vmExport: vmExportHandler(metricsStore),
      },
      prom: promApiHandlers({
        store: { catalog, store, engines, streams, registry: seriesRegistry, cache: sampleCache },
        config: config.query,
        log,
        version: PACKAGE_VERSION,
        exemplars,
      }),
      lokiQuery: lokiQueryHandlers({
        source: { catalog, store, engines, streams },
        config: {
          ...config.logql,
          timeoutMs: config.query.timeoutMs,
          maxPointsPerSeries: config.query.maxPointsPerSeries,
        },
        slots: executor,
        log,
      }),
      lokiApi: lokiApiHandlers({
        store: logStoreDeps,
        log,
        version: PACKAGE_VERSION,
        tail: lokiTail,
        slots: executor,
        limits: {
          ...config.logql,
          timeoutMs: config.query.timeoutMs,
          retentionDays: config.streams.defaultRetentionDays,
        },
      }),
      tempo: tempoHandlers({ reader: spanReader, slots: executor, log, version: PACKAGE_VERSION }),
      traceQuery: jaegerZipkinHandlers({
        reader: spanReader,
        slots: executor,
        log,
        maxSpans: config.query.traceSearchMaxSpans,
      }),
      traceSearch: traceSearchHandler({
        reader: spanReader,
        slots: executor,
        log,
        maxSpans: config.query.traceSearchMaxSpans,
      }),
      search: searchHandler({ executor, limits: config.query }),
      correlation: correlationHandler({
        metrics: metricsStore,
        exemplars,
        reader: spanReader,
        slots: executor,
        executor,
        prom: config.query,
      }),
      streams: streamHandlers({ streams, catalog, flusher }),
      admin: adminHandlers({ catalog }),
      compactor: compactorHandlers({ compactor, catalog, streams, engines }),
    }),
  );
  const auth = new Authenticator(catalog);
  const orgs = new OrgResolver(catalog);
  const server = createHttpServer({
    router,
    auth,
    orgs,
    log,
    metrics,
    headersTimeoutMs: config.http.headersTimeoutMs,
    requestTimeoutMs: config.http.requestTimeoutMs,
    isDraining: () => draining,
  });
  server.on('request', (_req, res) => {
    inflight++;
    res.once('close', () => inflight--);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(config.http.port, config.http.host, () => ok());
  });
  const httpPort = (server.address() as AddressInfo).port;
  const syslog = await startSyslogListeners({
    config: config.syslog,
    defaultHost: config.http.host,
    writePath,
    resolveOrg: async (name) => (await catalog.getOrgByName(name))?.id ?? null,
    registry,
    log,
  });
  const grpcServer = await startGrpcServer(
    {
      methods: [
        ...otlpGrpcMethods({ ...ingestDeps, registry: seriesRegistry, catalog, limits: config.limits }),
        jaegerGrpcMethod(writePath),
      ],
      auth,
      orgs,
      log,
      maxMessageBytes: config.ingest.maxBodyBytes,
      isDraining: () => draining,
      metrics,
    },
    config.http.host,
    config.grpc.port,
  );
  const udpPorts: Record<string, number> = {};
  const udpListeners: JaegerUdpListener[] = [];
  const defaultOrg = (await catalog.getOrgByName('default'))!.id;
  for (const [protocol, port] of [
    ['compact', config.jaeger.udpCompactPort],
    ['binary', config.jaeger.udpBinaryPort],
  ] as const) {
    if (port === 0) continue;
    const udp = await startJaegerUdp(
      { writePath, log, org: defaultOrg },
      protocol === 'compact',
      config.http.host,
      port,
    );
    udpListeners.push(udp);
    udpPorts[protocol] = udp.port;
  }
  ready = true;
  scraper.start();
  compactor.start();
  log.info({ httpPort, dataDir, scrapeTargets: scraper.targetCount }, 'MoleSignal is ready');

  let shuttingDown: Promise<void> | null = null;
  const shutdown = (reason: string) =>
    (shuttingDown ??= (async () => {
      log.info({ reason }, 'shutting down: draining requests, flushing memtables, closing the WAL');
      draining = true;
      await scraper.stop();
      const deadline = Date.now() + config.shutdown.timeoutMs;
      server.close();
      server.closeIdleConnections();
      lokiTail.closeAll();
      const grpcStopped = grpcServer.shutdown(deadline);
      await Promise.all(udpListeners.map((u) => u.close()));
      while (inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await grpcStopped;
      await syslog.stop(deadline);
      await spanMetrics?.stop();
      flusher.stop();
      await compactor.stop();
      clearInterval(appenderTimer);
      let flushed = false;
      try {
        flushed = await Promise.race([
          flusher.flushAll().then(() => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), Math.max(0, deadline - Date.now()))),
        ]);
      } catch (e) {
        log.error({ err: e }, 'flush at shutdown failed; the WAL keeps the data');
      }
      // Drained (no request can append any more) and every memtable is in Parquet: no WAL record
      // is needed, so the next start replays nothing. Only here is "all of the WAL" a safe bound.
      if (flushed && inflight === 0 && streams.minUnflushedSeq() === Infinity) {
        try {
          await wal.rotate();
          await wal.truncateBefore(wal.nextSeq);
        } catch (e) {
          log.warn(
            { err: e },
            'could not drop the flushed WAL segments at shutdown; the next start replays them',
          );
        }
      }
      await wal.close();
      server.closeAllConnections();
      await catalog.close();
      objects.close();
      log.info('stopped');
    })());
  return { httpPort, grpcPort: grpcServer.port, udpPorts, generatedRootPassword, shutdown };
}
