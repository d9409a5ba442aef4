/**
 * `npm run traceql-conformance -- <dir> [--expected-failures <file>] [--ids a,b] [--no-flush]
 *  [--timeout <ms>]`: the recorded Tempo 2.7.2 search set in <dir> (runner.ts); options and
 * output as src/lib/conformance-cli.ts describes.
 */
import { conformanceCli } from '../../../lib/conformance-cli.ts';
import { runConformance } from './runner.ts';

conformanceCli({
  script: 'traceql-conformance',
  defaultExpectedFailures: new URL('./expected-failures.txt', import.meta.url),
  run: runConformance,
});
