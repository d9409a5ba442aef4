/**
 * Go's time.Time as templates use it: `Format` with Go reference layouts ("2006-01-02 15:04:05"),
 * `ParseInLocation`, and zones. The server's local zone is UTC (as in Loki's containers), so `Local`
 * is UTC. IANA zones resolve through Intl.
 */

export interface GoZone {
  /** seconds east of UTC */
  offset: number;
  abbrev: string;
}

export interface GoLocation {
  readonly name: string;
  zoneAt(unixSec: number): GoZone;
}

const UTC_ZONE: GoZone = { offset: 0, abbrev: 'UTC' };
export const UTC: GoLocation = { name: 'UTC', zoneAt: () => UTC_ZONE };

function fixedZone(name: string, offset: number): GoLocation {
  const zone = { offset, abbrev: name };
  return { name, zoneAt: () => zone };
}

const locations = new Map<string, GoLocation | null>();

/** time.LoadLocation: "", "UTC" and "Local" are UTC; other names are IANA zones; unknown → undefined. */
export function loadLocation(name: string): GoLocation | undefined {
  if (name === '' || name === 'UTC' || name === 'Local') return UTC;
  let loc = locations.get(name);
  if (loc === undefined) {
    loc = intlLocation(name);
    if (locations.size > 1000) locations.clear();
    locations.set(name, loc);
  }
  return loc ?? undefined;
}

function intlLocation(name: string): GoLocation | null {
  let parts: Intl.DateTimeFormat;
  let abbrevs: Intl.DateTimeFormat;
  try {
    parts = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    abbrevs = new Intl.DateTimeFormat('en-US', { timeZone: name, timeZoneName: 'short' });
  } catch {
    return null;
  }
  return {
    name,
    zoneAt(unixSec: number): GoZone {
      const ms = unixSec * 1000;
      const f: Record<string, number> = {};
      for (const p of parts.formatToParts(ms)) if (p.type !== 'literal') f[p.type] = Number(p.value);
      const wall = Date.UTC(
        f.year ?? 1970,
        (f.month ?? 1) - 1,
        f.day ?? 1,
        f.hour ?? 0,
        f.minute ?? 0,
        f.second ?? 0,
      );
      const offset = Math.round((wall - ms) / 1000);
      const named = abbrevs.formatToParts(ms).find((p) => p.type === 'timeZoneName')?.value ?? '';
      return { offset, abbrev: /^(GMT|UTC)[+-]/.test(named) ? numericAbbrev(offset) : named };
    },
  };
}

function numericAbbrev(offset: number): string {
  const sign = offset < 0 ? '-' : '+';
  const a = Math.abs(offset);
  const h = Math.floor(a / 3600);
  const m = Math.floor((a % 3600) / 60);
  return `${sign}${pad(h, 2)}${m === 0 ? '' : pad(m, 2)}`;
}

const pad = (n: number, width: number, fill = '0'): string => String(n).padStart(width, fill);

// days since 1970-01-01 ↔ proleptic Gregorian civil date (H. Hinnant's algorithms)
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [era * 400 + yoe + (m <= 2 ? 1 : 0), m, d];
}

const isLeap = (y: number): boolean => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Broken-down wall clock of a time in its zone. */
interface Civil {
  year: number;
  month: number;
  day: number;
  hour: number;
  min: number;
  sec: number;
  nsec: number;
  yday: number;
  wday: number;
  zone: GoZone;
}

export class GoTime {
  constructor(
    /** whole seconds since the Unix epoch (may be negative) */
    readonly sec: number,
    /** 0 … 999 999 999 */
    readonly nsec: number,
    readonly loc: GoLocation = UTC,
  ) {}

  static fromUnixNanos(ns: bigint, loc: GoLocation = UTC): GoTime {
    const sec = ns / 1_000_000_000n;
    let nsec = Number(ns % 1_000_000_000n);
    let s = Number(sec);
    if (nsec < 0) {
      nsec += 1_000_000_000;
      s -= 1;
    }
    return new GoTime(s, nsec, loc);
  }

  static zero(): GoTime {
    return new GoTime(-62135596800, 0, UTC);
  }

  unixNanos(): bigint {
    return BigInt(this.sec) * 1_000_000_000n + BigInt(this.nsec);
  }

