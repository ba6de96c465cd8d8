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
import { classifyJob, collisionsToCheck, dryRunBatch, failBatch } from './outcomes.js';
import { PollSchedule } from './poll-schedule.js';
import type { Runtime } from './runtime.js';
import type { BatchOutcome, StagedBatch } from './types.js';

const RUNNING = new Set(['pending', 'processing']);

export interface BatchRunOptions {
  signal?: AbortSignal;
}

/** Runs batch `n` of the run to its end; throws {@link WaitAndRetry}, {@link HandBack}, or an error to retry. */
export async function runBatch(
  rt: Runtime,
  runId: string,
  n: number,
  options: BatchRunOptions = {},
): Promise<void> {
  const id = batchJobId(runId, n);
  const run = await rt.store.getRun(runId);
  const record = await rt.store.getBatch(runId, n);
  if (run === undefined || record === undefined) {
    rt.logger.warn({ batch: id }, 'batch of an unknown run: nothing to do');
    return;
  }
  if (record.state === 'done' || record.state === 'failed') {
    await maybeFinishRun(rt, runId);
    return;
  }
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
  if (jobId === undefined)
    jobId = await submit(rt, runId, n, staged, run.upsert, record.state === 'submitting', options.signal);

  let job: Auth0Job;
  try {
    job = await poll(rt, id, jobId, options.signal);
  } catch (err) {
    if (isAuth0Error(err, 'not_found')) {
      await rt.slots.release(id);
      await end(
        rt,
        runId,
        failBatch(
          id,
          n,
          staged.users,
          'job_failed',
          `Auth0 no longer knows import job ${jobId} (it keeps jobs 24 hours).`,
          jobId,
        ),
      );
      return;
    }
    throw err;
  }
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
  const outcome = classifyJob(id, n, staged.users, job, errors, {
    sentAgain,
    ...(checks !== undefined && { checks }),
  });
  await end(rt, runId, outcome);
}

async function submit(
  rt: Runtime,
  runId: string,
  n: number,
  staged: StagedBatch,
  upsert: boolean,
  outcomeUnknown: boolean,
  signal: AbortSignal | undefined,
): Promise<string> {
  const id = batchJobId(runId, n);
  if (signal?.aborted) throw new HandBack();
  if (!(await waitForSlot(rt, id, signal))) {
    throw new WaitAndRetry(rt.settings.slotWaitMs, `all ${rt.slots.limit} import slots are taken`);
  }
  await rt.store.markRunning(runId, n);
  await rt.store.setBatch(runId, n, {
    state: 'submitting',
    ...(outcomeUnknown && { resubmitted: Date.now() }),
  });
  let job: Auth0Job;
  try {
    job = await rt.client('new').createImportJob({
      connectionId: await rt.newConnectionId(),
      users: Buffer.from(staged.payload, 'utf8'),
      upsert,
      externalId: id,
      sendCompletionEmail: false,
    });
  } catch (thrown) {
    const err = coerceError(thrown);
    await rt.slots.release(id);
    if (isAuth0Error(err) && err.code !== 'outcome_unknown' && err.code !== 'server_error') {
      // Nothing was created: the batch is as it was before this attempt.
      await rt.store.setBatch(runId, n, { state: outcomeUnknown ? 'submitting' : 'queued' });
      await rt.redis.srem(rt.store.runKey(runId, 'running'), n);
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
  await rt.store.setBatch(runId, n, { state: 'submitted', jobId: job.id, submittedAt: Date.now() });
  rt.logger.info({ batch: id, jobId: job.id, users: staged.users.length }, 'import job created');
  return job.id;
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
  id: string,
  jobId: string,
  signal: AbortSignal | undefined,
): Promise<Auth0Job> {
  const schedule = new PollSchedule(rt.settings);
  for (;;) {
    if (signal?.aborted) throw new HandBack();
    const job = await rt.client('new').getJob(jobId);
    if (!RUNNING.has(job.status)) return job;
    if (!(await rt.slots.renew(id))) await rt.slots.acquire(id);
    await pause(schedule.next(job, Date.now()), signal);
  }
}

async function end(rt: Runtime, runId: string, outcome: BatchOutcome): Promise<void> {
  await rt.store.finishBatch(runId, outcome);
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
  if (record === undefined || record.state === 'done' || record.state === 'failed') return;
  const staged = await rt.store.loadBatch(runId, n);
  await rt.slots.release(id);
  await end(rt, runId, failBatch(id, n, staged?.users ?? [], code, message, record.jobId));
}
