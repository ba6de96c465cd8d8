/**
 * Undoing a run: the users its import jobs inserted (imported.ndjson.gz: per batch, the users sent
 * minus those Auth0 reported as failed or as already there) are read back from the new tenant and
 * deleted, unless what the read shows says the user is no longer only the run's:
 *
 * - gone already → `already_gone`;
 * - created before the run started (or, with `--upsert`, before its import job was sent) → not
 *   created by the run (`kept_changed`: `existed_before_run`, or `updated_by_upsert`, whose
 *   updates deleting would not undo); created after the run ended → created again since
 *   (`recreated_after_run`);
 * - logged in since (`last_login`, `logins_count`) → `kept_active`, unless `includeActive`;
 * - `updated_at` after the run's end (other than by a login) → `kept_changed`;
 * - otherwise deleted.
 *
 * `--send` is resumable: each step is appended to rollback-journal.ndjson, `deleting` before the
 * DELETE goes out, so a process killed between the two finds the user gone on the next `--send`
 * and counts it `deleted` (once), and users with an outcome are not read again.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isAuth0Error } from '../auth0/errors.js';
import type { RateGate, TenantClient } from '../auth0/types.js';
import { ToolError, coerceError } from '../errors.js';
import { REPORT_FILES, openPrivateAppend, readNdjson, refuseSymlink } from '../report/files.js';
import {
  ROLLBACK_FILES,
  readJournal,
  type RollbackFinalLine,
  type RollbackKeepReason,
  type RollbackPlanLine,
} from '../report/rollback.js';
import type { ImportedLine, RunSummary } from '../report/types.js';

/** A user the run inserted, and the earliest its new-tenant user can have been created by the run. */
export interface RollbackUser {
  /** As the run's report names it (the journal's key). */
  user_id: string;
  /**
   * The user's id in the new tenant, when known: `user_id`, or the database identity's id a
   * linked account was imported under. Unknown (a report written before it said so) means
   * looking the user up by email.
   */
  newId?: string;
  email?: string;
  /** Epoch ms: a new-tenant user created before this was not created by the run. */
  notBefore: number;
  /** In a run with `--upsert`, the user's batch job updated users: this one may be one of them. */
  mayBeUpdated?: boolean;
}

/** What the run's report says about it, as far as the rollback needs. */
export interface RollbackRun {
  runId: string;
  dir: string;
  upsert: boolean;
  /** Epoch ms: the run's end (the report's `finishedAt`). */
  endedAt: number;
  /** The new tenant's connection the run imported into. */
  connection?: string;
  users: RollbackUser[];
}

/**
 * Reads the users a run inserted from its report (summary.json and imported.ndjson.gz). A user
 * the new tenant held before the run started was not created by it. In a run with `--upsert`,
 * a batch whose job updated users may hold users that arrived (lazily) while the run went on,
 * before the job was sent or while it ran: there, a user created before the job's recorded
 * submission, or one who has logged in (users arrive lazily by logging in; an imported user has
 * not, until after the run), is taken for one the job updated. On the safe side: a user the job
 * inserted and who logged in since is kept too, `--include-active` or not.
 */
export async function loadRollbackRun(dir: string, summary: RunSummary): Promise<RollbackRun> {
  const startedAt = Date.parse(summary.timings.startedAt);
  const endedAt = Date.parse(summary.timings.finishedAt ?? '');
  if (!Number.isFinite(startedAt) || !Number.isFinite(endedAt)) {
    throw new Error(`summary.json of run ${summary.runId} has no start or end time`);
  }
  const updatedIn = new Map<string, number>();
  if (summary.upsert) {
    for (const job of summary.auth0Jobs) {
      const t = Date.parse(job.submittedAt ?? '');
      if ((job.summary?.updated ?? 1) > 0) updatedIn.set(job.batch, Number.isFinite(t) ? t : endedAt);
    }
  }
  const users = new Map<string, RollbackUser>();
  // A relations run imports nobody: it has no imported file.
  const importedFile = join(dir, REPORT_FILES.imported);
  const lines = existsSync(importedFile) ? readNdjson<ImportedLine>(importedFile) : [];
  for await (const line of lines) {
    if (typeof line.user_id !== 'string' || users.has(line.user_id)) continue;
    const newId = line.new_user_id ?? (line.user_id.startsWith('auth0|') ? line.user_id : undefined);
    users.set(line.user_id, {
      user_id: line.user_id,
      ...(newId !== undefined && { newId }),
      ...(line.email !== undefined && line.email !== '' && { email: line.email }),
      notBefore: updatedIn.get(line.batch) ?? startedAt,
      ...(updatedIn.has(line.batch) && { mayBeUpdated: true }),
    });
  }
  return {
    runId: summary.runId,
    dir,
    upsert: summary.upsert,
    endedAt,
    ...(summary.input.connection !== undefined && { connection: summary.input.connection }),
    users: [...users.values()],
  };
}

