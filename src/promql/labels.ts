/**
 * Label sets and matchers. A label set is sorted by name, has no empty values, and carries a
 * precomputed identity key, so grouping and matching never re-sort or re-serialize.
 */
export interface Label {
  name: string;
  value: string;
}

export type MatchType = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  name: string;
  type: MatchType;
  value: string;
}

export const METRIC_NAME = '__name__';

const MEMO_LIMIT = 8;

/** An immutable, sorted label set. Build with `Labels.from*`; compare with `.key`. */
export class Labels {
  /** label sets derived by without()/only(), by operation and names (label sets are immutable) */
  private derived: Map<string, Labels> | undefined;
  private nameless: Labels | undefined;
  /** the last grouping() asked for, by the identity of its names (an aggregation's, every step) */
  private groupingNames: readonly string[] | undefined;
  private groupingWithout = false;
  private groupingOut: Labels | undefined;

  private constructor(
    readonly list: readonly Label[],
    /** a string that is equal for equal label sets and different otherwise */
    readonly key: string,
  ) {}

  static readonly EMPTY = new Labels([], '');

  /** From any labels: drops empty values, sorts by name; the last value of a duplicate name wins. */
  static from(labels: Iterable<Label>): Labels {
    const byName = new Map<string, string>();
    for (const l of labels) if (l.value !== '') byName.set(l.name, l.value);
    const list = [...byName]
      .map(([name, value]) => ({ name, value }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return new Labels(list, keyOf(list));
  }

  static fromRecord(r: Readonly<Record<string, string>>): Labels {
    return Labels.from(Object.entries(r).map(([name, value]) => ({ name, value })));
  }

  get(name: string): string {
    const list = this.list;
    for (let i = 0; i < list.length; i++) if (list[i]!.name === name) return list[i]!.value;
    return '';
  }

  has(name: string): boolean {
    return this.list.some((l) => l.name === name);
  }

  /** A copy without the listed names. */
  without(names: Iterable<string>): Labels {
    const drop = [...names];
    return this.memo(`-${drop.join('\u0000')}`, () => {
      const set = new Set(drop);
      const list = this.list.filter((l) => !set.has(l.name));
      return list.length === this.list.length ? this : new Labels(list, keyOf(list));
    });
  }

  /** A copy with only the listed names. */
  only(names: Iterable<string>): Labels {
    const keep = [...names];
    return this.memo(`+${keep.join('\u0000')}`, () => {
      const set = new Set(keep);
      const list = this.list.filter((l) => set.has(l.name));
      return new Labels(list, keyOf(list));
    });
  }

  /**
   * The labels an aggregation groups by: `only(names)`, or for `without` every label but `names`
   * and the metric name. An aggregation asks with the same array at every step: remembered by it.
   */
  grouping(names: readonly string[], without: boolean): Labels {
    // `without ()` (every set operator's default matching): one cached copy per label set
    if (without && names.length === 0) return this.withoutName();
    if (names === this.groupingNames && without === this.groupingWithout) return this.groupingOut!;
    const out = without ? this.without([...names, METRIC_NAME]) : this.only(names);
    this.groupingNames = names;
    this.groupingWithout = without;
    this.groupingOut = out;
    return out;
  }

  /** Queries derive the same few label sets from a series at every step: remember a handful. */
  private memo(sig: string, make: () => Labels): Labels {
    const hit = this.derived?.get(sig);
    if (hit !== undefined) return hit;
    const out = make();
    this.derived ??= new Map();
    if (this.derived.size >= MEMO_LIMIT) this.derived.clear();
    this.derived.set(sig, out);
    return out;
  }

  /** A copy with `name` set to `value` (removed when value is ''). */
  with(name: string, value: string): Labels {
    return this.memo(`=${name}\u0000${value}`, () =>
      Labels.from([...this.list.filter((l) => l.name !== name), { name, value }]),
    );
  }

  withoutName(): Labels {
    return (this.nameless ??= this.without([METRIC_NAME]));
  }

  toRecord(): Record<string, string> {
    const r: Record<string, string> = {};
    for (const l of this.list) r[l.name] = l.value;
    return r;
  }

  /** Prometheus' text form: `name{a="1", b="2"}` (used in messages and test output). */
  toString(): string {
    const name = this.get(METRIC_NAME);
    const rest = this.list
      .filter((l) => l.name !== METRIC_NAME)
      .map((l) => `${l.name}=${JSON.stringify(l.value)}`);
    return `${name}{${rest.join(', ')}}`;
  }
}

function keyOf(list: readonly Label[]): string {
  let k = '';
  for (const l of list) k += `${l.name}\u0000${l.value}\u0001`;
  return k;
}
