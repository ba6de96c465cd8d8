/**
 * Turns what Auth0 said about an import job, and what reads of the new tenant found about the
 * users it refused as duplicates, into one outcome per user of the batch: imported, already
 * migrated (confirmed by a read), or failed with its code. Pure: no Redis, no HTTP.
 */
import type { Auth0Job, JobErrors, JobUserError } from '../auth0/types.js';
import type { AlreadyMigratedLine, ConflictDetail, FailureLine } from '../report/types.js';
import {
  emptyCounts,
  type BatchOutcome,
  type BatchUser,
  type CollisionCheck,
  type OutcomeCounts,
} from './types.js';

/**
 * Auth0 per-user codes saying the user collided with one of the connection. Auth0 gives them when
 * any of email, user id, username or phone matches, so they are only a hint that the user is
 * already there: a read of the new tenant decides (collisions.ts).
 */
export function isCollision(code: string): boolean {
  return code === 'DUPLICATED_USER' || code.startsWith('CONFLICT');
}

/** Our code for a user refused as a duplicate whom the new tenant does not hold. */
export const CONFLICT_OTHER_USER = 'conflict_other_user';

/** Auth0's per-user code for factors it could not import (the user itself is created or updated). */
export const MFA_FACTORS_FAILED = 'MFA_FACTORS_FAILED';

/** The ids our codes use when a whole batch fails. */
export type BatchFailureCode = 'batch_failed' | 'job_failed' | 'job_expired' | (string & {});

type UserVerdict =
  | { kind: 'imported'; earlierJob?: true }
  | { kind: 'already_migrated'; matchedBy: 'user_id' | 'email'; newUserId?: string }
  | { kind: 'failed'; code: string; message: string; path?: string; conflict?: ConflictDetail };

/** Finds which of our users each `/errors` entry is about: by the user_id we sent, else by email. */
function matchErrors(users: BatchUser[], errors: JobUserError[]): Map<number, JobUserError['errors']> {
  const byId = new Map<string, number>();
  const byEmail = new Map<string, number>();
  users.forEach((u, i) => {
    if (u.sentId !== undefined) byId.set(u.sentId, i);
    const email = u.email.toLowerCase();
    if (!byEmail.has(email)) byEmail.set(email, i);
  });
  const found = new Map<number, JobUserError['errors']>();
  for (const entry of errors) {
    const rawId = entry.user.user_id;
    const id = typeof rawId === 'string' ? rawId.replace(/^auth0\|/, '') : undefined;
    const email = typeof entry.user.email === 'string' ? entry.user.email.toLowerCase() : undefined;
    const i =
      (id !== undefined ? byId.get(id) : undefined) ?? (email !== undefined ? byEmail.get(email) : undefined);
    if (i === undefined) continue;
    found.set(i, [...(found.get(i) ?? []), ...entry.errors]);
  }
  return found;
}

/**
 * The users of the batch that Auth0 refused as duplicates and nothing else, with what it said:
 * the users a read of the new tenant must settle before {@link classifyJob}.
 */
export function collisionsToCheck(
  users: BatchUser[],
  errors: JobErrors,
): Map<number, JobUserError['errors']> {
  const out = new Map<number, JobUserError['errors']>();
  if (errors.kind !== 'users') return out;
  for (const [i, errs] of matchErrors(users, errors.errors)) {
    if (errs.length > 0 && errs.every((e) => isCollision(e.code))) out.set(i, errs);
  }
  return out;
}

const ATTRIBUTE_LABEL: Record<NonNullable<ConflictDetail['attribute']>, string> = {
  user_id: 'user id',
  username: 'username',
  phone_number: 'phone number',
};

/** Says what collided and with whom, as far as Auth0 and the reads told. */
function conflictMessage(
  said: JobUserError['errors'][number],
  check: Extract<CollisionCheck, { kind: 'other_user' }> | undefined,
): string {
  const notThere = "the new tenant has no user with this user's id or email";
  const attribute = check?.attribute;
  if (attribute === undefined) {
    return `Auth0 answered ${said.code} ("${said.message}"), but ${notThere}: another user holds its username or phone number.`;
  }
  const what = `${ATTRIBUTE_LABEL[attribute]} ${check?.value ?? ''}`.trimEnd();
  if (attribute === 'user_id') {
    return `${what} belongs to a user of another connection of the new tenant (Auth0: ${said.code}).`;
  }
  const whose =
    check?.other_user_id === undefined
      ? 'another user of the new tenant (a search did not find which)'
      : check.inBatch === true
        ? `${check.other_user_id}, earlier in the same import file`
        : `${check.other_user_id}, another user of the new tenant`;
  return `${what} belongs to ${whose}; ${notThere} (Auth0: ${said.code}).`;
}

