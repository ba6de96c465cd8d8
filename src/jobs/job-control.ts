/**
 * How a stage tells its worker to put the job aside without using up an attempt. The processors
 * turn these into BullMQ's `moveToDelayed` + `DelayedError` or `moveToWait` + `WaitingError`.
 */
import { ToolError } from '../errors.js';

/** Try again after `delayMs`: the import slots are taken, or the tenant asked us to slow down. */
export class WaitAndRetry extends ToolError {
  readonly delayMs: number;

  constructor(delayMs: number, reason: string) {
    super('wait_and_retry', reason);
    this.delayMs = delayMs;
  }
}

/** The process is shutting down: give the job back at once; its state lets the next worker resume. */
export class HandBack extends ToolError {
  constructor(reason = 'the worker is shutting down') {
    super('handed_back', reason);
  }
}

/** Trying again cannot help (e.g. the file was refused): end the job now. */
export class FinalError extends ToolError {
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { cause: options.cause, final: true });
  }
}

/** Resolves after `ms`, or rejects with {@link HandBack} as soon as `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new HandBack());
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new HandBack());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
