/**
 * Column → LogQL label (DESIGN.md decision 6), for the metadata endpoints and live tail.
 * A `resource.X` column is a stream label when X is a valid label name (Loki push and other
 * label-based sources) or one of the OTLP resource attributes Loki 3 promotes by default (dots
 * become `_`). Every other `resource.*` and every `attr.*` column is structured metadata, its name
 * with each character outside [a-zA-Z0-9_] turned into `_`.
 *
 * The engine owns the definitive mapping (src/logql/engine/labels-mapping.ts); this one is the
 * API's stand-in until that lands, with the same rules.
 */

const VALID_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Loki 3's default `otlp_config` resource attributes that become stream labels. */
export const PROMOTED_RESOURCE_ATTRIBUTES: ReadonlySet<string> = new Set([
  'service.name',
  'service.namespace',
  'service.instance.id',
  'deployment.environment',
  'deployment.environment.name',
  'cloud.region',
  'cloud.availability_zone',
  'k8s.cluster.name',
  'k8s.namespace.name',
  'k8s.pod.name',
  'k8s.container.name',
  'container.name',
  'k8s.replicaset.name',
  'k8s.deployment.name',
  'k8s.statefulset.name',
  'k8s.daemonset.name',
  'k8s.cronjob.name',
  'k8s.job.name',
]);

export const sanitizeLabelName = (key: string): string => key.replace(/[^a-zA-Z0-9_]/g, '_');

export interface ColumnLabel {
  kind: 'stream' | 'metadata';
  name: string;
}

/** The label a column stands for, or null for columns that are no label (body, timestamps, …). */
export function columnLabel(column: string): ColumnLabel | null {
  // a key's second wire type gets its own `key::type` column (stream-schema.ts): not a label
  if (column.includes('::')) return null;
  if (column.startsWith('resource.')) {
    const key = column.slice('resource.'.length);
    if (key === '') return null;
    if (VALID_LABEL.test(key) || PROMOTED_RESOURCE_ATTRIBUTES.has(key))
      return { kind: 'stream', name: sanitizeLabelName(key) };
    return { kind: 'metadata', name: sanitizeLabelName(key) };
  }
  if (column.startsWith('attr.')) {
    const key = column.slice('attr.'.length);
    return key === '' ? null : { kind: 'metadata', name: sanitizeLabelName(key) };
  }
  return null;
}
