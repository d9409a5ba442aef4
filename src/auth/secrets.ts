/**
 * Password and API-key hashing. Passwords: scrypt with a per-user salt. API keys are
 * `ms_<id>_<secret>`: the id finds the row, only sha256(secret) is stored, and the comparison is
 * constant-time. A key is shown once, when it is created.
 */
import { createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export function verifyPassword(password: string, stored: string): boolean {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = scryptSync(password, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return timingSafeEqual(expected, actual);
}

export const sha256Hex = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');

export function newApiKey(): { id: string; secret: string; token: string; hash: string } {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(24).toString('base64url');
  return { id, secret, token: `ms_${id}_${secret}`, hash: sha256Hex(secret) };
}

export function parseApiKey(token: string): { id: string; secret: string } | null {
  const m = /^ms_([0-9a-f]{12})_([A-Za-z0-9_-]{32})$/.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : null;
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(sha256Hex(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export const randomPassword = () => randomBytes(18).toString('base64url');
