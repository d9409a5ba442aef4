/**
 * The label state of one entry while it goes through the pipeline, Loki's LabelsBuilder in
 * spirit: stream labels, structured metadata and parsed labels live in one Map (a parsed value
 * overrides metadata of the same name, as in Loki); the pipeline error and its details are kept
 * apart and become `__error__` / `__error_details__` only in the output. `streamHas` is Loki's
 * `BaseHas`: parsers rename a key to `<key>_extracted` when it clashes with a stream label of this
 * entry (not with structured metadata, as the recorded answers show), decided per entry so that
 * the result never depends on which stream was read first.
 */
import type { LogEntry } from './types.ts';

export const ERROR_LABEL = '__error__';
export const ERROR_DETAILS_LABEL = '__error_details__';
export const DUPLICATE_SUFFIX = '_extracted';

export class LabelState {
  stream: Readonly<Record<string, string>> = {};
  labels = new Map<string, string>();
  err = '';
  errDetails = '';
  ts = 0n;

  private lastStream: Readonly<Record<string, string>> | null = null;
  private lastStreamEntries: [string, string][] = [];
  /** parsedName answers for the current stream (entries of one stream share its object) */
  private renames = new Map<string, string>();

  /** Starts a new entry: a fresh Map (the previous one may be held by the caller). */
  reset(entry: LogEntry): void {
    if (entry.stream !== this.lastStream) {
      this.lastStream = entry.stream;
      this.lastStreamEntries = Object.entries(entry.stream);
      this.renames = new Map();
    }
    this.stream = entry.stream;
    this.ts = entry.ts;
    const m = new Map<string, string>(this.lastStreamEntries);
    for (const k in entry.metadata) m.set(k, entry.metadata[k]!);
    this.labels = m;
    this.err = '';
    this.errDetails = '';
  }

  streamHas(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.stream, name);
  }

  /** The name a parser stores `key` under: `<key>_extracted` when a stream label has that name. */
  parsedName(key: string): string {
    let n = this.renames.get(key);
    if (n === undefined) {
      n = this.streamHas(key) ? key + DUPLICATE_SUFFIX : key;
      if (this.renames.size < 10_000) this.renames.set(key, n);
    }
    return n;
  }

  setError(err: string, details: string | null): void {
    this.err = err;
    if (details !== null) this.errDetails = details;
  }

  /** A label's value as label filters and templates see it; the error labels included. */
  get(name: string): string | undefined {
    if (name === ERROR_LABEL) return this.err === '' ? undefined : this.err;
    if (name === ERROR_DETAILS_LABEL) return this.errDetails === '' ? undefined : this.errDetails;
    return this.labels.get(name);
  }

  /** The final label set (the state's Map, handed over: reset() makes a new one). */
  output(): Map<string, string> {
    const m = this.labels;
    if (this.err !== '') m.set(ERROR_LABEL, this.err);
    if (this.errDetails !== '') m.set(ERROR_DETAILS_LABEL, this.errDetails);
    return m;
  }
}

/** Loki's sanitizeLabelKey(key, true): trim, a leading digit gets `_`, non [A-Za-z0-9_] → `_`. */
export function sanitizeLabelKey(key: string): string {
  const k = key.trim();
  if (k === '') return k;
  let out = '';
  let clean = true;
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    if (!isLabelChar(c)) {
      clean = false;
      break;
    }
  }
  const first = k.charCodeAt(0);
  const prefix = first >= 0x30 && first <= 0x39 ? '_' : '';
  if (clean) return prefix + k;
  for (const ch of k) out += ch.length === 1 && isLabelChar(ch.charCodeAt(0)) ? ch : '_';
  return prefix + out;
}

export function isLabelChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || (c >= 0x30 && c <= 0x39);
}
