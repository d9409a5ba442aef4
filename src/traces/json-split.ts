/**
 * Splits stored JSON text into its parts without parsing numbers, so 64-bit integers keep every
 * digit (JSON.parse would round them to doubles) and a number's text still tells an int (`42`)
 * from a double (`4.2`, `1e+300`).
 */

/** The `[key, raw value text]` pairs of a JSON object's text; [] for anything but an object. */
export function splitObject(text: string): [string, string][] {
  const out: [string, string][] = [];
  let i = skipWs(text, 0);
  if (text[i] !== '{') return out;
  i = skipWs(text, i + 1);
  if (text[i] === '}') return out;
  for (;;) {
    const keyEnd = skipValue(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, keyEnd);
    if (text[i] !== ':') throw new Error(`malformed stored JSON at ${i}`);
    const start = skipWs(text, i + 1);
    const end = skipValue(text, start);
    out.push([key, text.slice(start, end)]);
    i = skipWs(text, end);
    if (text[i] === ',') i = skipWs(text, i + 1);
    else if (text[i] === '}') return out;
    else throw new Error(`malformed stored JSON at ${i}`);
  }
}

/** The raw texts of a JSON array's items; [] for anything but an array. */
export function splitArray(text: string): string[] {
  const out: string[] = [];
  let i = skipWs(text, 0);
  if (text[i] !== '[') return out;
  i = skipWs(text, i + 1);
  if (text[i] === ']') return out;
  for (;;) {
    const end = skipValue(text, i);
    out.push(text.slice(i, end));
    i = skipWs(text, end);
    if (text[i] === ',') i = skipWs(text, i + 1);
    else if (text[i] === ']') return out;
    else throw new Error(`malformed stored JSON at ${i}`);
  }
}

const skipWs = (s: string, i: number): number => {
  while (i < s.length && (s[i] === ' ' || s[i] === '\n' || s[i] === '\t' || s[i] === '\r')) i++;
  return i;
};

/** The index just past the JSON value that starts at `i`. */
function skipValue(s: string, i: number): number {
  const c = s[i];
  if (c === '"') {
    for (let j = i + 1; j < s.length; j++) {
      if (s[j] === '\\') j++;
      else if (s[j] === '"') return j + 1;
    }
    throw new Error('unterminated string in stored JSON');
  }
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const d = s[j];
      if (d === '"') j = skipValue(s, j) - 1;
      else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw new Error('unterminated value in stored JSON');
  }
  let j = i;
  while (j < s.length && !',}] \n\t\r'.includes(s[j]!)) j++;
  if (j === i) throw new Error(`malformed stored JSON at ${i}`);
  return j;
}
