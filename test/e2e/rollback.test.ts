/**
 * `rollback RUN_ID` end to end: a sweep into a new tenant that already had users (some migrated
 * lazily, some of its own with an old user's email), then the rollback. The new tenant, read
 * through the Management API, is what it was before the run, but for the run's users who logged in
 * or changed since; a dry run changes nothing; a rollback killed half way and run again deletes
 * each user once; a rolled-back run cannot be resumed or rolled back again; the relations the run
 * added are taken back; a user an --upsert job updated is kept.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { discardCommand } from '../../src/commands/discard.js';
import { lazyDeployCommand } from '../../src/commands/lazy.js';
import { resetsCommand } from '../../src/commands/resets.js';
import { rollbackCommand } from '../../src/commands/rollback.js';
import { reportCommand } from '../../src/commands/report.js';
import { listRuns } from '../../src/commands/runs.js';
import { statusCommand } from '../../src/commands/status.js';
import { sweepCommand } from '../../src/commands/sweep.js';
import { createTenantClient } from '../../src/auth0/index.js';
import { readNdjson } from '../../src/report/files.js';
import { rbacFamily } from '../../src/relations/rbac.js';
import type { AddedRecord, PlannedCall } from '../../src/relations/types.js';
import type { RollbackPlanLine, RollbackSummary } from '../../src/report/rollback.js';
import type { ImportedLine, RunSummary } from '../../src/report/types.js';
import { DB_CONNECTION, generatedPassword, type SimTenantInfo } from '../../src/sim/index.js';
import { FAST, startHarness, type Harness } from '../jobs/harness.js';
import { roleMembers, rolePermissions } from '../relations/compare.js';
import { Mgmt, type Loose } from '../sim/helpers.js';

/** The rollback paces itself at NEW_AUTH0_MAX_RPS (10 by default): the simulator takes more. */
const FAST_RATE = { NEW_AUTH0_MAX_RPS: '1000' };

const ROLLBACK_PROCESS = fileURLToPath(new URL('./rollback-process.ts', import.meta.url));

function io() {
  let text = '';
  return {
    settings: FAST,
    out: { write: (t: string) => (text += t) },
    progressStream: new Writable({ write: (_c, _e, cb) => cb() }),
    text: () => text,
  };
}

/** Every user of the tenant, by id, as the Management API lists them. */
async function readTenant(api: Mgmt): Promise<Map<string, Loose>> {
  const users = new Map<string, Loose>();
  for (let page = 0; ; page++) {
    const a = await api.call('GET', `/users?per_page=100&page=${page}`);
    expect(a.status).toBe(200);
    for (const u of a.body as Loose[]) users.set(u.user_id, u);
    if ((a.body as Loose[]).length < 100) return users;
  }
}

/** Every role of the tenant by name, with its users' ids (sorted), as the Management API lists them. */
async function readRoles(api: Mgmt): Promise<Record<string, string[]>> {
  const roles = await api.call('GET', '/roles?per_page=100');
  expect(roles.status).toBe(200);
  const out: Record<string, string[]> = {};
  for (const r of roles.body as Loose[]) {
    const users = await api.call('GET', `/roles/${r.id}/users?per_page=100`);
    expect(users.status).toBe(200);
    out[r.name] = (users.body as Loose[]).map((u) => String(u.user_id)).sort();
  }
  return out;
}

