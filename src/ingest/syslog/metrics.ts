/** The syslog listeners' own metrics (docs/metrics.md). Label values come from fixed sets. */
import type { Counter, MetricsRegistry } from '../../lib/metrics.ts';

export interface SyslogMetrics {
  /** framed messages handed to a batch, by transport */
  received: Counter;
  /**
   * messages (or, for `bad_frame`, connections) dropped, by transport and reason: `oversize`,
   * `truncated`, `bad_frame`, `backpressure`, `invalid`, `unknown_org`, `write_failed`
   */
  dropped: Counter;
}

export function createSyslogMetrics(registry: MetricsRegistry): SyslogMetrics {
  return {
    received: registry.counter(
      'molesignal_syslog_messages_total',
      'Syslog messages framed and batched, by transport (udp, tcp, tls).',
    ),
    dropped: registry.counter(
      'molesignal_syslog_dropped_total',
      'Syslog messages dropped, by transport and reason (oversize, truncated, bad_frame = connections closed on a bad frame, backpressure, invalid, unknown_org, write_failed).',
    ),
  };
}
