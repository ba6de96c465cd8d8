/** The tenant client's relations calls (generic paged list and request, RBAC) against the simulator. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantClient, isAuth0Error, type TenantClient } from '../../src/auth0/index.js';
import { toTenantConfig } from '../../src/config.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';

const retry = { baseDelayMs: 5, maxDelayMs: 40, rateLimitFallbackMs: 5 };
let sim: Simulator;
let old: TenantClient;
let neu: TenantClient;

async function all(
  pages: AsyncIterable<Array<Record<string, unknown>>>,
): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for await (const page of pages) out.push(...page);
  return out;
}

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 3000, seedNewMigrated: 0.3, seed: 11 });
  old = createTenantClient(toTenantConfig(sim.tenants.old), { label: 'old', retry });
  neu = createTenantClient(toTenantConfig(sim.tenants.new), { label: 'new', retry });
});

afterAll(async () => {
  await sim?.close();
});

describe('relations calls', () => {
  it('lists roles by offset and every member of a role past 1,000 by checkpoint paging', async () => {
    const roles = await all(old.listRoles());
    expect(roles.length).toBeGreaterThanOrEqual(5);
    let largest = 0;
    for (const role of roles) {
      const users = await all(old.listRoleUsers(String(role.id)));
      const ids = new Set(users.map((u) => u.user_id));
      expect(ids.size).toBe(users.length);
      largest = Math.max(largest, users.length);
    }
    expect(largest).toBeGreaterThan(1000);
  });

  it('creates a role, gives it permissions and users, and reads them back', async () => {
    const apis = await all(neu.listResourceServers());
    const api = apis.find((a) => a.is_system !== true && Array.isArray(a.scopes) && a.scopes.length > 0);
    expect(api).toBeDefined();
    const scope = (api!.scopes as Array<{ value: string }>)[0]!.value;
    const role = await neu.createRole({ name: 'client-test role', description: 'made by a test' });
    expect(role.id).not.toBe('');
    const perm = { resource_server_identifier: String(api!.identifier), permission_name: scope };
    await neu.addRolePermissions(role.id, [perm]);
    expect(await all(neu.listRolePermissions(role.id))).toEqual([expect.objectContaining(perm)]);
    const existing = await all(neu.listRoles());
    const holders = await all(neu.listRoleUsers(String(existing[0]!.id)));
    const someone = holders.slice(0, 3).map((u) => String(u.user_id));
    expect(someone.length).toBeGreaterThan(0);
    await neu.assignRoleUsers(role.id, someone);
    const members = (await all(neu.listRoleUsers(role.id))).map((u) => u.user_id);
    expect(members.sort()).toEqual([...someone].sort());
    const theirs = await all(neu.listUserRoles(someone[0]!));
    expect(theirs.map((r) => r.name)).toContain('client-test role');
    await neu.removeUserRoles(someone[0]!, [role.id]);
    expect((await all(neu.listRoleUsers(role.id))).length).toBe(someone.length - 1);
    await neu.deleteRole(role.id);
    const gone = await neu.deleteRole(role.id).catch((err: unknown) => err);
    expect(isAuth0Error(gone, 'not_found')).toBe(true);
  });

  it('maps a second creation of a role to already_exists, and retries 5xx and 429 answers through request()', async () => {
    const role = await neu.createRole({ name: 'twice' });
    const again = await neu.createRole({ name: 'twice' }).catch((err: unknown) => err);
    expect(isAuth0Error(again, 'already_exists')).toBe(true);
    const path = `/api/v2/roles/${role.id}`;
    sim.faults.add({ kind: 'rate-limit', tenant: 'new', method: 'GET', path, resetSeconds: 0 });
    sim.faults.add({ kind: 'error', status: 503, tenant: 'new', method: 'GET', path, times: 2 });
    const answer = await neu.request('GET', `/roles/${role.id}`);
    // Spent rules are dropped: one 429 and two 503s were answered before the role was.
    expect(sim.faults.list().filter((f) => f.path === path)).toEqual([]);
    expect(answer).toMatchObject({ id: role.id, name: 'twice' });
    await neu.deleteRole(role.id);
  });
});
