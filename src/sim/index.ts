/**
 * The local Auth0 tenant simulator: tenants `old` and `new` under path prefixes of one HTTP server
 * on 127.0.0.1, each with a database connection, a management client holding every scope the tool
 * needs, the Authentication API's /oauth/token and the Management API endpoints of a migration,
 * with Auth0's limits, timing and failure modes. It shares no code with src/auth0/: it is the
 * independent check of that client, built from Auth0's published behaviour.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { registerControl } from './control.js';
import { Faults, type FaultRule } from './faults.js';
import { DB_CONNECTION, isMigrated } from './generate.js';
import { hash32 } from './prng.js';
import { AUTH_RATE_LIMIT_MESSAGE, RATE_LIMIT_MESSAGE, sendAuthError, sendManagementError } from './http.js';
import { JobEngine } from './jobs.js';
import { MAX_IMPORT_BYTES, registerExportDownloads, registerJobs } from './jobs-routes.js';
import {
  registerConnections,
  registerManagementGuards,
  registerTickets,
  registerUsers,
} from './management.js';
import { registerDbConnections } from './dbconnections.js';
import { registerOAuth } from './oauth.js';
import { resolveOptions, type ResolvedOptions, type SimOptions } from './options.js';
import { readExportFile } from './seed-file.js';
import { SimTenant, type SimTenantInfo, type TenantStats } from './tenant.js';

export type { SimOptions, SimTiming, TimingProfile, RateLimitOptions } from './options.js';
export { TIMING_PROFILES, RATE_LIMIT_PROFILES, AUTH_RATE_LIMIT_PROFILES } from './options.js';
export type { SimTenantInfo, TenantStats, SimClient, SimConnection, SimTicket } from './tenant.js';
export { SimTenant, MANAGEMENT_SCOPES, PASSWORD_REALM_GRANT } from './tenant.js';
export type { FaultRule, FaultKind, JobFailure, ActiveFault } from './faults.js';
export { Faults } from './faults.js';
export { generatedPassword, generateUser, DB_CONNECTION, SOCIAL_CONNECTION } from './generate.js';

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
  await seed(tenants, opts);

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

  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 16 * 1024 * 1024 });
  // Requests a `drop-after` fault hit: handled in full, then their answer is never sent; and
  // those a `cut` fault hit, with the bytes of their answer sent before the connection goes.
  const dropAfter = new WeakSet<FastifyRequest>();
  const cutAfter = new WeakMap<FastifyRequest, number>();
  app.addHook('onRequest', async (req, reply) =>
    faultHook(req, reply, tenants, faults, closing.signal, { dropAfter, cutAfter }),
  );
  app.addHook('onSend', async (req, _reply, payload) => {
    const cut = cutAfter.get(req);
    if (cut !== undefined && payload !== null && payload !== undefined) {
      const body = payload instanceof Readable ? payload : Readable.from([Buffer.from(payload as string)]);
      return Readable.from(cutShort(body, cut, req.raw.socket));
    }
    if (!dropAfter.has(req)) return payload;
    req.raw.socket.destroy();
    if (payload instanceof Readable) payload.destroy();
    return null;
  });
  for (const name of ['old', 'new'] as const) {
    const tenant = tenants[name];
    const engine = engines[name];
    await app.register(
      async (scope) => {
        await scope.register(formbody);
        scope.addContentTypeParser(
          'multipart/form-data',
          { parseAs: 'buffer', bodyLimit: MAX_IMPORT_BYTES },
          (_req, body, done) => done(null, body),
        );
        scope.setErrorHandler((err: FastifyError, req, reply) => errorAnswer(err, req, reply));
        scope.setNotFoundHandler((req, reply) => sendManagementError(reply, 404, 'Not Found'));
        registerOAuth(scope, tenant);
        registerDbConnections(scope, tenant);
        registerExportDownloads(scope, tenant, engine);
        await scope.register(
          async (api) => {
            registerManagementGuards(api, tenant);
            registerConnections(api, tenant);
            registerUsers(api, tenant);
            registerTickets(api, tenant);
            registerJobs(api, tenant, engine);
          },
          { prefix: '/api/v2' },
        );
      },
      { prefix: `/${name}` },
    );
  }
  await app.register(async (scope) => registerControl(scope, tenants, faults), { prefix: '/__sim' });

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

async function seed(tenants: Record<SimTenantName, SimTenant>, opts: ResolvedOptions): Promise<void> {
  if (opts.seedFile !== undefined) {
    let i = 0;
    for await (const user of readExportFile(opts.seedFile)) {
      tenants.old.users.insert(user);
      if (
        opts.seedNewMigrated > 0 &&
        user.connection === DB_CONNECTION &&
        hash32(opts.seed ^ 0x5a5a5a5a, i) / 4294967296 < opts.seedNewMigrated
      ) {
        tenants.new.users.insert({ ...structuredClone(user), logins_count: 1 });
      }
      i++;
    }
    return;
  }
  if (opts.seedOld <= 0) return;
  tenants.old.users.setGenerated({ seed: opts.seed, variant: 'old', indices: { count: opts.seedOld } });
  if (opts.seedNewMigrated > 0) {
    const picked: number[] = [];
    for (let i = 0; i < opts.seedOld; i++) if (isMigrated(opts.seed, i, opts.seedNewMigrated)) picked.push(i);
    tenants.new.users.setGenerated({
      seed: opts.seed,
      variant: 'migrated',
      indices: Uint32Array.from(picked),
    });
  }
}

/**
 * The first `bytes` bytes of `body`, then the connection destroyed (the body ends only by that,
 * so the client sees a transfer broken off, never a short but complete answer).
 */
