/**
 * Auth0 answers DUPLICATED_USER when any of email, user id, username or phone matches a user of
 * the connection. Users whose username or phone belongs to a different user of the new tenant are
 * not in it: they fail with `conflict_other_user`, naming what collided and with whom, and are
 * listed for a retry; only users the new tenant holds (same id, or same email) are already there.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect, it } from 'vitest';
import { sweepCommand } from '../../src/commands/sweep.js';
import type { FailureLine, RunSummary } from '../../src/report/types.js';
import type { SimUser } from '../../src/sim/tenant/users.js';
import { DB_CONNECTION } from '../../src/sim/index.js';
import { FAST, newTenantIds, startHarness } from './harness.js';

const ndjson = async <T>(file: string): Promise<T[]> =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);

/** Another user of the new tenant's connection, holding `attribute` of `of`. */
function otherUser(i: number, of: SimUser, attribute: 'username' | 'phone_number'): SimUser {
  const now = new Date().toISOString();
  return {
    user_id: `auth0|other${i}`,
    connection: DB_CONNECTION,
    provider: 'auth0',
    isSocial: false,
    email: `other${i}@elsewhere.example`,
    email_verified: true,
    [attribute]: of[attribute],
    created_at: now,
    updated_at: now,
  };
}

it('fails users whose username or phone belongs to another user of the new tenant, naming that user', async () => {
  const h = await startHarness({
    sim: { seedOld: 400, seedNewMigrated: 0.2 },
    env: { BATCH_BYTES: '40000' },
  });
  const before = newTenantIds(h.sim);
  const oldUsers = [...h.sim.tenant('old').users.iterate(DB_CONNECTION)];
  const candidates = oldUsers.filter(
    (u) => u.email !== undefined && u.blocked !== true && !before.has(u.user_id),
  );
  const byUsername = candidates.filter((u) => u.username !== undefined).slice(0, 12);
  const byPhone = candidates
    .filter((u) => u.phone_number !== undefined && u.username === undefined)
    .slice(0, 6);
  expect(byUsername).toHaveLength(12);
  expect(byPhone.length).toBeGreaterThan(2);
  const others = new Map<string, SimUser>();
  [
    ...byUsername.map((u) => [u, 'username'] as const),
    ...byPhone.map((u) => [u, 'phone_number'] as const),
  ].forEach(([u, attribute], i) => {
    const other = otherUser(i, u, attribute);
    h.sim.tenant('new').users.insert(other);
    others.set(u.user_id, other);
  });

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
  const dir = join(h.reportsDir, runId);
  const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as RunSummary;
  const failures = await ndjson<FailureLine>(join(dir, 'failures.ndjson'));
  const retry = await ndjson<Record<string, unknown>>(join(dir, 'retry.ndjson'));

  expect(code).toBe(3);
  const alreadyThere = oldUsers.filter((u) => before.has(u.user_id)).length;
  expect(summary.counts.already_migrated).toBe(alreadyThere);
  expect(summary.already_migrated).toEqual({ user_id: alreadyThere });
  expect(summary.failed).toEqual({ conflict_other_user: others.size });
  expect(new Set(failures.map((f) => f.user_id))).toEqual(new Set(others.keys()));
  expect(new Set(retry.map((r) => r.user_id))).toEqual(new Set(others.keys()));
  for (const f of failures) {
    const other = others.get(f.user_id!)!;
    const attribute = other.username !== undefined ? 'username' : 'phone_number';
    expect(f.code).toBe('conflict_other_user');
    expect(f.conflict).toEqual({ attribute, other_user_id: other.user_id });
    expect(f.message).toContain(
      `${attribute === 'username' ? 'username' : 'phone number'} ${other[attribute]}`,
    );
    expect(f.message).toContain(`belongs to ${other.user_id}`);
  }
  // Nobody was imported in their place, and the other users are as they were.
  const after = newTenantIds(h.sim);
  for (const [id, other] of others) {
    expect(after.has(id)).toBe(false);
    expect(h.sim.tenant('new').rawUser(other.user_id)?.email).toBe(other.email);
  }
  expect(summary.problems).toBeUndefined();
});
