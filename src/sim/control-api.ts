/** `${url}/__sim/...`: fault injection and stats over HTTP, for scripts and other processes. */
import type { FastifyInstance } from 'fastify';
import type { Faults, FaultRule, JobFailure } from './faults.js';
import { asImportFactor } from './tenant/authenticators.js';
import { idpLogin, type IdpLogin } from './tenant/identities.js';
import type { SimTenant } from './tenant/tenant.js';
import { toApiUser } from './tenant/users.js';

export async function controlRoutes(
  app: FastifyInstance,
  { tenants, faults }: { tenants: Record<string, SimTenant>; faults: Faults },
): Promise<void> {
  app.get<{ Querystring: { ids?: string } }>('/stats', async (req) => {
    const out: Record<string, unknown> = {};
    for (const [name, t] of Object.entries(tenants)) {
      const { importedUserIds, ...rest } = t.stats;
      out[name] = {
        ...rest,
        importedUsers: importedUserIds.length,
        ...(req.query.ids === 'true' ? { importedUserIds } : {}),
        users: t.userCount(),
        organizations: t.organizations.size,
        jobs: t.jobs.size,
      };
    }
    return { tenants: out };
  });

  // The emails the tenants would have sent (change-password emails), newest last.
  app.get('/outbox', async () => ({
    outbox: Object.fromEntries(Object.entries(tenants).map(([n, t]) => [n, t.outbox])),
  }));

  app.get('/tenants', async () => ({
    tenants: Object.fromEntries(Object.entries(tenants).map(([n, t]) => [n, t.info])),
  }));

  app.get('/faults', async () => ({ faults: faults.list() }));

  app.post<{ Body: FaultRule }>('/faults', async (req, reply) => {
    try {
      return reply.code(201).send({ id: faults.add(req.body) });
    } catch (err) {
      return reply.code(400).send({ error: (err as Error).message });
    }
  });

  app.delete('/faults', async (_req, reply) => {
    faults.clear();
    return reply.code(204).send();
  });

  app.delete<{ Params: { id: string } }>('/faults/:id', async (req, reply) =>
    reply.code(faults.remove(req.params.id) ? 204 : 404).send(),
  );

  app.post<{ Body: JobFailure }>('/jobs/fail', async (req, reply) => {
    if (!req.body || typeof req.body.tenant !== 'string' || !Object.hasOwn(tenants, req.body.tenant)) {
      return reply.code(400).send({ error: 'body must name a tenant: {"tenant":"new", ...}' });
    }
    faults.failJob(req.body);
    return reply.code(204).send();
  });

  app.post<{ Body: { tenant?: string } | undefined }>('/exports/expire', async (req) => ({
    expired: faults.expireExportLinks(req.body?.tenant),
  }));

  // A social or enterprise user logs in: created on the first login with the provider's id (its
  // profile, unless given, from the tenant that already knows the id), counted on later ones.
  app.post<{ Body: (IdpLogin & { tenant?: string }) | undefined }>('/idp-login', async (req, reply) => {
    const name = req.body?.tenant;
    if (typeof name !== 'string' || !Object.hasOwn(tenants, name)) {
      return reply
        .code(400)
        .send({ error: 'body must name a tenant: {"tenant":"new","user_id":"google-oauth2|1"}' });
    }
    const others = Object.entries(tenants).flatMap(([n, t]) => (n === name ? [] : [t]));
    const result = idpLogin(tenants[name]!, req.body!, others);
    if ('error' in result) return reply.code(400).send({ error: result.error });
    return reply
      .code(result.created ? 201 : 200)
      .send({ created: result.created, user: toApiUser(result.user) });
  });

  // What Auth0 support sends on request: each enrolled user's MFA secrets, one NDJSON line each.
  app.get<{ Querystring: { tenant?: string } }>('/mfa-secrets', async (req, reply) => {
    const name = req.query.tenant ?? 'old';
    if (!Object.hasOwn(tenants, name)) return reply.code(400).send({ error: `no tenant "${name}"` });
    let out = '';
    for (const u of tenants[name]!.users.iterate()) {
      if (u.authenticators === undefined || u.authenticators.length === 0) continue;
      out += `${JSON.stringify({
        user_id: u.user_id,
        ...(u.email !== undefined ? { email: u.email } : {}),
        mfa_factors: u.authenticators.map(asImportFactor),
      })}\n`;
    }
    return reply.type('application/x-ndjson').send(out);
  });
}
