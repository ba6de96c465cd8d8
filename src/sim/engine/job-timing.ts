/**
 * A job's pending delay and speed: the tier's, or, when the timing profile varies, a draw around
 * them. The draw is a pure function of the variance seed, the tenant and the job's place in the
 * tenant's order of creation, so a run that creates its jobs in the same order sees the same
 * timings, and each tenant its own.
 */
import type { SimTiming } from '../options.js';
import { hash32, mulberry32 } from '../prng.js';

export interface JobTiming {
  /** How long the job stays pending. */
  pendingMs: number;
  /** The job's speed as a factor of the tier's. */
  speed: number;
}

export function drawJobTiming(
  timing: Pick<SimTiming, 'pendingMs' | 'variance'>,
  tenantName: string,
  place: number,
): JobTiming {
  const { pendingMs, variance } = timing;
  if (variance === false) return { pendingMs, speed: 1 };
  let salt = 0;
  for (const c of tenantName) salt = hash32(salt, c.charCodeAt(0));
  const rnd = mulberry32(hash32(variance.seed ^ salt, place));
  const spread = (x: number): number => 1 - x + 2 * x * rnd();
  const pending = Math.round(pendingMs * spread(variance.pendingSpread));
  let speed = spread(variance.speedSpread);
  if (rnd() < variance.slowShare) speed *= variance.slowFactor;
  return { pendingMs: pending, speed };
}
