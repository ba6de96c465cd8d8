/**
 * Password resets for the users a run imported without a password hash (the lines of
 * imported.ndjson.gz with `password_reset: true`, the one list of them), on the new tenant: password-change tickets (links to hand to the users), or Auth0's own
 * change-password email to each user. The results go to resets.ndjson (0600: a ticket is a link
 * that sets the user's password), one line per attempt, appended as they come, which is also
 * what makes a second run skip the users already done (by either method).
 *
 * Verification emails likewise for the users a run imported with `email_verified: false` (an
 * unverified address blocks many login flows after a move): Auth0's verification-email job per
 * user, results in verify-email.ndjson, a plan file in a dry run.
 */
import { constants, existsSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { isAuth0Error } from '../auth0/errors.js';
import type { TenantClient } from '../auth0/types.js';
import { coerceError } from '../errors.js';
import { FILE_MODE, REPORT_FILES, openPrivateAppend, readNdjson, refuseSymlink } from './files.js';
import type { ImportedLine, PasswordResetLine, ResetResultLine, VerifyEmailResultLine } from './types.js';

export interface ResetsOptions {
  /** The run's report folder. */
  dir: string;
  /** `ticket`: a password-change ticket per user; `email`: Auth0 emails each user. @defaultValue ticket */
  method?: 'ticket' | 'email';
  /** The new tenant's database connection (needed by `email`). */
  connection?: string;
  /** Ticket lifetime in seconds (Auth0: 0 or unset means 5 days). */
  ttlSec?: number;
  resultUrl?: string;
  clientId?: string;
  /** Tickets requested at once; the client waits out 429s. @defaultValue 4 */
  concurrency?: number;
  /** Called after each user (for progress output); never given the ticket. */
  onResult?: (
    result: { user_id: string; status: 'created' | 'emailed' | 'error'; code?: string },
    done: number,
  ) => void;
}

export interface ResetsPlan {
  /** Users imported without a password hash (deduplicated by user id). */
  users: PasswordResetLine[];
  /** Of those, users that already have a ticket or an email from an earlier run of this command. */
  alreadyDone: Set<string>;
  /** Users still to do. */
  todo: PasswordResetLine[];
}

export interface ResetsResult {
  /** Tickets created. */
  created: number;
  /** Change-password emails Auth0 accepted to send. */
  emailed: number;
  errors: Record<string, number>;
  skipped: number;
  /** Set when the run stopped early on an error that would hit every user (credentials, scope, outage). */
  stoppedBy?: Error;
  file: string;
}

/** Errors about one user: recorded and the next user tried. Anything else stops the run. */
const USER_ERRORS = new Set(['not_found', 'bad_request', 'already_exists']);

/** Reports written before imported.ndjson.gz listed the users to reset in this file. */
const EARLIER_RESET_LIST = 'password-reset.ndjson';

/** The file listing a run's users to reset, or undefined when its report has none. */
export function resetSource(dir: string): string | undefined {
  return [REPORT_FILES.imported, EARLIER_RESET_LIST].map((f) => join(dir, f)).find((p) => existsSync(p));
}

/** The id the new tenant holds the user under (a user whose primary was social: its database identity). */
export function newTenantId(user: PasswordResetLine): string {
  return user.new_user_id ?? user.user_id;
}

function resetUser(line: Partial<ImportedLine>, userId: string, email: string): PasswordResetLine {
  return {
    user_id: userId,
    email,
    ...(typeof line.new_user_id === 'string' &&
      line.new_user_id !== userId && { new_user_id: line.new_user_id }),
  };
}

/**
 * Reads the imported users flagged for a password reset, and resets.ndjson: who needs a ticket
 * and who already has one.
 */
export async function planResets(dir: string): Promise<ResetsPlan> {
  const source = resetSource(dir) ?? join(dir, REPORT_FILES.imported);
  const users = new Map<string, PasswordResetLine>();
  for await (const line of readNdjson<Partial<ImportedLine>>(source)) {
    // Lines of the earlier list carry no flag: every one of them needs a reset.
    if (line.password_reset === false || typeof line.user_id !== 'string') continue;
    if (!users.has(line.user_id)) users.set(line.user_id, resetUser(line, line.user_id, line.email ?? ''));
  }
  const alreadyDone = new Set<string>();
  const progress = join(dir, REPORT_FILES.resets);
  if (existsSync(progress)) {
    for await (const line of readNdjson<ResetResultLine>(progress)) {
      if (line.status === 'created' || line.status === 'emailed') alreadyDone.add(line.user_id);
    }
  }
  const all = [...users.values()];
  return { users: all, alreadyDone, todo: all.filter((u) => !alreadyDone.has(u.user_id)) };
}

/** Creates the tickets still to do, appending each result to resets.ndjson as it comes. */
export async function sendResets(
  client: TenantClient,
  plan: ResetsPlan,
  options: ResetsOptions,
): Promise<ResetsResult> {
  const method = options.method ?? 'ticket';
  if (method === 'email' && options.connection === undefined) {
    throw new Error('sendResets: the email method needs the connection');
  }
  const file = join(options.dir, REPORT_FILES.resets);
  const result: ResetsResult = { created: 0, emailed: 0, errors: {}, skipped: plan.alreadyDone.size, file };
  const ended = await sendEach<ResetResultLine>(
    options.dir,
    file,
    plan.todo,
    options.concurrency,
    async (user) => {
      if (method === 'email') {
        await client.sendPasswordChangeEmail({
          email: user.email,
          connection: options.connection!,
          ...(options.clientId !== undefined && { clientId: options.clientId }),
        });
        result.emailed++;
        return { ...user, status: 'emailed', at: new Date().toISOString() };
      }
      const { ticket } = await client.createPasswordChangeTicket({
        userId: newTenantId(user),
        ...(options.ttlSec !== undefined && { ttlSec: options.ttlSec }),
        ...(options.resultUrl !== undefined && { resultUrl: options.resultUrl }),
        ...(options.clientId !== undefined && { clientId: options.clientId }),
      });
      result.created++;
      return { ...user, status: 'created', ticket, at: new Date().toISOString() };
    },
    (line, done) =>
      options.onResult?.(
        { user_id: line.user_id, status: line.status, ...(line.status === 'error' && { code: line.code }) },
        done,
      ),
  );
  result.errors = ended.errors;
  if (ended.stoppedBy !== undefined) result.stoppedBy = ended.stoppedBy;
  return result;
}

type ErrorLine = Extract<ResetResultLine, { status: 'error' }>;

/**
 * Calls `attempt` for each user, `concurrency` at a time, appending each result to `file` (0600,
 * never through a link) as it comes. An Auth0 error about one user is written as an error line and
 * the next user tried; any other error (credentials, scope, outage) stops the run, the lines so
 * far kept.
 */
async function sendEach<L extends { user_id: string; status: string }>(
  dir: string,
  file: string,
  todo: PasswordResetLine[],
  concurrency: number | undefined,
  attempt: (user: PasswordResetLine) => Promise<L>,
  onLine: (line: L | ErrorLine, done: number) => void,
): Promise<{ errors: Record<string, number>; stoppedBy?: Error }> {
  await refuseSymlink(dir);
  const out = await openPrivateAppend(file);
  const errors: Record<string, number> = {};
  let next = 0;
  let done = 0;
  let stop: Error | undefined;
  const worker = async (): Promise<void> => {
    while (stop === undefined && next < todo.length) {
      const user = todo[next++]!;
      let line: L | ErrorLine;
      try {
        line = await attempt(user);
      } catch (thrown) {
        const err = coerceError(thrown);
        if (!isAuth0Error(err) || !USER_ERRORS.has(err.code)) {
          stop ??= err;
          return;
        }
        line = {
          ...user,
          status: 'error',
          code: err.code,
          message: err.message,
          at: new Date().toISOString(),
        };
        errors[err.code] = (errors[err.code] ?? 0) + 1;
      }
      await out.write(`${JSON.stringify(line)}\n`);
      done++;
      onLine(line, done);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, concurrency ?? 4) }, worker));
  } finally {
    await out.sync();
    await out.close();
  }
  return { errors, ...(stop !== undefined && { stoppedBy: stop }) };
}

