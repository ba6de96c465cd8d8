/**
 * A sweep audited user by user: users already in the new tenant (before the snapshot, and lazily
 * migrated after it, by id or by email), users whose username or phone belongs to another user of
 * the new tenant, invalid users and duplicates in the input. Every per-user file is read back: the
 * files name each input user exactly once and add up to the summary, and the new tenant, read
 * through the API, holds exactly the users they say were imported or already there.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect, it } from 'vitest';
import { createTenantClient } from '../../src/auth0/index.js';
import { sweepCommand } from '../../src/commands/sweep.js';
import { exportUsers } from '../../src/jobs/users-export.js';
import { readNdjson } from '../../src/report/files.js';
import type {
  AlreadyMigratedLine,
  FailureLine,
  ImportedLine,
  RunSummary,
  SkippedLine,
} from '../../src/report/types.js';
import { readSummary } from '../../src/report/write.js';
import { DB_CONNECTION } from '../../src/sim/index.js';
import type { SimUser } from '../../src/sim/tenant/users.js';
import { FAST, startHarness } from '../jobs/harness.js';

async function all<T>(file: string): Promise<T[]> {
  const out: T[] = [];
  for await (const line of readNdjson<T>(file)) out.push(line);
  return out;
}

function record(over: Partial<SimUser> & { user_id: string }): SimUser {
  const now = new Date().toISOString();
  return {
    connection: DB_CONNECTION,
    provider: 'auth0',
    isSocial: false,
    email_verified: true,
    created_at: now,
    updated_at: now,
    ...over,
  };
}

it('names every input user once, in files that add up, and the new tenant holds exactly what they say', async () => {
  const h = await startHarness({
    sim: { seedOld: 1_500, seedNewMigrated: 0.2 },
    env: { BATCH_BYTES: '60000' },
  });
  const oldTenant = h.sim.tenant('old');
  const newTenant = h.sim.tenant('new');
  const migrated = new Set([...newTenant.users.iterate(DB_CONNECTION)].map((u) => u.user_id));
  const free = [...oldTenant.users.iterate(DB_CONNECTION)].filter(
    (u) => u.email !== undefined && u.blocked !== true && !migrated.has(u.user_id),
  );
  const take = (n: number, pick: (u: SimUser) => boolean = () => true): SimUser[] => {
    const out: SimUser[] = [];
    for (let i = 0; i < free.length && out.length < n; i++) {
      if (pick(free[i]!)) out.push(...free.splice(i--, 1));
    }
    expect(out).toHaveLength(n);
    return out;
  };

  // Users whose username or phone number another user of the new tenant holds.
  const byUsername = take(15, (u) => u.username !== undefined);
  const byPhone = take(5, (u) => u.phone_number !== undefined && u.username === undefined);
  const holders = new Map<string, SimUser>();
  [...byUsername, ...byPhone].forEach((u, i) => {
    const holder = record({
      user_id: `auth0|holder${i}`,
      email: `holder${i}@elsewhere.example`,
      ...(u.username !== undefined ? { username: u.username } : { phone_number: u.phone_number! }),
    });
    newTenant.users.insert(holder);
    holders.set(u.user_id, holder);
  });
  // Users who arrive after the snapshot: lazily under their own id, or by signing up with their email.
  const lazy = take(12);
  const signedUp = take(4);
  let arrived = false;
  newTenant.events.on('job-ended', (id: string) => {
    if (arrived || newTenant.jobs.get(id)?.type !== 'users_export') return;
    arrived = true;
    for (const u of lazy) newTenant.users.insert({ ...structuredClone(u), logins_count: 1 });
    signedUp.forEach((u, i) =>
      newTenant.users.insert(record({ user_id: `auth0|signup${i}`, email: u.email!.toLowerCase() })),
    );
  });
  // Invalid users and duplicates in the input.
  const [twinOf] = take(1);
  oldTenant.users.insert(record({ user_id: 'auth0|twin', email: twinOf!.email!.toUpperCase() }));
  oldTenant.users.insert(record({ user_id: 'auth0|noemail1', email: 'not-an-email' }));
  oldTenant.users.insert(
    record({ user_id: 'auth0|dotted', email: 'dotted@example.com', user_metadata: { 'a.b': 1 } }),
  );
  const preexisting = new Set([...newTenant.users.iterate(DB_CONNECTION)].map((u) => u.user_id));

  let runId = '';
  const code = await sweepCommand(
    h.config,
    {},
    {
      settings: FAST,
      out: { write: () => undefined },
      progressStream: new Writable({ write: (_c, _e, cb) => cb() }),
      onRun: (id) => (runId = id),
    },
  );
  expect(arrived).toBe(true);
  const dir = join(h.reportsDir, runId);
  const summary: RunSummary = await readSummary(dir);
  const imported = await all<ImportedLine>(join(dir, summary.files.imported.name));
  const already = await all<AlreadyMigratedLine>(join(dir, summary.files.alreadyMigrated.name));
  const skipped = await all<SkippedLine>(join(dir, summary.files.skipped.name));
  const failures = await all<FailureLine>(join(dir, summary.files.failures.name));
  const retry = await all<Record<string, unknown>>(join(dir, summary.files.retry.name));

  // The files add up to the summary, and name each input user exactly once.
  const c = summary.counts;
  const exported = oldTenant.userCount(DB_CONNECTION);
  expect(c.total).toBe(exported);
  expect(summary.problems).toBeUndefined();
  expect([imported.length, already.length, skipped.length, failures.length, retry.length]).toEqual([
    c.imported,
    c.already_migrated,
    c.skipped,
    c.failed,
    c.failed,
  ]);
  expect(Object.values(summary.files).map((f) => f.lines)).toEqual([
    c.imported,
    c.already_migrated,
    c.skipped,
    c.failed,
    c.failed,
  ]);
  const named = [...imported, ...already, ...skipped, ...failures];
  expect(named).toHaveLength(c.total);
  expect(new Set(named.map((l) => l.line)).size).toBe(c.total);
  const ids = named.map((l) => l.user_id);
  expect(new Set(ids).size).toBe(c.total);
  expect(new Set(ids)).toEqual(new Set([...oldTenant.users.iterate(DB_CONNECTION)].map((u) => u.user_id)));
  expect(new Set(retry.map((r) => r.user_id))).toEqual(new Set(failures.map((f) => f.user_id)));
  expect(imported.filter((l) => l.password_reset)).toHaveLength(summary.passwordResets);

  // Each group ended where it belongs.
  const where = (id: string) =>
    imported.some((l) => l.user_id === id)
      ? 'imported'
      : already.find((l) => l.user_id === id)
        ? 'already'
        : (skipped.find((l) => l.user_id === id)?.reason ?? failures.find((l) => l.user_id === id)?.code);
  for (const id of migrated) {
    if (oldTenant.rawUser(id) !== undefined) {
      expect(already.find((l) => l.user_id === id)).toMatchObject({
        matched_by: 'user_id',
        found_by: 'snapshot',
      });
    }
  }
  for (const u of lazy) {
    expect(already.find((l) => l.user_id === u.user_id)).toMatchObject({
      matched_by: 'user_id',
      found_by: 'import',
    });
  }
  signedUp.forEach((u, i) =>
    expect(already.find((l) => l.user_id === u.user_id)).toMatchObject({
      matched_by: 'email',
      found_by: 'import',
      new_user_id: `auth0|signup${i}`,
    }),
  );
  for (const [id, holder] of holders) {
    expect(failures.find((f) => f.user_id === id)).toMatchObject({
      code: 'conflict_other_user',
      conflict: {
        attribute: holder.username !== undefined ? 'username' : 'phone_number',
        other_user_id: holder.user_id,
      },
    });
  }
  expect(where('auth0|twin')).toBe('duplicate_in_export');
  expect(where('auth0|noemail1')).toBe('invalid_email');
  expect(['imported', 'already']).not.toContain(where('auth0|dotted'));
  expect(summary.already_migrated).toEqual({
    user_id: [...migrated].filter((id) => oldTenant.rawUser(id) !== undefined).length + lazy.length,
    email: signedUp.length,
  });
  expect(c.failed).toBe(holders.size + (where('auth0|dotted') === 'NOT_PASSED' ? 1 : 0));
  expect(code).toBe(3);

  // The new tenant, read through the API: what was there, and exactly the users imported.
  const after = await exportUsers(createTenantClient(h.config.tenants.new!, { label: 'new' }), {
    connection: DB_CONNECTION,
    out: join(h.reportsDir, 'audit', 'new-after.ndjson.gz'),
    pollIntervalMs: 20,
  });
  const inNew = await all<{ user_id: string; email?: string }>(after.file);
  const newIds = new Set(inNew.map((u) => u.user_id));
  expect(inNew).toHaveLength(newIds.size);
  for (const u of lazy) preexisting.add(u.user_id);
  signedUp.forEach((_, i) => preexisting.add(`auth0|signup${i}`));
  const importedIds = new Set(imported.map((l) => l.user_id));
  expect([...importedIds].filter((id) => preexisting.has(id))).toEqual([]);
  expect(newIds).toEqual(new Set([...preexisting, ...importedIds]));
  const emails = new Set(inNew.map((u) => u.email?.toLowerCase()));
  for (const l of already) {
    if (l.matched_by === 'user_id') expect(newIds.has(l.user_id!), l.user_id).toBe(true);
    else expect(emails.has(l.email!.toLowerCase()), l.email).toBe(true);
  }
  for (const l of [...skipped, ...failures]) expect(newIds.has(l.user_id!), l.user_id).toBe(false);
});
