/** Auth0's rate limiting: a token bucket whose state is reported in `x-ratelimit-*` headers. */
import type { RateLimitOptions } from './options.js';

export interface BucketAnswer {
  ok: boolean;
  limit: number;
  remaining: number;
  /** Epoch seconds at which another request will be available (Auth0 sends an absolute time). */
  reset: number;
}

export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(
    readonly options: RateLimitOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.#tokens = options.capacity;
    this.#last = now();
  }

  take(): BucketAnswer {
    const now = this.now();
    const { capacity, refillPerSecond } = this.options;
    this.#tokens = Math.min(capacity, this.#tokens + ((now - this.#last) / 1000) * refillPerSecond);
    this.#last = now;
    const ok = this.#tokens >= 1;
    if (ok) this.#tokens -= 1;
    return {
      ok,
      limit: capacity,
      remaining: Math.max(0, Math.floor(this.#tokens)),
      reset: this.resetAt(now),
    };
  }

  resetAt(now = this.now()): number {
    const { capacity, refillPerSecond } = this.options;
    if (this.#tokens >= capacity) return Math.floor(now / 1000);
    const toNext = 1 - (this.#tokens % 1);
    return Math.ceil((now + (toNext / refillPerSecond) * 1000) / 1000);
  }

  headers(answer: BucketAnswer): Record<string, string> {
    return {
      'x-ratelimit-limit': String(answer.limit),
      'x-ratelimit-remaining': String(answer.remaining),
      'x-ratelimit-reset': String(answer.reset),
    };
  }
}