/**
 * The verdict on a user Auth0 refused only as a duplicate. In a batch sent again after a lost
 * answer, a user found under its own id is that earlier job's work (see batch-lifecycle.ts).
 */
function collisionVerdict(
  u: BatchUser,
  errors: JobUserError['errors'],
  check: CollisionCheck | undefined,
  sentAgain: boolean,
): UserVerdict {
  if (check?.kind === 'same_user') {
    if (check.matchedBy === 'user_id' && sentAgain && errors.every((e) => e.code === 'DUPLICATED_USER')) {
      return { kind: 'imported', earlierJob: true };
    }
    return { kind: 'already_migrated', matchedBy: check.matchedBy, newUserId: check.newUserId };
  }
  const conflict: ConflictDetail = {
    ...(check?.attribute !== undefined && { attribute: check.attribute }),
    ...(check?.other_user_id !== undefined && { other_user_id: check.other_user_id }),
  };
  return {
    kind: 'failed',
    code: CONFLICT_OTHER_USER,
    message: conflictMessage(errors[0]!, check),
    ...(Object.keys(conflict).length > 0 && { conflict }),
  };
}

function verdictFor(
  u: BatchUser,
  errors: JobUserError['errors'],
  check: CollisionCheck | undefined,
  sentAgain: boolean,
): UserVerdict {
  if (errors.length > 0 && errors.every((e) => isCollision(e.code))) {
    return collisionVerdict(u, errors, check, sentAgain);
  }
  const first = errors.find((e) => !isCollision(e.code)) ?? errors[0];
  if (first?.code === MFA_FACTORS_FAILED) {
    return {
      kind: 'failed',
      code: MFA_FACTORS_FAILED,
      message: `Auth0 could not import the user's MFA factors ("${first.message}"); the user's other fields may have been imported without them: correct the MFA file's line and import again with --upsert, or have the user re-enrol`,
      ...(first.path !== undefined && { path: first.path }),
    };
  }
  return {
    kind: 'failed',
    code: first?.code ?? 'UNKNOWN',
    message: first?.message ?? 'Auth0 reported an error without a code',
    ...(first?.path !== undefined && { path: first.path }),
  };
}

function build(
  batchId: string,
  index: number,
  users: BatchUser[],
  verdicts: UserVerdict[],
  base: Omit<
    BatchOutcome,
    'batch' | 'index' | 'counts' | 'imported' | 'alreadyMigrated' | 'failures' | 'retry'
  >,
): BatchOutcome {
  const counts: OutcomeCounts = { ...emptyCounts(), records: users.length };
  const outcome: BatchOutcome = {
    ...base,
    batch: batchId,
    index,
    counts,
    imported: [],
    alreadyMigrated: [],
    failures: [],
    retry: [],
  };
  users.forEach((u, i) => {
    const v = verdicts[i]!;
    const userId = u.userId ?? (u.sentId !== undefined ? `auth0|${u.sentId}` : undefined);
    // Enrolled in the old tenant, and no factors reached the new one with this user.
    const reenrol = u.mfaEnrolled === true && (v.kind !== 'imported' || u.mfaFactors !== true);
    if (v.kind === 'imported') {
      counts.imported++;
      if (!u.hasPassword) counts.passwordResets++;
      if (reenrol) counts.mfaReenrolments++;
      outcome.imported.push({
        user_id: userId ?? '',
        email: u.email,
        line: u.line,
        batch: batchId,
        ...(base.jobId !== undefined && { job_id: base.jobId }),
        password_reset: !u.hasPassword,
        ...(reenrol && { mfa_reenrolment: true as const }),
        ...(u.emailUnverified === true && { email_verified: false as const }),
        ...(v.earlierJob === true && { earlier_job: true }),
        // A linked account is imported as its database identity, under that identity's id.
        ...(u.sentId !== undefined && `auth0|${u.sentId}` !== userId && { new_user_id: `auth0|${u.sentId}` }),
      });
    } else if (v.kind === 'already_migrated') {
      counts.already_migrated[v.matchedBy] = (counts.already_migrated[v.matchedBy] ?? 0) + 1;
      const line: AlreadyMigratedLine = {
        ...(userId !== undefined && { user_id: userId }),
        email: u.email,
        line: u.line,
        matched_by: v.matchedBy,
        found_by: 'import',
        batch: batchId,
        ...(v.newUserId !== undefined && v.newUserId !== userId && { new_user_id: v.newUserId }),
        ...(reenrol && { mfa_reenrolment: true as const }),
      };
      if (reenrol) counts.mfaReenrolments++;
      outcome.alreadyMigrated.push(line);
    } else {
      counts.failed[v.code] = (counts.failed[v.code] ?? 0) + 1;
      const line: FailureLine = {
        ...(userId !== undefined && { user_id: userId }),
        email: u.email,
        line: u.line,
        batch: batchId,
        code: v.code,
        message: v.message,
        ...(v.path !== undefined && { path: v.path }),
        ...(v.conflict !== undefined && { conflict: v.conflict }),
      };
      // Auth0 applies the user's other fields despite MFA_FACTORS_FAILED: it may be there without factors.
      if (v.code === MFA_FACTORS_FAILED && (u.mfaEnrolled === true || u.mfaFactors === true)) {
        line.mfa_reenrolment = true;
        counts.mfaReenrolments++;
      }
      outcome.failures.push(line);
      outcome.retry.push(u.original);
    }
  });
  return outcome;
}

