/**
 * `scrape_configs` → the targets to scrape, with the labels Prometheus gives them
 * (scrape/target.go PopulateLabels): the static labels, `job`, `__address__`, `__scheme__`,
 * `__metrics_path__`, `__scrape_interval__`, `__scrape_timeout__` and `__param_<name>`; then
 * `relabel_configs` (a target may be dropped); `instance` defaults to `__address__`; the URL is
 * built from the `__` labels, which are then removed. Every problem of the section is reported at
 * start-up at once, naming the job and the rule.
 */
import type { ScrapeConfig } from '../../config/scrape-schema.ts';
import { configError } from '../../config/config.ts';
import { formatDurationMs, parseDurationMs } from '../../promql/parser/durations.ts';
import type { SeriesInput } from '../../write/series-registry.ts';
import { compileRelabel, relabel, type CompiledRelabel } from './relabel.ts';

export interface ScrapeTarget {
  job: string;
  /** org name */
  org: string;
  url: string;
  intervalMs: number;
  timeoutMs: number;
  honorLabels: boolean;
  honorTimestamps: boolean;
  /** the target's labels after relabelling (sorted; `job`, `instance`, static labels…) */
  labels: SeriesInput[];
  metricRelabel: CompiledRelabel[];
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function duration(text: string, where: string, errors: string[]): number {
  try {
    const ms = parseDurationMs(text);
    if (ms > 0) return ms;
    errors.push(`${where}: must be more than 0`);
  } catch (e) {
    errors.push(`${where}: ${(e as Error).message}`);
  }
  return 0;
}

function rules(list: ScrapeConfig['relabel_configs'], where: string, errors: string[]): CompiledRelabel[] {
  const out: CompiledRelabel[] = [];
  list.forEach((c, i) => {
    try {
      out.push(compileRelabel(c));
    } catch (e) {
      errors.push(`${where}[${i}]: ${(e as Error).message}`);
    }
  });
  return out;
}

/** One target of a job; null when relabelling drops it. */
function populate(
  c: ScrapeConfig,
  address: string,
  staticLabels: Record<string, string>,
  relabelConfigs: CompiledRelabel[],
  where: string,
  errors: string[],
): ScrapeTarget | null {
  const interval = duration(c.scrape_interval, `${where}.scrape_interval`, errors);
  const timeout = duration(c.scrape_timeout, `${where}.scrape_timeout`, errors);
  const labels = new Map<string, string>(Object.entries(staticLabels));
  labels.set('__address__', address);
  const defaults: [string, string][] = [
    ['job', c.job_name],
    ['__scheme__', c.scheme],
    ['__metrics_path__', c.metrics_path],
    ['__scrape_interval__', c.scrape_interval],
    ['__scrape_timeout__', c.scrape_timeout],
    ...Object.entries(c.params).map(([k, v]): [string, string] => [`__param_${k}`, v[0] ?? '']),
  ];
  for (const [k, v] of defaults) if (!labels.has(k)) labels.set(k, v);
  if (!relabel(labels, relabelConfigs)) return null;
  const addr = labels.get('__address__') ?? '';
  if (addr === '' || /[/\s]/.test(addr)) {
    errors.push(
      `${where}: target address ${JSON.stringify(addr)} is not host:port (no scheme or path; use scheme and metrics_path)`,
    );
    return null;
  }
  if (!labels.has('instance')) labels.set('instance', addr);
  const scheme = labels.get('__scheme__') ?? c.scheme;
  const path = labels.get('__metrics_path__') ?? c.metrics_path;
  // a `__param_<name>` label replaces the first value of that parameter (Prometheus' getURL)
  const values = new Map(Object.entries(c.params).map(([k, v]) => [k, [...v]]));
  for (const [k, v] of labels) {
    if (!k.startsWith('__param_')) continue;
    const list = values.get(k.slice('__param_'.length));
    if (list && list.length > 0) list[0] = v;
    else values.set(k.slice('__param_'.length), [v]);
  }
  const params = new URLSearchParams();
  for (const [k, list] of values) for (const v of list) params.append(k, v);
  const intervalMs = labels.has('__scrape_interval__')
    ? duration(labels.get('__scrape_interval__')!, `${where}: __scrape_interval__`, errors)
    : interval;
  const timeoutMs = labels.has('__scrape_timeout__')
    ? duration(labels.get('__scrape_timeout__')!, `${where}: __scrape_timeout__`, errors)
    : timeout;
  if (timeoutMs > intervalMs)
    errors.push(
      `${where}: scrape_timeout ${formatDurationMs(timeoutMs)} is longer than scrape_interval ${formatDurationMs(intervalMs)}`,
    );
  const query = params.toString();
  const out: SeriesInput[] = [];
  for (const [name, value] of labels) if (!name.startsWith('__') && value !== '') out.push({ name, value });
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    job: c.job_name,
    org: c.org,
    url: `${scheme}://${addr}${path}${query ? `?${query}` : ''}`,
    intervalMs,
    timeoutMs,
    honorLabels: c.honor_labels,
    honorTimestamps: c.honor_timestamps,
    labels: out,
    metricRelabel: [],
  };
}

/** Every target of every job; throws a config error listing every problem. */
export function compileScrapeConfigs(configs: readonly ScrapeConfig[]): ScrapeTarget[] {
  const errors: string[] = [];
  const targets: ScrapeTarget[] = [];
  const jobs = new Set<string>();
  configs.forEach((c, i) => {
    const where = `scrape_configs[${i}] (job "${c.job_name}")`;
    if (jobs.has(c.job_name)) errors.push(`${where}: job_name is used twice`);
    jobs.add(c.job_name);
    if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(c.org))
      errors.push(`${where}.org: ${JSON.stringify(c.org)} is not an org name`);
    const relabelConfigs = rules(c.relabel_configs, `${where}.relabel_configs`, errors);
    const metricRelabel = rules(c.metric_relabel_configs, `${where}.metric_relabel_configs`, errors);
    c.static_configs.forEach((sc, k) => {
      for (const name of Object.keys(sc.labels))
        if (!LABEL_NAME.test(name))
          errors.push(
            `${where}.static_configs[${k}].labels: ${JSON.stringify(name)} is not a valid label name`,
          );
      for (const address of sc.targets) {
        const t = populate(
          c,
          address,
          sc.labels,
          relabelConfigs,
          `${where}.static_configs[${k}] target ${JSON.stringify(address)}`,
          errors,
        );
        if (t) targets.push({ ...t, metricRelabel });
      }
    });
  });
  if (errors.length > 0) throw configError([...new Set(errors)]);
  return targets;
}