async function login(info: SimTenantInfo, username: string, password: string): Promise<number> {
  const res = await fetch(`${info.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'http://auth0.com/oauth/grant-type/password-realm',
      realm: info.connection,
      client_id: info.clientId,
      client_secret: info.clientSecret,
      username,
      password,
    }),
  });
  return res.status;
}

/**
 * A sweep (users, then relations unless `relations` is false). The simulated new tenant lacks one
 * of the old tenant's APIs, so the relations stage fails those permissions (exit 3); no user fails.
 */
async function sweep(
  h: Harness,
  relations = true,
): Promise<{ runId: string; summary: RunSummary; imported: ImportedLine[] }> {
  const cli = io();
  let runId = '';
  const code = await sweepCommand(h.config, { relations }, { ...cli, onRun: (id) => (runId = id) });
  expect([0, 3], cli.text()).toContain(code);
  const dir = join(h.reportsDir, runId);
  const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as RunSummary;
  expect(summary.counts.failed).toBe(0);
  const imported: ImportedLine[] = [];
  for await (const l of readNdjson<ImportedLine>(join(dir, 'imported.ndjson.gz'))) imported.push(l);
  expect(imported).toHaveLength(summary.counts.imported);
  return { runId, summary, imported };
}

async function lines<T>(path: string): Promise<T[]> {
  const out: T[] = [];
  for await (const l of readNdjson<T>(path)) out.push(l);
  return out;
}

describe('rollback', () => {
  it('removes exactly the users the sweep inserted, keeps those who logged in or changed since, and marks the run', async () => {
    const h = await startHarness({ sim: { seedOld: 60, seedLinked: 0.2 }, env: FAST_RATE });
    expect(await lazyDeployCommand(h.config, {}, { print: () => undefined })).toBe(0);
    const info = h.sim.tenants.new;
    const api = await Mgmt.connect(h.sim, 'new');
    const old = [...h.sim.tenant('old').users.iterate(DB_CONNECTION)].filter(
      (u) => u.email !== undefined && u.blocked !== true,
    );
    // Five users arrive lazily (the deployed login script), with their passwords.
    for (const u of old.slice(0, 5)) {
      expect(await login(info, u.email!, generatedPassword(u.generatedIndex!))).toBe(200);
    }
    // Three of the new tenant's own users hold an old user's email under another id.
    for (const [i, u] of old.slice(5, 8).entries()) {
      const created = await api.call('POST', '/users', {
        json: { connection: info.connection, email: u.email, password: 'Own-Passw0rd!', user_id: `own${i}` },
      });
      expect(created.status).toBe(201);
    }
    const before = await readTenant(api);
    expect(before.size).toBe(8);
    const neu = createTenantClient(h.config.tenants.new!, { label: 'new' });
    const rolesBefore = await roleMembers(neu);
    const permissionsBefore = await rolePermissions(neu);

    const { runId, summary, imported } = await sweep(h);
    expect(summary.counts.already_migrated).toBe(8);
    expect(imported.length).toBeGreaterThan(20);
    // Linked accounts are imported as their database identity, under that identity's id.
    const linked = imported.filter((l) => l.new_user_id !== undefined);
    expect(linked.length).toBeGreaterThan(0);
    const dir = join(h.reportsDir, runId);

    // After the run one user sets a password (as a reset ticket would) and logs in; another's profile changes.
    const plain = imported.filter((l) => l.new_user_id === undefined);
    const active = plain[0]!.user_id;
    const changed = plain[1]!.user_id;
    const enc = encodeURIComponent;
    expect(
      (await api.call('PATCH', `/users/${enc(active)}`, { json: { password: 'Reset-Passw0rd!' } })).status,
    ).toBe(200);
    expect(await login(info, plain[0]!.email, 'Reset-Passw0rd!')).toBe(200);
    expect(
      (await api.call('PATCH', `/users/${enc(changed)}`, { json: { user_metadata: { theme: 'dark' } } }))
        .status,
    ).toBe(200);
    const afterRun = await readTenant(api);
    expect(afterRun.size).toBe(8 + imported.length);
    const rolesAfterRun = await roleMembers(neu);
    // The relations stage gave roles to the run's users and to the lazily migrated ones.
    const lazyIds = old.slice(0, 5).map((u) => u.user_id);
    expect([...rolesAfterRun.values()].some((m) => lazyIds.some((id) => m.has(id)))).toBe(true);

    // The dry run reads and plans, and changes nothing.
    let deleted = 0;
    h.sim.tenant('new').users.onDelete(() => deleted++);
    const dry = io();
    expect(await rollbackCommand(h.config, runId, {}, { out: dry.out })).toBe(0);
    expect(dry.text()).toContain('Dry run, nothing changed.');
    expect(await readTenant(api)).toEqual(afterRun);
    const plan = await lines<RollbackPlanLine>(join(dir, 'rollback-plan.ndjson'));
    expect(plan).toHaveLength(imported.length);
    const byId = new Map(plan.map((l) => [l.user_id, l]));
    expect(byId.get(active)).toMatchObject({ action: 'kept_active', reason: 'logged_in' });
    expect(byId.get(changed)).toMatchObject({ action: 'kept_changed', reason: 'changed_after_run' });
    expect(plan.filter((l) => l.action === 'delete')).toHaveLength(imported.length - 2);
    expect(await readFile(join(dir, 'rollback-plan.md'), 'utf8')).toContain(active);
    const dryActive = io();
    expect(await rollbackCommand(h.config, runId, { includeActive: true }, { out: dryActive.out })).toBe(0);
    expect(
      (await lines<RollbackPlanLine>(join(dir, 'rollback-plan.ndjson'))).find((l) => l.user_id === active),
    ).toMatchObject({ action: 'delete' });
    expect(await readTenant(api)).toEqual(afterRun);
    expect(deleted).toBe(0);

    const sent = io();
    expect(await rollbackCommand(h.config, runId, { send: true }, { out: sent.out }), sent.text()).toBe(0);
    expect(sent.text()).toContain(`Run ${runId} is rolled back.`);
    const now = await readTenant(api);
    expect([...now.keys()].sort()).toEqual([...before.keys(), active, changed].sort());
    // The lazily migrated users and the tenant's own are untouched, field for field.
    for (const [id, u] of before) expect(now.get(id)).toEqual(u);
    expect(now.get(active)).toEqual(afterRun.get(active));
    expect(now.get(changed)).toEqual(afterRun.get(changed));
    // Roles: as before the run, but for those the two kept users hold (and a role the run created that they hold).
    const keptIds = new Set([active, changed]);
    const expectedRoles = new Map<string, Set<string>>();
    for (const [name, members] of rolesAfterRun) {
      const stays = new Set([
        ...(rolesBefore.get(name) ?? []),
        ...[...members].filter((id) => keptIds.has(id)),
      ]);
      if (rolesBefore.has(name) || stays.size > 0) expectedRoles.set(name, stays);
    }
    expect(await roleMembers(neu)).toEqual(expectedRoles);
    const permissionsNow = await rolePermissions(neu);
    for (const [name, perms] of permissionsBefore) expect(permissionsNow.get(name)).toEqual(perms);
    for (const l of imported) {
      if (l.user_id === active || l.user_id === changed) continue;
      expect((await api.call('GET', `/users-by-email?email=${enc(l.email)}`)).body).toEqual([]);
    }

    const result = JSON.parse(await readFile(join(dir, 'rollback.json'), 'utf8')) as RollbackSummary;
    expect(result).toMatchObject({
      complete: true,
      users: {
        total: imported.length,
        deleted: imported.length - 2,
        kept_active: 1,
        kept_changed: 1,
        already_gone: 0,
        failed: 0,
      },
      kept: { logged_in: 1, changed_after_run: 1 },
      problems: [],
    });
    for (const c of Object.values(result.relations!.byKind)) {
      expect(c.failed).toBe(0);
      expect(c.removed + c.gone_with_user + c.gone_with_entity + c.kept + c.already_gone).toBe(c.total);
    }
    expect(result.relations!.byKind.role_assignments).toMatchObject({
      removed: expect.any(Number),
      gone_with_user: expect.any(Number),
    });
    expect(result.relations!.byKind.role_assignments!.removed).toBeGreaterThan(0);
    expect(result.relations!.byKind.role_assignments!.gone_with_user).toBeGreaterThan(0);
    const md = await readFile(join(dir, 'rollback.md'), 'utf8');
    expect(md).toContain(active);
    expect(md).toContain(changed);

    // Marked: neither rolled back again nor resumed; discard still answers.
    await expect(rollbackCommand(h.config, runId, { send: true }, { out: io().out })).rejects.toThrow(
      /rolled back already/,
    );
    await expect(sweepCommand(h.config, { runId }, io())).rejects.toThrow(
      /rolled back on .*cannot be resumed/,
    );
    const discarded = io();
    expect(await discardCommand(h.config, runId, { out: discarded.out })).toBe(0);
    expect((await h.rt.store.getRun(runId))?.rolledBackAt).toBeTypeOf('number');
    // Password resets leave out the users the rollback deleted.
    const resets = io();
    expect(await resetsCommand(h.config, runId, {}, resets.out)).toBe(0);
    expect(resets.text()).toContain(
      `${imported.length - 2} users of the run were removed by \`rollback ${runId}\``,
    );
    expect(resets.text()).toContain(', 2 to do.');
    expect((await listRuns(h.reportsDir)).find((r) => r.runId === runId)).toMatchObject({ rolledBack: true });
    const status = io();
    expect(await statusCommand(h.config, runId, {}, { out: status.out })).toBe(0);
    expect(status.text()).toContain(`Rolled back (`);
    expect(status.text()).toContain(`deleted ${imported.length - 2}, kept_active 1, kept_changed 1`);
    const report = io();
    expect(await reportCommand(h.config, runId, {}, report.out)).toBe(0);
    expect(report.text()).toMatch(/^> Rolled back \(/);
  });

  it('killed half way (SIGKILL) and run again, deletes each user once', async () => {
    const h = await startHarness({ sim: { seedOld: 40 }, env: FAST_RATE });
    const { runId, imported } = await sweep(h);
    const tenant = h.sim.tenant('new');
    const deletions = new Map<string, number>();
    tenant.users.onDelete((u) => deletions.set(u.user_id, (deletions.get(u.user_id) ?? 0) + 1));

    const child = spawn(process.execPath, ['--import', 'tsx', ROLLBACK_PROCESS, runId, '1'], {
      env: h.workerEnv(FAST_RATE),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_c, s) => resolve(s)));
    // The kill lands while the fifth DELETE is being answered: sent, journalled as under way, not as done.
    const stop = tenant.users.onDelete(() => {
      if (deletions.size === 5) child.kill('SIGKILL');
    });
    expect(await exited, stderr).toBe('SIGKILL');
    stop();
    expect(deletions.size).toBe(5);

    const again = io();
    expect(await rollbackCommand(h.config, runId, { send: true }, { out: again.out }), again.text()).toBe(0);
    expect(deletions.size).toBe(imported.length);
    expect([...deletions.values()].every((c) => c === 1)).toBe(true);
    const result = JSON.parse(
      await readFile(join(h.reportsDir, runId, 'rollback.json'), 'utf8'),
    ) as RollbackSummary;
    expect(result.users).toEqual({
      total: imported.length,
      deleted: imported.length,
      kept_active: 0,
      kept_changed: 0,
      already_gone: 0,
      failed: 0,
    });
    expect(await readTenant(await Mgmt.connect(h.sim, 'new'))).toEqual(new Map());
  });

  it('takes back the relations the run added, and deletes a role it created only when nobody uses it', async () => {
    const h = await startHarness({ sim: { seedOld: 40, seedNewMigrated: 0.3 }, env: FAST_RATE });
    const api = await Mgmt.connect(h.sim, 'new');
    const client = createTenantClient(h.config.tenants.new!, { label: 'new' });
    const there = [...(await readTenant(api)).keys()];
    expect(there.length).toBeGreaterThan(3);
    const viewers = await client.createRole({ name: 'Viewers' });
    await client.assignRoleUsers(viewers.id, [there[0]!]);
    const usersBefore = await readTenant(api);
    const rolesBefore = await readRoles(api);
    const rolesOf = async (id: string) =>
      ((await api.call('GET', `/users/${encodeURIComponent(id)}/roles`)).body as Loose[])
        .map((r) => String(r.name))
        .sort();
    const userRolesBefore = new Map(
      await Promise.all(there.map(async (id) => [id, await rolesOf(id)] as const)),
    );

    const { runId, imported } = await sweep(h, false);
    const dir = join(h.reportsDir, runId);

    // What the run's relations stage does, recorded as it records it.
    const records: AddedRecord[] = [];
    const at = new Date().toISOString();
    const call = (c: Partial<PlannedCall> & Pick<PlannedCall, 'id' | 'kind' | 'path'>): PlannedCall => ({
      tenant: 'new',
      method: 'POST',
      phase: 0,
      count: c.userIds?.length ?? 1,
      userIds: [],
      ...c,
    });
    const createRole = async (name: string) => {
      const role = await client.createRole({ name });
      const c = call({
        id: `create-${name}`,
        kind: 'roles_created',
        path: '/roles',
        creates: { type: 'role', name },
      });
      records.push(...rbacFamily.added(c, { runId, at, createdId: role.id }));
      return role;
    };
    const assign = async (role: { id: string; name: string }, userIds: string[]) => {
      await client.assignRoleUsers(role.id, userIds);
      const c = call({
        id: `assign-${role.name}`,
        kind: 'role_assignments',
        path: '/roles/{ref}/users',
        ref: { type: 'role', name: role.name },
        userIds,
        phase: 1,
      });
      records.push(...rbacFamily.added(c, { runId, at, refId: role.id }));
    };
    const editors = await createRole('Editors');
    const ids = imported.map((l) => l.new_user_id ?? l.user_id);
    await assign(editors, [ids[0]!, ids[1]!, there[1]!]);
    await assign({ id: viewers.id, name: 'Viewers' }, [ids[2]!, there[2]!]);
    const auditors = await createRole('Auditors');
    await writeFile(
      join(dir, 'relations-added.ndjson'),
      records.map((r) => `${JSON.stringify(r)}\n`).join(''),
    );
    // Someone gives the run's new role to a user who was there before the run: it is in use now.
    await client.assignRoleUsers(auditors.id, [there[3]!]);
    const rolesAfterRun = await readRoles(api);

    const dry = io();
    expect(await rollbackCommand(h.config, runId, {}, { out: dry.out })).toBe(0);
    expect(dry.text()).toContain('relations role_assignments: removed 2, gone_with_user 3');
    expect(dry.text()).toContain('relations roles_created: removed 1, kept 1');
    expect(await readRoles(api)).toEqual(rolesAfterRun);

    const sent = io();
    expect(await rollbackCommand(h.config, runId, { send: true }, { out: sent.out }), sent.text()).toBe(0);
    expect(await readTenant(api)).toEqual(usersBefore);
    expect(await readRoles(api)).toEqual({ ...rolesBefore, Auditors: [there[3]!] });
    for (const id of there) {
      expect(await rolesOf(id)).toEqual(id === there[3] ? ['Auditors'] : userRolesBefore.get(id));
    }
    const result = JSON.parse(await readFile(join(dir, 'rollback.json'), 'utf8')) as RollbackSummary;
    expect(result.complete).toBe(true);
    expect(result.users).toMatchObject({ total: imported.length, deleted: imported.length, failed: 0 });
    expect(result.relations?.byKind).toEqual({
      role_assignments: {
        total: 5,
        removed: 2,
        gone_with_user: 3,
        gone_with_entity: 0,
        kept: 0,
        already_gone: 0,
        failed: 0,
      },
      roles_created: {
        total: 2,
        removed: 1,
        gone_with_user: 0,
        gone_with_entity: 0,
        kept: 1,
        already_gone: 0,
        failed: 0,
      },
    });
    expect(await readFile(join(dir, 'rollback.md'), 'utf8')).toMatch(
      /roles_created: role Auditors \(in use: used by /,
    );
  });

  it('with --upsert, keeps a user who arrived lazily while the job ran (the job updated it), deletes the ones it inserted', async () => {
    const h = await startHarness({ sim: { seedOld: 30, seedLinked: 0 }, env: FAST_RATE });
    const info = h.sim.tenants.new;
    const tenant = h.sim.tenant('new');
    const lazy = [...h.sim.tenant('old').users.iterate(DB_CONNECTION)].find(
      (u) => u.email !== undefined && u.blocked !== true && u.user_id.startsWith('auth0|'),
    )!;
    // The user logs in (lazy migration) after the snapshot, as the import job starts.
    const arrive = (jobId: string) => {
      if (tenant.jobs.get(jobId)?.type !== 'users_import' || tenant.users.get(lazy.user_id) !== undefined)
        return;
      const now = new Date().toISOString();
      tenant.users.insert({
        user_id: lazy.user_id,
        connection: info.connection,
        provider: 'auth0',
        isSocial: false,
        email: lazy.email!,
        email_verified: true,
        created_at: now,
        updated_at: now,
        last_login: now,
        logins_count: 1,
      });
    };
    tenant.events.on('job-started', arrive);
    const cli = io();
    let runId = '';
    const code = await sweepCommand(
      h.config,
      { upsert: true, relations: false },
      { ...cli, onRun: (id) => (runId = id) },
    );
    tenant.events.off('job-started', arrive);
    expect(code, cli.text()).toBe(0);
    const summary = JSON.parse(
      await readFile(join(h.reportsDir, runId, 'summary.json'), 'utf8'),
    ) as RunSummary;
    expect(summary.imported).toEqual({ inserted: summary.counts.imported - 1, updated: 1 });

    expect(await rollbackCommand(h.config, runId, {}, { out: io().out })).toBe(0);
    const plan = await lines<RollbackPlanLine>(join(h.reportsDir, runId, 'rollback-plan.ndjson'));
    expect(plan.find((l) => l.user_id === lazy.user_id)).toMatchObject({
      action: 'kept_changed',
      reason: 'updated_by_upsert',
    });
    expect(plan.filter((l) => l.action === 'delete')).toHaveLength(summary.counts.imported - 1);
    // --include-active does not make it the run's.
    const sent = io();
    expect(
      await rollbackCommand(h.config, runId, { send: true, includeActive: true }, { out: sent.out }),
    ).toBe(0);
    const api = await Mgmt.connect(h.sim, 'new');
    expect([...(await readTenant(api)).keys()]).toEqual([lazy.user_id]);
    const result = JSON.parse(
      await readFile(join(h.reportsDir, runId, 'rollback.json'), 'utf8'),
    ) as RollbackSummary;
    expect(result.users).toMatchObject({
      total: summary.counts.imported,
      deleted: summary.counts.imported - 1,
      kept_changed: 1,
      failed: 0,
    });
    expect(result.kept).toEqual({ updated_by_upsert: 1 });
    expect(await readFile(join(h.reportsDir, runId, 'rollback.md'), 'utf8')).toContain(lazy.user_id);
  });
});
