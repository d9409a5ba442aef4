/**
 * Drain log clustering as Loki's pattern ingester runs it (pkg/pattern/drain, a port of Drain3):
 * lines are split by Loki's punctuation tokenizer, routed through a prefix tree by token count
 * and leading tokens (tokens with digits go to the wildcard child, as do tokens past MaxChildren),
 * and joined to the most similar cluster of the leaf when at least SimTh of their tokens agree;
 * a joined cluster's differing tokens become `<_>`. Settings are Loki's defaults.
 */

export const PLACEHOLDER = '<_>';
const DEPTH = 30;
const MAX_NODE_DEPTH = DEPTH - 2;
const SIM_TH = 0.3;
const MAX_CHILDREN = 15;
const MAX_CLUSTERS = 300;
const MAX_TOKENS = 250;

export interface Tokenized {
  tokens: string[];
  /** indexes of the tokens followed by a space */
  spacesAfter: number[];
}

const isLetterOrNumber = (c: string) => /[\p{L}\p{N}]/u.test(c);
const isPunct = (c: string) => /\p{P}/u.test(c);
const KEPT = new Set(['_', '-', '.', ':', '/']);

/** Loki's punctuationTokenizer: spaces separate, punctuation (but `_ - . : /`) and `=` are tokens of their own. */
export function tokenize(line: string): Tokenized {
  const tokens: string[] = [];
  const spacesAfter: number[] = [];
  let start = 0;
  let i = 0;
  for (const ch of line) {
    const at = i;
    i += ch.length;
    if (tokens.length >= MAX_TOKENS) break;
    if (isLetterOrNumber(ch) || KEPT.has(ch)) continue;
    if (ch === ' ' || ch === '=' || isPunct(ch)) {
      if (at > start) tokens.push(line.slice(start, at));
      if (ch === ' ') spacesAfter.push(tokens.length - 1);
      else tokens.push(ch);
      start = i;
    }
  }
  if (start < line.length && tokens.length < MAX_TOKENS) tokens.push(line.slice(start));
  return { tokens, spacesAfter };
}

/** The tokens joined back with the spaces the first line of the cluster had; `<_><_>` → `<_>`. */
export function join(t: Tokenized): string {
  const spaces = new Set(t.spacesAfter);
  let out = '';
  for (let k = -1; k < t.tokens.length; k++) {
    if (k >= 0) out += t.tokens[k];
    if (spaces.has(k)) out += ' ';
  }
  return out.replace(/(<_>)+/g, PLACEHOLDER);
}

export interface Cluster {
  id: number;
  tokens: string[];
  spacesAfter: number[];
  /** per-sample counts are kept by the caller, keyed by `id` */
  size: number;
}

interface Node {
  children: Map<string, Node>;
  clusters: number[];
}

const newNode = (): Node => ({ children: new Map(), clusters: [] });
const hasDigit = (s: string) => /\d/.test(s);

export class Drain {
  private readonly root = newNode();
  readonly clusters = new Map<number, Cluster>();
  private nextId = 1;
  /** clusters by last use, for evicting the least recently used past MAX_CLUSTERS */
  private readonly lru = new Map<number, true>();

  /** Adds a line; the cluster it joined or started (null when the line has no tokens). */
  train(line: string): Cluster | null {
    const t = tokenize(line);
    if (t.tokens.length === 0) return null;
    const leaf = this.leafOf(t.tokens);
    const match = this.bestMatch(leaf, t.tokens);
    if (match) {
      match.tokens = match.tokens.map((tok, k) => (tok === t.tokens[k] ? tok : PLACEHOLDER));
      match.size++;
      this.touch(match.id);
      return match;
    }
    const c: Cluster = { id: this.nextId++, tokens: t.tokens, spacesAfter: t.spacesAfter, size: 1 };
    this.clusters.set(c.id, c);
    leaf.clusters.push(c.id);
    this.touch(c.id);
    if (this.clusters.size > MAX_CLUSTERS) {
      const oldest = this.lru.keys().next().value!;
      this.lru.delete(oldest);
      this.clusters.delete(oldest);
    }
    return c;
  }

  private touch(id: number): void {
    this.lru.delete(id);
    this.lru.set(id, true);
  }

  private leafOf(tokens: string[]): Node {
    let node = this.child(this.root, String(tokens.length));
    // Loki's treeSearch: the leading tokens up to the depth limit, never the last one
    const depth = Math.min(MAX_NODE_DEPTH - 1, tokens.length - 1);
    for (let d = 0; d < depth; d++) {
      const tok = tokens[d]!;
      const key = hasDigit(tok) ? PLACEHOLDER : tok;
      const existing = node.children.get(key);
      if (existing) node = existing;
      else if (node.children.size + 1 < MAX_CHILDREN || key === PLACEHOLDER) node = this.child(node, key);
      else node = this.child(node, PLACEHOLDER);
    }
    return node;
  }

  private child(node: Node, key: string): Node {
    let c = node.children.get(key);
    if (!c) node.children.set(key, (c = newNode()));
    return c;
  }

  private bestMatch(leaf: Node, tokens: string[]): Cluster | null {
    let best: Cluster | null = null;
    let bestSim = -1;
    let bestParams = -1;
    leaf.clusters = leaf.clusters.filter((id) => this.clusters.has(id));
    for (const id of leaf.clusters) {
      const c = this.clusters.get(id)!;
      let same = 0;
      let params = 0;
      for (let k = 0; k < tokens.length; k++) {
        const tok = c.tokens[k]!;
        if (tok === PLACEHOLDER) params++;
        else if (tok === tokens[k]) same++;
      }
      const sim = same / tokens.length;
      if (sim > bestSim || (sim === bestSim && params > bestParams)) {
        best = c;
        bestSim = sim;
        bestParams = params;
      }
    }
    return best && bestSim >= SIM_TH ? best : null;
  }
}
