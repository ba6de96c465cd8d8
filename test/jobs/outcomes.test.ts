import { describe, expect, it } from 'vitest';
import type { Auth0Job } from '../../src/auth0/types.js';
import { classifyJob, dryRunBatch, failBatch, isAlreadyThere } from '../../src/jobs/outcomes.js';
import type { BatchUser } from '../../src/jobs/types.js';

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
    original: { user_id: 'auth0|d4', email: 'di@example.com' },
  },
];

const job = (over: Partial<Auth0Job>): Auth0Job => ({
  id: 'job_abcdefghijklmnop',
  type: 'users_import',
  status: 'completed',
  ...over,
});

describe('classifyJob', () => {
  it('splits a completed job into imported, already migrated and failed users', () => {
    const outcome = classifyJob(
      'r-0',
      0,
      users,
      job({ summary: { inserted: 2, updated: 0, failed: 2, total: 4 } }),
      {
        kind: 'users',
        errors: [
          // matched by the user_id we sent
          {
            user: { user_id: 'b2', email: 'bob@example.com', password_hash: '*****' },
            errors: [
              { code: 'DUPLICATED_USER', message: 'The user already exist and upsert parameter is false' },
            ],
          },
          // matched by email (no user_id echoed), case-insensitively
          {
            user: { email: 'CY@example.com' },
            errors: [{ code: 'INVALID_FORMAT', message: 'bad email', path: 'email' }],
          },
        ],
      },
    );
    expect(outcome.status).toBe('completed');
    expect(outcome.counts).toMatchObject({
      records: 4,
      imported: 2,
      inserted: 2,
      updated: 0,
      already_migrated: { DUPLICATED_USER: 1 },
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
    expect(outcome.resets.map((r) => r.user_id)).toEqual(['auth0|a1', 'auth0|d4']);
    expect(outcome.notes).toBeUndefined();
  });

  it('counts every CONFLICT* code as already migrated', () => {
    expect(isAlreadyThere('CONFLICT_EMAIL')).toBe(true);
    expect(isAlreadyThere('CONFLICT_USERNAME')).toBe(true);
    expect(isAlreadyThere('PROFILE_SIZE_EXCEEDED')).toBe(false);
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
    expect(outcome.resets).toHaveLength(0);
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
  });
});