/**
 * Auth0 counts a login as a profile update: `updated_at` follows `last_login`. An update within
 * this much of the last login is taken for the login's.
 */
const LOGIN_UPDATE_MS = 2_000;

export type Verdict =
  | { action: 'delete'; detail: string }
  | { action: 'already_gone' }
  | { action: 'kept_active' | 'kept_changed'; reason: RollbackKeepReason; detail: string };

/** Decides a user from what the new tenant answers now (`undefined`: no such user). */
export function judgeUser(
  user: Record<string, unknown> | undefined,
  run: Pick<RollbackRun, 'upsert' | 'endedAt'>,
  notBefore: number,
  options: { includeActive: boolean; mayBeUpdated?: boolean },
): Verdict {
  if (user === undefined) return { action: 'already_gone' };
  const time = (k: string): number | undefined => {
    const v = user[k];
    const t = typeof v === 'string' ? Date.parse(v) : NaN;
    return Number.isFinite(t) ? t : undefined;
  };
  const created = time('created_at');
  const updated = time('updated_at');
  const lastLogin = time('last_login');
  const logins = typeof user.logins_count === 'number' ? user.logins_count : 0;
  const detail = [
    created !== undefined && `created ${new Date(created).toISOString()}`,
    updated !== undefined && `updated ${new Date(updated).toISOString()}`,
    lastLogin !== undefined && `last login ${new Date(lastLogin).toISOString()}`,
    logins > 0 && `${logins} login${logins === 1 ? '' : 's'}`,
  ]
    .filter(Boolean)
    .join(', ');
  // Without a creation time the user cannot be shown to be the run's: never deleted.
  if (created === undefined || created < notBefore) {
    return {
      action: 'kept_changed',
      reason: run.upsert ? 'updated_by_upsert' : 'existed_before_run',
      detail: detail || 'no created_at',
    };
  }
  if (created > run.endedAt) return { action: 'kept_changed', reason: 'recreated_after_run', detail };
  const active = logins > 0 || lastLogin !== undefined;
  if (active && options.mayBeUpdated === true) {
    return {
      action: 'kept_changed',
      reason: 'updated_by_upsert',
      detail: `${detail}; logged in, so it may have arrived lazily before the run's job updated it`,
    };
  }
  if (active && !options.includeActive) return { action: 'kept_active', reason: 'logged_in', detail };
  const byLogin = lastLogin !== undefined && updated !== undefined && updated <= lastLogin + LOGIN_UPDATE_MS;
  if (updated !== undefined && updated > run.endedAt && !byLogin) {
    return { action: 'kept_changed', reason: 'changed_after_run', detail };
  }
  return { action: 'delete', detail };
}

/**
 * The user as the new tenant holds it now, with its id there (undefined: not there). A user whose
 * id there is unknown is looked up by email among the run's connection's database users; more
 * than one match is not guessed at.
 */
export async function readBack(
  client: TenantClient,
  run: Pick<RollbackRun, 'connection'>,
  u: RollbackUser,
  gate?: RateGate,
): Promise<{ id: string; user: Record<string, unknown> } | undefined> {
  await gate?.take();
  if (u.newId !== undefined) {
    const user = await client.getUser(u.newId);
    return user === undefined ? undefined : { id: u.newId, user };
  }
  if (u.email === undefined) return undefined;
  const found = (await client.usersByEmail(u.email)).filter((x) => {
    const ids = Array.isArray(x.identities) ? (x.identities as Array<Record<string, unknown>>) : [];
    return (
      String(x.user_id).startsWith('auth0|') &&
      (run.connection === undefined || ids.some((i) => i.connection === run.connection))
    );
  });
  if (found.length > 1) {
    throw new RollbackAmbiguous(`${found.length} users of the connection have the email ${u.email}`);
  }
  return found[0] === undefined ? undefined : { id: String(found[0].user_id), user: found[0] };
}

/** More than one new-tenant user could be the run's: none is deleted. */
export class RollbackAmbiguous extends ToolError {
  constructor(message: string) {
    super('ambiguous_user', message, { final: true });
  }
}

export interface RollbackOptions {
  /** Delete users who logged in since the run too. @defaultValue false */
  includeActive?: boolean;
  /** Users handled at once; the client waits out 429s. @defaultValue 4 */
  concurrency?: number;
  /** The tenant's rate budget, taken from before each read and delete of a user. */
  gate?: RateGate;
  /** After each user of a `--send` (progress output). */
  onUser?: (done: number, todo: number) => void;
}

/** Errors about one user: recorded, and the next user tried. Anything else stops the rollback. */
const USER_ERRORS = new Set(['bad_request']);

const isUserError = (err: Error): boolean =>
  err instanceof RollbackAmbiguous || (isAuth0Error(err) && USER_ERRORS.has(err.code));

const codeOf = (err: Error): string => (err as { code?: string }).code ?? 'unknown';

/** Runs `fn` over `items`, `concurrency` at once, until done or `stop()` says so. */
async function eachLimited<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
  stopped: () => boolean,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (!stopped() && next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
}

