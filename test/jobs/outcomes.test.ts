import { describe, expect, it } from 'vitest';
import type { Auth0Job } from '../../src/auth0/types.js';
import {
  classifyJob,
  collisionsToCheck,
  dryRunBatch,
  failBatch,
  isCollision,
} from '../../src/jobs/outcomes.js';
import type { BatchUser, CollisionCheck } from '../../src/jobs/types.js';

const users: BatchUser[] = [
  {
    line: 1,
    userId: 'auth0|a1',
    sentId: 'a1',
    email: 'ann@example.com',
    hasPassword: false,
    original: { user_id: 'auth0|a1', email: 'ann@example.com' },
  },
  {
    line: 2,
    userId: 'auth0|b2',
    sentId: 'b2',
    email: 'Bob@Example.com',
    hasPassword: true,
    original: { user_id: 'auth0|b2', email: 'Bob@Example.com' },
  },
  {
    line: 3,
    userId: 'auth0|c3',
    sentId: 'c3',
    email: 'cy@example.com',
    hasPassword: false,
    original: { user_id: 'auth0|c3', email: 'cy@example.com' },
  },
  {
    line: 4,
    userId: 'auth0|d4',
    sentId: 'd4',
    email: 'di@example.com',
    hasPassword: false,
    // Sent with email_verified false: its imported line says so, for `resets --verify-email`.
    emailUnverified: true,
    original: { user_id: 'auth0|d4', email: 'di@example.com' },
  },
];

const job = (over: Partial<Auth0Job>): Auth0Job => ({
  id: 'job_abcdefghijklmnop',
  type: 'users_import',
  status: 'completed',
  ...over,
});

const DUP = { code: 'DUPLICATED_USER', message: 'The user already exist and upsert parameter is false' };

