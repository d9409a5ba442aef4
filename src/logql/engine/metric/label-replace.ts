/** label_replace(v, dst, replacement, src, regex), as Loki's LabelReplaceEvaluator. */
import type { LabelReplaceExpr } from '../../ast.ts';
import { expandTemplate } from '../../../promql/functions/labels.ts';
import { compileAnchored } from '../../../promql/functions/re2.ts';
import { queryError } from './errors.ts';
import type { Sample } from './values.ts';

export function labelReplacer(e: LabelReplaceExpr): (vec: readonly Sample[]) => Sample[] {
  let re: RegExp;
  try {
    re = compileAnchored(e.regex);
  } catch (err) {
    throw queryError(`invalid regex in label_replace: ${(err as Error).message}`);
  }
  return (vec) =>
    vec.map((s) => {
      const m = re.exec(s.labels.get(e.src) ?? '');
      if (m === null) return s;
      const res = expandTemplate(e.replacement, m);
      return { labels: s.labels.with(e.dst, res === '' ? undefined : res), value: s.value };
    });
}