/**
 * The dry run: each user read back and judged, nothing changed. Users the journal has already
 * settled are given as they ended.
 */
export async function planRollback(
  client: TenantClient,
  run: RollbackRun,
  options: RollbackOptions = {},
): Promise<RollbackPlanLine[]> {
  const includeActive = options.includeActive === true;
  const journal = await readJournal(run.dir);
  const lines = new Map<string, RollbackPlanLine>();
  let stop: Error | undefined;
  await eachLimited(
    run.users,
    options.concurrency ?? 4,
    async (u) => {
      const base = { user_id: u.user_id, ...(u.email !== undefined && { email: u.email }) };
      const done = journal.final.get(u.user_id);
      if (done !== undefined && settled(done, includeActive)) {
        lines.set(u.user_id, {
          ...base,
          action: done.outcome === 'deleted' ? 'already_gone' : done.outcome,
          ...(done.reason !== undefined && { reason: done.reason }),
          detail: `${done.outcome} by an earlier --send${done.detail ? `: ${done.detail}` : ''}`,
        });
        return;
      }
      try {
        const found = await readBack(client, run, u, options.gate);
        const v = judgeUser(found?.user, run, u.notBefore, {
          includeActive,
          mayBeUpdated: u.mayBeUpdated === true,
        });
        lines.set(u.user_id, {
          ...base,
          ...(found !== undefined && found.id !== u.user_id && { new_user_id: found.id }),
          ...v,
        });
      } catch (thrown) {
        const err = coerceError(thrown);
        if (!isUserError(err)) {
          stop ??= err;
          return;
        }
        lines.set(u.user_id, { ...base, action: 'failed', detail: `${codeOf(err)}: ${err.message}` });
      }
    },
    () => stop !== undefined,
  );
  if (stop !== undefined) throw stop;
  return run.users.map((u) => lines.get(u.user_id)!);
}

/** A journal outcome that a new `--send` keeps (a failure is tried again; `kept_active` too with `includeActive`). */
function settled(line: RollbackFinalLine, includeActive: boolean): boolean {
  return line.outcome !== 'failed' && !(includeActive && line.outcome === 'kept_active');
}

export interface SendRollbackResult {
  /** Users handled by this `--send`. */
  handled: number;
  /** Set when it stopped early on an error that would hit every user (credentials, scope, outage). */
  stoppedBy?: Error;
}

/**
 * Carries the rollback out (or on, after an earlier `--send`): each user not yet settled in the
 * journal is read back, judged, and deleted, every step appended to the journal.
 */
export async function sendRollback(
  client: TenantClient,
  run: RollbackRun,
  options: RollbackOptions = {},
): Promise<SendRollbackResult> {
  const includeActive = options.includeActive === true;
  await refuseSymlink(run.dir);
  const journal = await readJournal(run.dir);
  const todo = run.users.filter((u) => {
    const done = journal.final.get(u.user_id);
    return done === undefined || !settled(done, includeActive);
  });
  const out = await openPrivateAppend(join(run.dir, ROLLBACK_FILES.journal));
  const write = async (line: object): Promise<void> => {
    await out.write(`${JSON.stringify({ ...line, at: new Date().toISOString() })}\n`);
  };
  let stop: Error | undefined;
  let handled = 0;
  try {
    await eachLimited(
      todo,
      options.concurrency ?? 4,
      async (u) => {
        const base = { user_id: u.user_id, ...(u.email !== undefined && { email: u.email }) };
        try {
          const found = await readBack(client, run, u, options.gate);
          // The DELETE went out before a crash: the user is gone because of us.
          if (found === undefined && journal.deleting.has(u.user_id)) {
            await write({ ...base, outcome: 'deleted' });
          } else {
            const v = judgeUser(found?.user, run, u.notBefore, {
              includeActive,
              mayBeUpdated: u.mayBeUpdated === true,
            });
            if (v.action === 'delete') {
              const id = found!.id;
              const as = id !== u.user_id ? { new_user_id: id } : {};
              await write({ user_id: u.user_id, ...as, step: 'deleting' });
              await options.gate?.take();
              await client.deleteUser(id);
              await write({ ...base, ...as, outcome: 'deleted', detail: v.detail });
            } else if (v.action === 'already_gone') {
              await write({ ...base, outcome: 'already_gone' });
            } else {
              await write({ ...base, outcome: v.action, reason: v.reason, detail: v.detail });
            }
          }
        } catch (thrown) {
          const err = coerceError(thrown);
          if (!isUserError(err)) {
            stop ??= err;
            return;
          }
          await write({ ...base, outcome: 'failed', code: codeOf(err), detail: err.message });
        }
        handled++;
        options.onUser?.(handled, todo.length);
      },
      () => stop !== undefined,
    );
  } finally {
    await out.sync();
    await out.close();
  }
  return { handled, ...(stop !== undefined && { stoppedBy: stop }) };
}