export interface VerifyEmailPlan {
  /** Users imported with `email_verified: false` and an email (deduplicated by user id). */
  users: PasswordResetLine[];
  /** Of those, users an earlier run of this command already sent a verification email. */
  alreadyDone: Set<string>;
  todo: PasswordResetLine[];
}

export interface VerifyEmailResult {
  /** Verification email jobs Auth0 accepted. */
  sent: number;
  errors: Record<string, number>;
  skipped: number;
  stoppedBy?: Error;
  file: string;
}

/** Reads the users a run imported unverified, and verify-email.ndjson: who still needs an email. */
export async function planVerifyEmails(dir: string): Promise<VerifyEmailPlan> {
  const users = new Map<string, PasswordResetLine>();
  for await (const line of readNdjson<Partial<ImportedLine>>(join(dir, REPORT_FILES.imported))) {
    if (line.email_verified !== false || typeof line.user_id !== 'string') continue;
    if (typeof line.email !== 'string' || line.email === '') continue;
    if (!users.has(line.user_id)) users.set(line.user_id, resetUser(line, line.user_id, line.email));
  }
  const alreadyDone = new Set<string>();
  const progress = join(dir, REPORT_FILES.verifyEmail);
  if (existsSync(progress)) {
    for await (const line of readNdjson<VerifyEmailResultLine>(progress)) {
      if (line.status === 'sent') alreadyDone.add(line.user_id);
    }
  }
  const all = [...users.values()];
  return { users: all, alreadyDone, todo: all.filter((u) => !alreadyDone.has(u.user_id)) };
}

