/** The shared rate budget: requests spaced 1/rps apart however many callers (and connections) take. */
import { afterEach, describe, expect, it } from 'vitest';
import { RedisRateBudget } from '../../src/jobs/rate-budget.js';
import { newRedis, uniquePrefix } from './helpers.js';

const connections: Array<ReturnType<typeof newRedis>> = [];
afterEach(async () => {
  for (const r of connections.splice(0)) {
    await r.quit();
  }
});

function redis() {
  const r = newRedis();
  connections.push(r);
  return r;
}

describe('RedisRateBudget', () => {
  it('spaces the requests of several connections sharing a key at 1/rps, no faster', async () => {
    const key = `${uniquePrefix('rate')}:rate:tenant`;
    // Two connections: two worker processes drawing on one budget.
    const gates = [
      new RedisRateBudget(redis(), key, { rps: 20 }),
      new RedisRateBudget(redis(), key, { rps: 20 }),
    ];
    const times: number[] = [];
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        for (let k = 0; k < 5; k++) {
          await gates[i % 2]!.take();
          times.push(Date.now());
        }
      }),
    );
    const took = Date.now() - started;
    // 40 requests at 20/s: the first at once, the last 39 intervals of 50 ms later.
    expect(took).toBeGreaterThanOrEqual(39 * 50 - 20);
    // Not much slower either: twice the spacing leaves room for a loaded machine (2,601 ms seen at a
    // load average of 20 on 2 cores), and still catches a budget that waits a whole second per call.
    expect(took).toBeLessThan(39 * 50 * 2);
    // No second of the run saw more than 20 (+1 at the edge) requests.
    times.sort((a, b) => a - b);
    for (let i = 0; i + 21 < times.length; i++)
      expect(times[i + 21]! - times[i]!).toBeGreaterThanOrEqual(1000);
    await redis().del(key);
  });

  it('stops waiting when its signal aborts', async () => {
    const key = `${uniquePrefix('rate')}:rate:tenant`;
    const gate = new RedisRateBudget(redis(), key, { rps: 0.1 });
    await gate.take();
    const stop = new AbortController();
    const waiting = gate.take(stop.signal);
    stop.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
    await redis().del(key);
  });
});
