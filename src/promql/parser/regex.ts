/** Whether a label matcher matches the empty string (for the "non-empty matcher" rule). */
import type { LabelMatcher } from '../labels.ts';

/** Compiles an RE2 pattern anchored like Prometheus (`^(?:re)$`); null when JS cannot compile it. */
export function compileAnchored(pattern: string): RegExp | null {
  let flags = '';
  let body = pattern;
  const lead = /^\(\?([imsU]+)\)/.exec(body);
  if (lead) {
    const f = lead[1] ?? '';
    if (f.includes('i')) flags += 'i';
    if (f.includes('s')) flags += 's';
    if (f.includes('m')) flags += 'm';
    body = body.slice(lead[0].length);
  }
  for (const extra of ['u', '']) {
    try {
      return new RegExp(`^(?:${body})$`, flags + extra);
    } catch {
      // try the next flag set
    }
  }
  return null;
}

export function matchesEmpty(m: LabelMatcher): boolean {
  switch (m.type) {
    case '=':
      return m.value === '';
    case '!=':
      return m.value !== '';
    case '=~':
    case '!~': {
      const re = compileAnchored(m.value);
      if (re === null) return false;
      return re.test('') === (m.type === '=~');
    }
  }
}
