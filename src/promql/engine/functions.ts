/** Lazy access to the function library (src/promql/functions/index.ts, built in parallel). */
import type { FunctionImpl } from '../functions/types.ts';

export type FunctionTable = ReadonlyMap<string, FunctionImpl>;

let loaded: FunctionTable | null = null;

/** The FUNCTIONS map, or an empty one while the library cannot be loaded. */
export async function loadFunctions(): Promise<FunctionTable> {
  if (loaded) return loaded;
  const url = new URL('../functions/index.ts', import.meta.url).href;
  try {
    const mod = (await import(url)) as { FUNCTIONS?: FunctionTable };
    if (mod.FUNCTIONS) loaded = mod.FUNCTIONS;
    return mod.FUNCTIONS ?? new Map<string, FunctionImpl>();
  } catch {
    return new Map<string, FunctionImpl>();
  }
}
