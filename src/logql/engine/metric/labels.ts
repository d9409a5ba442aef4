/**
 * Label sets of metric series. Unlike PromQL's Labels, an empty value is a real value here: Loki
 * keeps `user=""` from `logfmt --keep-empty` as its own series, distinct from a series without
 * `user`. A set is sorted by name and carries a key that is equal exactly for equal sets.
 */

export const ERROR_LABEL = '__error__';
export const ERROR_DETAILS_LABEL = '__error_details__';

export class LabelSet {
  private constructor(
    /** sorted by name, names unique */
    readonly names: readonly string[],
    readonly values: readonly string[],
    readonly key: string,
  ) {}

  static readonly EMPTY = new LabelSet([], [], '');

  /** From name/value pairs in any order; a repeated name keeps its last value. */
  static from(pairs: Iterable<readonly [string, string]>): LabelSet {
    const byName = new Map<string, string>();
    for (const [n, v] of pairs) byName.set(n, v);
    const names = [...byName.keys()].sort(compareStrings);
    const values = names.map((n) => byName.get(n) as string);
    return new LabelSet(names, values, keyOf(names, values));
  }

  static fromRecord(r: Readonly<Record<string, string>>): LabelSet {
    return LabelSet.from(Object.entries(r));
  }

  get size(): number {
    return this.names.length;
  }

  has(name: string): boolean {
    return this.names.includes(name);
  }

  /** the value, or undefined when the label is absent (an empty string is a value) */
  get(name: string): string | undefined {
    const i = this.names.indexOf(name);
    return i < 0 ? undefined : this.values[i];
  }

  /** only the listed names (Loki's `by`) */
  keep(names: ReadonlySet<string>): LabelSet {
    return this.filter((n) => names.has(n));
  }

  /** without the listed names (Loki's `without`) */
  drop(names: ReadonlySet<string>): LabelSet {
    return this.filter((n) => !names.has(n));
  }

  filter(pred: (name: string) => boolean): LabelSet {
    const names: string[] = [];
    const values: string[] = [];
    for (let i = 0; i < this.names.length; i++) {
      const n = this.names[i] as string;
      if (pred(n)) {
        names.push(n);
        values.push(this.values[i] as string);
      }
    }
    if (names.length === this.names.length) return this;
    return new LabelSet(names, values, keyOf(names, values));
  }

  /** a copy with `name` set (or removed when `value` is undefined) */
  with(name: string, value: string | undefined): LabelSet {
    const pairs: [string, string][] = [];
    for (let i = 0; i < this.names.length; i++) {
      const n = this.names[i] as string;
      if (n !== name) pairs.push([n, this.values[i] as string]);
    }
    if (value !== undefined) pairs.push([name, value]);
    return LabelSet.from(pairs);
  }

  toRecord(): Record<string, string> {
    const r: Record<string, string> = {};
    for (let i = 0; i < this.names.length; i++) r[this.names[i] as string] = this.values[i] as string;
    return r;
  }

  /** Prometheus' labels.String(): `{a="1", b="x"}`, values quoted as Go's strconv.Quote does. */
  toString(): string {
    const parts: string[] = [];
    for (let i = 0; i < this.names.length; i++)
      parts.push(`${this.names[i]}=${goQuote(this.values[i] as string)}`);
    return `{${parts.join(', ')}}`;
  }
}

/** Byte-wise order of Go strings, which is code-point order; JS `<` compares UTF-16 units. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function keyOf(names: readonly string[], values: readonly string[]): string {
  let k = '';
  for (let i = 0; i < names.length; i++) k += `${names[i]}\u0000${values[i]}\u0001`;
  return k;
}

/**
 * A label set from a pipeline's label map, interned so equal sets share one object. Pipelines
 * emit the labels of similar lines in the same order, so the set is first looked up by the map
 * in its own order (no sort); only a new order pays for sorting.
 */
export class LabelSetInterner {
  private readonly byKey = new Map<string, LabelSet>();
  private readonly byOrderedKey = new Map<string, LabelSet>();

  get count(): number {
    return this.byKey.size;
  }

  intern(labels: ReadonlyMap<string, string>): LabelSet {
    let ordered = '';
    for (const [n, v] of labels) ordered += `${n}\u0000${v}\u0001`;
    let set = this.byOrderedKey.get(ordered);
    if (set !== undefined) return set;
    const sorted = LabelSet.from(labels);
    set = this.byKey.get(sorted.key);
    if (set === undefined) {
      set = sorted;
      this.byKey.set(sorted.key, set);
    }
    this.byOrderedKey.set(ordered, set);
    return set;
  }
}

/** Go's strconv.Quote for valid UTF-8 text (what Loki prints in its error messages). */
function goQuote(s: string): string {
  return JSON.stringify(s)
    .replace(/\\u007f/g, '\\x7f')
    .replace(/\\u00([0-1][0-9a-f])/g, '\\x$1');
}
