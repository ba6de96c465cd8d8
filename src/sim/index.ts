/**
 * The local Auth0 tenant simulator: tenants `old` and `new` under path prefixes of one HTTP server
 * on 127.0.0.1, each with a database connection, a management client holding every scope the tool
 * needs, the Authentication API's /oauth/token and the Management API endpoints of a migration,
 * with Auth0's limits, timing and failure modes. It imports nothing of the tool (src/auth0/,
 * src/pipeline/, src/jobs/, config, errors): it is the independent check of them, built from
 * Auth0's published behaviour.
 *
 * Where things are: routes.ts mounts every route; management/ holds one plugin per Management API
 * resource, auth/ the Authentication API, tenant/ a tenant's state (it imports no route code),
 * engine/ the import and export jobs; faults, limits, ids, schemas and answer shapes sit here.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { JobEngine } from './engine/job-engine.js';
import { faultHooks } from './fault-hooks.js';
import { Faults } from './faults.js';
import { resolveOptions, type SimOptions } from './options.js';
import { BODY_LIMIT, simulatorRoutes } from './routes.js';
import { DB_CONNECTION } from './tenant/generate.js';
import { seedTenants } from './seed.js';
import { SimTenant, type SimTenantInfo, type TenantStats } from './tenant/tenant.js';

export type { SimOptions, SimTiming, TimingProfile, RateLimitOptions } from './options.js';
export { TIMING_PROFILES, RATE_LIMIT_PROFILES, AUTH_RATE_LIMIT_PROFILES } from './options.js';
export type { SimTenantInfo, TenantStats, SimClient, SimConnection, SimTicket } from './tenant/tenant.js';
export { SimTenant, MANAGEMENT_SCOPES, PASSWORD_REALM_GRANT } from './tenant/tenant.js';
export type { SimJob, SimJobStatus, ImportJob, ExportJob } from './tenant/jobs.js';
export type { FaultRule, FaultKind, JobFailure, ActiveFault } from './faults.js';
export { Faults } from './faults.js';
export { generatedPassword, generateUser, DB_CONNECTION, SOCIAL_CONNECTION } from './tenant/generate.js';

export type SimTenantName = 'old' | 'new';

export interface Simulator {
  /** e.g. `http://127.0.0.1:PORT`; the control endpoints are under `${url}/__sim/`. */
  readonly url: string;
  readonly tenants: { old: SimTenantInfo; new: SimTenantInfo };
  /** Programmatic fault injection (also over HTTP at `${url}/__sim/faults`). */
  readonly faults: Faults;
  /** Direct access to a tenant's in-memory state: users, jobs, stats, tickets. */
  tenant(name: SimTenantName): SimTenant;
  close(): Promise<void>;
}

export async function startSimulator(options: SimOptions = {}): Promise<Simulator> {
  const opts = resolveOptions(options);
  const tenants: Record<SimTenantName, SimTenant> = {
    old: new SimTenant('old', opts),
    new: new SimTenant('new', opts),
  };
  // The new tenant is the lazy-migration target: a custom database with "Import Users to Auth0" on.
  Object.assign(tenants.new.connectionByName(DB_CONNECTION)!.options, {
    enabledDatabaseCustomization: true,
    import_mode: true,
  });
  await seedTenants(tenants, opts);

  const ownWorkDir = opts.workDir === undefined;
  const workDir = opts.workDir ?? (await mkdtemp(join(tmpdir(), 'auth0-migrate-sim-')));
  // The fault registry expires links through the engines, which need the registry: fill in after.
  const engines = {} as Record<SimTenantName, JobEngine>;
  const faults = new Faults((name) => {
    let n = 0;
    for (const [tn, engine] of Object.entries(engines))
      if (name === undefined || name === tn) n += engine.expireLinks();
    return n;
  });
  for (const rule of opts.faults) faults.add(rule);
  engines.old = new JobEngine(tenants.old, faults, workDir);
  engines.new = new JobEngine(tenants.new, faults, workDir);
  const closing = new AbortController();

  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: BODY_LIMIT });
  faultHooks(app, tenants, faults, closing.signal);
  await simulatorRoutes(
    app,
    {
      old: { tenant: tenants.old, engine: engines.old },
      new: { tenant: tenants.new, engine: engines.new },
    },
    faults,
  );

  try {
    await app.listen({ port: opts.port, host: opts.host });
  } catch (err) {
    await Promise.all(Object.values(engines).map((e) => e.close()));
    if (ownWorkDir) await rm(workDir, { recursive: true, force: true });
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  const reachable = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  const url = opts.publicUrl ?? `http://${reachable}:${port}`;
  for (const t of Object.values(tenants)) t.baseUrl = `${url}/${t.name}`;

  let closed: Promise<void> | undefined;
  return {
    url,
    tenants: { old: tenants.old.info, new: tenants.new.info },
    faults,
    tenant(name: SimTenantName): SimTenant {
      const t = tenants[name];
      if (t === undefined) throw new TypeError(`no simulated tenant "${String(name)}" (old or new)`);
      return t;
    },
    close(): Promise<void> {
      closed ??= (async () => {
        closing.abort();
        await Promise.all(Object.values(engines).map((e) => e.close()));
        await app.close();
        if (ownWorkDir) await rm(workDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}

export type { TenantStats as SimTenantStats };
