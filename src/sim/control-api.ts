/** `${url}/__sim/...`: fault injection and stats over HTTP, for scripts and other processes. */
import type { FastifyInstance } from 'fastify';
import type { Faults, FaultRule, JobFailure } from './faults.js';
import type { SimTenant } from './tenant/tenant.js';

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
}
