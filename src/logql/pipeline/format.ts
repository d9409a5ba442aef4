/**
 * `line_format` and `label_format`, rendered by the template engine (src/logql/template/).
 * Not wired yet: the template engine lands on main separately.
 */
import type { LabelFormatItem } from '../ast.ts';
import { badRequest } from '../../lib/errors.ts';
import type { Stage } from './json.ts';

export function lineFormatStage(_template: string): Stage {
  throw badRequest('line_format is not supported yet');
}

export function labelFormatStage(_items: LabelFormatItem[]): Stage {
  throw badRequest('label_format is not supported yet');
}
