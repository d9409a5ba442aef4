/**
 * Service graph edges as Tempo's `service-graphs` processor finds them: a CLIENT (or PRODUCER)
 * span of service A and the SERVER (or CONSUMER) span whose parent it is, in service B, make one
 * request A → B. Halves wait in a store keyed by (trace id, client span id) until the other half
 * arrives or `waitMs` passes; an expired client half with a peer attribute (`peer.service`,
 * `db.name`, `db.system`) becomes an edge to that virtual node, and an expired root server half an
 * edge from the virtual node `user`, as Tempo does for uninstrumented peers. https://grafana.com/docs/tempo/latest/metrics-from-traces/service_graphs/
 */

export const SPAN_KIND_SERVER = 2;
export const SPAN_KIND_CLIENT = 3;
export const SPAN_KIND_PRODUCER = 4;
export const SPAN_KIND_CONSUMER = 5;
export const STATUS_CODE_ERROR = 2;

export interface EdgeHalf {
  service: string;
  durationSeconds: number;
  failed: boolean;
  traceId: string;
  /** client half only: the first peer attribute value, '' when none */
  peer?: string;
  /** server half only: the span has no parent (its caller is not instrumented: Tempo's `user` node) */
  root?: boolean;
}

export interface Edge {
  client: string;
  server: string;
  /** '' (a request between instrumented services), `messaging_system` or `virtual_node` */
  connectionType: string;
  failed: boolean;
  clientSeconds?: number;
  serverSeconds?: number;
  traceId: string;
}

interface Pending {
  client?: EdgeHalf;
  server?: EdgeHalf;
  messaging: boolean;
  expiresAtMs: number;
}

export class EdgeStore {
  private readonly pending = new Map<string, Pending>();
  /** edges dropped because the store was full (Tempo: traces_service_graph_dropped_spans_total) */
  dropped = 0;

  constructor(
    private readonly waitMs: number,
    private readonly maxItems: number,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /**
   * Adds one half. `key` is the client span's id within its trace: the client span's own id, or
   * the server span's parent id. Returns the completed edge, if this half completed one.
   */
  add(
    key: string,
    side: 'client' | 'server',
    half: EdgeHalf,
    messaging: boolean,
    nowMs: number,
  ): Edge | null {
    let p = this.pending.get(key);
    if (!p) {
      if (this.pending.size >= this.maxItems) {
        this.dropped++;
        return null;
      }
      p = { messaging, expiresAtMs: nowMs + this.waitMs };
      this.pending.set(key, p);
    }
    p[side] = half;
    if (!p.client || !p.server) return null;
    this.pending.delete(key);
    return {
      client: p.client.service,
      server: p.server.service,
      connectionType: p.messaging ? 'messaging_system' : '',
      failed: p.client.failed || p.server.failed,
      clientSeconds: p.client.durationSeconds,
      serverSeconds: p.server.durationSeconds,
      traceId: p.server.traceId,
    };
  }

  /**
   * Removes halves older than the wait. Returns the virtual-node edges (client halves naming a
   * peer) and the count of unpaired halves per side.
   */
  expire(nowMs: number): { edges: Edge[]; unpaired: { side: 'client' | 'server'; service: string }[] } {
    const edges: Edge[] = [];
    const unpaired: { side: 'client' | 'server'; service: string }[] = [];
    for (const [key, p] of this.pending) {
      if (p.expiresAtMs > nowMs) continue;
      this.pending.delete(key);
      if (p.client && p.client.peer) {
        edges.push({
          client: p.client.service,
          server: p.client.peer,
          connectionType: 'virtual_node',
          failed: p.client.failed,
          clientSeconds: p.client.durationSeconds,
          traceId: p.client.traceId,
        });
      } else if (p.server?.root) {
        edges.push({
          client: 'user',
          server: p.server.service,
          connectionType: 'virtual_node',
          failed: p.server.failed,
          serverSeconds: p.server.durationSeconds,
          traceId: p.server.traceId,
        });
      } else if (p.client) unpaired.push({ side: 'client', service: p.client.service });
      else if (p.server) unpaired.push({ side: 'server', service: p.server.service });
    }
    return { edges, unpaired };
  }
}
