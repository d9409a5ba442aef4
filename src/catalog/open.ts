/** The catalog the config names: SQLite in the data dir, or PostgreSQL (`catalog.backend`). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalog } from './catalog.ts';
import { PostgresCatalog } from './postgres.ts';
import { SqliteCatalog } from './sqlite.ts';
import type { Config } from '../config/config.ts';
import { MoleError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';

/** The SQLite catalog of a data dir. */
export const sqliteCatalogPath = (dataDir: string): string => join(dataDir, 'catalog.sqlite');

export async function openCatalog(
  config: Pick<Config, 'catalog' | 'testing'>,
  dataDir: string,
  log: Logger,
): Promise<Catalog> {
  const catalog = await openConfigured(config, dataDir, log);
  const lost = /^commit-lost:(\d+)$/.exec(config.testing.catalogFault);
  return lost ? commitLost(catalog, Number(lost[1])) : catalog;
}

/** Test-only fault: the n-th flush commit is committed, then reported as failed. */
function commitLost(catalog: Catalog, n: number): Catalog {
  const commit = catalog.commitFlush.bind(catalog);
  let calls = 0;
  catalog.commitFlush = async (...args) => {
    await commit(...args);
    if (++calls === n) throw new Error(`testing.catalogFault: flush commit ${n} committed, reported as lost`);
  };
  return catalog;
}

async function openConfigured(
  config: Pick<Config, 'catalog'>,
  dataDir: string,
  log: Logger,
): Promise<Catalog> {
  const sqlitePath = sqliteCatalogPath(dataDir);
  if (config.catalog.backend === 'sqlite') return new SqliteCatalog(sqlitePath);
  const catalog = await PostgresCatalog.open(config.catalog.postgresUrl, log);
  // A first start on PostgreSQL beside a SQLite catalog is most likely a forgotten migration:
  // starting would create a new empty catalog, and the data of the SQLite one would not be seen.
  if ((await catalog.listOrgs()).length === 0 && existsSync(sqlitePath)) {
    await catalog.close();
    throw new MoleError(
      `the PostgreSQL catalog at ${catalog.target} is empty, but ${sqlitePath} holds a SQLite catalog: ` +
        `copy it first with \`molesignal migrate --data-dir ${dataDir}\` (same catalog settings), ` +
        `or move ${sqlitePath} away to start with an empty catalog`,
      { code: 'MS_ERR_CATALOG_NOT_MIGRATED', status: 503, reason: 'config_invalid' },
    );
  }
  log.info({ catalog: catalog.target }, 'catalog: PostgreSQL');
  return catalog;
}
