/**
 * The Elasticsearch calls that shippers make before `_bulk`, answered with what they need to go
 * on and nothing invented about data:
 * - `GET /` / `HEAD /`: the version document. Vector (`api_version = "auto"`), Beats, Logstash
 *   and the official clients read `version.number` to pick their API dialect; we answer 8.11.0
 *   (typeless `_bulk`, data streams known) with `build_flavor: default`.
 * - `GET /_license`, `GET /_xpack`: a basic licence, active, and no X-Pack features, so Beats and
 *   Logstash do not try ILM or monitoring.
 * - `GET /_cluster/health`: green, one node, no shards (we have no shards).
 * - `GET|HEAD /_index_template/{name}`, `/_template/{name}`, `/_ilm/policy/{name}`: 404 (we keep
 *   none); `PUT` of the same: `{"acknowledged": true}` and nothing stored — streams infer their
 *   schema from the data, so a template has nothing to change here (docs/ingest.md says so).
 */
import { readRawBody } from '../../server/body.ts';
import type { RequestContext } from '../../server/router.ts';
import { sendElastic } from './handler.ts';

export const ES_VERSION = '8.11.0';
const CLUSTER = 'molesignal';

export function esHandshakeHandlers(opts: { clusterUuid: string }) {
  return {
    info: async (ctx: RequestContext) =>
      sendElastic(ctx.res, 200, {
        name: CLUSTER,
        cluster_name: CLUSTER,
        cluster_uuid: opts.clusterUuid,
        version: {
          number: ES_VERSION,
          build_flavor: 'default',
          build_type: 'molesignal',
          build_hash: 'molesignal',
          build_date: '2023-11-04T10:04:57.184859352Z',
          build_snapshot: false,
          lucene_version: '9.8.0',
          minimum_wire_compatibility_version: '7.17.0',
          minimum_index_compatibility_version: '7.0.0',
        },
        tagline: 'You Know, for Search',
      }),
    license: async (ctx: RequestContext) =>
      sendElastic(ctx.res, 200, {
        license: {
          status: 'active',
          uid: opts.clusterUuid,
          type: 'basic',
          issue_date: '2024-01-01T00:00:00.000Z',
          issue_date_in_millis: 1704067200000,
          max_nodes: 1000,
          max_resource_units: null,
          issued_to: CLUSTER,
          issuer: 'elasticsearch',
          start_date_in_millis: -1,
        },
      }),
    xpack: async (ctx: RequestContext) =>
      sendElastic(ctx.res, 200, {
        build: { hash: 'molesignal', date: '2023-11-04T10:04:57.184859352Z' },
        license: { uid: opts.clusterUuid, type: 'basic', mode: 'basic', status: 'active' },
        features: {},
      }),
    clusterHealth: async (ctx: RequestContext) =>
      sendElastic(ctx.res, 200, {
        cluster_name: CLUSTER,
        status: 'green',
        timed_out: false,
        number_of_nodes: 1,
        number_of_data_nodes: 1,
        active_primary_shards: 0,
        active_shards: 0,
        relocating_shards: 0,
        initializing_shards: 0,
        unassigned_shards: 0,
        delayed_unassigned_shards: 0,
        number_of_pending_tasks: 0,
        number_of_in_flight_fetch: 0,
        task_max_waiting_in_queue_millis: 0,
        active_shards_percent_as_number: 100.0,
      }),
    notFound: async (ctx: RequestContext) => {
      const name = Object.values(ctx.params).at(-1) ?? '';
      const reason = `[${name.slice(0, 100)}] not found: MoleSignal keeps no index templates or ILM policies`;
      sendElastic(ctx.res, 404, {
        error: {
          root_cause: [{ type: 'resource_not_found_exception', reason }],
          type: 'resource_not_found_exception',
          reason,
        },
        status: 404,
      });
    },
    acknowledge: async (ctx: RequestContext) => {
      // read the body (a template or policy), bounded, and keep nothing
      await readRawBody(ctx.req, 1024 * 1024);
      sendElastic(ctx.res, 200, { acknowledged: true });
    },
  };
}
