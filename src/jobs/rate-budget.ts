/**
 * One rate budget per tenant, shared by every worker process: a GCRA (generic cell rate
 * algorithm) in one Lua script on Redis's own clock, so processes on different hosts agree on
 * time. Each request takes the next free slot `1/rps` after the last one; a caller whose slot is
 * in the future waits for it. Auth0 limits the Management API per tenant, not per process: the
 * relations stage's requests go through here, leaving the rest of the tenant's limit to the import
 * stage's polls.
 */
import type { Redis, Result } from 'ioredis';
import type { RateGate } from '../auth0/types.js';
import { sleep } from '../auth0/retry.js';

const GCRA = `
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return wait end
local next = tat + interval
redis.call('SET', KEYS[1], tostring(next), 'PX', math.ceil(next - now + tolerance) + 1000)
return 0`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    a0mGcra(key: string, intervalMs: number, toleranceMs: number): Result<number, Context>;
  }
}

export interface RateBudgetOptions {
  /** Requests per second, every process together. */
  rps: number;
  /**
   * Requests allowed back to back after a quiet spell. 1 spaces every request evenly, which keeps
   * a tenant's bucket from ever running dry when `rps` is below its refill rate.
   * @defaultValue 1
   */
  burst?: number;
}

export class RedisRateBudget implements RateGate {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #intervalMs: number;
  readonly #toleranceMs: number;

  constructor(redis: Redis, key: string, options: RateBudgetOptions) {
    this.#redis = redis;
    this.#key = key;
    this.#intervalMs = 1000 / options.rps;
    this.#toleranceMs = this.#intervalMs * (Math.max(1, options.burst ?? 1) - 1);
    redis.defineCommand('a0mGcra', { numberOfKeys: 1, lua: GCRA });
  }

  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const wait = Number(await this.#redis.a0mGcra(this.#key, this.#intervalMs, this.#toleranceMs));
      if (wait <= 0) return;
      await sleep(wait, signal);
    }
  }
}
