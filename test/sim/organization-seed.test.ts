/**
 * Seeded organizations: about one per 200 generated users, a few with over 1,000 members when the
 * tenant is big enough, some users in several, one or two enabled connections each, member roles
 * from the tenant's roles, deterministic; and the part already carried to the new tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_CONNECTION, SOCIAL_CONNECTION, startSimulator, type Simulator } from '../../src/sim/index.js';
import { resolveOptions } from '../../src/sim/options.js';
import { seedOrganizations } from '../../src/sim/seed-organizations.js';
import { isMigrated } from '../../src/sim/tenant/generate.js';
import type { SimOrganization } from '../../src/sim/tenant/organizations.js';
import { SimTenant } from '../../src/sim/tenant/tenant.js';
import { Mgmt } from './helpers.js';

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 20_000, seedNewMigrated: 0.3, seed: 5 });
});

afterAll(async () => {
  await sim.close();
});

const memberIds = (org: SimOrganization): string[] => [...org.members.after()].map((m) => m.userId);

describe('seeded organizations', () => {
  it('number about one per 200 users, a few over 1,000 members, some users in several', () => {
    const store = sim.tenant('old').organizations;
    expect(store.size).toBe(100);
    const sizes = store.list().map((o) => o.members.size);
    expect(sizes.filter((n) => n > 1000).length).toBeGreaterThanOrEqual(2);
    expect(Math.min(...sizes)).toBeGreaterThan(50);
    const users = [...sim.tenant('old').users.iterate()].slice(0, 2000);
    const counts = users.map((u) => store.organizationsOf(u.user_id).length);
    expect(counts.filter((n) => n === 0).length).toBeGreaterThan(300);
    expect(counts.filter((n) => n === 2).length).toBeGreaterThan(50);
    expect(Math.max(...counts)).toBe(2);
    // Every membership the index of users finds, the organization's own list has, and back.
    const org = store.list()[10]!;
    for (const id of memberIds(org).slice(0, 50)) expect(store.organizationsOf(id)).toContain(org);
  });

  it('have names, most have branding and metadata, each enables one or two connections', () => {
    const orgs = sim.tenant('old').organizations.list();
    const db = sim.tenants.old.connectionId;
    const social = sim.tenant('old').connectionByName(SOCIAL_CONNECTION)!.id;
    for (const o of orgs) {
      expect(o.name).toMatch(/^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$/);
      expect(o.connections.size).toBeGreaterThanOrEqual(1);
      expect(o.connections.size).toBeLessThanOrEqual(2);
      expect(o.connections.has(db)).toBe(true);
      for (const id of o.connections.keys()) expect([db, social]).toContain(id);
    }
    expect(orgs.filter((o) => o.branding !== undefined).length).toBeGreaterThan(50);
    expect(orgs.filter((o) => o.metadata !== undefined).length).toBeGreaterThan(60);
    expect(orgs.some((o) => o.connections.get(db)!.assign_membership_on_login)).toBe(true);
    expect(orgs.filter((o) => !o.connections.get(db)!.assign_membership_on_login).length).toBeGreaterThan(60);
  });

  it('are read through the API: a big organization past 1,000 members by checkpoint only', async () => {
    const api = await Mgmt.connect(sim, 'old');
    const list = await api.call('GET', '/organizations?include_totals=true&per_page=100');
    expect(list.body.total).toBe(100);
    const big = sim
      .tenant('old')
      .organizations.list()
      .find((o) => o.members.size > 1000)!;
    expect((await api.call('GET', `/organizations/${big.id}/members?per_page=100&page=10`)).status).toBe(400);
    const seen: string[] = [];
    let next: string | undefined;
    do {
      const a = await api.call(
        'GET',
        `/organizations/${big.id}/members?take=100${next === undefined ? '' : `&from=${encodeURIComponent(next)}`}`,
      );
      seen.push(...a.body.members.map((m: { user_id: string }) => m.user_id));
      next = a.body.next;
    } while (next !== undefined);
    expect(seen).toEqual(memberIds(big));
    expect(new Set(seen).size).toBe(big.members.size);
    const someone = seen[0]!;
    const theirs = await api.call('GET', `/users/${encodeURIComponent(someone)}/organizations`);
    expect(theirs.body.map((o: { id: string }) => o.id)).toContain(big.id);
  });

  it('are the same for the same seed and differ for another', async () => {
    const again = await startSimulator({ seedOld: 2000, seed: 5 });
    const other = await startSimulator({ seedOld: 2000, seed: 6 });
    const same = await startSimulator({ seedOld: 2000, seed: 5 });
    try {
      const shape = (s: Simulator) =>
        s
          .tenant('old')
          .organizations.list()
          .map((o) => ({ name: o.name, branding: o.branding, metadata: o.metadata, members: memberIds(o) }));
      expect(shape(again)).toEqual(shape(same));
      expect(shape(again)).not.toEqual(shape(other));
      expect(again.tenant('old').organizations.list()[0]!.id).not.toBe(
        same.tenant('old').organizations.list()[0]!.id,
      );
    } finally {
      await Promise.all([again.close(), other.close(), same.close()]);
    }
  });
});

describe('the new tenant after a lazy migration', () => {
  it('has part of the organizations, same names with new ids, and some memberships of migrated users', () => {
    const oldStore = sim.tenant('old').organizations;
    const newStore = sim.tenant('new').organizations;
    expect(newStore.size).toBeGreaterThan(30);
    expect(newStore.size).toBeLessThan(90);
    let carried = 0;
    let missing = 0;
    for (const o of newStore.list()) {
      const before = oldStore.byName(o.name)!;
      expect(before.id).not.toBe(o.id);
      expect(o.display_name).toBe(before.display_name);
      expect(o.connections.has(sim.tenants.new.connectionId)).toBe(true);
      const oldMembers = new Set(memberIds(before));
      for (const id of memberIds(o)) {
        expect(oldMembers.has(id)).toBe(true);
        expect(sim.tenant('new').users.get(id)).toBeDefined();
        expect(newStore.organizationsOf(id)).toContain(o);
      }
      carried += o.members.size;
      missing += [...oldMembers].filter(
        (id) => sim.tenant('new').users.get(id) !== undefined && !o.members.has(id),
      ).length;
    }
    expect(carried).toBeGreaterThan(100);
    expect(missing).toBeGreaterThan(100);
  });

  it('draws member roles from the tenant roles, carrying them by name', () => {
    const opts = resolveOptions({});
    const tenants = { old: new SimTenant('old', opts), new: new SimTenant('new', opts) };
    for (const [i, name] of ['admin', 'billing', 'viewer'].entries()) {
      tenants.old.rbac.addRole({ id: `rol_old${i}`, name, permissions: new Map() });
      if (name !== 'billing') tenants.new.rbac.addRole({ id: `rol_new${i}`, name, permissions: new Map() });
    }
    const users = 4000;
    tenants.old.users.setGenerated({ seed: 3, variant: 'old', indices: { count: users } });
    const picked: number[] = [];
    for (let i = 0; i < users; i++) if (isMigrated(3, i, 0.5)) picked.push(i);
    const migrated = Uint32Array.from(picked);
    tenants.new.users.setGenerated({ seed: 3, variant: 'migrated', indices: migrated });
    seedOrganizations(tenants, 3, users, migrated);

    const oldRoles = tenants.old.organizations
      .list()
      .flatMap((o) => [...o.members.after()].flatMap((m) => m.roles));
    expect(new Set(oldRoles)).toEqual(new Set(['rol_old0', 'rol_old1', 'rol_old2']));
    const newRoles = tenants.new.organizations
      .list()
      .flatMap((o) => [...o.members.after()].flatMap((m) => m.roles));
    expect(newRoles.length).toBeGreaterThan(0);
    expect(new Set(newRoles)).toEqual(new Set(['rol_new0', 'rol_new2']));
    const someone = tenants.new.organizations
      .list()
      .flatMap((o) => [...o.members.after()].map((m) => ({ o, m })))
      .find(({ m }) => m.roles.length > 0)!;
    const before = tenants.old.organizations.byName(someone.o.name)!.members.roles(someone.m.userId)!;
    const names = (ids: readonly string[], t: SimTenant) => ids.map((id) => t.rbac.role(id)!.name);
    for (const n of names(someone.m.roles, tenants.new)) expect(names(before, tenants.old)).toContain(n);
    expect(tenants.old.users.count(DB_CONNECTION)).toBeGreaterThan(0);
  });
});
