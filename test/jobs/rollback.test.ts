/**
 * Which of a run's users the rollback deletes, from what the new tenant answers now (judgeUser),
 * and the earliest a run's user can have been created (loadRollbackRun), with and without --upsert.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TenantClient } from '../../src/auth0/types.js';
import { RollbackAmbiguous, judgeUser, loadRollbackRun, readBack } from '../../src/jobs/rollback.js';
import { summarizeRollback, type JournalState } from '../../src/report/rollback.js';
import { writeRunReport } from '../../src/report/write.js';
import { sampleSummary } from '../report/fixtures.js';

const START = Date.parse('2024-05-01T10:00:00.000Z');
const END = Date.parse('2024-05-01T11:00:00.000Z');
const run = { upsert: false, endedAt: END };
const at = (ms: number): string => new Date(ms).toISOString();
const imported = (extra: Record<string, unknown> = {}) => ({
  user_id: 'auth0|a',
  created_at: at(START + 60_000),
  updated_at: at(START + 60_000),
  logins_count: 0,
  ...extra,
});

describe('judgeUser', () => {
  const plain = { includeActive: false };

  it('deletes a user as the run left it, and says a gone one is gone', () => {
    expect(judgeUser(imported(), run, START, plain)).toMatchObject({ action: 'delete' });
    expect(judgeUser(undefined, run, START, plain)).toEqual({ action: 'already_gone' });
  });

  it('keeps a user who logged in since, unless told --include-active; a login is not a change', () => {
    const active = imported({
      logins_count: 1,
      last_login: at(END + 5_000),
      updated_at: at(END + 5_500),
    });
    expect(judgeUser(active, run, START, plain)).toMatchObject({
      action: 'kept_active',
      reason: 'logged_in',
    });
    expect(judgeUser(active, run, START, { includeActive: true })).toMatchObject({ action: 'delete' });
    const changedToo = { ...active, updated_at: at(END + 60_000) };
    expect(judgeUser(changedToo, run, START, { includeActive: true })).toMatchObject({
      action: 'kept_changed',
      reason: 'changed_after_run',
    });
  });

  it('keeps a user changed after the run ended, not one changed while it ran', () => {
    expect(judgeUser(imported({ updated_at: at(END + 1) }), run, START, plain)).toMatchObject({
      action: 'kept_changed',
      reason: 'changed_after_run',
    });
    expect(judgeUser(imported({ updated_at: at(END) }), run, START, plain)).toMatchObject({
      action: 'delete',
    });
  });

  it('never deletes a user the run did not create: there before, updated by --upsert, created again since', () => {
    const before = imported({ created_at: at(START - 1) });
    expect(judgeUser(before, run, START, plain)).toMatchObject({
      action: 'kept_changed',
      reason: 'existed_before_run',
    });
    expect(judgeUser(before, { ...run, upsert: true }, START, plain)).toMatchObject({
      action: 'kept_changed',
      reason: 'updated_by_upsert',
    });
    expect(judgeUser(imported({ created_at: at(END + 1) }), run, START, plain)).toMatchObject({
      action: 'kept_changed',
      reason: 'recreated_after_run',
    });
    // In a batch whose --upsert job updated users, one who logged in may be a lazy arrival it updated.
    const loggedIn = imported({ logins_count: 2, last_login: at(END + 5_000), updated_at: at(END + 5_000) });
    for (const includeActive of [false, true]) {
      expect(
        judgeUser(loggedIn, { ...run, upsert: true }, START, { includeActive, mayBeUpdated: true }),
      ).toMatchObject({
        action: 'kept_changed',
        reason: 'updated_by_upsert',
      });
    }
    expect(
      judgeUser(imported(), { ...run, upsert: true }, START, { includeActive: false, mayBeUpdated: true }),
    ).toMatchObject({
      action: 'delete',
    });
    const { created_at: _c, ...noCreation } = imported();
    expect(judgeUser(noCreation, run, START, plain)).toMatchObject({ action: 'kept_changed' });
  });
});

describe('loadRollbackRun', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  async function writeRun(upsert: boolean) {
    dir = await mkdtemp(join(tmpdir(), 'rollback-load-'));
    const summary = sampleSummary({
      upsert,
      auth0Jobs: [
        {
          batch: 'b-0',
          jobId: 'job_0',
          status: 'completed',
          summary: { inserted: 2, updated: 0, failed: 0, total: 2 },
          submittedAt: at(START + 1_000),
        },
        {
          batch: 'b-1',
          jobId: 'job_1',
          status: 'completed',
          summary: { inserted: 1, updated: 1, failed: 0, total: 2 },
          submittedAt: at(START + 2_000),
        },
      ],
    });
    const line = (id: string, batch: string, n: number) => ({
      user_id: id,
      email: `${id.slice(6)}@example.com`,
      line: n,
      batch,
      job_id: 'job',
      password_reset: true,
    });
    const written = await writeRunReport({
      reportsDir: dir,
      summary,
      imported: [
        line('auth0|a', 'b-0', 1),
        line('auth0|b', 'b-0', 2),
        line('auth0|c', 'b-1', 3),
        line('auth0|a', 'b-0', 1),
      ],
    });
    return loadRollbackRun(written.dir, written.summary);
  }

  it('a run without --upsert: every user created after the run started is the run’s (each named once)', async () => {
    const r = await writeRun(false);
    expect(r.users.map((u) => [u.user_id, u.notBefore])).toEqual([
      ['auth0|a', START],
      ['auth0|b', START],
      ['auth0|c', START],
    ]);
  });

  it('with --upsert, a batch whose job updated users counts only users created after its submission', async () => {
    const r = await writeRun(true);
    expect(r.users.map((u) => [u.user_id, u.notBefore, u.mayBeUpdated])).toEqual([
      ['auth0|a', START, undefined],
      ['auth0|b', START, undefined],
      ['auth0|c', START + 2_000, true],
    ]);
  });
});

describe('summarizeRollback', () => {
  it('counts every user once; one without an outcome is failed (not reached), and the rollback not complete', () => {
    const journal: JournalState = {
      final: new Map([
        ['a', { user_id: 'a', outcome: 'deleted', at: 'x' }],
        ['b', { user_id: 'b', outcome: 'kept_active', reason: 'logged_in', at: 'x' }],
      ]),
      deleting: new Set(),
    };
    const base = { runId: 'r', includeActive: false, startedAt: 'x', finishedAt: 'y' };
    const s = summarizeRollback(base, ['a', 'b', 'c', 'a'], journal);
    expect(s.users).toEqual({
      total: 3,
      deleted: 1,
      kept_active: 1,
      kept_changed: 0,
      already_gone: 0,
      failed: 1,
    });
    expect(s.failed).toEqual({ not_reached: 1 });
    expect(s.kept).toEqual({ logged_in: 1 });
    expect(s.complete).toBe(false);
    expect(summarizeRollback(base, ['a', 'b'], journal).complete).toBe(true);
  });
});

describe('readBack', () => {
  const asked: string[] = [];
  const tenant = new Map<string, Record<string, unknown>[]>([
    [
      'one@example.com',
      [
        { user_id: 'google-oauth2|1', identities: [{ connection: 'google-oauth2' }] },
        { user_id: 'auth0|one', identities: [{ connection: 'Users' }] },
      ],
    ],
    [
      'two@example.com',
      [
        { user_id: 'auth0|two-a', identities: [{ connection: 'Users' }] },
        { user_id: 'auth0|two-b', identities: [{ connection: 'Users' }] },
      ],
    ],
  ]);
  const client = {
    getUser: async (id: string) => {
      asked.push(id);
      return id === 'auth0|known' ? { user_id: id } : undefined;
    },
    usersByEmail: async (email: string) => tenant.get(email) ?? [],
  } as unknown as TenantClient;
  const run = { connection: 'Users' };

  it('reads a user by its id in the new tenant', async () => {
    expect(await readBack(client, run, { user_id: 'x', newId: 'auth0|known', notBefore: 0 })).toEqual({
      id: 'auth0|known',
      user: { user_id: 'auth0|known' },
    });
    expect(await readBack(client, run, { user_id: 'x', newId: 'auth0|gone', notBefore: 0 })).toBeUndefined();
    expect(asked).toEqual(['auth0|known', 'auth0|gone']);
  });

  it('without it, finds the connection’s database user by email, and never guesses between two', async () => {
    const u = { user_id: 'google-oauth2|1', notBefore: 0 };
    expect((await readBack(client, run, { ...u, email: 'one@example.com' }))?.id).toBe('auth0|one');
    expect(await readBack(client, run, { ...u, email: 'nobody@example.com' })).toBeUndefined();
    await expect(readBack(client, run, { ...u, email: 'two@example.com' })).rejects.toBeInstanceOf(
      RollbackAmbiguous,
    );
  });
});
