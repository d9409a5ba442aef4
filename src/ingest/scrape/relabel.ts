/**
 * Prometheus relabelling (`relabel_configs` of targets, `metric_relabel_configs` of samples) on a
 * mutable label map, as prometheus/model/relabel Process does it: regexes fully anchored (RE2
 * syntax), `$1`/`${name}` expansion, an empty replace result deletes the target label, a target
 * label that is not a valid label name leaves the set unchanged.
 * https://prometheus.io/docs/prometheus/latest/configuration/configuration/#relabel_config
 */
import type { RelabelConfig } from '../../config/scrape-schema.ts';
import { expandTemplate } from '../../promql/functions/labels.ts';
import { compileAnchored } from '../../promql/functions/re2.ts';

export interface CompiledRelabel {
  sourceLabels: string[];
  separator: string;
  targetLabel: string;
  regex: RegExp;
  replacement: string;
  action: RelabelConfig['action'];
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Compiles one rule; throws an Error with the problem (the caller names the rule's place). */
export function compileRelabel(c: RelabelConfig): CompiledRelabel {
  let regex: RegExp;
  try {
    regex = compileAnchored(c.regex);
  } catch (e) {
    throw new Error(`invalid regex ${JSON.stringify(c.regex)}: ${(e as Error).message}`, { cause: e });
  }
  const target = c.target_label ?? '';
  if ((c.action === 'replace' || c.action === 'lowercase' || c.action === 'uppercase') && target === '')
    throw new Error(`action "${c.action}" needs a target_label`);
  if ((c.action === 'lowercase' || c.action === 'uppercase') && !LABEL_NAME.test(target))
    throw new Error(`target_label ${JSON.stringify(target)} is not a valid label name`);
  if ((c.action === 'keep' || c.action === 'drop') && (c.source_labels ?? []).length === 0)
    throw new Error(`action "${c.action}" needs source_labels`);
  return {
    sourceLabels: c.source_labels ?? [],
    separator: c.separator,
    targetLabel: target,
    regex,
    replacement: c.replacement,
    action: c.action,
  };
}

/** Applies the rules in order; false when a rule drops the label set. Empty values count as absent. */
export function relabel(labels: Map<string, string>, rules: readonly CompiledRelabel[]): boolean {
  for (const r of rules) {
    const value = r.sourceLabels.map((n) => labels.get(n) ?? '').join(r.separator);
    switch (r.action) {
      case 'keep':
        if (!r.regex.test(value)) return false;
        break;
      case 'drop':
        if (r.regex.test(value)) return false;
        break;
      case 'replace': {
        const m = r.regex.exec(value);
        if (m === null) break;
        const target = expandTemplate(r.targetLabel, m);
        if (!LABEL_NAME.test(target)) break;
        const out = expandTemplate(r.replacement, m);
        if (out === '') labels.delete(target);
        else labels.set(target, out);
        break;
      }
      case 'lowercase':
        labels.set(r.targetLabel, value.toLowerCase());
        break;
      case 'uppercase':
        labels.set(r.targetLabel, value.toUpperCase());
        break;
      case 'labelmap':
        for (const [name, v] of [...labels]) {
          const m = r.regex.exec(name);
          if (m === null) continue;
          const target = expandTemplate(r.replacement, m);
          if (LABEL_NAME.test(target)) labels.set(target, v);
        }
        break;
      case 'labeldrop':
        for (const name of [...labels.keys()]) if (r.regex.test(name)) labels.delete(name);
        break;
      case 'labelkeep':
        for (const name of [...labels.keys()]) if (!r.regex.test(name)) labels.delete(name);
        break;
    }
  }
  for (const [name, v] of labels) if (v === '') labels.delete(name);
  return true;
}
