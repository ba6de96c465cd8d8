import type { Finding, RelationsCounts } from '../relations/types.js';

/**
 * The run summary (`<REPORTS_DIR>/<runId>/summary.json`). Its counts always satisfy
 * `total = imported + already_migrated + skipped + failed`; each of the last three is split by
 * reason or Auth0 error code, and each split adds up to its count.
 */
export interface RunSummary {
  runId: string;
  kind: 'import' | 'sweep' | 'relations';
  dryRun: boolean;
  upsert: boolean;
  /** `completed`: every user accounted for; `failed`: the run could not finish (see `error`). */
  status: 'running' | 'completed' | 'failed';
  error?: string;
  input: {
    /** The export file the run read, when there was one. */
    file?: string;
    /** The password-hash file merged in, when there was one. */
    hashesFile?: string;
    /** `sweep --members-of`: the old tenant's organizations whose members alone were imported. */
    membersOf?: string[];
    /** The MFA secrets file merged in, when there was one. */
    mfaFile?: string;
    oldTenant?: string;
    newTenant?: string;
    connection?: string;
  };
  counts: {
    total: number;
    imported: number;
    already_migrated: number;
    skipped: number;
    failed: number;
  };
  /** imported split as Auth0 reported it. */
  imported: { inserted: number; updated: number };
  /**
   * By how the new tenant's user was matched: `user_id` (the same id) or `email` (the same
   * lower-cased email in the connection), whether the snapshot found it or a read after an import
   * answer did (already-migrated.ndjson.gz says which, user by user).
   */
  already_migrated: Record<string, number>;
  /** By {@link import('../pipeline/types.js').SkipReason}. */
  skipped: Record<string, number>;
  /**
   * By Auth0 error code (`INVALID_FORMAT`, …) or our own (`batch_failed`, `job_failed`,
   * `job_expired`, `conflict_other_user`).
   */
  failed: Record<string, number>;
  /**
   * Users imported without a password hash: they must reset their password (the lines of the
   * imported file with `password_reset: true`).
   */
  passwordResets: number;
  /**
   * Users enrolled in MFA in the old tenant who arrive in the new one without their factors: they
   * must re-enrol (the lines of mfa-reenrolment.ndjson). Absent in reports written before it existed.
   */
  mfaReenrolments?: number;
  batches: { total: number; completed: number; failed: number };
  /** Auth0 import jobs the new tenant runs at once (`IMPORT_CONCURRENCY`): the lanes of the picture. */
  importSlots?: number;
  auth0Jobs: Array<{
    batch: string;
    jobId: string;
    status: string;
    summary?: { inserted: number; updated: number; failed: number; total: number };
    /** Users in the batch. */
    users?: number;
    /** ISO times the job held its import slot: from its submission to its end. */
    submittedAt?: string;
    endedAt?: string;
  }>;
  timings: {
    startedAt: string;
    finishedAt?: string;
    /**
     * Milliseconds spent per phase: export, snapshot, plan, import, report. Phases overlap:
     * export and snapshot run together, and the import starts while the plan reads on.
     */
    phases: Record<string, number>;
    /** When each phase started and ended (ISO), for the picture and to show the overlaps. */
    spans?: Record<string, { start: string; end: string }>;
  };
  /** The relations stage (roles, permissions, …), when the run had one. */
  relations?: RelationsSection;
  /**
   * Accounting problems {@link import('./write.js').checkSummary} found when the report was written;
   * absent when there were none. The rendered report shows them first.
   */
  problems?: string[];
  /**
   * The per-user files, relative to the run's folder, with the lines written to each. Every input
   * user is on exactly one line of imported, alreadyMigrated, skipped or failures; retry holds the
   * failed users again, in export format.
   */
  files: Record<PerUserFile, ReportFile>;
}

/**
 * The relations section of a summary. Per kind, `total = added + already_present + pending_user +
 * failed`, failures by code. In a dry run `added` is what would be added.
 */
export interface RelationsSection {
  dryRun: boolean;
  counts: RelationsCounts;
  /** API calls the plan holds (sent, unless a dry run). */
  calls: number;
  /** List pages read from each tenant (one request each, retries aside). */
  reads: { old: number; new: number };
  /** Catalog differences, missing APIs and what waits on them, limit breaches. */
  findings: { total: number; byType: Record<string, number>; listed: Finding[] };
  /** Relations waiting for their user (lines of the pending file). */
  pending: number;
  /** Organizations this run created (in a dry run: would create), the first ones named. */
  organizationsCreated?: { total: number; names: string[] };
  /** The stage's files in the run's folder. */
  files: { plan: string; added: string; failures: string; pending: string; findings: string };
}

