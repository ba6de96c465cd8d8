/**
 * `sweep --members-of ORG…` on real Redis and the simulator: only the members of the named
 * organizations of the old tenant arrive in the new one, the summary counts just them and adds up,
 * and an unknown organization starts nothing.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createTenantClient } from '../../src/auth0/index.js';
import { sweepCommand } from '../../src/commands/sweep.js';
import { checkSummary } from '../../src/report/write.js';
import type { RunSummary } from '../../src/report/types.js';
import { FAST, newTenantIds, startHarness } from '../jobs/harness.js';

const quiet = () => {
  let text = '';
  return {
    out: { write: (t: string) => (text += t) },
    progressStream: new Writable({ write: (_c, _e, cb) => cb() }),
    text: () => text,
  };
};

describe('sweep --members-of', () => {
  it("imports only the named organizations' members; the summary counts them and adds up", async () => {
    const h = await startHarness({ sim: { seedOld: 600, seedNewMigrated: 0.2, seedLinked: 0 } });
    const old = createTenantClient(h.config.tenants.old!, { label: 'old' });
    const oldUsers = [...h.sim.tenant('old').listUsers(h.sim.tenants.old.connection)];
    const withEmail = oldUsers.filter((u) => typeof u.email === 'string').map((u) => String(u.user_id));
    const withoutEmail = oldUsers.filter((u) => typeof u.email !== 'string').map((u) => String(u.user_id));
    // 40 in acme, 25 in beta of which 5 also in acme, and one user without an email (skipped).
    const acme = withEmail.slice(0, 40);
    const beta = [...withEmail.slice(35, 55), ...withoutEmail.slice(0, 1)];
    const acmeOrg = await old.createOrganization({ name: 'acme-members' });
    const betaOrg = await old.createOrganization({ name: 'beta-members' });
    await old.addOrganizationMembers(acmeOrg.id, acme);
    await old.addOrganizationMembers(betaOrg.id, beta);
    const selected = new Set([...acme, ...beta]);
    const before = newTenantIds(h.sim);

    const io = quiet();
    let runId = '';
    const code = await sweepCommand(
      h.config,
      { membersOf: ['acme-members', 'beta-members'] },
      { settings: FAST, out: io.out, progressStream: io.progressStream, onRun: (id) => (runId = id) },
    );
    expect(io.text()).toContain(
      `Members of acme-members (40), beta-members (${beta.length}): ${selected.size} users selected from the old tenant.`,
    );

    const after = newTenantIds(h.sim);
    const arrived = [...after].filter((id) => !before.has(id)).sort();
    const expected = [...selected].filter((id) => !before.has(id) && withEmail.includes(id)).sort();
    expect(expected.length).toBeGreaterThan(30);
    expect(arrived).toEqual(expected);
    for (const id of before) expect(after.has(id)).toBe(true);

    const summary = JSON.parse(
      await readFile(join(h.reportsDir, runId, 'summary.json'), 'utf8'),
    ) as RunSummary;
    expect(checkSummary(summary)).toEqual([]);
    expect(summary.input.membersOf).toEqual(['acme-members', 'beta-members']);
    expect(summary.counts.total).toBe(selected.size);
    expect(summary.counts.imported).toBe(expected.length);
    expect(summary.counts.already_migrated).toBe([...selected].filter((id) => before.has(id)).length);
    expect(summary.skipped.no_email ?? 0).toBe(
      beta.filter((id) => withoutEmail.includes(id) && !before.has(id)).length,
    );
    // No hashes were supplied: everyone imported needs a password reset.
    expect(summary.passwordResets).toBe(summary.counts.imported);
    expect(await readFile(join(h.reportsDir, runId, 'summary.md'), 'utf8')).toContain(
      'Members of:** acme-members, beta-members',
    );
    // Their memberships followed in the same run's relations stage. The only failures allowed are
    // RBAC's permissions of an API the seeded new tenant lacks (exit 3 then).
    expect(summary.counts.failed).toBe(0);
    const relationFailures = Object.values(summary.relations!.counts).reduce((n, c) => n + c.failed, 0);
    expect(code).toBe(relationFailures > 0 ? 3 : 0);
    for (const c of Object.values(summary.relations!.counts))
      expect(Object.keys(c.failures).filter((k) => k !== 'missing_api')).toEqual([]);
    const neu = createTenantClient(h.config.tenants.new!, { label: 'new' });
    for (const [name, ids] of [
      ['acme-members', acme],
      ['beta-members', beta],
    ] as const) {
      const org = await neu.getOrganizationByName(name);
      expect(org).toBeDefined();
      const page = await neu.listOrganizationMembersPage(org!.id);
      expect(page.items.map((m) => m.user_id).sort()).toEqual(ids.filter((id) => after.has(id)).sort());
    }
  });

  it('starts nothing when an organization is unknown, and keeps a run to the organizations it started with', async () => {
    const h = await startHarness({ sim: { seedOld: 50 } });
    const io = quiet();
    await expect(
      sweepCommand(h.config, { membersOf: ['no-such-org'] }, { settings: FAST, out: io.out }),
    ).rejects.toThrow(/no organization named "no-such-org"/);
    expect(newTenantIds(h.sim).size).toBe(0);
    expect(await h.rt.store.listRunIds()).toEqual([]);

    const old = createTenantClient(h.config.tenants.old!, { label: 'old' });
    const org = await old.createOrganization({ name: 'gamma-members' });
    const ids = [...h.sim.tenant('old').listUsers(h.sim.tenants.old.connection)].slice(0, 3);
    await old.addOrganizationMembers(
      org.id,
      ids.map((u) => String(u.user_id)),
    );
    const queued = await sweepCommand(
      h.config,
      { membersOf: ['gamma-members'], workers: false, runId: 'members-of-resume' },
      { settings: FAST, out: io.out },
    );
    expect(queued).toBe(0);
    expect((await h.rt.store.getRun('members-of-resume'))?.membersOf).toEqual(['gamma-members']);
    await expect(
      sweepCommand(
        h.config,
        { membersOf: ['acme-members'], runId: 'members-of-resume', workers: false },
        { settings: FAST, out: io.out },
      ),
    ).rejects.toThrow(/was started with --members-of gamma-members/);
  });
});
