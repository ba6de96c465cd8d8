/**
 * The official auth0 v7 SDK drives every organization endpoint of the simulator (organizations,
 * enabled connections, members, member roles, a user's organizations) and connection create and
 * delete: the simulator must satisfy a client nobody here wrote.
 */
import { ManagementError, type ManagementClient } from 'auth0';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOCIAL_CONNECTION, startSimulator, type Simulator } from '../../src/sim/index.js';
import { sdkFor } from './helpers.js';

let sim: Simulator;
let api: ManagementClient;

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 20_000 });
  api = sdkFor(sim.tenants.old);
});

afterAll(async () => {
  await sim.close();
});

async function all<T>(page: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of page) out.push(item);
  return out;
}

describe('auth0 v7 organizations against the simulator', () => {
  it('creates, lists (checkpoint), reads by id and name, updates and deletes organizations', async () => {
    const created = await api.organizations.create({
      name: 'sdk-org',
      display_name: 'SDK Org',
      metadata: { source: 'sdk' },
      enabled_connections: [
        { connection_id: sim.tenants.old.connectionId, assign_membership_on_login: false },
      ],
    });
    expect(created.id).toMatch(/^org_/);
    expect(created.enabled_connections?.[0]?.connection?.name).toBe(sim.tenants.old.connection);
    const listed = await all(await api.organizations.list({ take: 4 }));
    expect(listed).toHaveLength(sim.tenant('old').organizations.size);
    expect(listed.map((o) => o.id)).toContain(created.id);
    expect((await api.organizations.get(created.id!)).name).toBe('sdk-org');
    expect((await api.organizations.getByName('sdk-org')).id).toBe(created.id);
    const updated = await api.organizations.update(created.id!, { display_name: 'SDK Organization' });
    expect(updated.display_name).toBe('SDK Organization');
    await api.organizations.delete(created.id!);
    const err = await api.organizations.get(created.id!).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ManagementError);
    expect((err as ManagementError).statusCode).toBe(404);
  });

  it('adds, lists, reads, updates and removes enabled connections', async () => {
    const org = await api.organizations.create({ name: 'sdk-connections' });
    const social = sim.tenant('old').connectionByName(SOCIAL_CONNECTION)!.id;
    const added = await api.organizations.enabledConnections.add(org.id!, { connection_id: social });
    expect(added).toMatchObject({ connection_id: social, show_as_button: true });
    const listed = await all(await api.organizations.enabledConnections.list(org.id!));
    expect(listed.map((c) => c.connection_id)).toEqual([social]);
    expect((await api.organizations.enabledConnections.get(org.id!, social)).connection?.strategy).toBe(
      'google-oauth2',
    );
    const updated = await api.organizations.enabledConnections.update(org.id!, social, {
      show_as_button: false,
    });
    expect(updated.show_as_button).toBe(false);
    await api.organizations.enabledConnections.delete(org.id!, social);
    expect(await all(await api.organizations.enabledConnections.list(org.id!))).toEqual([]);
  });

  it('adds, lists (checkpoint, with roles), and removes members; assigns, lists and removes member roles', async () => {
    const role = (await api.roles.create({ name: 'sdk-role' })) as { id: string };
    const org = await api.organizations.create({ name: 'sdk-members' });
    const people = [...sim.tenant('old').users.iterate()].slice(0, 12).map((u) => u.user_id);
    await api.organizations.members.create(org.id!, { members: people.slice(0, 10) });
    await api.organizations.members.create(org.id!, { members: people.slice(10) });
    await api.organizations.members.roles.assign(org.id!, people[0]!, { roles: [role.id] });
    const members = await all(
      await api.organizations.members.list(org.id!, {
        take: 5,
        fields: 'user_id,roles',
        include_fields: true,
      }),
    );
    expect(members.map((m) => m.user_id)).toEqual(people);
    expect(members[0]!.roles).toEqual([{ id: role.id, name: 'sdk-role' }]);
    const roles = await all(await api.organizations.members.roles.list(org.id!, people[0]!));
    expect(roles.map((r) => r.name)).toEqual(['sdk-role']);
    await api.organizations.members.roles.delete(org.id!, people[0]!, { roles: [role.id] });
    expect(await all(await api.organizations.members.roles.list(org.id!, people[0]!))).toEqual([]);
    await api.organizations.members.delete(org.id!, { members: people.slice(0, 2) });
    expect(await all(await api.organizations.members.list(org.id!))).toHaveLength(10);

    const theirs = await all(await api.users.organizations.list(people[5]!));
    expect(theirs.map((o) => o.id)).toContain(org.id);
  });

  it('lists a seeded organization past 1,000 members through checkpoint paging', async () => {
    const big = sim
      .tenant('old')
      .organizations.list()
      .reduce((a, b) => (a.members.size >= b.members.size ? a : b));
    expect(big.members.size).toBeGreaterThan(1000);
    const members = await all(await api.organizations.members.list(big.id, { take: 100 }));
    expect(members).toHaveLength(big.members.size);
  });

  it('creates a connection (201) and deletes it (202)', async () => {
    const c = await api.connections.create({ name: 'sdk-extra-db', strategy: 'auth0' });
    expect(c.id).toMatch(/^con_/);
    await api.connections.delete(c.id!);
    const err = await api.connections.get(c.id!).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as ManagementError).statusCode).toBe(404);
  });
});
