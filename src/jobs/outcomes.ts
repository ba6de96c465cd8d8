/**
 * Turns what Auth0 said about an import job into one outcome per user of the batch: imported,
 * already migrated (DUPLICATED_USER, CONFLICT*), or failed with its code. Pure: no Redis, no HTTP.
 */
import type { Auth0Job, JobErrors, JobUserError } from '../auth0/types.js';
import type { FailureLine } from '../report/types.js';
import { emptyCounts, type BatchOutcome, type BatchUser, type OutcomeCounts } from './types.js';

/** Auth0 per-user codes meaning "this user is already in the new tenant". */
export function isAlreadyThere(code: string): boolean {
  return code === 'DUPLICATED_USER' || code.startsWith('CONFLICT');
}

/** The ids our codes use when a whole batch fails. */
export type BatchFailureCode = 'batch_failed' | 'job_failed' | 'job_expired' | (string & {});

interface UserVerdict {
  kind: 'imported' | 'already_migrated' | 'failed';
  code?: string;
  message?: string;
  path?: string;
}

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

function verdictFor(errors: JobUserError['errors']): UserVerdict {
  const codes = errors.map((e) => e.code);
  if (codes.length > 0 && codes.every(isAlreadyThere)) return { kind: 'already_migrated', code: codes[0]! };
  const first = errors.find((e) => !isAlreadyThere(e.code)) ?? errors[0];
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
  base: Omit<BatchOutcome, 'batch' | 'index' | 'counts' | 'failures' | 'retry' | 'resets'>,
): BatchOutcome {
  const counts: OutcomeCounts = { ...emptyCounts(), records: users.length };
  const outcome: BatchOutcome = {
    ...base,
    batch: batchId,
    index,
    counts,
    failures: [],
    retry: [],
    resets: [],
  };
  users.forEach((u, i) => {
    const v = verdicts[i]!;
    if (v.kind === 'imported') {
      counts.imported++;
      if (!u.hasPassword) {
        counts.passwordResets++;
        outcome.resets.push({ user_id: u.userId ?? `auth0|${u.sentId ?? ''}`, email: u.email });
      }
    } else if (v.kind === 'already_migrated') {
      counts.already_migrated[v.code!] = (counts.already_migrated[v.code!] ?? 0) + 1;
    } else {
      counts.failed[v.code!] = (counts.failed[v.code!] ?? 0) + 1;
      const line: FailureLine = {
        ...(u.userId !== undefined && { user_id: u.userId }),
        email: u.email,
        line: u.line,
        batch: batchId,
        code: v.code!,
        message: v.message ?? '',
        ...(v.path !== undefined && { path: v.path }),
      };
      outcome.failures.push(line);
      outcome.retry.push(u.original);
    }
  });
  return outcome;
}

/**
 * The outcome of a batch whose Auth0 job ended (`completed`, `failed` or `expired`), given what
 * `/errors` answered.
 */
export function classifyJob(
  batchId: string,
  index: number,
  users: BatchUser[],
  job: Auth0Job,
  errors: JobErrors,
): BatchOutcome {
  const perUser = errors.kind === 'users' ? matchErrors(users, errors.errors) : new Map();
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
  const verdicts = users.map((_, i) => {
    const errs = perUser.get(i);
    return errs !== undefined && errs.length > 0 ? verdictFor(errs) : whole;
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
  const s = job.summary;
  if (job.status === 'completed' && s !== undefined) {
    const reportedFailed = s.failed;
    const ours = users.length - outcome.counts.imported;
    if (reportedFailed !== ours) {
      notes.push(`Auth0 counted ${reportedFailed} failed users, /errors named ${ours}`);
    }
    // Auth0's own split of imported users; when it disagrees with ours, ours (per user) wins.
    if (s.inserted + s.updated === outcome.counts.imported) {
      outcome.counts.inserted = s.inserted;
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