/** The dry run's plan file: one line per user still to get a verification email (0600). */
export async function writeVerifyEmailPlan(dir: string, plan: VerifyEmailPlan): Promise<string> {
  const file = join(dir, REPORT_FILES.verifyEmailPlan);
  await refuseSymlink(dir);
  let fh: FileHandle;
  try {
    fh = await open(
      file,
      constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
      FILE_MODE,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') await refuseSymlink(file);
    throw err;
  }
  try {
    await fh.chmod(FILE_MODE);
    await fh.writeFile(plan.todo.map((u) => `${JSON.stringify(u)}\n`).join(''));
  } finally {
    await fh.close();
  }
  return file;
}

/** Creates a verification email job per user still to do, appending each result to verify-email.ndjson. */
export async function sendVerifyEmails(
  client: TenantClient,
  plan: VerifyEmailPlan,
  options: Pick<ResetsOptions, 'dir' | 'clientId' | 'concurrency'> & {
    onResult?: (result: { user_id: string; status: 'sent' | 'error'; code?: string }, done: number) => void;
  },
): Promise<VerifyEmailResult> {
  const file = join(options.dir, REPORT_FILES.verifyEmail);
  const result: VerifyEmailResult = { sent: 0, errors: {}, skipped: plan.alreadyDone.size, file };
  const ended = await sendEach<VerifyEmailResultLine>(
    options.dir,
    file,
    plan.todo,
    options.concurrency,
    async (user) => {
      const job = await client.sendVerificationEmail({
        userId: newTenantId(user),
        ...(options.clientId !== undefined && { clientId: options.clientId }),
      });
      result.sent++;
      return { ...user, status: 'sent', job_id: job.id, at: new Date().toISOString() };
    },
    (line, done) =>
      options.onResult?.(
        { user_id: line.user_id, status: line.status, ...(line.status === 'error' && { code: line.code }) },
        done,
      ),
  );
  result.errors = ended.errors;
  if (ended.stoppedBy !== undefined) result.stoppedBy = ended.stoppedBy;
  return result;
}