describe('classifyJob', () => {
  it('splits a completed job into imported, already migrated (confirmed by a read) and failed users', () => {
    const errors = {
      kind: 'users' as const,
      errors: [
        // matched by the user_id we sent
        { user: { user_id: 'b2', email: 'bob@example.com', password_hash: '*****' }, errors: [DUP] },
        // matched by email (no user_id echoed), case-insensitively
        {
          user: { email: 'CY@example.com' },
          errors: [{ code: 'INVALID_FORMAT', message: 'bad email', path: 'email' }],
        },
      ],
    };
    expect([...collisionsToCheck(users, errors).keys()]).toEqual([1]);
    const outcome = classifyJob(
      'r-0',
      0,
      users,
      job({ summary: { inserted: 2, updated: 0, failed: 2, total: 4 } }),
      errors,
      { checks: new Map([[1, { kind: 'same_user', matchedBy: 'user_id', newUserId: 'auth0|b2' }]]) },
    );
    expect(outcome.status).toBe('completed');
    expect(outcome.counts).toMatchObject({
      records: 4,
      imported: 2,
      inserted: 2,
      updated: 0,
      already_migrated: { user_id: 1 },
      failed: { INVALID_FORMAT: 1 },
      passwordResets: 2,
    });
    expect(outcome.failures).toEqual([
      {
        user_id: 'auth0|c3',
        email: 'cy@example.com',
        line: 3,
        batch: 'r-0',
        code: 'INVALID_FORMAT',
        message: 'bad email',
        path: 'email',
      },
    ]);
    expect(outcome.retry).toEqual([users[2]!.original]);
    expect(outcome.imported).toEqual([
      {
        user_id: 'auth0|a1',
        email: 'ann@example.com',
        line: 1,
        batch: 'r-0',
        job_id: 'job_abcdefghijklmnop',
        password_reset: true,
      },
      {
        user_id: 'auth0|d4',
        email: 'di@example.com',
        line: 4,
        batch: 'r-0',
        job_id: 'job_abcdefghijklmnop',
        password_reset: true,
        email_verified: false,
      },
    ]);
    expect(outcome.alreadyMigrated).toEqual([
      {
        user_id: 'auth0|b2',
        email: 'Bob@Example.com',
        line: 2,
        matched_by: 'user_id',
        found_by: 'import',
        batch: 'r-0',
      },
    ]);
    expect(outcome.notes).toBeUndefined();
  });

  it('treats every CONFLICT* code as a collision to confirm', () => {
    expect(isCollision('CONFLICT_EMAIL')).toBe(true);
    expect(isCollision('CONFLICT_USERNAME')).toBe(true);
    expect(isCollision('DUPLICATED_USER')).toBe(true);
    expect(isCollision('PROFILE_SIZE_EXCEEDED')).toBe(false);
  });

  it('fails a duplicate the new tenant does not hold, saying what collided and with whom', () => {
    const errors = {
      kind: 'users' as const,
      errors: users.map((u) => ({ user: { user_id: u.sentId, email: u.email }, errors: [DUP] })),
    };
    const checks = new Map<number, CollisionCheck>([
      [0, { kind: 'other_user', attribute: 'username', value: 'jdoe', other_user_id: 'auth0|abc' }],
      [1, { kind: 'other_user', attribute: 'phone_number', value: '+447000000001' }],
      [2, { kind: 'other_user' }],
      [3, { kind: 'same_user', matchedBy: 'email', newUserId: 'auth0|elsewhere' }],
    ]);
    const outcome = classifyJob(
      'r-1',
      1,
      users,
      job({ summary: { inserted: 0, updated: 0, failed: 4, total: 4 } }),
      errors,
      {
        checks,
      },
    );
    expect(outcome.counts).toMatchObject({
      imported: 0,
      already_migrated: { email: 1 },
      failed: { conflict_other_user: 3 },
    });
    expect(outcome.failures.map((f) => [f.user_id, f.conflict])).toEqual([
      ['auth0|a1', { attribute: 'username', other_user_id: 'auth0|abc' }],
      ['auth0|b2', { attribute: 'phone_number' }],
      ['auth0|c3', undefined],
    ]);
    expect(outcome.failures.map((f) => f.message)).toEqual([
      "username jdoe belongs to auth0|abc, another user of the new tenant; the new tenant has no user with this user's id or email (Auth0: DUPLICATED_USER).",
      "phone number +447000000001 belongs to another user of the new tenant (a search did not find which); the new tenant has no user with this user's id or email (Auth0: DUPLICATED_USER).",
      'Auth0 answered DUPLICATED_USER ("The user already exist and upsert parameter is false"), but the new tenant has no user with this user\'s id or email: another user holds its username or phone number.',
    ]);
    expect(outcome.retry).toEqual(users.slice(0, 3).map((u) => u.original));
    expect(outcome.alreadyMigrated).toEqual([
      {
        user_id: 'auth0|d4',
        email: 'di@example.com',
        line: 4,
        matched_by: 'email',
        found_by: 'import',
        batch: 'r-1',
        new_user_id: 'auth0|elsewhere',
      },
    ]);
    const twin = classifyJob('r-1', 1, users.slice(0, 1), job({}), errors, {
      checks: new Map([
        [
          0,
          {
            kind: 'other_user',
            attribute: 'username',
            value: 'ann',
            inBatch: true,
            other_user_id: 'auth0|z9',
          },
        ],
      ]),
    });
    expect(twin.failures[0]!.message).toBe(
      "username ann belongs to auth0|z9, earlier in the same import file; the new tenant has no user with this user's id or email (Auth0: DUPLICATED_USER).",
    );
    // A duplicate nobody read is not confirmed: it failed.
    const unread = classifyJob('r-1', 1, users, job({}), errors);
    expect(unread.counts.failed).toEqual({ conflict_other_user: 4 });
  });

  it('after a lost answer, counts users found under their own id as imported by the earlier job', () => {
    const errors = {
      kind: 'users' as const,
      errors: users.slice(0, 3).map((u) => ({ user: { user_id: u.sentId, email: u.email }, errors: [DUP] })),
    };
    const checks = new Map<number, CollisionCheck>([
      [0, { kind: 'same_user', matchedBy: 'user_id', newUserId: 'auth0|a1' }],
      [1, { kind: 'same_user', matchedBy: 'email', newUserId: 'auth0|other' }],
      [2, { kind: 'other_user', attribute: 'username', value: 'cy', other_user_id: 'auth0|zz' }],
    ]);
    const outcome = classifyJob(
      'r-2',
      2,
      users,
      job({ summary: { inserted: 1, updated: 0, failed: 3, total: 4 } }),
      errors,
      { checks, sentAgain: true },
    );
    expect(outcome.counts).toMatchObject({
      imported: 2,
      inserted: 2,
      updated: 0,
      already_migrated: { email: 1 },
      failed: { conflict_other_user: 1 },
      passwordResets: 2,
    });
    expect(outcome.imported.map((l) => [l.user_id, l.earlier_job])).toEqual([
      ['auth0|a1', true],
      ['auth0|d4', undefined],
    ]);
    expect(outcome.notes).toEqual([
      'sent again after a lost answer: 1 users answered DUPLICATED_USER were found under their own id, imported by the earlier job',
    ]);
  });

  it('fails every user of a job that failed as a whole, with its status details', () => {
    const outcome = classifyJob('r-1', 1, users, job({ status: 'failed' }), {
      kind: 'job',
      job: job({ status: 'failed', status_details: 'Internal error while importing' }),
    });
    expect(outcome.status).toBe('failed');
    expect(outcome.counts.failed).toEqual({ job_failed: 4 });
    expect(outcome.failures[0]!.message).toBe('Internal error while importing');
    expect(outcome.retry).toHaveLength(4);
    expect(outcome.imported).toHaveLength(0);
  });

  it('names expired jobs and notes when Auth0 and /errors disagree', () => {
    expect(classifyJob('r-2', 2, users, job({ status: 'expired' }), { kind: 'none' }).counts.failed).toEqual({
      job_expired: 4,
    });
    const odd = classifyJob(
      'r-3',
      3,
      users,
      job({ summary: { inserted: 3, updated: 0, failed: 1, total: 4 } }),
      { kind: 'none' },
    );
    expect(odd.counts.imported).toBe(4);
    expect(odd.notes?.[0]).toMatch(/Auth0 counted 1 failed users/);
  });

  it('fails a whole batch, and imports a whole batch in a dry run', () => {
    const f = failBatch('r-4', 4, users, 'payload_too_large', 'too big');
    expect(f.counts.failed).toEqual({ payload_too_large: 4 });
    expect(f.counts.records).toBe(4);
    const d = dryRunBatch('r-5', 5, users);
    expect(d.status).toBe('dry_run');
    expect(d.counts).toMatchObject({ imported: 4, inserted: 4, passwordResets: 3 });
    expect(d.imported.map((l) => [l.line, l.job_id, l.password_reset])).toEqual([
      [1, undefined, true],
      [2, undefined, false],
      [3, undefined, true],
      [4, undefined, true],
    ]);
  });
});