export interface ClassifyOptions {
  /**
   * What reads of the new tenant found about the users {@link collisionsToCheck} named. A user
   * refused as a duplicate without a check here is not confirmed, so it failed.
   * @defaultValue no checks
   */
  checks?: ReadonlyMap<number, CollisionCheck>;
  /**
   * The batch was submitted again after the answer to an earlier submission was lost.
   * @defaultValue false
   */
  sentAgain?: boolean;
}

/**
 * The outcome of a batch whose Auth0 job ended (`completed`, `failed` or `expired`), given what
 * `/errors` answered and what the reads of the new tenant found.
 */
export function classifyJob(
  batchId: string,
  index: number,
  users: BatchUser[],
  job: Auth0Job,
  errors: JobErrors,
  options: ClassifyOptions = {},
): BatchOutcome {
  const perUser = errors.kind === 'users' ? matchErrors(users, errors.errors) : new Map();
  const sentAgain = options.sentAgain === true;
  const notes: string[] = [];
  let whole: UserVerdict;
  if (job.status === 'completed') {
    whole = { kind: 'imported' };
  } else {
    const detail =
      errors.kind === 'job' && typeof errors.job.status_details === 'string'
        ? errors.job.status_details
        : typeof job.status_details === 'string'
          ? job.status_details
          : `the Auth0 import job ended "${job.status}" without details`;
    whole = {
      kind: 'failed',
      code: job.status === 'expired' ? 'job_expired' : 'job_failed',
      message: detail,
    };
  }
  const verdicts = users.map((u, i) => {
    const errs = perUser.get(i);
    return errs !== undefined && errs.length > 0
      ? verdictFor(u, errs, options.checks?.get(i), sentAgain)
      : whole;
  });
  const outcome = build(batchId, index, users, verdicts, {
    status: job.status === 'completed' ? 'completed' : 'failed',
    jobId: job.id,
    auth0Status: job.status,
    ...(job.summary && { summary: job.summary }),
  });
  if (errors.kind === 'users') {
    const matched = [...perUser.values()].length;
    if (matched < errors.errors.length) {
      notes.push(`${errors.errors.length - matched} /errors entries matched no user of the batch`);
    }
  }
  const byEarlierJob = outcome.imported.filter((l) => l.earlier_job === true).length;
  if (sentAgain) {
    notes.push(
      `sent again after a lost answer: ${byEarlierJob} users answered DUPLICATED_USER were found under their own id, imported by the earlier job`,
    );
  }
  const s = job.summary;
  if (job.status === 'completed' && s !== undefined) {
    const reportedFailed = s.failed;
    const ours = users.length - outcome.counts.imported + byEarlierJob;
    if (reportedFailed !== ours) {
      notes.push(`Auth0 counted ${reportedFailed} failed users, /errors named ${ours}`);
    }
    // Auth0's own split of this job's users; users the earlier job created count as inserted.
    if (s.inserted + s.updated + byEarlierJob === outcome.counts.imported) {
      outcome.counts.inserted = s.inserted + byEarlierJob;
      outcome.counts.updated = s.updated;
    } else {
      outcome.counts.inserted = outcome.counts.imported;
    }
  } else {
    outcome.counts.inserted = outcome.counts.imported;
  }
  if (notes.length > 0) outcome.notes = notes;
  return outcome;
}

/** Every user of the batch failed with `code` (the batch could not be imported). */
export function failBatch(
  batchId: string,
  index: number,
  users: BatchUser[],
  code: BatchFailureCode,
  message: string,
  jobId?: string,
): BatchOutcome {
  return build(
    batchId,
    index,
    users,
    users.map(() => ({ kind: 'failed', code, message })),
    { status: 'failed', ...(jobId !== undefined && { jobId, auth0Status: 'failed' }) },
  );
}

/** `--dry-run`: every user of the batch would be imported. */
export function dryRunBatch(batchId: string, index: number, users: BatchUser[]): BatchOutcome {
  const outcome = build(
    batchId,
    index,
    users,
    users.map(() => ({ kind: 'imported' })),
    { status: 'dry_run' },
  );
  outcome.counts.inserted = outcome.counts.imported;
  return outcome;
}
