/**
 * Which org a request acts in (DESIGN.md decision 9). A credential reaches only its own orgs,
 * whatever a header says; an org that does not exist and one the credential cannot reach get the
 * same 404.
 */
import type { Catalog, OrgRow, Scope } from '../catalog/catalog.ts';
import { isRoot, scopesIn, type Principal } from '../auth/principal.ts';
import { MoleError, notFoundOrDenied } from '../lib/errors.ts';

export const forbidden = (message: string) =>
  new MoleError(message, { code: 'MS_ERR_FORBIDDEN', status: 403, reason: 'forbidden' });

export class OrgResolver {
  constructor(private readonly catalog: Catalog) {}

  /** The org named in the path or header, if the principal reaches it. */
  async byName(principal: Principal, name: string): Promise<OrgRow> {
    const org = await this.catalog.getOrgByName(name);
    if (!org || scopesIn(principal, org.id).length === 0) throw notFoundOrDenied('org');
    return org;
  }

  /** X-Scope-OrgID if given, else the credential's default org. */
  async implicit(principal: Principal, header: string | undefined): Promise<OrgRow> {
    if (header && header.trim() !== '') return this.byName(principal, header.trim());
    if (principal.kind === 'key') {
      const org = await this.catalog.getOrg(principal.key.org);
      if (!org) throw notFoundOrDenied('org');
      return org;
    }
    if (isRoot(principal) || principal.roles.size === 0) return this.byName(principal, 'default');
    const def = await this.catalog.getOrgByName('default');
    if (def && principal.roles.has(def.id)) return def;
    const first = [...principal.roles.keys()][0]!;
    const org = await this.catalog.getOrg(first);
    if (!org) throw notFoundOrDenied('org');
    return org;
  }

  /** Throws 403 unless the principal holds `scope` in `org`. */
  requireScope(principal: Principal, org: OrgRow, scope: Scope): void {
    if (!scopesIn(principal, org.id).includes(scope)) {
      throw forbidden(`this credential lacks the "${scope}" permission in org "${org.name}"`);
    }
  }
}
