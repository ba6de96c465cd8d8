/**
 * The relations stage against the simulator: every role a user held in the old tenant they hold
 * in the new one (compared through the API), a role of more than 1,000 members, a second run adds
 * nothing, a dry run changes nothing.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createTenantClient } from '../../src/auth0/index.js';
import { relationsCommand, type RelationsCommandOptions } from '../../src/commands/relations.js';
import { sweepCommand } from '../../src/commands/sweep.js';
import { toTenantConfig } from '../../src/config.js';
import type { RunSummary } from '../../src/report/types.js';
import { unbalanced } from '../../src/relations/types.js';
import { FAST, startHarness, type Harness } from '../jobs/harness.js';
import { missingAssignments, roleMembers, rolePermissions } from '../relations/compare.js';

async function relations(h: Harness, opts: RelationsCommandOptions = {}) {
  let text = '';
  let runId = '';
  const code = await relationsCommand(h.config, opts, {
    settings: FAST,
    out: { write: (t: string) => (text += t) },
    progressStream: new Writable({ write: (_c, _e, cb) => cb() }),
    onRun: (id) => (runId = id),
  });
  const summary = JSON.parse(await readFile(join(h.reportsDir, runId, 'summary.json'), 'utf8')) as RunSummary;
  return { code, text, runId, summary };
}

const clients = (h: Harness) => ({
  old: createTenantClient(toTenantConfig(h.sim.tenants.old), { label: 'old' }),
  neu: createTenantClient(toTenantConfig(h.sim.tenants.new), { label: 'new' }),
});

describe('auth0-migrate relations', () => {
  it('gives every user present in the new tenant the roles they held, then adds nothing on a second run', async () => {
    const h = await startHarness({ sim: { seedOld: 2500, seedNewMigrated: 0.5, seed: 11 } });
    const { old, neu } = clients(h);
    const present = (id: string) => h.sim.tenant('new').user(id) !== undefined;
    const oldMembers = await roleMembers(old);
    expect(Math.max(...[...oldMembers.values()].map((s) => s.size))).toBeGreaterThan(1000);
    const before = missingAssignments(oldMembers, await roleMembers(neu), present);
    expect(Object.keys(before).length).toBeGreaterThan(0);

    const first = await relations(h);
    const r = first.summary.relations!;
    expect(first.code).toBe(0);
    for (const c of Object.values(r.counts)) expect(c.failed).toBe(0);
    // The new tenant lacks one of the old tenant's APIs: what waits on it is reported.
    expect(r.findings.byType.missing_api).toBeGreaterThan(0);
    expect(unbalanced(r.counts)).toEqual([]);
    expect(first.summary.problems).toBeUndefined();
    expect(missingAssignments(oldMembers, await roleMembers(neu), present)).toEqual({});
    // Roles the new tenant lacked were created with the permissions whose APIs it has.
    const newPerms = await rolePermissions(neu);
    for (const name of oldMembers.keys()) expect(newPerms.has(name)).toBe(true);
    const assigned = r.counts.role_assignments!;
    expect(assigned.added).toBe(Object.values(before).reduce((s, ids) => s + ids.length, 0));
    expect(assigned.pending_user).toBeGreaterThan(0);
    const added = (await readFile(join(h.reportsDir, first.runId, 'relations-added.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string });
    expect(added.filter((a) => a.kind === 'role_assignments')).toHaveLength(assigned.added);

    const second = await relations(h);
    expect(second.code).toBe(0);
    expect(second.summary.relations!.findings.byType.missing_api).toBeGreaterThan(0);
    for (const c of Object.values(second.summary.relations!.counts)) expect(c.added).toBe(0);
    expect(second.summary.relations!.counts.role_assignments!.already_present).toBe(
      assigned.added + assigned.already_present,
    );
  }, 120_000);

  it('changes nothing in a dry run, and writes the whole plan', async () => {
    const h = await startHarness({ sim: { seedOld: 600, seedNewMigrated: 0.5, seed: 5 } });
    const { neu } = clients(h);
    const before = await roleMembers(neu);
    const run = await relations(h, { dryRun: true });
    expect(run.code).toBe(0);
    expect(await roleMembers(neu)).toEqual(before);
    const plan = (await readFile(join(h.reportsDir, run.runId, 'relations-plan.ndjson'), 'utf8'))
      .trim()
      .split('\n');
    const calls = plan.filter((l) => (JSON.parse(l) as { type: string }).type === 'call');
    expect(calls.length).toBe(run.summary.relations!.calls);
    expect(calls.length).toBeGreaterThan(0);
    expect(run.summary.relations!.counts.role_assignments!.added).toBeGreaterThan(0);
    expect(run.text).toContain('would add');
  }, 120_000);

  it('with --direct-permissions gives present users their own permissions (not those of their roles)', async () => {
    const h = await startHarness({ sim: { seedOld: 600, seedNewMigrated: 0.6, seed: 8 } });
    const { old, neu } = clients(h);
    const direct = async (client: typeof old, id: string) => {
      const out = new Set<string>();
      for await (const page of client.listUserPermissions(id)) {
        for (const p of page) {
          const sources = (p.sources as Array<{ source_type?: string }> | undefined) ?? [];
          if (sources.some((x) => x.source_type === 'DIRECT')) {
            out.add(`${String(p.resource_server_identifier)} ${String(p.permission_name)}`);
          }
        }
      }
      return out;
    };
    const apis = new Set<string>();
    for await (const page of neu.listResourceServers()) for (const a of page) apis.add(String(a.identifier));
    const users = [...h.sim.tenant('old').listUsers()].map((u) => String(u.user_id));
    const wanted = new Map<string, Set<string>>();
    for (const id of users) {
      const perms = await direct(old, id);
      if (perms.size > 0) wanted.set(id, perms);
    }
    expect(wanted.size).toBeGreaterThan(0);
    const presentIds = users.filter((id) => h.sim.tenant('new').user(id) !== undefined);
    const before = new Map<string, Set<string>>();
    for (const id of presentIds) before.set(id, await direct(neu, id));

    const run = await relations(h, { directPermissions: true });
    expect(run.code).toBe(0);
    expect(run.text).toMatch(
      /--direct-permissions reads each old-tenant user's permissions: [\d,]+ calls ≈ /,
    );
    const counts = run.summary.relations!.counts.direct_permissions!;
    expect(counts.added).toBeGreaterThan(0);
    expect(unbalanced(run.summary.relations!.counts)).toEqual([]);
    const lacking: string[] = [];
    let pending = 0;
    for (const [id, perms] of wanted) {
      if (h.sim.tenant('new').user(id) === undefined) {
        pending += perms.size;
        continue;
      }
      const held = await direct(neu, id);
      for (const p of perms) if (apis.has(p.split(' ')[0]!) && !held.has(p)) lacking.push(`${id}: ${p}`);
    }
    expect(lacking).toEqual([]);
    // Nothing else became direct: a permission a user holds through a role is not copied as their own.
    const unexpected: string[] = [];
    for (const id of presentIds) {
      const expected = new Set([
        ...before.get(id)!,
        ...[...(wanted.get(id) ?? [])].filter((p) => apis.has(p.split(' ')[0]!)),
      ]);
      for (const p of await direct(neu, id)) if (!expected.has(p)) unexpected.push(`${id}: ${p}`);
    }
    expect(unexpected).toEqual([]);
    expect(counts.pending_user).toBe(pending);
  }, 120_000);

  it('sweep carries the roles after the users; --no-relations leaves them', async () => {
    const h = await startHarness({ sim: { seedOld: 500, seedNewMigrated: 0.3, seed: 9 } });
    const { old, neu } = clients(h);
    const sweep = async (opts: { relations?: boolean }) => {
      let runId = '';
      const code = await sweepCommand(h.config, opts, {
        settings: FAST,
        out: { write: () => 0 },
        progressStream: new Writable({ write: (_c, _e, cb) => cb() }),
        onRun: (id) => (runId = id),
      });
      const summary = JSON.parse(
        await readFile(join(h.reportsDir, runId, 'summary.json'), 'utf8'),
      ) as RunSummary;
      return { code, summary };
    };
    const oldMembers = await roleMembers(old);
    const before = await roleMembers(neu);
    const without = await sweep({ relations: false });
    expect(without.code).toBe(0);
    expect(without.summary.relations).toBeUndefined();
    expect(await roleMembers(neu)).toEqual(before);

    const withRelations = await sweep({});
    expect(withRelations.code).toBe(0);
    expect(withRelations.summary.relations!.counts.role_assignments!.added).toBeGreaterThan(0);
    // Every user the sweeps imported holds their roles (only users the sweep could not import are pending).
    const present = (id: string) => h.sim.tenant('new').user(id) !== undefined;
    expect(missingAssignments(oldMembers, await roleMembers(neu), present)).toEqual({});
  }, 120_000);

  it('with --update-roles gives a role that differs the permissions it lacks, and removes none', async () => {
    const h = await startHarness({ sim: { seedOld: 300, seedNewMigrated: 0.5, seed: 11 } });
    const { old, neu } = clients(h);
    const apis = new Set<string>();
    for await (const page of neu.listResourceServers()) for (const a of page) apis.add(String(a.identifier));
    const oldPerms = await rolePermissions(old);
    const before = await rolePermissions(neu);
    const lacking = (now: Map<string, Set<string>>) =>
      [...oldPerms].flatMap(([name, perms]) =>
        [...perms].filter((p) => apis.has(p.split(' ')[0]!) && now.has(name) && !now.get(name)!.has(p)),
      );
    expect(lacking(before).length).toBeGreaterThan(0);

    const plain = await relations(h);
    expect(plain.summary.relations!.findings.byType.catalog_difference).toBeGreaterThan(0);
    const afterPlain = await rolePermissions(neu);
    // Without --update-roles a role that existed keeps its permissions as they were.
    for (const [name, perms] of before) expect(afterPlain.get(name)).toEqual(perms);

    await relations(h, { updateRoles: true });
    const after = await rolePermissions(neu);
    expect(lacking(after)).toEqual([]);
    for (const [name, perms] of before) for (const p of perms) expect(after.get(name)!.has(p)).toBe(true);
  }, 120_000);

  it('counts what the tenant refuses as failed with its users, exits 3, and a later run carries it', async () => {
    const h = await startHarness({ sim: { seedOld: 300, seedNewMigrated: 0.6, seed: 12 } });
    // Every assignment and permission call refused, its elements sent one by one refused too.
    h.sim.faults.add({
      kind: 'error',
      status: 400,
      tenant: 'new',
      method: 'POST',
      path: '/api/v2/roles/',
      times: 0,
    });
    const first = await relations(h);
    expect(first.code).toBe(3);
    const counts = first.summary.relations!.counts;
    const failed = Object.values(counts).reduce((n, c) => n + c.failed, 0);
    expect(failed).toBeGreaterThan(0);
    expect(unbalanced(counts)).toEqual([]);
    const lines = (await readFile(join(h.reportsDir, first.runId, 'relations-failures.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { count: number; code: string; userIds: string[] });
    // One line per element refused, naming its users; the codes as counted.
    expect(lines.reduce((n, l) => n + l.count, 0)).toBe(failed);
    expect(new Set(lines.map((l) => l.code))).toEqual(new Set(['bad_request']));
    const assignments = lines.flatMap((l) => l.userIds);
    expect(assignments.length).toBe(counts.role_assignments!.failed);
    h.sim.faults.clear();

    // A later run (--update-roles, should the refused call have been a created role's permissions)
    // carries what failed: every present user has their roles, every role its permissions.
    const second = await relations(h, { updateRoles: true });
    expect(second.code).toBe(0);
    const { old, neu } = clients(h);
    const present = (id: string) => h.sim.tenant('new').user(id) !== undefined;
    expect(missingAssignments(await roleMembers(old), await roleMembers(neu), present)).toEqual({});
    const apis = new Set<string>();
    for await (const page of neu.listResourceServers()) for (const a of page) apis.add(String(a.identifier));
    const newPerms = await rolePermissions(neu);
    for (const [name, perms] of await rolePermissions(old)) {
      for (const p of perms) if (apis.has(p.split(' ')[0]!)) expect(newPerms.get(name)?.has(p)).toBe(true);
    }
  }, 120_000);
});