/** The per-user files of a report. */
export type PerUserFile = 'imported' | 'alreadyMigrated' | 'skipped' | 'failures' | 'retry';

export interface ReportFile {
  /** The file's name in the run's folder. */
  name: string;
  /** Lines (users) it holds. */
  lines: number;
}

/** One line of imported.ndjson.gz. */
export interface ImportedLine {
  user_id: string;
  email: string;
  /** The user's line in the input. */
  line: number;
  batch: string;
  /** The Auth0 import job that reported the user imported; absent in a dry run. */
  job_id?: string;
  /** Imported without a password hash: the user must set a new password (`resets` reads this). */
  password_reset: boolean;
  /** Imported with `email_verified: false` (absent when verified): `resets --verify-email` reads this. */
  email_verified?: false;
  /**
   * The batch was sent again after the answer to its first submission was lost: that first job
   * (whose id Auth0 never told) created the user, found since under its id.
   */
  earlier_job?: true;
  /** Enrolled in MFA in the old tenant, imported without factors: must re-enrol. */
  mfa_reenrolment?: true;
  /**
   * The new tenant's id of the user when it is not `user_id`: a linked account is imported as its
   * database identity, under that identity's id.
   */
  new_user_id?: string;
}

/** One line of already-migrated.ndjson.gz. */
export interface AlreadyMigratedLine {
  user_id?: string;
  email?: string;
  /** The user's line in the input. */
  line: number;
  /** The new tenant holds a user with the same id, or the same lower-cased email in the connection. */
  matched_by: 'user_id' | 'email';
  /**
   * `snapshot`: the export of the new tenant the plan read; `import`: a read of the new tenant
   * after Auth0 refused the user as a duplicate.
   */
  found_by: 'snapshot' | 'import';
  /** The batch that sent the user (found by `import`). */
  batch?: string;
  /** The id of the new tenant's user with that email, when the read told it. */
  new_user_id?: string;
  /** Enrolled in MFA in the old tenant, not in the new one: must re-enrol. */
  mfa_reenrolment?: true;
}

/** What a user collided with in the new tenant (failures with code `conflict_other_user`). */
export interface ConflictDetail {
  /** The attribute another user of the connection holds, when known. */
  attribute?: 'user_id' | 'username' | 'phone_number';
  /** That user's id, when a read of the new tenant (or the batch itself) told it. */
  other_user_id?: string;
}

/** One line of failures.ndjson. */
export interface FailureLine {
  user_id?: string;
  email?: string;
  line?: number;
  batch?: string;
  code: string;
  message: string;
  path?: string;
  conflict?: ConflictDetail;
  /** MFA_FACTORS_FAILED: the user is in the new tenant without the factors it had: must re-enrol. */
  mfa_reenrolment?: true;
}

/** One line of skipped.ndjson. */
export interface SkippedLine {
  user_id?: string;
  email?: string;
  line?: number;
  reason: string;
  detail: string;
}

/** A user who must set a new password (the `resets` command's input). */
export interface PasswordResetLine {
  user_id: string;
  email: string;
  /**
   * The id the new tenant holds the user under, when it is not `user_id` (a user whose primary
   * identity was social is imported as its database identity): tickets and emails go to this id.
   */
  new_user_id?: string;
}

/**
 * One line of resets.ndjson (the `resets` command's own report; ticket links are sensitive):
 * a ticket created, Auth0's change-password email sent, or an error.
 */
export type ResetResultLine = PasswordResetLine &
  (
    | { status: 'created'; ticket: string; at: string }
    | { status: 'emailed'; at: string }
    | { status: 'error'; code: string; message: string; at: string }
  );

/** One line of verify-email.ndjson: a verification email job created, or an error. */
export type VerifyEmailResultLine = PasswordResetLine &
  (
    | { status: 'sent'; job_id: string; at: string }
    | { status: 'error'; code: string; message: string; at: string }
  );

/** What a running import, sweep or export reports to the progress display and the metrics. */
export interface ProgressSnapshot {
  runId: string;
  /** `export`, `snapshot`, `plan`, `import`, `report`, or `done`. */
  phase: string;
  /** Input records read so far. */
  usersRead: number;
  batches: { queued: number; running: number; done: number; failed: number };
  counts: { imported: number; already_migrated: number; skipped: number; failed: number };
  /** Users expected in all, when known (the export's size); enables the time estimate. */
  total?: number;
  /** ISO time or epoch milliseconds when the run started. */
  startedAt: string | number;
  /** The relations stage's calls, once planned: in the plan, and ended. */
  relations?: { calls: number; ended: number };
}
