/**
 * Import slots: at most `limit` Auth0 import jobs on a tenant at once, across every worker
 * process. A slot belongs to a batch (not to a process): it is taken before the batch is sent and
 * given back when its Auth0 job has ended, so a batch handed to another worker keeps its slot while
 * its job runs. A lease expires when nobody has renewed it for `ttlMs` (a run abandoned mid-batch).
 *
 * The import-batch queue's BullMQ global concurrency equals the limit, so batches normally find a
 * slot at once; the leases are what stays right when a worker dies or hands a running batch back.
 */
import type { Redis } from 'ioredis';

const ACQUIRE = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  return 1
end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  return 1
end
return 0
`;

const RENEW = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], 'XX', tonumber(ARGV[2]), ARGV[1])
  return 1
end
return 0
`;

export interface ImportSlotsOptions {
  /** Auth0 import jobs at once (`IMPORT_CONCURRENCY`). */
  limit: number;
  /**
   * How long a lease lives without renewal. Long enough to cover a dead worker's batch waiting to
   * be picked up again; polling renews it.
   * @defaultValue 900000 (15 minutes)
   */
  ttlMs?: number;
}

export class ImportSlots {
  readonly key: string;
  readonly limit: number;
  readonly ttlMs: number;
  readonly #redis: Redis;

  constructor(redis: Redis, key: string, options: ImportSlotsOptions) {
    this.#redis = redis;
    this.key = key;
    this.limit = options.limit;
    this.ttlMs = options.ttlMs ?? 900_000;
  }

  /** Takes a slot for `holder`, or keeps the one it has; false when all are taken. */
  async acquire(holder: string): Promise<boolean> {
    const r = await this.#redis.eval(ACQUIRE, 1, this.key, Date.now(), holder, this.ttlMs, this.limit);
    return r === 1;
  }

  /** Extends `holder`'s lease; false when it has none (expired or never taken). */
  async renew(holder: string): Promise<boolean> {
    const r = await this.#redis.eval(RENEW, 1, this.key, holder, Date.now() + this.ttlMs);
    return r === 1;
  }

  async release(holder: string): Promise<void> {
    await this.#redis.zrem(this.key, holder);
  }

  /** Holders of a live lease (one whose end is still ahead, as `acquire` counts them). */
  async holders(): Promise<string[]> {
    return this.#redis.zrangebyscore(this.key, `(${Date.now()}`, '+inf');
  }
}
