/**
 * `npm run logql-conformance -- <dir> [--expected-failures <file>] [--ids a,b] [--no-flush]
 *  [--timeout <ms>]`: the recorded Loki conformance set in <dir> (runner.ts); options and output
 * as src/lib/conformance-cli.ts describes.
 */
import { conformanceCli } from '../../lib/conformance-cli.ts';
import { runConformance } from './runner.ts';

export const DEFAULT_EXPECTED_FAILURES = new URL('./expected-failures.txt', import.meta.url);

conformanceCli({
  script: 'logql-conformance',
  defaultExpectedFailures: DEFAULT_EXPECTED_FAILURES,
  run: runConformance,
});
