/**
 * The simulated organizations: create/get/by name/patch/delete, both pagings with the 1,000 cap,
 * scopes, enabled connections, creating and deleting connections, per-endpoint rate limits and
 * faults. Every answer goes through the OAS check in helpers.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DB_CONNECTION,
  SOCIAL_CONNECTION,
  startSimulator,
  type SimOptions,
  type Simulator,
} from '../../src/sim/index.js';
import { resolveOptions } from '../../src/sim/options.js';
import { Mgmt, managementToken } from './helpers.js';

let sim: Simulator;
let api: Mgmt;

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 0 });
  api = await Mgmt.connect(sim, 'new');
});

afterAll(async () => {
  await sim.close();
});

/** Creates organizations `prefix-0` … through the API, returning their ids in order. */
async function createMany(m: Mgmt, prefix: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = await m.call('POST', '/organizations', { json: { name: `${prefix}-${i}` } });
    expect(a.status).toBe(201);
    ids.push(a.body.id);
  }
  return ids;
}

describe('organizations', () => {
  it('creates (201), reads by id and by name, updates and deletes (204, then 404)', async () => {
    const created = await api.call('POST', '/organizations', {
      json: {
        name: 'acme-corp',
        display_name: 'Acme Corp',
        branding: {
          logo_url: 'https://example.com/logo.png',
          colors: { primary: '#aa0000', page_background: '#ffffff' },
        },
        metadata: { tier: 'gold', region: 'eu' },
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(id).toMatch(/^org_[A-Za-z0-9]{16}$/);
    expect(created.body).toMatchObject({
      name: 'acme-corp',
      display_name: 'Acme Corp',
      metadata: { tier: 'gold' },
    });
    expect(created.body.enabled_connections).toBeUndefined();

    expect((await api.call('GET', `/organizations/${id}`)).body).toEqual(created.body);
    expect((await api.call('GET', '/organizations/name/acme-corp')).body.id).toBe(id);

    const patched = await api.call('PATCH', `/organizations/${id}`, {
      json: { name: 'acme-group', metadata: { region: null, plan: 'b2b' } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'acme-group', metadata: { tier: 'gold', plan: 'b2b' } });
    expect(patched.body.metadata.region).toBeUndefined();
    expect((await api.call('GET', '/organizations/name/acme-corp')).status).toBe(404);
    expect((await api.call('GET', '/organizations/name/acme-group')).body.id).toBe(id);

    const del = await api.call('DELETE', `/organizations/${id}`);
    expect(del.status).toBe(204);
    expect(del.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const again = await api.call('DELETE', `/organizations/${id}`);
    expect(again.status).toBe(404);
    expect(again.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'No organization found by that id or name',
    });
    expect((await api.call('GET', `/organizations/${id}`)).status).toBe(404);
    expect((await api.call('PATCH', `/organizations/${id}`, { json: { display_name: 'x' } })).status).toBe(
      404,
    );
  });

  it('refuses a taken name (409), a name outside Auth0 pattern or length, and unknown properties', async () => {
    await createMany(api, 'taken', 1);
    const dup = await api.call('POST', '/organizations', { json: { name: 'taken-0' } });
    expect(dup.status).toBe(409);
    expect(dup.body.message).toBe('An organization with this name already exists.');
    for (const name of [
      'Upper-Case',
      'has space',
      'org_reserved',
      '-leading',
      'trailing-',
      '',
      'x'.repeat(51),
    ]) {
      const bad = await api.call('POST', '/organizations', { json: { name } });
      expect(bad.status, name).toBe(400);
      expect(bad.body.errorCode).toBe('invalid_body');
      expect(bad.body.message).toMatch(/^Payload validation error: /);
    }
    expect((await api.call('POST', '/organizations', { json: { name: 'x'.repeat(50) } })).status).toBe(201);
    expect((await api.call('POST', '/organizations', { json: { name: '9lives_co' } })).status).toBe(201);
    const extra = await api.call('POST', '/organizations', { json: { name: 'extra', color: 'red' } });
    expect(extra.status).toBe(400);
    expect(extra.body.message).toBe("Payload validation error: 'Additional properties not allowed: color'.");
    const long = await api.call('GET', `/organizations/org_${'x'.repeat(47)}`);
    expect(long.status).toBe(400);
    expect(long.body.errorCode).toBe('invalid_uri');
  });

  it('creates an organization with enabled connections, which needs create:organization_connections', async () => {
    const db = sim.tenants.new.connectionId;
    const body = {
      name: 'with-connections',
      enabled_connections: [{ connection_id: db, assign_membership_on_login: true }],
    };
    const token = await managementToken(sim.tenants.new, 'create:organizations');
    const refused = await api.call('POST', '/organizations', { json: body, token });
    expect(refused.status).toBe(403);
    expect(refused.body.errorCode).toBe('insufficient_scope');
    const created = await api.call('POST', '/organizations', { json: body });
    expect(created.status).toBe(201);
    expect(created.body.enabled_connections).toEqual([
      {
        connection_id: db,
        assign_membership_on_login: true,
        show_as_button: true,
        is_signup_enabled: false,
        connection: { name: DB_CONNECTION, strategy: 'auth0' },
      },
    ]);
  });

  it('answers 403 with Auth0 text, and a summary (id and names) to read:organizations_summary', async () => {
    const [id] = await createMany(api, 'scoped', 1);
    await api.call('PATCH', `/organizations/${id}`, { json: { metadata: { a: 'b' } } });
    const none = await managementToken(sim.tenants.new, 'read:users');
    const a = await api.call('GET', '/organizations', { token: none });
    expect(a.status).toBe(403);
    expect(a.body.message).toBe('Insufficient scope, expected any of: read:organizations');
    const summary = await managementToken(sim.tenants.new, 'read:organizations_summary');
    const one = await api.call('GET', `/organizations/${id}`, { token: summary });
    expect(one.body).toEqual({ id, name: 'scoped-0' });
    expect((await api.call('GET', '/organizations/name/scoped-0', { token: summary })).status).toBe(403);
    const write = await api.call('DELETE', `/organizations/${id}`, { token: summary });
    expect(write.body.message).toBe('Insufficient scope, expected any of: delete:organizations');
  });
});

describe('listing organizations', () => {
  let paged: Simulator;
  let m: Mgmt;
  let ids: string[];

  beforeAll(async () => {
    paged = await startSimulator();
    m = await Mgmt.connect(paged, 'old');
    ids = await createMany(m, 'page', 7);
  });

  afterAll(async () => {
    await paged.close();
  });

  it('gives a bare array of 50 by default, the envelope with include_totals, and sorts', async () => {
    const all = await m.call('GET', '/organizations');
    expect(all.body.map((o: { id: string }) => o.id)).toEqual(ids);
    const page = await m.call('GET', '/organizations?per_page=3&page=2&include_totals=true');
    expect(page.body).toMatchObject({ start: 6, limit: 3, total: 7 });
    expect(page.body.organizations.map((o: { id: string }) => o.id)).toEqual([ids[6]]);
    const sorted = await m.call('GET', '/organizations?sort=name:-1&per_page=2');
    expect(sorted.body.map((o: { name: string }) => o.name)).toEqual(['page-6', 'page-5']);
    expect((await m.call('GET', '/organizations?sort=color:1')).status).toBe(400);
  });

  it('refuses offset pages past the first 1,000 records with invalid_paging, even when fewer exist', async () => {
    expect((await m.call('GET', '/organizations?per_page=100&page=9')).status).toBe(200);
    const far = await m.call('GET', '/organizations?per_page=100&page=10');
    expect(far.status).toBe(400);
    expect(far.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'Requesting page exceeds the allowed maximum of 1000 records',
      errorCode: 'invalid_paging',
    });
    const over = await m.call('GET', '/organizations?per_page=101');
    expect(over.status).toBe(400);
    expect(over.body.errorCode).toBe('invalid_query_string');
    expect((await m.call('GET', '/organizations?page=1001&per_page=1')).status).toBe(400);
  });

  it('pages by checkpoint: opaque next, no totals, no next on the last page, stable under deletes', async () => {
    const first = await m.call('GET', '/organizations?include_totals=true&take=3');
    expect(Object.keys(first.body).sort()).toEqual(['next', 'organizations']);
    expect(first.body.next).not.toMatch(/org_/);
    const second = await m.call('GET', `/organizations?take=3&from=${encodeURIComponent(first.body.next)}`);
    // Deleting one already listed does not shift the next page.
    await m.call('DELETE', `/organizations/${ids[0]}`);
    const third = await m.call('GET', `/organizations?take=3&from=${encodeURIComponent(second.body.next)}`);
    const seen = [first, second, third].flatMap((a) => a.body.organizations.map((o: { id: string }) => o.id));
    expect(seen).toEqual(ids);
    expect(third.body.next).toBeUndefined();
    expect((await m.call('GET', '/organizations?take=0')).status).toBe(400);
    expect((await m.call('GET', '/organizations?from=bm90LWEtY3Vyc29y')).status).toBe(400);
    const defaults = await m.call('GET', `/organizations?from=${encodeURIComponent(first.body.next)}`);
    expect(defaults.body.organizations.map((o: { id: string }) => o.id)).toEqual(ids.slice(3));
  });
});

describe('enabled connections', () => {
  it('adds (201), lists, reads, updates and removes a connection, with Auth0 answers for the rest', async () => {
    const [id] = await createMany(api, 'conns', 1);
    const db = sim.tenants.new.connectionId;
    const social = sim.tenant('new').connectionByName(SOCIAL_CONNECTION)!.id;
    const added = await api.call('POST', `/organizations/${id}/enabled_connections`, {
      json: { connection_id: db, assign_membership_on_login: false },
    });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({
      connection_id: db,
      assign_membership_on_login: false,
      show_as_button: true,
      is_signup_enabled: false,
      connection: { name: DB_CONNECTION, strategy: 'auth0' },
    });
    await api.call('POST', `/organizations/${id}/enabled_connections`, { json: { connection_id: social } });
    const list = await api.call('GET', `/organizations/${id}/enabled_connections`);
    expect(list.body.map((c: { connection_id: string }) => c.connection_id)).toEqual([db, social]);
    const totals = await api.call(
      'GET',
      `/organizations/${id}/enabled_connections?include_totals=true&per_page=1`,
    );
    expect(totals.body).toMatchObject({ start: 0, limit: 1, total: 2 });

    // Recorded from a real tenant: sign-up without membership on login is refused.
    const refused = await api.call('PATCH', `/organizations/${id}/enabled_connections/${db}`, {
      json: { is_signup_enabled: true },
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      errorCode: 'invalid_body',
      message:
        'Only database connections with assign_membership_on_login = true support is_signup_enabled = true.',
    });
    const ok = await api.call('PATCH', `/organizations/${id}/enabled_connections/${db}`, {
      json: { is_signup_enabled: true, assign_membership_on_login: true },
    });
    expect(ok.body).toMatchObject({ assign_membership_on_login: true, is_signup_enabled: true });
    const socialSignup = await api.call('PATCH', `/organizations/${id}/enabled_connections/${social}`, {
      json: { is_signup_enabled: true, assign_membership_on_login: true },
    });
    expect(socialSignup.status).toBe(400);
    expect(
      (await api.call('GET', `/organizations/${id}/enabled_connections/${db}`)).body.is_signup_enabled,
    ).toBe(true);

    const twice = await api.call('POST', `/organizations/${id}/enabled_connections`, {
      json: { connection_id: db },
    });
    expect(twice.status).toBe(400);
    const unknown = await api.call('POST', `/organizations/${id}/enabled_connections`, {
      json: { connection_id: 'con_0000000000000000' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toBe('No connection found by that id');

    const removed = await api.call('DELETE', `/organizations/${id}/enabled_connections/${db}`);
    expect(removed.status).toBe(204);
    const gone = await api.call('GET', `/organizations/${id}/enabled_connections/${db}`);
    expect(gone.status).toBe(404);
    expect(gone.body.message).toBe('No connection found by that id');
  });

  it('allows the per-organization limit of connections and no more', async () => {
    const small = await startSimulator({ organizationLimits: { connectionsPerOrganization: 2 } });
    try {
      const m = await Mgmt.connect(small, 'old');
      const [id] = await createMany(m, 'limit', 1);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const c = await m.call('POST', '/connections', { json: { name: `extra-${i}`, strategy: 'auth0' } });
        ids.push(c.body.id);
      }
      expect(
        (
          await m.call('POST', `/organizations/${id}/enabled_connections`, {
            json: { connection_id: ids[0] },
          })
        ).status,
      ).toBe(201);
      expect(
        (
          await m.call('POST', `/organizations/${id}/enabled_connections`, {
            json: { connection_id: ids[1] },
          })
        ).status,
      ).toBe(201);
      const third = await m.call('POST', `/organizations/${id}/enabled_connections`, {
        json: { connection_id: ids[2] },
      });
      expect(third.status).toBe(400);
      expect(third.body.errorCode).toBe('invalid_body');
      const atCreate = await m.call('POST', '/organizations', {
        json: { name: 'too-many', enabled_connections: ids.map((connection_id) => ({ connection_id })) },
      });
      expect(atCreate.status).toBe(400);
      expect((await m.call('GET', '/organizations/name/too-many')).status).toBe(404);
    } finally {
      await small.close();
    }
  });
});

describe('connections', () => {
  it('creates one (201) and deletes it (202), which removes it from organizations; 204 once gone', async () => {
    const created = await api.call('POST', '/connections', {
      json: { name: 'partner-db', strategy: 'auth0', options: { requires_username: false } },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'partner-db', strategy: 'auth0', realms: ['partner-db'] });
    expect(created.body.id).toMatch(/^con_[A-Za-z0-9]{16}$/);
    const dup = await api.call('POST', '/connections', { json: { name: 'partner-db', strategy: 'auth0' } });
    expect(dup.status).toBe(409);
    expect(
      (await api.call('POST', '/connections', { json: { name: 'bad name', strategy: 'auth0' } })).status,
    ).toBe(400);

    const [org] = await createMany(api, 'partner', 1);
    await api.call('POST', `/organizations/${org}/enabled_connections`, {
      json: { connection_id: created.body.id },
    });
    const user = await api.call('POST', '/users', {
      json: { connection: 'partner-db', email: 'p@example.com', password: 'Secret-123!' },
    });
    await api.call('POST', `/organizations/${org}/members`, { json: { members: [user.body.user_id] } });

    const del = await api.call('DELETE', `/connections/${created.body.id}`);
    expect(del.status).toBe(202);
    expect((await api.call('GET', `/connections/${created.body.id}`)).status).toBe(404);
    expect((await api.call('GET', `/organizations/${org}/enabled_connections`)).body).toEqual([]);
    expect((await api.call('GET', `/users/${encodeURIComponent(user.body.user_id)}`)).status).toBe(404);
    expect((await api.call('GET', `/organizations/${org}/members`)).body).toEqual([]);
    expect((await api.call('DELETE', `/connections/${created.body.id}`)).status).toBe(204);
    expect(sim.tenants.new.connectionId).toBe(sim.tenant('new').connectionByName(DB_CONNECTION)!.id);
  });
});

describe('rate limits and faults', () => {
  let own: Simulator | undefined;
  const start = async (options: SimOptions) => {
    own = await startSimulator(options);
    return Mgmt.connect(own, 'old');
  };

  afterEach(async () => {
    await own?.close();
    own = undefined;
  });

  it('enforce the endpoint bucket: POST, PATCH and DELETE share the write-organizations bucket', async () => {
    const m = await start({
      endpointRateLimits: { 'write-organizations': { capacity: 2, refillPerSecond: 0.01 } },
    });
    const a = await m.call('POST', '/organizations', { json: { name: 'one' } });
    expect(a.headers.get('x-ratelimit-limit')).toBe('2');
    expect(a.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(
      (await m.call('PATCH', `/organizations/${a.body.id}`, { json: { display_name: 'One' } })).status,
    ).toBe(200);
    const limited = await m.call('DELETE', `/organizations/${a.body.id}`);
    expect(limited.status).toBe(429);
    expect(limited.body.errorCode).toBe('too_many_requests');
    expect(Number(limited.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    // Other endpoints keep answering: only the tenant-wide bucket is shared.
    expect((await m.call('GET', `/organizations/${a.body.id}`)).status).toBe(200);
    expect(own!.tenant('old').stats.rateLimited).toBe(1);
  });

  it('follow Auth0 published figures by tier: create organization burst 5 on enterprise', () => {
    const enterprise = resolveOptions({ timing: 'enterprise' }).endpointRateLimits;
    expect(enterprise['write-organizations']).toEqual({ capacity: 5, refillPerSecond: 150 / 60 });
    expect(enterprise['read-organization-members']).toEqual({ capacity: 40, refillPerSecond: 500 / 60 });
    expect(resolveOptions({ timing: 'free' }).endpointRateLimits['write-organizations']).toEqual({
      capacity: 5,
      refillPerSecond: 25 / 60,
    });
    expect(resolveOptions({}).endpointRateLimits).toEqual({});
    expect(resolveOptions({ timing: 'enterprise', endpointRateLimits: false }).endpointRateLimits).toEqual(
      {},
    );
  });

  it('apply injected faults to organization routes like to the others', async () => {
    const m = await start({});
    own!.faults.add({ kind: 'error', status: 503, path: '/api/v2/organizations', times: 1 });
    const failed = await m.call('POST', '/organizations', { json: { name: 'faulty' } });
    expect(failed.status).toBe(503);
    expect((await m.call('GET', '/organizations/name/faulty')).status).toBe(404);
    expect((await m.call('POST', '/organizations', { json: { name: 'faulty' } })).status).toBe(201);
  });

  it('enforce the organizations-per-tenant entity limit', async () => {
    const m = await start({ organizationLimits: { organizationsPerTenant: 2 } });
    await createMany(m, 'cap', 2);
    const third = await m.call('POST', '/organizations', { json: { name: 'cap-2' } });
    expect(third.status).toBe(400);
    expect(third.body.message).toContain('limit of 2 organizations');
  });
});
