/**
 * The one retry policy for every call to a tenant. The SDK's own retries are off (`maxRetries: 0`)
 * so attempts are never stacked: a 429 waits for the bucket to refill (`Retry-After`, else
 * `x-ratelimit-reset`), 5xx and network failures back off exponentially, everything else is final.
 */
import pRetry from 'p-retry';
import type { Logger } from '../log.js';
import { isAuth0Error, type Auth0Error } from './errors.js';

export interface RetryOptions {
  /**
   * Attempts in all (the first included) for 5xx and network failures.
   * @defaultValue 6
   */
  maxAttempts?: number;
  /**
   * Rate-limit waits allowed for one call before giving up with `rate_limited`. They do not use up
   * `maxAttempts`: a 429 storm is the tenant asking us to slow down, not a failure.
   * @defaultValue 30
   */
  maxRateLimitWaits?: number;
  /**
   * First backoff after a 5xx or network failure; doubles each time.
   * @defaultValue 500
   */
  baseDelayMs?: number;
  /**
   * Upper bound of any single wait (backoff or rate-limit wait).
   * @defaultValue 60000
   */
  maxDelayMs?: number;
  /**
   * Wait after a 429 whose headers give no usable time.
   * @defaultValue 1000
   */
  rateLimitFallbackMs?: number;
  /**
   * Extra random share added to a rate-limit wait so that workers released by the same reset do
   * not arrive together; also the spread of backoff waits.
   * @defaultValue 0.2
   */
  jitter?: number;
  /**
   * Give up when a call has been retrying for this long.
   * @defaultValue 600000
   */
  maxElapsedMs?: number;
}

export type ResolvedRetryOptions = Required<RetryOptions>;

export function resolveRetryOptions(options: RetryOptions = {}): ResolvedRetryOptions {
  return {
    maxAttempts: options.maxAttempts ?? 6,
    maxRateLimitWaits: options.maxRateLimitWaits ?? 30,
    baseDelayMs: options.baseDelayMs ?? 500,
    maxDelayMs: options.maxDelayMs ?? 60_000,
    rateLimitFallbackMs: options.rateLimitFallbackMs ?? 1000,
    jitter: options.jitter ?? 0.2,
    maxElapsedMs: options.maxElapsedMs ?? 600_000,
  };
}

type HeaderSource = { get(name: string): string | null } | Record<string, string | undefined>;

function header(headers: HeaderSource | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : record[key];
}

/**
 * How long a 429 asks us to wait, before jitter: `Retry-After` (seconds or an HTTP date) when
 * present, else `x-ratelimit-reset`, which Auth0 sends as an absolute UNIX time in seconds (not a
 * duration). Undefined when neither gives a usable time.
 */
export function rateLimitWaitMs(headers: HeaderSource | undefined, now = Date.now()): number | undefined {
  const retryAfter = header(headers, 'retry-after')?.trim();
  if (retryAfter !== undefined && retryAfter !== '') {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.max(0, Number(retryAfter) * 1000);
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const reset = header(headers, 'x-ratelimit-reset')?.trim();
  if (reset !== undefined && /^\d+(\.\d+)?$/.test(reset)) {
    return Math.max(0, Number(reset) * 1000 - now);
  }
  return undefined;
}

/** The wait before the next attempt after `err`; undefined when `err` is not worth retrying. */
export function retryDelayMs(
  err: Auth0Error,
  backoffsSoFar: number,
  options: ResolvedRetryOptions,
  random: () => number = Math.random,
): number | undefined {
  if (err.code === 'rate_limited') {
    const wait = err.retryAfterMs ?? options.rateLimitFallbackMs;
    return Math.min(options.maxDelayMs, Math.round(wait * (1 + random() * options.jitter)));
  }
  if (err.code === 'server_error' || err.code === 'network') {
    const exp = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** backoffsSoFar);
    // "Equal jitter": at least half the exponential wait, so backoff still grows.
    return Math.round(exp / 2 + (random() * exp) / 2);
  }
  return undefined;
}

export interface RetryContext {
  /** What the call does, for logs: `GET /jobs/{id}`. */
  operation: string;
  options: ResolvedRetryOptions;
  logger?: Logger;
  signal?: AbortSignal;
  /**
   * Which failures may be repeated. Job-creating POSTs pass a predicate that allows only
   * failures known to have left the tenant untouched (see createImportJob).
   * @defaultValue every retryable Auth0Error (rate_limited, server_error, network)
   */
  canRetry?: (err: Auth0Error) => boolean;
}

/**
 * Runs `attempt` until it succeeds, a failure is final, or the budget is spent. `attempt` must
 * throw {@link Auth0Error}s (the client maps SDK and fetch failures before they reach here).
 */
export async function withRetry<T>(ctx: RetryContext, attempt: () => Promise<T>): Promise<T> {
  const { options } = ctx;
  const canRetry =
    ctx.canRetry ??
    ((err: Auth0Error) =>
      err.code === 'rate_limited' || err.code === 'server_error' || err.code === 'network');
  let rateLimitWaits = 0;
  let backoffs = 0;
  return pRetry(attempt, {
    // Budget for 5xx/network; rate-limit waits are counted separately (shouldConsumeRetry).
    retries: Math.max(0, options.maxAttempts - 1),
    maxRetryTime: options.maxElapsedMs,
    // p-retry's own delay is zero: the wait depends on the error, so it is taken in shouldRetry.
    minTimeout: 0,
    maxTimeout: 0,
    ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
    shouldConsumeRetry: ({ error }) => !isAuth0Error(error, 'rate_limited'),
    shouldRetry: async ({ error, attemptNumber }) => {
      if (!isAuth0Error(error) || !canRetry(error)) return false;
      if (error.code === 'rate_limited' && rateLimitWaits >= options.maxRateLimitWaits) return false;
      const delay = retryDelayMs(error, backoffs, options);
      if (delay === undefined) return false;
      if (error.code === 'rate_limited') rateLimitWaits++;
      else backoffs++;
      ctx.logger?.warn(
        {
          operation: ctx.operation,
          code: error.code,
          status: error.status,
          attempt: attemptNumber,
          waitMs: delay,
        },
        `${ctx.operation}: ${error.code}, retrying in ${delay} ms`,
      );
      await sleep(delay, ctx.signal);
      return true;
    },
  });
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
