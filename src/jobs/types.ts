/**
 * What the queues carry (job data and results) and what a run keeps. Job data holds ids only:
 * user data lives in the run's store (store/), batch payloads in Redis while in flight (compressed
 * and, with `PAYLOAD_KEY`, encrypted), per-user outcomes in the run's folder.
 */
import type { ExportRecord } from '../pipeline/types.js';
import type {
  AlreadyMigratedLine,
  ConflictDetail,
  FailureLine,
  ImportedLine,
  SkippedLine,
} from '../report/types.js';

/** `relations`: the relations stage on its own (`auth0-migrate relations`). */
export type RunKind = 'import' | 'sweep' | 'relations';

/** A job of the `sweep` queue: start a sweep run (the scheduler's jobs, or `sweep --no-workers`). */
export interface SweepJobData {
  dryRun?: boolean;
  upsert?: boolean;
  /** Set by the CLI; scheduled sweeps get a time-based id. */
  runId?: string;
  /** `relations`: a relations run (RELATIONS_CRON) instead of a sweep. @defaultValue `sweep` */
  kind?: 'sweep' | 'relations';
  /** The relations stage's options; `false`: none (`--no-relations`). @defaultValue the defaults */
  relations?: RelationsRunOptions | false;
}

/** A job of the `export`, `snapshot`, `plan` or `report` queue: one per run, id `<runId>-<stage>`. */
export interface StageJobData {
  runId: string;
}

/** A job of the `import-batch` queue, id `<runId>-<batch>`. */
export interface ImportBatchJobData {
  runId: string;
  batch: number;
}

export type StageName = 'export' | 'snapshot' | 'plan' | 'import' | 'relations' | 'report';

/** `stopped`: stopped by its command (Ctrl-C); its jobs wait for a resume with `--run-id`. */
export type RunStatus = 'running' | 'stopped' | 'completed' | 'failed';

/**
 * The non-secret settings a run was started with that decide what it does; a worker configured
 * otherwise refuses the run's jobs (identity.ts).
 */
export interface RunIdentity {
  /** `OLD_AUTH0_DOMAIN` (sweeps). */
  oldTenant?: string;
  /** The connection the input's users belong to: `OLD_AUTH0_CONNECTION`, or for an import without an old tenant, `NEW_AUTH0_CONNECTION`. */
  sourceConnection?: string;
  /** `NEW_AUTH0_DOMAIN`. */
  newTenant?: string;
  /** `NEW_AUTH0_CONNECTION`. */
  connection?: string;
  /** `BATCH_BYTES`. */
  batchBytes?: number;
}

/** A run as kept in Redis (`<prefix>:run:<id>`). */
export interface RunMeta extends RunIdentity {
  runId: string;
  kind: RunKind;
  dryRun: boolean;
  upsert: boolean;
  status: RunStatus;
  /** The phase in progress: export, snapshot, plan, import, report, done. */
  phase: string;
  error?: string;
  createdAt: number;
  finishedAt?: number;
  /** The export file read by an `import` run (absolute path). */
  file?: string;
  /** Password hashes merged in (absolute path). */
  hashesFile?: string;
  /** MFA factors merged in (absolute path). */
  mfaFile?: string;
  /** `--mfa-reads`: each user's enrolments read from the old tenant when its export does not show them. */
  mfaReads?: boolean;
  /** Where the old tenant's export was saved (sweep). */
  exportFile?: string;
  /** Where the new tenant's snapshot was saved. */
  snapshotFile?: string;
  /** Users in the old tenant's export, when known (progress estimate). */
  exportUsers?: number;
  /** Users in the new tenant's snapshot. */
  snapshotUsers?: number;
  /** Records the plan stage has read so far. */
  planRead: number;
  /** Batches the plan stage has staged so far. */
  planEmitted: number;
  /** True once the plan stage has read its whole input; `planEmitted` is then the batch total. */
  planDone: boolean;
  /** Start and end (epoch ms) of each phase. */
  phases: Partial<Record<StageName, { start?: number; end?: number }>>;
  /** Where the report was written. */
  reportDir?: string;
  /** Why the report could not be written. */
  reportError?: string;
  /** When `discard` deleted the failed run's user data and work files (it cannot resume since). */
  discardedAt?: number;
  /** When its command stopped it (status `stopped`). */
  stoppedAt?: number;
  /** When `rollback --send` started undoing it (it can no longer be resumed since). */
  rollbackStartedAt?: number;
  /** When `rollback` ended with every user the run imported settled: the run is rolled back. */
  rolledBackAt?: number;
  /** Batch jobs revived after BullMQ failed them on its own (reconcile.ts). */
  revivedBatches?: number;
  /**
   * The relations stage's options (JSON of {@link RelationsRunOptions}), or `off` when the run has
   * none (`sweep --no-relations`, an import).
   */
  relations?: string;
}

/** What a run's relations stage was asked to do (`relations` and `sweep` flags). */
export interface RelationsRunOptions {
  updateRoles: boolean;
  directPermissions: boolean;
}

/** A sweep's relations when nothing else is said: roles and their users, no direct permissions. */
export const DEFAULT_RELATIONS: RelationsRunOptions = { updateRoles: false, directPermissions: false };

/** The relations options a run was started with; undefined when it has no relations stage. */
export function relationsOf(run: Pick<RunMeta, 'relations'>): RelationsRunOptions | undefined {
  if (run.relations === undefined || run.relations === 'off') return undefined;
  return JSON.parse(run.relations) as RelationsRunOptions;
}

