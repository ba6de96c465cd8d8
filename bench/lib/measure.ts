/** Wall time, CPU time and peak RSS of a phase of a benchmark. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// A full collection before each phase, so that a phase's peak RSS is not the garbage of the one before.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

export interface Measured<T> {
  result: T;
  wallMs: number;
  /** User + system CPU of the whole process (zlib's thread-pool work included). */
  cpuMs: number;
  /** Highest RSS sampled during the phase. */
  peakRss: number;
  /** V8's heap and the memory outside it (Buffers, typed arrays) at that sample. */
  atPeak: { heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
}

/** Samples RSS every `everyMs` while `fn` runs (the pipeline awaits once per input chunk, so samples land). */
export async function measure<T>(fn: () => Promise<T>, everyMs = 25): Promise<Measured<T>> {
  collect();
  let peakRss = 0;
  let atPeak: Measured<T>['atPeak'] = { heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = (): void => {
    const m = process.memoryUsage();
    if (m.rss > peakRss) {
      peakRss = m.rss;
      atPeak = {
        heapTotal: m.heapTotal,
        heapUsed: m.heapUsed,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
      };
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    const result = await fn();
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    sample();
    return { result, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, peakRss, atPeak };
  } finally {
    clearInterval(timer);
  }
}

export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
export const thousands = (n: number): string => Math.round(n).toLocaleString('en-US');
export const perSecond = (count: number, ms: number): string => `${thousands((count / ms) * 1000)}/s`;
