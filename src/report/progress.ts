/**
 * The progress of a running import, sweep or export, fed with {@link ProgressSnapshot}s.
 * On a terminal: one status line redrawn in place at the bottom, with the log printed above it
 * (terminal.ts). Otherwise: a plain line (or, with `LOG_FORMAT=json`, a pino-shaped JSON line)
 * every `intervalMs`, at each phase change and at the end.
 */
import { terminalFor } from '../terminal.js';
import type { ProgressSnapshot } from './types.js';
import { formatDuration, n } from './format.js';

export type { ProgressSnapshot } from './types.js';

/** Where the display writes: process.stderr by default. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

export interface ProgressOptions {
  /** @defaultValue process.stderr */
  stream?: ProgressStream;
  /**
   * `tty`: a redrawn line; `lines`: plain text lines; `json`: JSON lines.
   * @defaultValue `tty` when the stream is a terminal, else `json` if `logFormat` is `json`, else `lines`
   */
  mode?: 'tty' | 'lines' | 'json';
  /** `config.logFormat`, used to choose the default mode. */
  logFormat?: 'pretty' | 'json';
  /** Time between plain or JSON lines. @defaultValue 10000 */
  intervalMs?: number;
  /** Time between redraws on a terminal (the elapsed time and estimate move even without news). @defaultValue 1000 */
  redrawMs?: number;
  /** The clock, for tests. @defaultValue Date.now */
  now?: () => number;
}

export interface ProgressDisplay {
  update(snapshot: ProgressSnapshot): void;
  /**
   * Prints the last (or given) snapshot as a final plain line and stops the timers; idempotent. A
   * snapshot whose phase is `stopped` ends as stopped, not finished.
   */
  stop(final?: ProgressSnapshot): void;
}

/** What {@link estimate} derives from the snapshots. */
export interface ProgressEstimate {
  /** Users with an outcome so far. */
  done: number;
  /** Users per second over the recent window, when measurable. */
  rate?: number;
  /** Milliseconds left, when the total is known, users remain and are moving. */
  etaMs?: number;
  /** Users left, when the total is known. */
  remaining?: number;
}

const WINDOW_MS = 60_000;

/**
 * Estimates the time left from the rate of users reaching an outcome over the last minute (the
 * import rate changes with the phase and the tenant's limits, so the whole-run average lags).
 */
export class RateTracker {
  readonly #samples: Array<{ t: number; done: number }> = [];

