import { describe, expect, it } from 'vitest';
import type { Auth0Job } from '../../src/auth0/types.js';
import { PollSchedule } from '../../src/jobs/poll-schedule.js';

const job = (over: Partial<Auth0Job>): Auth0Job => ({
  id: 'job_x',
  type: 'users_import',
  status: 'processing',
  ...over,
});
const timing = { pollIntervalMs: 1000, maxPollIntervalMs: 10_000 };

describe('PollSchedule', () => {
  it('grows the wait while Auth0 gives no hint', () => {
    const s = new PollSchedule(timing);
    const waits = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => s.next(job({ status: 'pending' }), i * 1000));
    expect(waits).toEqual([1000, 1500, 2250, 3375, 5063, 7595, 10000, 10000]);
  });

  it('sleeps until about a second before the end Auth0 announces (it rounds up to seconds)', () => {
    const s = new PollSchedule(timing);
    expect(s.next(job({ time_left_seconds: 18 }), 0)).toBe(10_000);
    expect(s.next(job({ time_left_seconds: 6 }), 10_000)).toBe(5_000);
    expect(s.next(job({ time_left_seconds: 1 }), 15_000)).toBe(1_000);
  });

  it('aims at the end predicted from the progress, looking more often near it', () => {
    const s = new PollSchedule(timing);
    s.next(job({ percentage_done: 10, time_left_seconds: 18 }), 0);
    // 10 % → 60 % in 10 s: 5 % a second, 40 % to go: 8 s, within the announced 9 s.
    expect(s.next(job({ percentage_done: 60, time_left_seconds: 9 }), 10_000)).toBe(8_000);
    // 99 %: 0.2 s to go; never sooner than a quarter of the base interval.
    expect(s.next(job({ percentage_done: 99, time_left_seconds: 1 }), 17_800)).toBe(250);
  });
});
