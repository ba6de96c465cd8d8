import type { RunSummary } from '../../src/report/types.js';

/** A consistent summary of a finished run: 100 users, 3 failed, 5 skipped, 20 already there. */
export function sampleSummary(overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    runId: 'run-2024-05-01-a',
    kind: 'sweep',
    dryRun: false,
    upsert: false,
    status: 'completed',
    input: { oldTenant: 'old.example.auth0.com', newTenant: 'new.example.auth0.com', connection: 'Users' },
    counts: { total: 100, imported: 72, already_migrated: 20, skipped: 5, failed: 3 },
    imported: { inserted: 72, updated: 0 },
    already_migrated: { user_id: 16, email: 4 },
    skipped: { not_database_user: 4, no_email: 1 },
    failed: { INVALID_FORMAT: 2, batch_failed: 1 },
    passwordResets: 72,
    batches: { total: 2, completed: 2, failed: 0 },
    auth0Jobs: [
      {
        batch: 'run-2024-05-01-a-0',
        jobId: 'job_aaaaaaaaaaaaaaaa',
        status: 'completed',
        summary: { inserted: 40, updated: 0, failed: 2, total: 42 },
      },
      {
        batch: 'run-2024-05-01-a-1',
        jobId: 'job_bbbbbbbbbbbbbbbb',
        status: 'completed',
        summary: { inserted: 32, updated: 0, failed: 0, total: 32 },
      },
    ],
    timings: {
      startedAt: '2024-05-01T10:00:00.000Z',
      finishedAt: '2024-05-01T10:12:30.000Z',
      phases: { export: 60_000, snapshot: 30_000, plan: 5_000, import: 650_000, report: 500 },
    },
    files: {
      imported: { name: 'imported.ndjson.gz', lines: 72 },
      alreadyMigrated: { name: 'already-migrated.ndjson.gz', lines: 20 },
      skipped: { name: 'skipped.ndjson', lines: 5 },
      failures: { name: 'failures.ndjson', lines: 3 },
      retry: { name: 'retry.ndjson', lines: 3 },
    },
    ...overrides,
  };
}

export const BCRYPT = '$2b$10$abcdefghijklmnopqrstuu9Jx4pQm1bK0mO1Xh3v5m7Kq1r2s3t4u';
