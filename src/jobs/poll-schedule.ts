/**
 * When to look at a running Auth0 import job again. A slot idles from the moment the job ends
 * until we notice, so the wait aims at the job's end: Auth0's `time_left_seconds` (rounded up to
 * whole seconds) says roughly when, the progress of `percentage_done` over time says it more
 * precisely; without either, the wait grows from the base interval. Pure: tested without a tenant.
 */
import type { Auth0Job } from '../auth0/types.js';

export interface PollTiming {
  /** `POLL_INTERVAL_MS`: the usual wait. */
  pollIntervalMs: number;
  maxPollIntervalMs: number;
}

export class PollSchedule {
  readonly #timing: PollTiming;
  #delay: number;
  #first: { at: number; pct: number } | undefined;

  constructor(timing: PollTiming) {
    this.#timing = timing;
    this.#delay = timing.pollIntervalMs;
  }

  /** The wait before the next look, given the job as just seen at `now`. */
  next(job: Auth0Job, now: number): number {
    const { pollIntervalMs: base, maxPollIntervalMs: max } = this.#timing;
    const clamp = (ms: number, min: number): number => Math.round(Math.min(Math.max(ms, min), max));
    const left =
      typeof job.time_left_seconds === 'number' && job.time_left_seconds > 0
        ? job.time_left_seconds * 1000
        : undefined;
    const pct =
      job.status === 'processing' && typeof job.percentage_done === 'number'
        ? job.percentage_done
        : undefined;
    if (pct !== undefined && (this.#first === undefined || pct < this.#first.pct))
      this.#first = { at: now, pct };

    let predicted: number | undefined;
    if (pct !== undefined && this.#first !== undefined && pct > this.#first.pct && now > this.#first.at) {
      const perMs = (pct - this.#first.pct) / (now - this.#first.at);
      predicted = (100 - pct) / perMs;
    }
    if (predicted !== undefined) {
      // Near the predicted end, look a little more often than usual (a quarter of the base).
      return clamp(left !== undefined ? Math.min(predicted, left) : predicted, base / 4);
    }
    if (left !== undefined) {
      this.#delay = base;
      // Rounded up to whole seconds: sleep until about a second before, then poll at the base.
      return clamp(left - 1000, base);
    }
    const wait = this.#delay;
    this.#delay = Math.min(max, Math.round(this.#delay * 1.5));
    return clamp(wait, base);
  }
}
