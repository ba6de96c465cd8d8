/**
 * How a processor answers BullMQ when a stage asks to wait, hand back, or give up. Shared by every
 * processor so each of them stays a few lines.
 */
import { DelayedError, UnrecoverableError, WaitingError, type Job } from 'bullmq';
import { isAuth0Error } from '../auth0/errors.js';
import { coerceError } from '../errors.js';
import { FinalError, HandBack, WaitAndRetry } from '../jobs/job-control.js';

/** True when this is the job's last attempt (BullMQ counts failed attempts in `attemptsMade`). */
export function isLastAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/** Errors that another attempt cannot cure: configuration, credentials, refused input. */
export function isFinal(err: Error): boolean {
  if (err instanceof FinalError || err instanceof UnrecoverableError) return true;
  if (err.name === 'ConfigError' || err.name === 'InputError' || err.name === 'PayloadError') return true;
  if (isAuth0Error(err))
    return !err.retryable && err.code !== 'link_expired' && err.code !== 'outcome_unknown';
  return false;
}

/** The stable code of an error, for the report. */
export function errorCode(err: Error): string {
  if (err instanceof FinalError) return err.code;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'batch_failed';
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
