/**
 * The tenant client's organization calls against the simulator: by name, create, enabled
 * connections, members in requests of 10, checkpoint paging past 1,000 members, member roles.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantClient, isAuth0Error, type TenantClient } from '../../src/auth0/index.js';
import { toTenantConfig } from '../../src/config.js';
import { DB_CONNECTION, startSimulator, type Simulator } from '../../src/sim/index.js';
import { Mgmt } from '../sim/helpers.js';

const retry = { baseDelayMs: 5, maxDelayMs: 40, rateLimitFallbackMs: 5 };
let sim: Simulator;
let client: TenantClient;
let api: Mgmt;
const users: string[] = [];

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 0 });
  client = createTenantClient(toTenantConfig(sim.tenants.new), { label: 'new', retry });
  api = await Mgmt.connect(sim, 'new');
  for (let i = 0; i < 25; i++) {
    const u = await api.call('POST', '/users', {
      json: { connection: DB_CONNECTION, email: `org-member${i}@example.com`, password: 'Secret-123!' },
    });
    users.push(u.body.user_id as string);
  }
});

afterAll(async () => {
  await sim?.close();
});

async function allMembers(orgId: string, roles = false) {
  const out: Array<{ user_id: string; roles?: Array<{ id: string; name: string }> }> = [];
  let from: string | undefined;
  let pages = 0;
  do {
    const page = await client.listOrganizationMembersPage(orgId, { roles, ...(from && { from }) });
    out.push(...page.items);
    from = page.next;
    pages++;
  } while (from !== undefined);
  return { members: out, pages };
}

describe('tenant client: organizations', () => {
  it('creates an organization, finds it by name, and refuses the same name twice', async () => {
    expect(await client.getOrganizationByName('acme')).toBeUndefined();
    const created = await client.createOrganization({
      name: 'acme',
      display_name: 'Acme Inc.',
      metadata: { tier: 'gold' },
      branding: { colors: { primary: '#112233', page_background: '#ffffff' } },
    });
    expect(created.id).toMatch(/^org_/);
    const found = await client.getOrganizationByName('acme');
    expect(found).toMatchObject({
      id: created.id,
      name: 'acme',
      display_name: 'Acme Inc.',
      metadata: { tier: 'gold' },
    });
    const again = await client.createOrganization({ name: 'acme' }).catch((e: unknown) => e);
    expect(isAuth0Error(again, 'already_exists')).toBe(true);
  });

  it('enables a connection with its flags and lists it with the connection name', async () => {
    const org = await client.createOrganization({ name: 'globex' });
    const connection = await client.getConnectionByName(DB_CONNECTION);
    await client.addOrganizationConnection(org.id, {
      connection_id: connection.id,
      assign_membership_on_login: false,
      show_as_button: true,
      is_signup_enabled: false,
    });
    expect(await client.listOrganizationConnections(org.id)).toEqual([
      {
        connection_id: connection.id,
        assign_membership_on_login: false,
        show_as_button: true,
        is_signup_enabled: false,
        connection: { name: DB_CONNECTION, strategy: 'auth0' },
      },
    ]);
  });

  it('adds 25 members (three requests), lists them, and assigns member roles', async () => {
    const org = await client.createOrganization({ name: 'initech' });
    await client.addOrganizationMembers(org.id, users);
    const { members } = await allMembers(org.id);
    expect(members.map((m) => m.user_id).sort()).toEqual([...users].sort());

    const role = await api.call('POST', '/roles', { json: { name: 'org-admin' } });
    await client.assignOrganizationMemberRoles(org.id, users[0]!, [role.body.id as string]);
    expect(await client.listOrganizationMemberRoles(org.id, users[0]!)).toEqual([
      { id: role.body.id, name: 'org-admin' },
    ]);
    const withRoles = await allMembers(org.id, true);
    const first = withRoles.members.find((m) => m.user_id === users[0]);
    expect(first?.roles).toEqual([{ id: role.body.id, name: 'org-admin' }]);
    expect(withRoles.members.find((m) => m.user_id === users[1])?.roles ?? []).toEqual([]);
  });

  it('pages organizations by checkpoint', async () => {
    for (let i = 0; i < 120; i++) await client.createOrganization({ name: `paged-${i}` });
    const names: string[] = [];
    let from: string | undefined;
    let pages = 0;
    do {
      const page = await client.listOrganizationsPage(from);
      names.push(...page.items.map((o) => o.name));
      from = page.next;
      pages++;
    } while (from !== undefined);
    expect(pages).toBeGreaterThanOrEqual(2);
    expect(new Set(names).size).toBe(names.length);
    for (let i = 0; i < 120; i++) expect(names).toContain(`paged-${i}`);
  });
});
