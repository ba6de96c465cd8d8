/**
 * The run summary (`<REPORTS_DIR>/<runId>/summary.json`). Its counts always satisfy
 * `total = imported + already_migrated + skipped + failed`; each of the last three is split by
 * reason or Auth0 error code, and each split adds up to its count.
 */
export interface RunSummary {
  runId: string;
  kind: 'import' | 'sweep';
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
  /** By how the user was found in the new tenant: `user_id`, `email`, or an Auth0 code such as `DUPLICATED_USER`. */
  already_migrated: Record<string, number>;
  /** By {@link import('../pipeline/types.js').SkipReason}. */
  skipped: Record<string, number>;
  /** By Auth0 error code (`INVALID_FORMAT`, …) or our own (`batch_failed`, `job_failed`, `job_expired`). */
  failed: Record<string, number>;
  /** Users imported without a password hash: they must reset their password. */
  passwordResets: number;
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
  /**
   * Accounting problems {@link import('./write.js').checkSummary} found when the report was written;
   * absent when there were none. The rendered report shows them first.
   */
  problems?: string[];
  /** Where each per-user file is, relative to the run's folder. */
  files: {
    failures: string;
    skipped: string;
    retry: string;
    passwordReset: string;
  };
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
}

/** One line of skipped.ndjson. */
export interface SkippedLine {
  user_id?: string;
  email?: string;
  line?: number;
  reason: string;
  detail: string;
}

/** One line of password-reset.ndjson. */
export interface PasswordResetLine {
  user_id: string;
  email: string;
}

/**
 * One line of resets.ndjson (the `resets` command's own report; ticket links are sensitive):
 * a ticket created, Auth0's change-password email sent, or an error.
 */
export type ResetResultLine =
  | { user_id: string; email: string; status: 'created'; ticket: string; at: string }
  | { user_id: string; email: string; status: 'emailed'; at: string }
  | { user_id: string; email: string; status: 'error'; code: string; message: string; at: string };

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
}