  in(loc: GoLocation): GoTime {
    return new GoTime(this.sec, this.nsec, loc);
  }

  civil(): Civil {
    const zone = this.loc.zoneAt(this.sec);
    const local = this.sec + zone.offset;
    const days = Math.floor(local / 86400);
    const secOfDay = local - days * 86400;
    const [year, month, day] = civilFromDays(days);
    return {
      year,
      month,
      day,
      hour: Math.floor(secOfDay / 3600),
      min: Math.floor((secOfDay % 3600) / 60),
      sec: secOfDay % 60,
      nsec: this.nsec,
      yday: days - daysFromCivil(year, 1, 1) + 1,
      wday: (((days + 4) % 7) + 7) % 7,
      zone,
    };
  }

  format(layout: string): string {
    const c = this.civil();
    let out = '';
    for (const chunk of layoutChunks(layout)) out += typeof chunk === 'string' ? chunk : formatStd(chunk, c);
    return out;
  }

  /** time.Time.String(): "2006-01-02 15:04:05.999999999 -0700 MST" */
  toString(): string {
    return this.format('2006-01-02 15:04:05.999999999 -0700 MST');
  }
}

type Std =
  | { k: 'longMonth' | 'month' | 'numMonth' | 'zeroMonth' | 'longWeekDay' | 'weekDay' | 'day' | 'underDay' }
  | {
      k:
        | 'zeroDay'
        | 'underYearDay'
        | 'zeroYearDay'
        | 'hour'
        | 'hour12'
        | 'zeroHour12'
        | 'minute'
        | 'zeroMinute';
    }
  | { k: 'second' | 'zeroSecond' | 'longYear' | 'year' | 'PM' | 'pm' | 'tz' }
  | { k: 'numTZ'; iso: boolean; colon: boolean; seconds: boolean; hoursOnly: boolean }
  | { k: 'frac'; zeros: boolean; digits: number; sep: string };

const layoutCache = new Map<string, (string | Std)[]>();

/** Splits a Go layout into literal text and std elements (time.nextStdChunk). */
function layoutChunks(layout: string): (string | Std)[] {
  const cached = layoutCache.get(layout);
  if (cached) return cached;
  const out: (string | Std)[] = [];
  let lit = '';
  let i = 0;
  while (i < layout.length) {
    const m = matchStd(layout, i);
    if (m === null) {
      lit += layout[i];
      i++;
      continue;
    }
    if (lit !== '') out.push(lit);
    lit = '';
    if (m.prefix !== '') out.push(m.prefix);
    out.push(m.std);
    i += m.len;
  }
  if (lit !== '') out.push(lit);
  if (layoutCache.size > 1000) layoutCache.clear();
  layoutCache.set(layout, out);
  return out;
}

const tz = (iso: boolean, colon: boolean, seconds: boolean, hoursOnly: boolean): Std => ({
  k: 'numTZ',
  iso,
  colon,
  seconds,
  hoursOnly,
});

const TZ_LAYOUTS: [string, boolean, boolean, boolean][] = [
  // suffix after '-' or 'Z', colon, seconds, hoursOnly (longest first)
  ['070000', false, true, false],
  ['07:00:00', true, true, false],
  ['0700', false, false, false],
  ['07:00', true, false, false],
  ['07', false, false, true],
];