export type BatchState = 'queued' | 'submitting' | 'submitted' | 'done' | 'failed';

/**
 * One batch: while in flight, as kept in Redis (`<prefix>:run:<id>:batch:<n>`); once ended, only
 * its state is kept (a bit), and its outcome is in the run's folder.
 */
export interface BatchRecord {
  state: BatchState;
  /** Users and bytes of a batch in flight (not kept once it ended). */
  users?: number;
  bytes?: number;
  /** The Auth0 import job, stored the moment it was created. */
  jobId?: string;
  submittedAt?: number;
  /**
   * Set when a submission's outcome was unknown (a lost answer) and the batch was sent again:
   * its users may come back as DUPLICATED_USER.
   */
  resubmitted?: number;
  /** Times the batch's job was revived after BullMQ failed it on its own (reconcile.ts). */
  revived?: number;
}

/** What the report needs of each user of a batch, kept beside the payload (never sent). */
export interface BatchUser {
  line: number;
  /** The old tenant's user id as exported (`auth0|…`), which the new tenant keeps. */
  userId?: string;
  email: string;
  /** The `user_id` as sent in the import file (prefix stripped), to match `/errors` entries. */
  sentId?: string;
  hasPassword: boolean;
  /** The old tenant shows the user enrolled in MFA. */
  mfaEnrolled?: true;
  /** MFA factors from the MFA file are in the payload. */
  mfaFactors?: true;
  /** Sent with `email_verified: false`: `resets --verify-email` offers these a verification email. */
  emailUnverified?: true;
  /** The username and phone number as sent: Auth0 refuses a user whose either belongs to another. */
  username?: string;
  phone?: string;
  /** The record as read, for retry.ndjson (never holds a password hash). */
  original: ExportRecord;
}

/**
 * What a read of the new tenant found about a user Auth0 refused as a duplicate
 * (`DUPLICATED_USER`, `CONFLICT*`): Auth0 gives those when any of email, user id, username or
 * phone matches, so only a user with the same id, or the same lower-cased email in the
 * connection, is this user.
 */
export type CollisionCheck =
  | { kind: 'same_user'; matchedBy: 'user_id' | 'email'; newUserId: string }
  | ({
      kind: 'other_user';
      /** The value of `attribute` that collided. */
      value?: string;
      /** The other user came earlier in the same import file (Auth0: "was already provided"). */
      inBatch?: boolean;
    } & ConflictDetail);

/** A staged batch: the exact import file and its users (store.ts keeps it compressed). */
export interface StagedBatch {
  /** The JSON array exactly as it is sent, as bytes. */
  payload: Buffer;
  users: BatchUser[];
}

/** Counts of one batch or one plan chunk; the run's counts are their sum. */
export interface OutcomeCounts {
  records: number;
  imported: number;
  inserted: number;
  updated: number;
  already_migrated: Record<string, number>;
  skipped: Record<string, number>;
  failed: Record<string, number>;
  passwordResets: number;
  /** Users enrolled in MFA in the old tenant who arrive in the new one without their factors. */
  mfaReenrolments: number;
}

/** The result of one batch, written once when it ends (`parts/batch-<n>.json.gz` in the run's folder). */
export interface BatchOutcome {
  batch: string;
  index: number;
  /** `completed`: the Auth0 job ran; `failed`: the batch could not be imported; `dry_run`: not sent. */
  status: 'completed' | 'failed' | 'dry_run';
  jobId?: string;
  auth0Status?: string;
  summary?: { inserted: number; updated: number; failed: number; total: number };
  counts: OutcomeCounts;
  /** One line per user of the batch in exactly one of imported, alreadyMigrated and failures. */
  imported: ImportedLine[];
  alreadyMigrated: AlreadyMigratedLine[];
  failures: FailureLine[];
  /** The failed users again, as read. */
  retry: ExportRecord[];
  notes?: string[];
  /** When the Auth0 job was submitted and when it was seen ended (epoch ms): its slot's hold. */
  submittedAt?: number;
  endedAt?: number;
}

/** What the plan stage found between two batches: its skipped and already-migrated users. */
export interface PlanChunk {
  index: number;
  counts: OutcomeCounts;
  skipped: SkippedLine[];
  alreadyMigrated: AlreadyMigratedLine[];
}

/** The progress of a run, read by `status`, the progress display and the metrics. */
export interface RunProgress {
  run: RunMeta;
  /** The relations stage's calls, once planned: in the plan, and counted (ended). */
  relations?: { calls: number; ended: number };
  counts: OutcomeCounts;
  batches: { staged: number; queued: number; running: number; done: number; failed: number };
}

export function emptyCounts(): OutcomeCounts {
  return {
    records: 0,
    imported: 0,
    inserted: 0,
    updated: 0,
    already_migrated: {},
    skipped: {},
    failed: {},
    passwordResets: 0,
    mfaReenrolments: 0,
  };
}

/** Adds `b` into `a` (mutates and returns `a`). */
export function addCounts(a: OutcomeCounts, b: OutcomeCounts): OutcomeCounts {
  a.records += b.records;
  a.imported += b.imported;
  a.inserted += b.inserted;
  a.updated += b.updated;
  a.passwordResets += b.passwordResets;
  a.mfaReenrolments += b.mfaReenrolments ?? 0;
  for (const key of ['already_migrated', 'skipped', 'failed'] as const) {
    for (const [k, v] of Object.entries(b[key])) a[key][k] = (a[key][k] ?? 0) + v;
  }
  return a;
}

export const sum = (r: Record<string, number>): number => Object.values(r).reduce((x, y) => x + y, 0);