  add(t: number, done: number): void {
    const last = this.#samples.at(-1);
    if (last !== undefined && done < last.done) this.#samples.length = 0;
    this.#samples.push({ t, done });
    while (this.#samples.length > 2 && t - this.#samples[0]!.t > WINDOW_MS) this.#samples.shift();
  }

  estimate(total: number | undefined): Omit<ProgressEstimate, 'done'> {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    const remaining = total === undefined || last === undefined ? undefined : Math.max(0, total - last.done);
    const known = remaining === undefined ? {} : { remaining };
    if (first === undefined || last === undefined || last.t - first.t < 1000) return known;
    const rate = ((last.done - first.done) * 1000) / (last.t - first.t);
    if (rate <= 0) return { ...known, rate: 0 };
    if (remaining === undefined || remaining === 0) return { ...known, rate };
    return { ...known, rate, etaMs: (remaining / rate) * 1000 };
  }
}

export function usersDone(s: ProgressSnapshot): number {
  const c = s.counts;
  return c.imported + c.already_migrated + c.skipped + c.failed;
}

/**
 * The one-line text of a snapshot, e.g. `run-1 import · elapsed 12.0 s · about 31.2 s left · read
 * 1,000/1,000 · batches …`. The times come first so a narrow terminal cuts the counts, not them.
 * Nothing is said of the time left when nothing remains; `estimating` while users remain but the
 * rate is not measured yet.
 */
export function formatProgress(s: ProgressSnapshot, e: ProgressEstimate, elapsedMs: number): string {
  const c = s.counts;
  const b = s.batches;
  const parts = [`${s.runId} ${s.phase}`, `elapsed ${formatDuration(elapsedMs)}`];
  if (e.etaMs !== undefined) parts.push(`about ${formatDuration(Math.max(1000, e.etaMs))} left`);
  else if (e.remaining !== undefined && e.remaining > 0) parts.push('estimating');
  parts.push(
    `read ${n(s.usersRead)}${s.total !== undefined ? `/${n(s.total)}` : ''}`,
    `batches ${n(b.queued)} queued, ${n(b.running)} running, ${n(b.done)} done${b.failed > 0 ? `, ${n(b.failed)} failed` : ''}`,
    `users ${n(c.imported)} imported, ${n(c.already_migrated)} already there, ${n(c.skipped)} skipped, ${n(c.failed)} failed`,
  );
  if (s.relations !== undefined) parts.push(`relation calls ${n(s.relations.ended)}/${n(s.relations.calls)}`);
  return parts.join(' · ');
}

export function createProgress(options: ProgressOptions = {}): ProgressDisplay {
  const stream = options.stream ?? process.stderr;
  const mode = options.mode ?? (stream.isTTY ? 'tty' : options.logFormat === 'json' ? 'json' : 'lines');
  const terminal = terminalFor(stream);
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 10_000;
  const rates = new RateTracker();
  let last: ProgressSnapshot | undefined;
  let lastPrinted = -Infinity;
  let lastPhase: string | undefined;
  let stopped = false;

  const started = (s: ProgressSnapshot): number =>
    typeof s.startedAt === 'number' ? s.startedAt : Date.parse(s.startedAt);

  const emit = (s: ProgressSnapshot, final: boolean): void => {
    const t = now();
    const estimate: ProgressEstimate = { done: usersDone(s), ...rates.estimate(s.total) };
    const elapsed = Math.max(0, t - started(s));
    lastPrinted = t;
    if (mode === 'json') {
      stream.write(
        `${JSON.stringify({
          level: 30,
          time: t,
          msg: final ? (s.phase === 'stopped' ? 'stopped' : 'finished') : 'progress',
          ...s,
          done: estimate.done,
          elapsedMs: elapsed,
          ...(estimate.rate !== undefined && { usersPerSecond: Math.round(estimate.rate * 10) / 10 }),
          ...(estimate.etaMs !== undefined && !final && { etaMs: Math.round(estimate.etaMs) }),
        })}\n`,
      );
      return;
    }
    const text = formatProgress(s, final ? { done: estimate.done } : estimate, elapsed);
    if (mode === 'tty' && !final) {
      // One line, cut to the width: a wrapped status line would push the log up by two.
      const width = Math.max(20, (stream.columns ?? 120) - 1);
      terminal.status(text.length > width ? `${text.slice(0, width - 1)}…` : text);
      return;
    }
    terminal.clearStatus();
    terminal.log(`${text}\n`);
  };

  const timer = setInterval(
    () => {
      if (last === undefined || stopped) return;
      if (mode === 'tty' || now() - lastPrinted >= intervalMs) emit(last, false);
    },
    mode === 'tty' ? (options.redrawMs ?? 1000) : Math.max(100, Math.min(intervalMs, 1000)),
  );
  timer.unref();

  return {
    update(snapshot) {
      if (stopped) return;
      last = snapshot;
      rates.add(now(), usersDone(snapshot));
      const phaseChanged = snapshot.phase !== lastPhase;
      lastPhase = snapshot.phase;
      const due = mode === 'tty' ? now() - lastPrinted >= 100 : now() - lastPrinted >= intervalMs;
      if (phaseChanged || due) emit(snapshot, false);
    },
    stop(final) {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      const s = final ?? last;
      if (s !== undefined) emit(s, true);
      else terminal.clearStatus();
    },
  };
}
