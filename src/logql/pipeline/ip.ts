/**
 * `ip("...")` filters, as Loki's ip.go: the argument is an address, a CIDR prefix or a range
 * `a-b`, IPv4 or IPv6. The line filter matches when any IP-looking token of the line (a run of
 * hex digits, `.` and `:`) parses as an address inside; the label filter tests the label's value.
 */
import { badRequest } from '../../lib/errors.ts';

/** An address as a bigint plus its family (IPv4-mapped IPv6 compares as IPv6). */
interface Addr {
  v6: boolean;
  n: bigint;
}

function parseV4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0n;
  for (const p of parts) {
    // Go's netip rejects leading zeros and empty fields
    if (p === '' || p.length > 3 || (p.length > 1 && p[0] === '0') || !/^\d+$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = (n << 8n) | BigInt(v);
  }
  return n;
}

function parseV6(s: string): bigint | null {
  if (s.includes('%')) return null;
  let head = s;
  let tailV4: bigint | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    tailV4 = parseV4(s.slice(lastColon + 1));
    if (tailV4 === null) return null;
    head = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const dbl = head.indexOf('::');
  if (dbl !== head.lastIndexOf('::')) return null;
  const parseGroups = (t: string): number[] | null => {
    if (t === '') return [];
    const out: number[] = [];
    for (const g of t.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl >= 0) {
    const a = parseGroups(head.slice(0, dbl));
    const b = parseGroups(head.slice(dbl + 2));
    if (a === null || b === null || a.length + b.length > 7) return null;
    groups = [...a, ...new Array<number>(8 - a.length - b.length).fill(0), ...b];
  } else {
    const g = parseGroups(head);
    if (g === null || g.length !== 8) return null;
    groups = g;
  }
  let n = 0n;
  for (const g of groups) n = (n << 16n) | BigInt(g);
  if (tailV4 !== null) n = (n & ~0xffffffffn) | tailV4;
  return n;
}

export function parseAddr(s: string): Addr | null {
  if (s.includes(':')) {
    const n = parseV6(s);
    return n === null ? null : { v6: true, n };
  }
  const n = parseV4(s);
  return n === null ? null : { v6: false, n };
}

/** A compiled ip("...") argument: does an address fall inside? */
export type IpMatcher = (addr: Addr) => boolean;

export function compileIpPattern(pattern: string): IpMatcher {
  const bad = () =>
    badRequest(`invalid ip pattern ${JSON.stringify(pattern)}: expected an address, a CIDR or a range a-b`);
  const slash = pattern.indexOf('/');
  if (slash >= 0) {
    const base = parseAddr(pattern.slice(0, slash));
    const bitsText = pattern.slice(slash + 1);
    const width = base?.v6 ? 128 : 32;
    if (base === null || !/^\d+$/.test(bitsText) || Number(bitsText) > width) throw bad();
    const shift = BigInt(width - Number(bitsText));
    const prefix = base.n >> shift;
    return (a) => a.v6 === base.v6 && a.n >> shift === prefix;
  }
  const dash = pattern.indexOf('-');
  if (dash >= 0) {
    const lo = parseAddr(pattern.slice(0, dash));
    const hi = parseAddr(pattern.slice(dash + 1));
    if (lo === null || hi === null || lo.v6 !== hi.v6 || hi.n < lo.n) throw bad();
    return (a) => a.v6 === lo.v6 && a.n >= lo.n && a.n <= hi.n;
  }
  const one = parseAddr(pattern);
  if (one === null) throw bad();
  return (a) => a.v6 === one.v6 && a.n === one.n;
}

const isIpChar = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) ||
  (c >= 0x61 && c <= 0x66) ||
  (c >= 0x41 && c <= 0x46) ||
  c === 0x2e ||
  c === 0x3a;

/** True when any IP-looking token of the line is inside. */
export function lineHasIp(line: string, m: IpMatcher): boolean {
  const n = line.length;
  let i = 0;
  while (i < n) {
    if (!isIpChar(line.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && isIpChar(line.charCodeAt(j))) j++;
    // a token needs a '.' or ':' to be an address; skip plain hex words quickly
    if (j - i >= 2) {
      const tok = line.slice(i, j);
      if (tok.includes('.') || tok.includes(':')) {
        const a = parseAddr(tok);
        if (a !== null && m(a)) return true;
      }
    }
    i = j;
  }
  return false;
}
