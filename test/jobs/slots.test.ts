import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import type { Redis } from 'ioredis';
import { ImportSlots } from '../../src/jobs/slots.js';
import { newRedis, uniquePrefix } from './helpers.js';
import { deleteKeysUnder } from '../../src/jobs/queues.js';

describe('ImportSlots (Redis lease semaphore)', () => {
  let redis: Redis;
  let prefix: string;
  beforeEach(() => {
    redis = newRedis();
    prefix = uniquePrefix('slots');
  });
  afterEach(async () => {
    await deleteKeysUnder(redis, prefix);
    await redis.quit();
  });

  it('grants at most `limit` slots, is re-entrant for a holder, frees on release', async () => {
    const slots = new ImportSlots(redis, `${prefix}:slots`, { limit: 2 });
    expect(await slots.acquire('b0')).toBe(true);
    expect(await slots.acquire('b1')).toBe(true);
    expect(await slots.acquire('b2')).toBe(false);
    expect(await slots.acquire('b0')).toBe(true);
    expect((await slots.holders()).sort()).toEqual(['b0', 'b1']);
    await slots.release('b0');
    expect(await slots.acquire('b2')).toBe(true);
    expect(await slots.renew('b0')).toBe(false);
    expect(await slots.renew('b2')).toBe(true);
  });

  it('lets a lease nobody renews expire, at its end and not before', async () => {
    // Leases are timed by the callers' clock (Date.now), so a fake one moves them.
    vi.useFakeTimers({ toFake: ['Date'] });
    onTestFinished(() => void vi.useRealTimers());
    const slots = new ImportSlots(redis, `${prefix}:slots`, { limit: 1, ttlMs: 1_000 });
    expect(await slots.acquire('dead-worker-batch')).toBe(true);
    expect(await slots.acquire('b1')).toBe(false);
    vi.advanceTimersByTime(999);
    expect(await slots.acquire('b1')).toBe(false);
    expect(await slots.holders()).toEqual(['dead-worker-batch']);
    vi.advanceTimersByTime(1);
    expect(await slots.holders()).toEqual([]);
    expect(await slots.acquire('b1')).toBe(true);
  });

  it('holds the limit when many processes race for it', async () => {
    const clients = Array.from({ length: 6 }, () => newRedis());
    try {
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          new ImportSlots(clients[i % clients.length]!, `${prefix}:slots`, { limit: 2 }).acquire(`b${i}`),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(2);
    } finally {
      await Promise.all(clients.map((c) => c.quit()));
    }
  });
});
