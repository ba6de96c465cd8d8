/** MFA in a batch's outcome: who must re-enrol, and MFA_FACTORS_FAILED as the user's own failure. */
import { describe, expect, it } from 'vitest';
import { classifyJob } from '../../src/jobs/outcomes.js';
import type { BatchUser } from '../../src/jobs/types.js';

const user = (id: string, extra: Partial<BatchUser> = {}): BatchUser => ({
  line: 1,
  userId: `auth0|${id}`,
  sentId: id,
  email: `${id}@example.com`,
  hasPassword: true,
  original: { user_id: `auth0|${id}`, email: `${id}@example.com` },
  ...extra,
});

describe('MFA outcomes', () => {
  it('flags enrolled users arriving without factors, and makes MFA_FACTORS_FAILED a failure of that user only', () => {
    const users = [
      user('withfactors', { mfaEnrolled: true, mfaFactors: true }),
      user('nofactors', { mfaEnrolled: true }),
      user('notenrolled'),
      user('badfactors', { mfaEnrolled: true, mfaFactors: true }),
      user('taken', { mfaEnrolled: true, mfaFactors: true }),
    ];
    const outcome = classifyJob(
      'run-1',
      1,
      users,
      {
        id: 'job_1',
        type: 'users_import',
        status: 'completed',
        summary: { inserted: 4, updated: 0, failed: 2, total: 5 },
      },
      {
        kind: 'users',
        errors: [
          {
            user: { user_id: 'auth0|badfactors', email: 'badfactors@example.com' },
            errors: [
              { code: 'MFA_FACTORS_FAILED', message: 'Unable to import factors', path: 'mfa_factors[0]' },
            ],
          },
          {
            user: { user_id: 'auth0|taken', email: 'taken@example.com' },
            errors: [
              { code: 'DUPLICATED_USER', message: 'The user already exist and upsert parameter is false' },
            ],
          },
        ],
      },
      { checks: new Map([[4, { kind: 'same_user', matchedBy: 'user_id', newUserId: 'auth0|taken' }]]) },
    );
    expect(outcome.imported.map((l) => [l.user_id, l.mfa_reenrolment])).toEqual([
      ['auth0|withfactors', undefined],
      ['auth0|nofactors', true],
      ['auth0|notenrolled', undefined],
    ]);
    expect(outcome.failures).toEqual([
      expect.objectContaining({
        user_id: 'auth0|badfactors',
        code: 'MFA_FACTORS_FAILED',
        path: 'mfa_factors[0]',
        mfa_reenrolment: true,
      }),
    ]);
    expect(outcome.failures[0]!.message).toMatch(/imported without them/);
    // Already there (e.g. arrived lazily): the factors sent were not imported with it.
    expect(outcome.alreadyMigrated).toEqual([
      expect.objectContaining({ user_id: 'auth0|taken', mfa_reenrolment: true }),
    ]);
    expect(outcome.counts).toMatchObject({
      imported: 3,
      failed: { MFA_FACTORS_FAILED: 1 },
      mfaReenrolments: 3,
    });
  });
});
