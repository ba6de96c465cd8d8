/**
 * One import batch, from its staged payload to its per-user outcomes:
 *
 *   take an import slot ▶ submit (external_id = batch id) ▶ store the Auth0 job id at once ▶
 *   poll ▶ give the slot back ▶ read /errors at once ▶ read the new tenant for users refused as
 *   duplicates ▶ classify ▶ store the outcome, drop the payload
 *
 * Each step leaves its result in the batch record, so a retried or redelivered batch starts from
 * where the last one stopped: with a job id stored it only polls, it never sends the users again.
 */
import { isAuth0Error } from '../auth0/errors.js';
import type { Auth0Job, JobErrors } from '../auth0/types.js';
import { requireTenant } from '../config.js';
import { coerceError } from '../errors.js';
import { FinalError, HandBack, WaitAndRetry, pause } from './job-control.js';
import { batchJobId, maybeFinishRun } from './flow.js';
import { checkCollisions } from './collisions.js';
import { WrongWorker, identityDiff } from './identity.js';
import { classifyJob, collisionsToCheck, dryRunBatch, failBatch } from './outcomes.js';
import { PollSchedule } from './poll-schedule.js';
import type { Runtime } from './runtime.js';
import { RunStateLost } from './store/index.js';
import type { BatchOutcome, RunMeta, StagedBatch } from './types.js';

const RUNNING = new Set(['pending', 'processing']);

export interface BatchRunOptions {
  signal?: AbortSignal;
}

/**
 * Runs batch `n` of the run to its end; throws {@link WaitAndRetry}, {@link HandBack},
 * {@link RunStateLost} (the job ends without writing), or an error to retry.
 */
export async function runBatch(
  rt: Runtime,
  runId: string,
  n: number,
  options: BatchRunOptions = {},
): Promise<void> {
  const id = batchJobId(runId, n);
  const run = await rt.store.getRun(runId);
  // A batch job exists only once its run and batch were written: missing, they were lost.
  if (run === undefined) throw new RunStateLost(runId);
  checkIdentity(rt, run);
  const record = await rt.store.getBatch(runId, n);
  if (record === undefined) throw new RunStateLost(runId, `batch ${n} is gone`);
  if (record.state === 'done' || record.state === 'failed') {
    await maybeFinishRun(rt, runId);
    return;
  }
  // A stopped run's batch waits for the resume, which adds its job again.
  if (run.status === 'stopped') return;
  const staged = await rt.store.loadBatch(runId, n);
  if (staged === undefined) {
    throw new Error(`The payload of batch ${id} is missing from Redis although the batch has not ended.`);
  }
  if (run.dryRun) {
    await end(rt, runId, dryRunBatch(id, n, staged.users));
    return;
  }

  await rt.store.markTime(runId, 'import', 'start');
  let jobId = record.jobId;
  let submittedAt = record.submittedAt;
  if (jobId === undefined) {
    const submitted = await submit(
      rt,
      runId,
      n,
      staged,
      run.upsert,
      record.state === 'submitting',
      options.signal,
    );
    if (submitted === undefined) {
      // Another worker ended the batch meanwhile.
      await maybeFinishRun(rt, runId);
      return;
    }
    ({ jobId, submittedAt } = submitted);
  }
  // The slot's hold, for the report's picture of the import slots.
  const held = (endedAt: number) => ({ ...(submittedAt !== undefined && { submittedAt }), endedAt });

  let job: Auth0Job;
  try {
    job = await poll(rt, runId, n, jobId, options.signal);
  } catch (err) {
    if (isAuth0Error(err, 'not_found')) {
      await rt.slots.release(id);
      await end(rt, runId, {
        ...failBatch(
          id,
          n,
          staged.users,
          'job_failed',
          `Auth0 no longer knows import job ${jobId} (it keeps jobs 24 hours).`,
          jobId,
        ),
        ...held(Date.now()),
      });
      return;
    }
    throw err;
  }
  const endedAt = Date.now();
  await rt.slots.release(id);
  const errors: JobErrors =
    job.status === 'completed' && job.summary !== undefined && job.summary.failed === 0
      ? { kind: 'none' }
      : await rt.client('new').getJobErrors(jobId);
  // An earlier submission of this batch may have created a job whose answer was lost. The plan
  // already left out everyone who was in the new tenant, so a DUPLICATED_USER here whose user the
  // new tenant holds under its own id is that job's work: counted as imported (and listed for a
  // password reset) rather than already migrated. A user who arrived lazily in between is the
  // rare exception; a reset ticket does them no harm.
  const sentAgain = record.resubmitted !== undefined || record.state === 'submitting';
  const toCheck = collisionsToCheck(staged.users, errors);
  const checks =
    toCheck.size === 0
      ? undefined
      : await checkCollisions(rt.client('new'), staged.users, toCheck, {
          connection: requireTenant(rt.config, 'new').connection,
          ...(options.signal !== undefined && { signal: options.signal }),
        });
  const outcome = {
    ...classifyJob(id, n, staged.users, job, errors, {
      sentAgain,
      ...(checks !== undefined && { checks }),
    }),
    ...held(endedAt),
  };
  await end(rt, runId, outcome);
}

