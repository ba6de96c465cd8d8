/**
 * How a processor answers BullMQ when a stage asks to wait, hand back, or give up. Shared by every
 * processor so each of them stays a few lines.
 */
import { DelayedError, UnrecoverableError, WaitingError, type Job } from 'bullmq';
import { coerceError, isToolError } from '../errors.js';
import { HandBack, WaitAndRetry } from '../jobs/job-control.js';
import type { Runtime } from '../jobs/runtime.js';
import { RunStateLost, RunStopped } from '../jobs/store/index.js';

/** True when this is the job's last attempt (BullMQ counts failed attempts in `attemptsMade`). */
export function isLastAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/** Errors that another attempt cannot cure: configuration, credentials, refused input. */
export function isFinal(err: Error): boolean {
  return err instanceof UnrecoverableError || (isToolError(err) && err.final);
}

/** The stable code of an error, for the report. */
export function errorCode(err: Error): string {
  return isToolError(err) ? err.code : 'batch_failed';
}

/**
 * Turns a stage's wait or hand-back into BullMQ's: the job leaves the active list without using an
 * attempt. Returns false when `thrown` is neither (the caller decides).
 */
export async function deferJob(
  job: Job,
  token: string | undefined,
  thrown: unknown,
  signal?: AbortSignal,
): Promise<never | false> {
  const err = coerceError(thrown);
  if (err instanceof WaitAndRetry) {
    await job.moveToDelayed(Date.now() + err.delayMs, token);
    throw new DelayedError(err.message);
  }
  if (err instanceof HandBack || signal?.aborted === true) {
    await job.moveToWait(token);
    throw new WaitingError('handed back: the worker is shutting down');
  }
  return false;
}

/**
 * True when the job should end without writing anything: Redis lost its run (said once per run
 * and `repeatLogMs`), or the run was stopped meanwhile.
 */
export function endsQuietly(rt: Runtime, runId: string, thrown: unknown): boolean {
  if (thrown instanceof RunStopped) return true;
  if (!(thrown instanceof RunStateLost)) return false;
  const { ok, held } = rt.throttle.allow(`lost:${runId}`);
  if (ok) rt.logger.error({ runId, hint: thrown.hint, jobsEndedSinceLastLine: held }, thrown.message);
  return true;
}
