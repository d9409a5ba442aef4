/** Orgs (root only), users and API keys of an org (org admins). Secrets are shown once. */
import { randomUUID } from 'node:crypto';
import type { Catalog, Role, Scope } from '../catalog/catalog.ts';
import { hashPassword, newApiKey, randomPassword } from '../auth/secrets.ts';
import { isRoot } from '../auth/principal.ts';
import { MoleError, badRequest, notFoundOrDenied } from '../lib/errors.ts';
import { newOrgId, RESERVED_ORG_NAMES, SLUG_RE } from '../tenancy/org-id.ts';
import { sendJson } from './http-server.ts';
import { readJsonBody } from './json-body.ts';
import type { RequestContext } from './router.ts';

const ROLES: Role[] = ['admin', 'editor', 'viewer'];
const SCOPES: Scope[] = ['ingest', 'query', 'admin', 'metrics'];

export function checkOrgName(name: unknown): string {
  if (typeof name !== 'string' || !SLUG_RE.test(name)) {
    throw badRequest(
      'org name must be 1-63 characters of a-z, 0-9, "_" and "-", starting with a letter or digit',
      'MS_ERR_BAD_ORG_NAME',
    );
  }
  if (RESERVED_ORG_NAMES.has(name))
    throw badRequest(`org name "${name}" is reserved (it is an API path segment)`, 'MS_ERR_BAD_ORG_NAME');
  return name;
}

const conflict = (m: string) =>
  new MoleError(m, { code: 'MS_ERR_CONFLICT', status: 409, reason: 'conflict' });

export function adminHandlers(deps: { catalog: Catalog }) {
  const { catalog } = deps;
  return {
    listOrgs: async (ctx: RequestContext) => {
      sendJson(ctx.res, 200, {
        orgs: (await catalog.listOrgs()).map((o) => ({
          name: o.name,
          id: o.id,
          created_at_ms: o.createdAtMs,
        })),
      });
    },
    createOrg: async (ctx: RequestContext) => {
      const name = checkOrgName((await readJsonBody(ctx.req)).name);
      if (await catalog.getOrgByName(name)) throw conflict(`org "${name}" exists already`);
      const org = await catalog.createOrg(newOrgId(), name);
      sendJson(ctx.res, 201, { name: org.name, id: org.id });
    },
    listUsers: async (ctx: RequestContext) => {
      const members = await catalog.listMembers(ctx.org!.id);
      sendJson(ctx.res, 200, { users: members.map((m) => ({ name: m.userName, role: m.role })) });
    },
    addUser: async (ctx: RequestContext) => {
      const body = await readJsonBody(ctx.req);
      const { name, role } = body;
      if (typeof name !== 'string' || name.length < 1 || name.length > 200)
        throw badRequest('"name" (the user name, e.g. an email) is required');
      if (!ROLES.includes(role as Role)) throw badRequest(`"role" must be one of ${ROLES.join(', ')}`);
      let user = await catalog.getUserByName(name);
      let generated: string | undefined;
      if (
        user &&
        !isRoot(ctx.principal!) &&
        !(await catalog.listMembers(ctx.org!.id)).some((m) => m.userId === user!.id)
      ) {
        throw conflict(
          `user name "${name.slice(0, 80)}" is taken; the root user can add an existing user to this org`,
        );
      }
      if (user && body.password !== undefined) {
        throw badRequest('"password" is only for new users; this user exists already');
      }
      if (!user) {
        let password = body.password;
        if (password === undefined) password = generated = randomPassword();
        if (typeof password !== 'string' || password.length < 8)
          throw badRequest('"password" must have at least 8 characters');
        user = await catalog.createUser({
          id: randomUUID(),
          name,
          passwordHash: hashPassword(password),
          isRoot: false,
        });
      }
      await catalog.setMembership(ctx.org!.id, user.id, role as Role);
      sendJson(ctx.res, 201, { name, role, ...(generated ? { password: generated } : {}) });
    },
    listKeys: async (ctx: RequestContext) => {
      const keys = await catalog.listApiKeys(ctx.org!.id);
      sendJson(ctx.res, 200, {
        keys: keys.map((k) => ({
          id: k.id,
          name: k.name,
          scopes: k.scopes,
          created_at_ms: k.createdAtMs,
          revoked: k.revokedAtMs !== null,
        })),
      });
    },
    createKey: async (ctx: RequestContext) => {
      const body = await readJsonBody(ctx.req);
      const name = typeof body.name === 'string' && body.name.length <= 200 ? body.name : '';
      const scopes = body.scopes;
      if (
        !Array.isArray(scopes) ||
        scopes.length === 0 ||
        !scopes.every((s) => SCOPES.includes(s as Scope))
      ) {
        throw badRequest(`"scopes" must be a non-empty list of ${SCOPES.join(', ')}`);
      }
      const k = newApiKey();
      await catalog.createApiKey(ctx.org!.id, {
        id: k.id,
        name,
        keyHash: k.hash,
        scopes: [...new Set(scopes as Scope[])],
      });
      sendJson(ctx.res, 201, { id: k.id, name, scopes: [...new Set(scopes as Scope[])], key: k.token });
    },
    revokeKey: async (ctx: RequestContext) => {
      if (!(await catalog.revokeApiKey(ctx.org!.id, ctx.params.id ?? ''))) throw notFoundOrDenied('api key');
      sendJson(ctx.res, 200, { revoked: true });
    },
  };
}