function matchStd(s: string, i: number): { std: Std; len: number; prefix: string } | null {
  const at = (lit: string): boolean => s.startsWith(lit, i);
  const one = (k: Std['k'], len: number): { std: Std; len: number; prefix: string } => ({
    std: { k } as Std,
    len,
    prefix: '',
  });
  switch (s[i]) {
    case undefined:
      return null;
    case 'J':
      if (at('January')) return one('longMonth', 7);
      if (at('Jan')) return one('month', 3);
      return null;
    case 'M':
      if (at('Monday')) return one('longWeekDay', 6);
      if (at('Mon')) return one('weekDay', 3);
      if (at('MST')) return one('tz', 3);
      return null;
    case '0': {
      const n = s[i + 1];
      if (n !== undefined && n >= '1' && n <= '6') {
        const k = (['zeroMonth', 'zeroDay', 'zeroHour12', 'zeroMinute', 'zeroSecond', 'year'] as const)[
          n.charCodeAt(0) - 49
        ];
        return one(k ?? 'year', 2);
      }
      if (at('002')) return one('zeroYearDay', 3);
      return null;
    }
    case '1':
      return at('15') ? one('hour', 2) : one('numMonth', 1);
    case '2':
      return at('2006') ? one('longYear', 4) : one('day', 1);
    case '_':
      if (at('_2')) {
        // "_2006" is a literal _ followed by the long year
        if (at('_2006')) return { std: { k: 'longYear' }, len: 5, prefix: '_' };
        return one('underDay', 2);
      }
      if (at('__2')) return one('underYearDay', 3);
      return null;
    case '3':
      return one('hour12', 1);
    case '4':
      return one('minute', 1);
    case '5':
      return one('second', 1);
    case 'P':
      return at('PM') ? one('PM', 2) : null;
    case 'p':
      return at('pm') ? one('pm', 2) : null;
    case '-':
    case 'Z': {
      const iso = s[i] === 'Z';
      for (const [suffix, colon, seconds, hoursOnly] of TZ_LAYOUTS) {
        if (s.startsWith(suffix, i + 1)) {
          return { std: tz(iso, colon, seconds, hoursOnly), len: 1 + suffix.length, prefix: '' };
        }
      }
      return null;
    }
    case '.':
    case ',': {
      const ch = s[i + 1];
      if (ch !== '0' && ch !== '9') return null;
      let j = i + 1;
      while (s[j] === ch) j++;
      const next = s[j];
      if (next !== undefined && next >= '0' && next <= '9') return null;
      return {
        std: { k: 'frac', zeros: ch === '0', digits: j - i - 1, sep: s[i] ?? '.' },
        len: j - i,
        prefix: '',
      };
    }
  }
  return null;
}

function formatStd(std: Std, c: Civil): string {
  switch (std.k) {
    case 'longYear':
      return c.year < 0 ? `-${pad(-c.year, 4)}` : pad(c.year, 4);
    case 'year':
      return pad(((c.year % 100) + 100) % 100, 2);
    case 'longMonth':
      return MONTHS[c.month - 1] ?? '';
    case 'month':
      return (MONTHS[c.month - 1] ?? '').slice(0, 3);
    case 'numMonth':
      return String(c.month);
    case 'zeroMonth':
      return pad(c.month, 2);
    case 'longWeekDay':
      return DAYS[c.wday] ?? '';
    case 'weekDay':
      return (DAYS[c.wday] ?? '').slice(0, 3);
    case 'day':
      return String(c.day);
    case 'underDay':
      return pad(c.day, 2, ' ');
    case 'zeroDay':
      return pad(c.day, 2);
    case 'underYearDay':
      return pad(c.yday, 3, ' ');
    case 'zeroYearDay':
      return pad(c.yday, 3);
    case 'hour':
      return pad(c.hour, 2);
    case 'hour12':
      return String(c.hour % 12 === 0 ? 12 : c.hour % 12);
    case 'zeroHour12':
      return pad(c.hour % 12 === 0 ? 12 : c.hour % 12, 2);
    case 'minute':
      return String(c.min);
    case 'zeroMinute':
      return pad(c.min, 2);
    case 'second':
      return String(c.sec);
    case 'zeroSecond':
      return pad(c.sec, 2);
    case 'PM':
      return c.hour >= 12 ? 'PM' : 'AM';
    case 'pm':
      return c.hour >= 12 ? 'pm' : 'am';
    case 'tz':
      return c.zone.abbrev !== '' ? c.zone.abbrev : formatOffset(c.zone.offset, false, false, false);
    case 'numTZ':
      if (std.iso && c.zone.offset === 0) return 'Z';
      return formatOffset(c.zone.offset, std.colon, std.seconds, std.hoursOnly);
    case 'frac': {
      const digits = pad(c.nsec, 9).slice(0, std.digits);
      if (std.zeros) return std.sep + digits;
      const trimmed = digits.replace(/0+$/, '');
      return trimmed === '' ? '' : std.sep + trimmed;
    }
  }
}

