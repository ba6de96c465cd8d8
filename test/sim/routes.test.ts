/**
 * The simulator serves only what Auth0 publishes: every Management API route of the route table is
 * an operation of the OpenAPI subset in data/auth0/; every other route is a known Authentication API
 * endpoint, the export download links, or a `/__sim/` control path.
 */
import { tmpdir } from 'node:os';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JobEngine } from '../../src/sim/engine/job-engine.js';
import { Faults } from '../../src/sim/faults.js';
import { resolveOptions } from '../../src/sim/options.js';
import { simulatorRoutes } from '../../src/sim/routes.js';
import { SimTenant } from '../../src/sim/tenant/tenant.js';
import { AUTH_OAS, MGMT_OAS } from './helpers.js';

/** Served outside the Management API besides `/__sim/*`, with where Auth0 documents them. */
const OTHER_ROUTES = new Set([
  'POST /oauth/token', // authentication-api-oas.token.json
  'POST /dbconnections/change_password', // Authentication API reference, "Change Password"
  'GET /__exports/{}/{}', // the signed download link of a users-export job
  'GET /u/email-verification', // where an email-verification ticket leads (Universal Login)
  'POST /u/reset-password', // where a password-change ticket leads (Universal Login)
]);

const shape = (path: string): string => path.replace(/:[^/]+|\{[^}]+\}/g, '{}');

let app: FastifyInstance;
let engines: JobEngine[];
const served: Array<{ method: string; url: string }> = [];

beforeAll(async () => {
  const opts = resolveOptions({});
  const faults = new Faults(() => 0);
  const tenants = Object.fromEntries(
    ['old', 'new'].map((name) => {
      const tenant = new SimTenant(name, opts);
      return [name, { tenant, engine: new JobEngine(tenant, faults, tmpdir()) }];
    }),
  );
  engines = Object.values(tenants).map((t) => t.engine);
  app = Fastify();
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) served.push({ method, url: route.url });
  });
  await simulatorRoutes(app, tenants, faults);
  await app.ready();
});

afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  await app.close();
});

it('serves no Management API operation that the published OpenAPI description lacks', () => {
  const operations = new Set(
    Object.entries(MGMT_OAS.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${shape(path)}`),
    ),
  );
  const management = served.filter((r) => /^\/(old|new)\/api\/v2\//.test(r.url) && r.method !== 'HEAD');
  expect(management.length).toBeGreaterThan(20);
  const unknown = management
    .map((r) => `${r.method} ${shape(r.url.replace(/^\/(old|new)\/api\/v2/, ''))}`)
    .filter((op) => !operations.has(op));
  expect(unknown).toEqual([]);
});

it('serves nothing else but the Authentication API, export downloads and /__sim/ control paths', () => {
  expect(AUTH_OAS.paths['/oauth/token']?.post).toBeDefined();
  const others = served.filter((r) => !/^\/(old|new)\/api\/v2\//.test(r.url) && r.method !== 'HEAD');
  const control = others.filter((r) => r.url.startsWith('/__sim/'));
  expect(control.length).toBeGreaterThan(0);
  const unknown = others
    .filter((r) => !r.url.startsWith('/__sim/'))
    .map((r) => `${r.method} ${shape(r.url.replace(/^\/(old|new)/, ''))}`)
    .filter((op) => !OTHER_ROUTES.has(op));
  expect(unknown).toEqual([]);
});
