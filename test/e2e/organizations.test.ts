/**
 * Organizations through the relations stage, on real Redis and the simulator: afterwards both
 * tenants compared through the API hold the same organizations, connection links, memberships
 * and member roles for every user in the new tenant; a connection the new tenant lacks is
 * reported with the organizations waiting on it; a second run adds nothing; a user who arrives
 * later gets their memberships from the next run.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createTenantClient } from '../../src/auth0/index.js';
import { relationsCommand } from '../../src/commands/relations.js';
import { rollbackCommand } from '../../src/commands/rollback.js';
import { toTenantConfig } from '../../src/config.js';
import type { RunSummary } from '../../src/report/types.js';
import { unbalanced } from '../../src/relations/types.js';
import { FAST, startHarness, type Harness } from '../jobs/harness.js';
import { organizationDifferences, organizationsView } from '../relations/compare-organizations.js';

async function relations(h: Harness, settings: typeof FAST = FAST) {
  let runId = '';
  const code = await relationsCommand(
    h.config,
    {},
    {
      settings,
      out: { write: () => true },
      progressStream: new Writable({ write: (_c, _e, cb) => cb() }),
      onRun: (id) => (runId = id),
    },
  );
  const dir = join(h.reportsDir, runId);
  const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as RunSummary;
  return { code, runId, dir, summary, relations: summary.relations! };
}

const ORG_KINDS = ['organizations_created', 'organization_connections', 'memberships', 'member_roles'];

describe('organizations through auth0-migrate relations', () => {
  it('carries organizations, connections, memberships and member roles; adds nothing the second time; adds late users next time', async () => {
    const h = await startHarness({ sim: { seedOld: 2500, seedNewMigrated: 0.5, seed: 11 } });
    const old = createTenantClient(toTenantConfig(h.sim.tenants.old), { label: 'old' });
    const neu = createTenantClient(toTenantConfig(h.sim.tenants.new), { label: 'new' });
    const inNew = () =>
      new Set([...h.sim.tenant('new').users.iterate(h.sim.tenants.new.connection)].map((u) => u.user_id));

    // An organization of over 1,000 members (checkpoint paging), and a connection only the old
    // tenant has, enabled on one organization.
    const big = await old.createOrganization({ name: 'big-co', display_name: 'Big Co' });
    const oldIds = [...h.sim.tenant('old').users.iterate(h.sim.tenants.old.connection)].map((u) => u.user_id);
    await old.addOrganizationMembers(big.id, oldIds.slice(0, 1100));
    const oldView = await organizationsView(old);
    expect(oldView.size).toBeGreaterThanOrEqual(10);
    const largest = Math.max(...[...oldView.values()].map((o) => o.members.size));
    expect(largest).toBeGreaterThan(1000);
    const waiting = [...oldView.keys()].sort()[0]!;
    const partner = (await old.request('POST', '/connections', {
      name: 'partner-db',
      strategy: 'auth0',
    })) as {
      id: string;
    };
    await old.addOrganizationConnection((await old.getOrganizationByName(waiting))!.id, {
      connection_id: partner.id,
    });
    expect(organizationDifferences(oldView, await organizationsView(neu), inNew()).length).toBeGreaterThan(0);

    const first = await relations(h);
    const r = first.relations;
    expect(unbalanced(r.counts)).toEqual([]);
    for (const kind of ORG_KINDS) expect(r.counts[kind]?.total).toBeGreaterThan(0);
    expect(r.counts.organizations_created!.added).toBeGreaterThan(0);
    expect(r.counts.memberships!.added).toBeGreaterThan(0);
    expect(r.counts.memberships!.pending_user).toBeGreaterThan(0);
    expect(r.counts.member_roles!.added).toBeGreaterThan(0);
    expect(r.counts.organization_connections!.failures).toEqual({ missing_connection: 1 });
    for (const kind of ['organizations_created', 'memberships', 'member_roles'])
      expect(r.counts[kind]!.failed).toBe(0);
    expect(r.findings.listed).toContainEqual(
      expect.objectContaining({
        type: 'missing_connection',
        subject: 'connection "partner-db"',
        waiting: [waiting],
      }),
    );
    expect(
      organizationDifferences(await organizationsView(old), await organizationsView(neu), inNew(), [
        'partner-db',
      ]),
    ).toEqual([]);
    const md = await readFile(join(first.dir, 'summary.md'), 'utf8');
    expect(md).toContain('Connections missing in the new tenant');
    expect(md).toMatch(/`partner-db`.*Waiting: /);
    expect(md).toContain('Organizations created');

    const second = await relations(h);
    for (const kind of ORG_KINDS) expect(second.relations.counts[kind]!.added).toBe(0);
    expect(second.relations.counts.memberships!.already_present).toBe(
      r.counts.memberships!.added + r.counts.memberships!.already_present,
    );
    expect(second.relations.calls).toBe(0);

    // Users who were pending arrive (lazy logins, say): the next run adds their memberships.
    const present = inNew();
    const pending = [...oldView.values()]
      .flatMap((o) => [...o.members.keys()])
      .filter((id) => !present.has(id));
    const arriving = [...new Set(pending)].slice(0, 5);
    for (const id of arriving) {
      const u = h.sim.tenant('old').users.get(id)!;
      await neu.request('POST', '/users', {
        connection: h.sim.tenants.new.connection,
        user_id: id.replace(/^auth0\|/, ''),
        email: u.email,
        password: 'Late-arrival-123!',
      });
    }
    const third = await relations(h);
    const expected = [...oldView.values()].reduce(
      (n, o) => n + arriving.filter((id) => o.members.has(id)).length,
      0,
    );
    expect(third.relations.counts.memberships!.added).toBe(expected);
    expect(third.relations.counts.memberships!.pending_user).toBe(
      r.counts.memberships!.pending_user - expected,
    );
    expect(
      organizationDifferences(await organizationsView(old), await organizationsView(neu), inNew(), [
        'partner-db',
      ]),
    ).toEqual([]);
  }, 180_000);
  it('gets there through 429 storms, 5xx and answers lost on organization endpoints, counting each relation once', async () => {
    const h = await startHarness({ sim: { seedOld: 1200, seedNewMigrated: 0.5, seed: 7 } });
    const old = createTenantClient(toTenantConfig(h.sim.tenants.old), { label: 'old' });
    const neu = createTenantClient(toTenantConfig(h.sim.tenants.new), { label: 'new' });
    const tenant = 'new';
    const path = '/api/v2/organizations';
    h.sim.faults.add({ kind: 'rate-limit', tenant, method: 'POST', path, times: 6, skip: 2 });
    h.sim.faults.add({ kind: 'error', tenant, method: 'POST', path, status: 503, times: 5, skip: 10 });
    h.sim.faults.add({ kind: 'drop-after', tenant, method: 'POST', path, times: 3, skip: 20 });
    h.sim.faults.add({ kind: 'error', tenant, method: 'GET', path, status: 500, times: 3, skip: 5 });

    // Up to 8 of these faults can land on one call in a row (5 × 503, then 3 answers lost) when
    // the other calls wait on the rate budget, as on a loaded machine: a retry budget above that,
    // and time for it, so what is tested is counting each relation once, not the retry limit.
    const patient = { ...FAST, retry: { ...FAST.retry, maxAttempts: 12, maxElapsedMs: 120_000 } };
    const first = await relations(h, patient);
    const r = first.relations;
    expect(unbalanced(r.counts)).toEqual([]);
    for (const kind of ORG_KINDS) expect(r.counts[kind]!.failed).toBe(0);
    expect(r.counts.memberships!.added).toBeGreaterThan(0);
    // Every fault was used up (a rule goes once it has hit its number of requests).
    expect(h.sim.faults.list()).toEqual([]);
    const inNew = new Set(
      [...h.sim.tenant('new').users.iterate(h.sim.tenants.new.connection)].map((u) => u.user_id),
    );
    expect(
      organizationDifferences(await organizationsView(old), await organizationsView(neu), inNew),
    ).toEqual([]);
    // Each membership added is in the added-records once, however often its request went out.
    const added = (await readFile(join(first.dir, 'relations-added.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; userId?: string; entity: { name: string } });
    const memberships = added
      .filter((a) => a.kind === 'memberships')
      .map((a) => `${a.entity.name} ${a.userId}`);
    expect(new Set(memberships).size).toBe(memberships.length);
    expect(memberships.length).toBe(r.counts.memberships!.added);

    const second = await relations(h);
    for (const kind of ORG_KINDS) expect(second.relations.counts[kind]!.added).toBe(0);
  }, 180_000);
  it('finds an organization whose creation answer was lost by its name, and carries its members', async () => {
    const h = await startHarness({ sim: { seedOld: 400, seedNewMigrated: 0.5, seed: 9 } });
    const old = createTenantClient(toTenantConfig(h.sim.tenants.old), { label: 'old' });
    const neu = createTenantClient(toTenantConfig(h.sim.tenants.new), { label: 'new' });
    const ids = [...h.sim.tenant('old').users.iterate(h.sim.tenants.old.connection)].map((u) => u.user_id);
    const org = await old.createOrganization({ name: 'lost-answer' });
    await old.addOrganizationMembers(org.id, ids.slice(0, 30));
    const oldNames = [...(await organizationsView(old)).keys()];
    const present = oldNames.filter((n) => h.sim.tenant('new').organizations.byName(n) !== undefined).length;
    expect(present).toBeLessThan(oldNames.length - 1);
    // The first organization created in the new tenant is created, but its answer never arrives.
    h.sim.faults.add({
      kind: 'drop-after',
      tenant: 'new',
      method: 'POST',
      path: '/api/v2/organizations',
      times: 1,
    });

    const run = await relations(h);
    expect(h.sim.faults.list()).toEqual([]);
    const c = run.relations.counts;
    expect(unbalanced(c)).toEqual([]);
    for (const kind of ORG_KINDS) expect(c[kind]!.failed).toBe(0);
    const inNew = new Set(
      [...h.sim.tenant('new').users.iterate(h.sim.tenants.new.connection)].map((u) => u.user_id),
    );
    expect(
      organizationDifferences(await organizationsView(old), await organizationsView(neu), inNew),
    ).toEqual([]);
    // Created once: the repeat found it by name (409) and counted it already present.
    expect(c.organizations_created).toMatchObject({
      total: oldNames.length,
      already_present: present + 1,
      added: oldNames.length - present - 1,
    });
    expect(h.sim.tenant('new').organizations.byName('lost-answer')).toBeDefined();
  }, 120_000);
  it('rollback of the run takes back exactly the organizations, links, memberships and member roles it added', async () => {
    const h = await startHarness({ sim: { seedOld: 600, seedNewMigrated: 0.5, seed: 4 } });
    const neu = createTenantClient(toTenantConfig(h.sim.tenants.new), { label: 'new' });
    const before = await organizationsView(neu);
    const run = await relations(h);
    expect(run.relations.counts.memberships!.added).toBeGreaterThan(0);
    expect(run.relations.counts.organizations_created!.added).toBeGreaterThan(0);
    const after = await organizationsView(neu);
    expect(after).not.toEqual(before);

    const code = await rollbackCommand(h.config, run.runId, { send: true }, { out: { write: () => true } });
    expect(code).toBe(0);
    expect(await organizationsView(neu)).toEqual(before);
  }, 120_000);
});