function formatOffset(offset: number, colon: boolean, seconds: boolean, hoursOnly: boolean): string {
  const sign = offset < 0 ? '-' : '+';
  const a = Math.abs(offset);
  let out = sign + pad(Math.floor(a / 3600), 2);
  if (hoursOnly) return out;
  out += (colon ? ':' : '') + pad(Math.floor((a % 3600) / 60), 2);
  if (seconds) out += (colon ? ':' : '') + pad(a % 60, 2);
  return out;
}

export class TimeParseError extends Error {}

/**
 * time.ParseInLocation: the value must follow the layout; an explicit offset in the value wins over
 * `loc`. Throws TimeParseError with Go's wording ("parsing time ... as ...: cannot parse ...").
 */
export function parseTime(layout: string, value: string, loc: GoLocation): GoTime {
  let year = 1;
  let month = 1;
  let day = 1;
  let yday = -1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let nsec = 0;
  let pm: boolean | null = null;
  let offset: number | null = null;
  let rest = value;
  const fail = (what: string): never => {
    throw new TimeParseError(
      `parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: cannot parse ${JSON.stringify(rest)} as ${JSON.stringify(what)}`,
    );
  };
  const num = (min: number, max: number, what: string, spaces = false): number => {
    if (spaces) rest = rest.replace(/^ +/, '');
    const m = new RegExp(`^\\d{${min},${max}}`).exec(rest);
    if (!m) return fail(what);
    rest = rest.slice(m[0].length);
    return Number(m[0]);
  };
  const name = (list: string[], len: number | null, what: string): number => {
    for (let k = 0; k < list.length; k++) {
      const full = list[k] ?? '';
      const cand = len === null ? full : full.slice(0, len);
      if (rest.slice(0, cand.length).toLowerCase() === cand.toLowerCase()) {
        rest = rest.slice(cand.length);
        return k;
      }
    }
    return fail(what);
  };
  const chunks = layoutChunks(layout);
  for (let idx = 0; idx < chunks.length; idx++) {
    const chunk = chunks[idx] ?? '';
    if (typeof chunk === 'string') {
      rest = skipLiteral(chunk, rest) ?? fail(chunk);
      continue;
    }
    switch (chunk.k) {
      case 'longYear': {
        const m = /^-?\d{4}/.exec(rest);
        if (!m) fail('2006');
        year = Number(m?.[0]);
        rest = rest.slice(m?.[0].length ?? 0);
        break;
      }
      case 'year': {
        const y = num(2, 2, '06');
        year = y >= 69 ? 1900 + y : 2000 + y;
        break;
      }
      case 'longMonth':
        month = name(MONTHS, null, 'January') + 1;
        break;
      case 'month':
        month = name(MONTHS, 3, 'Jan') + 1;
        break;
      case 'numMonth':
        month = num(1, 2, '1');
        break;
      case 'zeroMonth':
        month = num(2, 2, '01');
        break;
      case 'longWeekDay':
        name(DAYS, null, 'Monday');
        break;
      case 'weekDay':
        name(DAYS, 3, 'Mon');
        break;
      case 'day':
        day = num(1, 2, '2');
        break;
      case 'underDay':
        day = num(1, 2, '_2', true);
        break;
      case 'zeroDay':
        day = num(2, 2, '02');
        break;
      case 'underYearDay':
        yday = num(1, 3, '__2', true);
        break;
      case 'zeroYearDay':
        yday = num(3, 3, '002');
        break;
      case 'hour':
        hour = num(2, 2, '15');
        break;
      case 'hour12':
        hour = num(1, 2, '3');
        break;
      case 'zeroHour12':
        hour = num(2, 2, '03');
        break;
      case 'minute':
        min = num(1, 2, '4');
        break;
      case 'zeroMinute':
        min = num(2, 2, '04');
        break;
      case 'second':
      case 'zeroSecond': {
        sec = chunk.k === 'second' ? num(1, 2, '5') : num(2, 2, '05');
        // a fractional second may follow a seconds field even when the layout has none
        const m = /^[.,](\d+)/.exec(rest);
        const next = chunks[idx + 1];
        if (m?.[1] !== undefined && !(typeof next === 'object' && next.k === 'frac')) {
          nsec = Number(m[1].slice(0, 9).padEnd(9, '0'));
          rest = rest.slice(m[0].length);
        }
        break;
      }
      case 'PM':
      case 'pm': {
        const p = rest.slice(0, 2).toUpperCase();
        if (p !== 'AM' && p !== 'PM') fail(chunk.k);
        pm = p === 'PM';
        rest = rest.slice(2);
        break;
      }
      case 'tz': {
        const m = /^(UTC|GMT|[A-Z]{3,5})/.exec(rest);
        if (!m) fail('MST');
        if (m?.[0] === 'UTC' || m?.[0] === 'GMT') offset = 0;
        rest = rest.slice(m?.[0].length ?? 0);
        break;
      }
      case 'numTZ': {
        if (chunk.iso && rest.startsWith('Z')) {
          offset = 0;
          rest = rest.slice(1);
          break;
        }
        const re = chunk.hoursOnly
          ? /^([+-])(\d\d)/
          : chunk.colon
            ? chunk.seconds
              ? /^([+-])(\d\d):(\d\d):(\d\d)/
              : /^([+-])(\d\d):(\d\d)/
            : chunk.seconds
              ? /^([+-])(\d\d)(\d\d)(\d\d)/
              : /^([+-])(\d\d)(\d\d)/;
        const m = re.exec(rest);
        if (!m) fail(chunk.iso ? 'Z07:00' : '-0700');
        const o = Number(m?.[2] ?? 0) * 3600 + Number(m?.[3] ?? 0) * 60 + Number(m?.[4] ?? 0);
        offset = m?.[1] === '-' ? -o : o;
        rest = rest.slice(m?.[0].length ?? 0);
        break;
      }
      case 'frac': {
        const m = /^[.,](\d+)/.exec(rest);
        if (!m) {
          if (chunk.zeros) fail(chunk.sep + '0'.repeat(chunk.digits));
          break;
        }
        const digits = m[1] ?? '';
        if (chunk.zeros && digits.length !== chunk.digits) fail(chunk.sep + '0'.repeat(chunk.digits));
        nsec = Number(digits.slice(0, 9).padEnd(9, '0'));
        rest = rest.slice(m[0].length);
        break;
      }
    }
  }
  if (rest !== '')
    throw new TimeParseError(`parsing time ${JSON.stringify(value)}: extra text: ${JSON.stringify(rest)}`);
  if (pm !== null) {
    if (hour > 12) throw new TimeParseError(`parsing time ${JSON.stringify(value)}: hour out of range`);
    if (pm && hour < 12) hour += 12;
    if (!pm && hour === 12) hour = 0;
  }
  if (yday >= 0) {
    const d = daysFromCivil(year, 1, 1) + yday - 1;
    [, month, day] = civilFromDays(d);
  }
  const monthDays = [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  if (monthDays === undefined)
    throw new TimeParseError(`parsing time ${JSON.stringify(value)}: month out of range`);
  if (day < 1 || day > monthDays || hour > 23 || min > 59 || sec > 59) {
    throw new TimeParseError(
      `parsing time ${JSON.stringify(value)}: ${day > monthDays || day < 1 ? 'day' : 'hour'} out of range`,
    );
  }
  const wall = daysFromCivil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec;
  if (offset !== null)
    return new GoTime(
      wall - offset,
      nsec,
      offset === 0 && loc === UTC ? UTC : fixedOrLoc(loc, wall - offset, offset),
    );
  // the zone's offset at the wall time (one correction step, as Go does around transitions)
  let utc = wall - loc.zoneAt(wall).offset;
  utc = wall - loc.zoneAt(utc).offset;
  return new GoTime(utc, nsec, loc);
}

function fixedOrLoc(loc: GoLocation, utc: number, offset: number): GoLocation {
  // Go keeps `loc` when the parsed offset is the one `loc` has at that instant
  return loc.zoneAt(utc).offset === offset ? loc : fixedZone('', offset);
}

/** time.skip: a space in the layout matches one or more spaces; anything else matches exactly. */
function skipLiteral(lit: string, value: string): string | null {
  let v = value;
  let i = 0;
  while (i < lit.length) {
    if (lit[i] === ' ') {
      if (v !== '' && v[0] !== ' ') return null;
      while (lit[i] === ' ') i++;
      v = v.replace(/^ +/, '');
      continue;
    }
    if (v[0] !== lit[i]) return null;
    v = v.slice(1);
    i++;
  }
  return v;
}
