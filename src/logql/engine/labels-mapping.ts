/**
 * Columns of a logs stream → LogQL labels (DESIGN.md decision 6), the one place that decides it:
 * - `resource.X` is a **stream label** `X` when X is a valid label name (it came from Loki push or
 *   another label-based source), or a **promoted** OTLP resource attribute (Loki 3's defaults,
 *   `service.name` → `service_name`);
 * - every other `resource.*`, every `attr.*` (a second-type column `attr.k::str` too), `scope.*`
 *   and the OTLP record fields Loki keeps (`severity_text`, `trace_id`, …) are **structured
 *   metadata**, named with every character outside `[a-zA-Z0-9_]` turned into `_`.
 * An absent value, NULL or empty, is no label at all (Loki has no empty label values). Several
 * columns may map to one name (`resource.service_name` from Loki push, `resource.service.name`
 * from OTLP): the first non-empty value wins, in column order.
 */

export const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Loki 3's `default_resource_attributes_as_index_labels`
 * (pkg/validation/limits.go / pkg/loghttp/push/otlp_config.go).
 */
export const PROMOTED_RESOURCE_ATTRIBUTES: readonly string[] = [
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
];
const PROMOTED = new Set(PROMOTED_RESOURCE_ATTRIBUTES);

/**
 * OTLP log record fields Loki keeps as structured metadata, with the value that means "unset"
 * (Loki leaves those out: pkg/loghttp/push/otlp.go).
 */
const RECORD_FIELDS: Readonly<Record<string, { name: string; unset: string }>> = {
  severity_text: { name: 'severity_text', unset: '' },
  severity_number: { name: 'severity_number', unset: '0' },
  trace_id: { name: 'trace_id', unset: '' },
  span_id: { name: 'span_id', unset: '' },
  flags: { name: 'flags', unset: '0' },
  'scope.name': { name: 'scope_name', unset: '' },
  'scope.version': { name: 'scope_version', unset: '' },
};

/** A label name from any key: every character outside `[a-zA-Z0-9_]` becomes `_`. */
export const sanitizeLabelName = (key: string): string => {
  const s = key.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
};

export type LabelKind = 'stream' | 'metadata';

export interface LabelColumn {
  column: string;
  label: string;
  kind: LabelKind;
  /** the value that means "no label" besides NULL and '' (`0` for severity_number, flags) */
  unset: string;
}

/** What one column of a logs stream is in LogQL; null when it is no label (body, timestamps, …). */
export function labelOfColumn(column: string): LabelColumn | null {
  if (column.startsWith('resource.')) {
    const key = column.slice('resource.'.length);
    if (LABEL_NAME_RE.test(key)) return { column, label: key, kind: 'stream', unset: '' };
    if (PROMOTED.has(key)) return { column, label: sanitizeLabelName(key), kind: 'stream', unset: '' };
    return { column, label: sanitizeLabelName(stripTypeSuffix(key)), kind: 'metadata', unset: '' };
  }
  if (column.startsWith('attr.')) {
    return {
      column,
      label: sanitizeLabelName(stripTypeSuffix(column.slice(5))),
      kind: 'metadata',
      unset: '',
    };
  }
  if (column.startsWith('scope.') && !(column in RECORD_FIELDS)) {
    return {
      column,
      label: sanitizeLabelName(`scope_${stripTypeSuffix(column.slice(6))}`),
      kind: 'metadata',
      unset: '',
    };
  }
  const field = RECORD_FIELDS[column];
  return field ? { column, label: field.name, kind: 'metadata', unset: field.unset } : null;
}

/** `code::str` → `code`: a key's second-type column carries the same label. */
const stripTypeSuffix = (key: string): string => key.replace(/::(str|int|float|bool|bytes|json)$/, '');

export interface StreamLabelColumns {
  /** stream label name → its columns, in column order */
  stream: Map<string, string[]>;
  /** structured metadata name → its columns */
  metadata: Map<string, LabelColumn[]>;
}

/** The label columns of a logs stream, from its column names. */
export function mapLabelColumns(columns: readonly string[]): StreamLabelColumns {
  const stream = new Map<string, string[]>();
  const metadata = new Map<string, LabelColumn[]>();
  for (const c of columns) {
    const l = labelOfColumn(c);
    if (!l) continue;
    if (l.kind === 'stream') {
      const list = stream.get(l.label);
      if (list) list.push(c);
      else stream.set(l.label, [c]);
    } else {
      const list = metadata.get(l.label);
      if (list) list.push(l);
      else metadata.set(l.label, [l]);
    }
  }
  // a name that is a stream label stays one: metadata of the same name does not shadow it
  for (const name of stream.keys()) metadata.delete(name);
  return { stream, metadata };
}
