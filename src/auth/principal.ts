/**
 * Who is calling, and what they may do in which org. Roles: admin (ingest, query, admin),
 * editor (ingest, query), viewer (query). API keys belong to one org and carry their own scopes.
 * The root user is admin of every org. The org is resolved from the credential; a header can only
 * pick among the orgs the credential already reaches (DESIGN.md decision 9).
 */
import type { ApiKeyRow, Catalog, Role, Scope, UserRow } from '../catalog/catalog.ts';
import { MoleError } from '../lib/errors.ts';
import type { OrgId } from '../tenancy/org-id.ts';
import { parseApiKey, secretMatches, sha256Hex, verifyPassword } from './secrets.ts';

export type Principal =
  { kind: 'user'; user: UserRow; roles: Map<OrgId, Role> } | { kind: 'key'; key: ApiKeyRow };

export const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  admin: ['ingest', 'query', 'admin'],
  editor: ['ingest', 'query'],
  viewer: ['query'],
};

export const unauthorized = (
  message = 'missing or invalid credentials: send HTTP Basic auth or "Authorization: Bearer <api key>"',
) => new MoleError(message, { code: 'MS_ERR_UNAUTHORIZED', status: 401, reason: 'unauthorized' });

export function scopesIn(principal: Principal, org: OrgId): readonly Scope[] {
  if (principal.kind === 'key') return principal.key.org === org ? principal.key.scopes : [];
  if (principal.user.isRoot) return ROLE_SCOPES.admin;
  const role = principal.roles.get(org);
  return role ? ROLE_SCOPES[role] : [];
}

export function isRoot(principal: Principal): boolean {
  return principal.kind === 'user' && principal.user.isRoot;
}

const CACHE_TTL_MS = 30_000;

/** Verifies credentials; verified Basic credentials are cached briefly (scrypt is slow by design). */
export class Authenticator {
  private readonly cache = new Map<string, { userId: string; expiresAtMs: number }>();

  constructor(private readonly catalog: Catalog) {}

  /**
   * `allowSplunk`: also accept `Authorization: Splunk <api key>`, the HEC scheme — only on the
   * Splunk HEC routes, so that no other route grows a second way in.
   */
  async authenticate(header: string | undefined, allowSplunk = false): Promise<Principal> {
    if (!header) throw unauthorized();
    const space = header.indexOf(' ');
    const scheme = header.slice(0, space).toLowerCase();
    const value = header.slice(space + 1).trim();
    if (scheme === 'bearer' || (allowSplunk && scheme === 'splunk')) return this.byKey(value);
    if (scheme === 'basic') return this.byPassword(value);
    throw unauthorized();
  }

  private async byKey(token: string): Promise<Principal> {
    const parsed = parseApiKey(token);
    if (!parsed) throw unauthorized();
    const key = await this.catalog.getApiKey(parsed.id);
    if (!key || key.revokedAtMs !== null || !secretMatches(parsed.secret, key.keyHash)) throw unauthorized();
    return { kind: 'key', key };
  }

  private async byPassword(b64: string): Promise<Principal> {
    const cacheKey = sha256Hex(b64);
    const cached = this.cache.get(cacheKey);
    let user: UserRow | undefined;
    if (cached && cached.expiresAtMs > Date.now()) {
      user = await this.catalog.getUser(cached.userId);
    } else {
      const text = Buffer.from(b64, 'base64').toString('utf8');
      const colon = text.indexOf(':');
      if (colon < 0) throw unauthorized();
      user = await this.catalog.getUserByName(text.slice(0, colon));
      if (!user || !verifyPassword(text.slice(colon + 1), user.passwordHash)) throw unauthorized();
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(cacheKey, { userId: user.id, expiresAtMs: Date.now() + CACHE_TTL_MS });
    }
    if (!user) throw unauthorized();
    const roles = new Map((await this.catalog.membershipsOf(user.id)).map((m) => [m.org, m.role] as const));
    return { kind: 'user', user, roles };
  }
}
