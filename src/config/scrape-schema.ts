/**
 * The `scrape_configs` section: Prometheus' own keys (a subset of
 * https://prometheus.io/docs/prometheus/latest/configuration/configuration/#scrape_config) plus
 * `org`. Structure is checked here; durations, regular expressions and target addresses are
 * checked by the scraper at start-up (src/ingest/scrape/compile.ts), every problem listed at once.
 */
import { z } from 'zod';

const labelMap = z.record(z.string(), z.string());

export const relabelConfigSchema = z
  .object({
    source_labels: z.array(z.string()).optional(),
    separator: z.string().default(';'),
    target_label: z.string().optional(),
    regex: z.string().default('(.*)'),
    replacement: z.string().default('$1'),
    action: z
      .enum(['replace', 'keep', 'drop', 'labelmap', 'labeldrop', 'labelkeep', 'lowercase', 'uppercase'])
      .default('replace'),
  })
  .strict();

export const scrapeConfigSchema = z
  .object({
    job_name: z.string().min(1),
    org: z.string().default('default'),
    scrape_interval: z.string().default('1m'),
    scrape_timeout: z.string().default('10s'),
    metrics_path: z.string().startsWith('/').default('/metrics'),
    scheme: z.enum(['http', 'https']).default('http'),
    honor_labels: z.boolean().default(false),
    honor_timestamps: z.boolean().default(true),
    params: z.record(z.string(), z.array(z.string())).default({}),
    static_configs: z
      .array(z.object({ targets: z.array(z.string().min(1)), labels: labelMap.default({}) }).strict())
      .default([]),
    relabel_configs: z.array(relabelConfigSchema).default([]),
    metric_relabel_configs: z.array(relabelConfigSchema).default([]),
  })
  .strict();

/** A YAML list, or (from MOLESIGNAL_SCRAPE_CONFIGS) the same list as JSON text. */
export const scrapeConfigsSchema = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}, z.array(scrapeConfigSchema));

export type RelabelConfig = z.infer<typeof relabelConfigSchema>;
export type ScrapeConfig = z.infer<typeof scrapeConfigSchema>;