async function* cutShort(body: Readable, bytes: number, socket: Socket): AsyncGenerator<Buffer> {
  let left = bytes;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (chunk.length < left) {
        left -= chunk.length;
        yield chunk;
        continue;
      }
      if (left > 0) yield chunk.subarray(0, left);
      break;
    }
  } finally {
    body.destroy();
  }
  // Let the bytes sent so far leave, then cut.
  await sleep(50);
  socket.destroy();
}

/** Faults apply to everything a tenant answers (not to the control endpoints). */
async function faultHook(
  req: FastifyRequest,
  reply: FastifyReply,
  tenants: Record<string, SimTenant>,
  faults: Faults,
  signal: AbortSignal,
  broken: { dropAfter: WeakSet<FastifyRequest>; cutAfter: WeakMap<FastifyRequest, number> },
): Promise<FastifyReply | undefined> {
  const m = /^\/([^/?]+)([^?]*)/.exec(req.url);
  const tenant = m ? tenants[m[1]!] : undefined;
  if (tenant === undefined || !Object.hasOwn(tenants, m![1]!)) return undefined;
  tenant.stats.requests++;
  const path = m![2] === '' ? '/' : m![2]!;
  const rule: FaultRule | undefined = faults.match(tenant.name, req.method, path);
  if (rule === undefined) return undefined;
  tenant.stats.faultsInjected++;
  // Authentication API endpoints answer errors in their own shape.
  const isAuth = path.startsWith('/oauth/') || path.startsWith('/dbconnections/');
  switch (rule.kind) {
    case 'delay':
      await sleep(rule.delayMs ?? 1000, undefined, { signal }).catch(() => undefined);
      return undefined;
    case 'drop':
      reply.hijack();
      req.raw.socket.destroy();
      return reply;
    case 'drop-after':
      broken.dropAfter.add(req);
      return undefined;
    case 'cut':
      broken.cutAfter.set(req, rule.afterBytes ?? 1024);
      return undefined;
    case 'error': {
      const status = rule.status ?? 500;
      if (isAuth)
        return sendAuthError(
          reply,
          status,
          status >= 500 ? 'server_error' : 'invalid_request',
          'Internal error',
        );
      return sendManagementError(reply, status, status >= 500 ? 'Internal error' : 'Injected fault');
    }
    case 'rate-limit': {
      const limit = tenant.options.rateLimit === false ? 50 : tenant.options.rateLimit.capacity;
      void reply.headers({
        'x-ratelimit-limit': String(limit),
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + (rule.resetSeconds ?? 1)),
      });
      if (isAuth) return sendAuthError(reply, 429, 'too_many_requests', AUTH_RATE_LIMIT_MESSAGE);
      return sendManagementError(reply, 429, RATE_LIMIT_MESSAGE, 'too_many_requests');
    }
  }
  return undefined;
}

function errorAnswer(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const isAuth = req.url.includes('/oauth/');
  let status = err.statusCode ?? 500;
  let message: string;
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    status = 413;
    const limit = req.url.includes('/jobs/users-imports') ? MAX_IMPORT_BYTES : 16 * 1024 * 1024;
    message = `Payload content length greater than maximum allowed: ${limit}`;
  } else if (
    err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
    err instanceof SyntaxError
  ) {
    status = 400;
    message = 'Invalid request payload JSON format';
  } else if (status < 500) {
    message = err.message;
  } else {
    status = 500;
    message = `Internal error: ${err.message}`;
  }
  if (isAuth)
    return sendAuthError(reply, status, status >= 500 ? 'server_error' : 'invalid_request', message);
  return sendManagementError(reply, status, message, status === 400 ? 'invalid_body' : undefined);
}

export type { TenantStats as SimTenantStats };