/** This worker refuses a run started with other settings (identity.ts); the job goes back. */
export function checkIdentity(rt: Runtime, run: RunMeta): void {
  const diff = identityDiff(run, rt.identity);
  if (diff.length === 0) return;
  const refused = new WrongWorker(run.runId, diff, rt.settings.handBackMs);
  const { ok, held } = rt.throttle.allow(`identity:${run.runId}`);
  if (ok) {
    rt.logger.warn(
      { runId: run.runId, differences: diff, refusedSinceLastLine: held },
      `${refused.message}; handing its jobs back for a worker that matches`,
    );
  }
  throw refused;
}

/** Submits the batch and answers the Auth0 job id; undefined when another worker ended the batch. */
async function submit(
  rt: Runtime,
  runId: string,
  n: number,
  staged: StagedBatch,
  upsert: boolean,
  outcomeUnknown: boolean,
  signal: AbortSignal | undefined,
): Promise<{ jobId: string; submittedAt: number } | undefined> {
  const id = batchJobId(runId, n);
  if (signal?.aborted) throw new HandBack();
  if (!(await waitForSlot(rt, id, signal))) {
    throw new WaitAndRetry(rt.settings.slotWaitMs, `all ${rt.slots.limit} import slots are taken`);
  }
  const marked = await rt.store
    .setBatch(runId, n, { state: 'submitting', ...(outcomeUnknown && { resubmitted: Date.now() }) }, 'add')
    .catch(async (err: unknown) => {
      await rt.slots.release(id);
      throw err;
    });
  if (!marked) {
    await rt.slots.release(id);
    return undefined;
  }
  let job: Auth0Job;
  try {
    job = await rt.client('new').createImportJob({
      connectionId: await rt.newConnectionId(),
      users: staged.payload,
      upsert,
      externalId: id,
      sendCompletionEmail: false,
    });
  } catch (thrown) {
    const err = coerceError(thrown);
    await rt.slots.release(id);
    if (isAuth0Error(err) && err.code !== 'outcome_unknown' && err.code !== 'server_error') {
      // Nothing was created: the batch is as it was before this attempt.
      await rt.store.setBatch(runId, n, { state: outcomeUnknown ? 'submitting' : 'queued' }, 'rem');
    }
    if (isAuth0Error(err, 'import_slots_busy') || isAuth0Error(err, 'rate_limited')) {
      const wait = err.code === 'import_slots_busy' ? rt.settings.busyWaitMs : rt.settings.slotWaitMs;
      throw new WaitAndRetry(Math.max(wait, err.retryAfterMs ?? 0), err.message);
    }
    if (
      isAuth0Error(err) &&
      ['payload_too_large', 'bad_request', 'not_found', 'unknown_connection'].includes(err.code)
    ) {
      throw new FinalError(err.code, err.message, { cause: err });
    }
    throw err;
  }
  const submittedAt = Date.now();
  await rt.store.setBatch(runId, n, { state: 'submitted', jobId: job.id, submittedAt });
  rt.logger.info({ batch: id, jobId: job.id, users: staged.users.length }, 'import job created');
  return { jobId: job.id, submittedAt };
}

/**
 * Takes an import slot, waiting up to `slotHoldMs` for one to free: the batch is loaded and sends
 * its users the moment another batch's Auth0 job ends.
 */
async function waitForSlot(rt: Runtime, id: string, signal: AbortSignal | undefined): Promise<boolean> {
  const until = Date.now() + rt.settings.slotHoldMs;
  for (;;) {
    if (await rt.slots.acquire(id)) return true;
    if (Date.now() >= until) return false;
    await pause(rt.settings.slotPollMs, signal);
  }
}

/** Polls until the job ends (poll-schedule.ts decides when to look again). */
async function poll(
  rt: Runtime,
  runId: string,
  n: number,
  jobId: string,
  signal: AbortSignal | undefined,
): Promise<Auth0Job> {
  const id = batchJobId(runId, n);
  const schedule = new PollSchedule(rt.settings);
  for (;;) {
    if (signal?.aborted) throw new HandBack();
    const job = await rt.client('new').getJob(jobId);
    if (!RUNNING.has(job.status)) return job;
    if (!(await rt.slots.renew(id))) {
      // The lease lapsed, or Redis lost it: taken again only for a batch Redis still holds.
      if ((await rt.store.getBatch(runId, n)) === undefined)
        throw new RunStateLost(runId, `batch ${n} is gone`);
      await rt.slots.acquire(id);
    }
    await pause(schedule.next(job, Date.now()), signal);
  }
}

async function end(rt: Runtime, runId: string, ended: BatchOutcome): Promise<void> {
  const outcome = await rt.store.finishBatch(runId, ended);
  const c = outcome.counts;
  rt.logger.info(
    {
      batch: outcome.batch,
      jobId: outcome.jobId,
      status: outcome.status,
      imported: c.imported,
      failed: c.failed,
      already: c.already_migrated,
      notes: outcome.notes,
    },
    'batch ended',
  );
  await maybeFinishRun(rt, runId);
}

/**
 * The batch's last attempt failed (or cannot succeed): every user not yet accounted for is
 * failed with the reason, so nothing disappears. Idempotent.
 */
export async function giveUpBatch(
  rt: Runtime,
  runId: string,
  n: number,
  code: string,
  message: string,
): Promise<void> {
  const id = batchJobId(runId, n);
  const record = await rt.store.getBatch(runId, n);
  if (record === undefined) throw new RunStateLost(runId, `batch ${n} is gone`);
  if (record.state === 'done' || record.state === 'failed') return;
  const staged = await rt.store.loadBatch(runId, n);
  await rt.slots.release(id);
  await end(rt, runId, failBatch(id, n, staged?.users ?? [], code, message, record.jobId));
}
