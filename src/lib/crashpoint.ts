/**
 * Named crash points for durability tests (RELIABILITY.md, "Crashpoints"). When configured as
 * `<name>:<n>` (MOLESIGNAL_CRASHPOINT, read by src/config/), the process kills itself with SIGKILL
 * the n-th time it reaches that point. Unconfigured, `crashpoint()` is one comparison.
 */
export const CRASHPOINT_NAMES = [
  'wal.after-write-before-fsync',
  'wal.after-fsync-before-ack',
  'flush.after-parquet-before-catalog',
  'flush.after-catalog-before-wal-truncate',
  'compact.after-rename',
  'compact.after-commit',
  'compact.mid-delete',
  'retention.after-rename',
  'retention.after-commit',
  'retention.mid-delete',
  'delete.after-rename',
  'delete.after-commit',
  'delete.mid-delete',
  'checkpoint.before-rename',
] as const;
export type CrashpointName = (typeof CRASHPOINT_NAMES)[number];

let armed: { name: string; remaining: number } | null = null;

/** `spec` is `<name>:<n>` or `<name>` (n = 1). Throws on an unknown name. */
export function armCrashpoint(spec: string | undefined): void {
  if (!spec) {
    armed = null;
    return;
  }
  const [name = '', nText] = spec.split(':');
  if (!(CRASHPOINT_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown crash point "${name}"; known: ${CRASHPOINT_NAMES.join(', ')}`);
  }
  const n = nText === undefined ? 1 : Number(nText);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`crash point count must be a positive integer, got "${nText}"`);
  armed = { name, remaining: n };
}

export function crashpoint(name: CrashpointName): void {
  if (armed === null || armed.name !== name) return;
  armed.remaining -= 1;
  if (armed.remaining === 0) process.kill(process.pid, 'SIGKILL');
}
