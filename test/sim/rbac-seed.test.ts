/**
 * Seeded RBAC: deterministic from the seed; the old tenant with a few APIs, 5–20 roles, most
 * users holding 0–2 roles, a few direct permissions and one role of over 1,000 members; the new
 * tenant with the same APIs but one, part of the roles (other ids, one with other permissions)
 * and part of the migrated users' assignments.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { rbacCatalog } from '../../src/sim/tenant/generate-rbac.js';
import { Mgmt, type Loose } from './helpers.js';

let sim: Simulator;
let others: Simulator[] = [];

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 5000, seedNewMigrated: 0.3, seed: 11 });
});

afterAll(async () => {
  await sim.close();
});

afterEach(async () => {
  await Promise.all(others.map((s) => s.close()));
  others = [];
});

const share = (n: number, of: number) => n / of;

describe('the old tenant', () => {
  it('has a few APIs with scopes besides the Management API, and 5 to 20 roles with permissions', async () => {
    const api = await Mgmt.connect(sim, 'old');
    const servers = (await api.call('GET', '/resource-servers')).body as Loose[];
    const custom = servers.filter((s) => s.is_system !== true);
    expect(custom.length).toBeGreaterThanOrEqual(3);
    for (const s of custom) expect(s.scopes.length).toBeGreaterThan(1);
    const roles = (await api.call('GET', '/roles?per_page=100')).body as Loose[];
    expect(roles.length).toBeGreaterThanOrEqual(5);
    expect(roles.length).toBeLessThanOrEqual(20);
    for (const r of roles) {
      const perms = await api.call('GET', `/roles/${r.id}/permissions`);
      expect(perms.body.length).toBeGreaterThan(0);
    }
    for (let seed = 1; seed <= 200; seed++) {
      const n = rbacCatalog(seed).roles.length;
      expect(n).toBeGreaterThanOrEqual(5);
      expect(n).toBeLessThanOrEqual(20);
    }
  });

  it('gives most users 0 to 2 roles, a few direct permissions, and one role over 1,000 members', async () => {
    const old = sim.tenant('old');
    const users = [...old.users.iterate()];
    const counts = users.map((x) => old.rbac.rolesOf(x.user_id).length);
    expect(share(counts.filter((c) => c <= 2).length, users.length)).toBeGreaterThan(0.9);
    expect(share(counts.filter((c) => c === 0).length, users.length)).toBeGreaterThan(0.15);
    expect(share(counts.filter((c) => c >= 1).length, users.length)).toBeGreaterThan(0.6);
    const direct = users.filter((x) => old.rbac.directPermissionsOf(x.user_id).length > 0).length;
    expect(share(direct, users.length)).toBeGreaterThan(0.01);
    expect(share(direct, users.length)).toBeLessThan(0.06);

    const api = await Mgmt.connect(sim, 'old');
    const totals: number[] = [];
    for (const r of (await api.call('GET', '/roles?per_page=100')).body as Loose[]) {
      totals.push((await api.call('GET', `/roles/${r.id}/users?per_page=1&include_totals=true`)).body.total);
    }
    expect(totals.filter((t) => t > 1000)).toHaveLength(1);
    // Every seeded holding is listed under its role.
    expect(totals.reduce((a, b) => a + b, 0)).toBe(counts.reduce((a, b) => a + b, 0));
  });

  it('is the same for the same seed and differs for another', async () => {
    const again = await startSimulator({ seedOld: 300, seedNewMigrated: 0.3, seed: 11 });
    const other = await startSimulator({ seedOld: 300, seedNewMigrated: 0.3, seed: 12 });
    others.push(again, other);
    const view = (s: Simulator, name: 'old' | 'new') => {
      const t = s.tenant(name);
      return {
        roles: t.rbac
          .roles()
          .map((r) => ({ id: r.id, name: r.name, permissions: [...r.permissions.keys()] })),
        apis: t.rbac
          .resourceServers()
          .flatMap((a) => (a.isSystem ? [] : [{ id: a.id, identifier: a.identifier }])),
        holdings: [...t.users.iterate()]
          .slice(0, 300)
          .map((x) => t.rbac.rolesOf(x.user_id).map((r) => r.name)),
      };
    };
    const small = await startSimulator({ seedOld: 300, seedNewMigrated: 0.3, seed: 11 });
    others.push(small);
    expect(view(again, 'old')).toEqual(view(small, 'old'));
    expect(view(again, 'new')).toEqual(view(small, 'new'));
    expect(view(other, 'old')).not.toEqual(view(small, 'old'));
  });
});

describe('the new tenant', () => {
  it('has the same APIs but one, and part of the roles by name with other ids, one with other permissions', async () => {
    const oldRbac = sim.tenant('old').rbac;
    const newRbac = sim.tenant('new').rbac;
    const ids = (s: typeof oldRbac) =>
      s
        .resourceServers()
        .filter((a) => !a.isSystem)
        .map((a) => a.identifier);
    const missing = ids(oldRbac).filter((i) => !ids(newRbac).includes(i));
    expect(missing).toHaveLength(1);
    expect(ids(newRbac).every((i) => ids(oldRbac).includes(i))).toBe(true);

    const newRoles = newRbac.roles();
    expect(newRoles.length).toBeGreaterThan(0);
    expect(newRoles.length).toBeLessThan(oldRbac.roles().length);
    const differing = newRoles.filter((r) => {
      const before = oldRbac.roleByName(r.name)!;
      expect(before).toBeDefined();
      expect(before.id).not.toBe(r.id);
      const expected = [...before.permissions.values()]
        .filter((p) => p.resource_server_identifier !== missing[0])
        .map((p) => `${p.resource_server_identifier} ${p.permission_name}`)
        .sort();
      const actual = [...r.permissions.values()].map(
        (p) => `${p.resource_server_identifier} ${p.permission_name}`,
      );
      return JSON.stringify(actual.sort()) !== JSON.stringify(expected);
    });
    expect(differing).toHaveLength(1);
  });

  it('holds part of the migrated users assignments, by role name, and nothing the old tenant lacks', async () => {
    const oldT = sim.tenant('old');
    const newT = sim.tenant('new');
    const migrated = [...newT.users.iterate()];
    expect(migrated.length).toBeGreaterThan(1000);
    let all = 0;
    let none = 0;
    let withRoles = 0;
    let direct = 0;
    for (const x of migrated) {
      const before = oldT.rbac.rolesOf(x.user_id).map((r) => r.name);
      const after = newT.rbac.rolesOf(x.user_id).map((r) => r.name);
      for (const name of after) expect(before).toContain(name);
      const carriable = before.filter((n) => newT.rbac.roleByName(n) !== undefined);
      if (carriable.length === 0) continue;
      withRoles++;
      if (after.length === carriable.length) all++;
      if (after.length === 0) none++;
      const d = newT.rbac.directPermissionsOf(x.user_id);
      if (d.length > 0) direct++;
      expect(oldT.rbac.directPermissionsOf(x.user_id).length).toBeGreaterThanOrEqual(d.length);
    }
    expect(share(all, withRoles)).toBeGreaterThan(0.4);
    expect(share(none, withRoles)).toBeGreaterThan(0.2);
    expect(direct).toBeGreaterThan(0);
    // Users who never moved hold nothing there.
    const stayed = [...oldT.users.iterate()].find((x) => newT.users.get(x.user_id) === undefined)!;
    expect(newT.rbac.rolesOf(stayed.user_id)).toEqual([]);
  });

  it('has the APIs and roles before anyone moved', async () => {
    const fresh = await startSimulator({ seedOld: 50, seed: 11 });
    others.push(fresh);
    expect(fresh.tenant('new').userCount()).toBe(0);
    expect(
      fresh
        .tenant('new')
        .rbac.roles()
        .map((r) => r.name),
    ).toEqual(
      sim
        .tenant('new')
        .rbac.roles()
        .map((r) => r.name),
    );
  });
});
