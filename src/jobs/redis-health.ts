/**
 * Whether Redis answers, as the process's connection sees it. While it does not, commands wait in
 * ioredis's queue and the BullMQ workers retry on their own; this says so once, then at a bounded
 * rate ("still unreachable after …"), and once more when Redis is back, instead of one line per
 * failed attempt of every worker. Listeners run when Redis is back (to restore what a Redis that
 * lost its data no longer has).
 */
import type { Redis } from 'ioredis';
import { formatDuration } from '../report/format.js';
import type { Logger } from '../log.js';

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * An error that only says the connection to Redis is down (the health tracker reports those), or
 * that Redis, just restarted, is still loading its data (`LOADING`, while it replays its AOF).
 */
export function isConnectionError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && CONNECTION_CODES.has(code)) return true;
  return /Connection is closed|Stream isn't writeable|connect ETIMEDOUT|ECONNREFUSED|ECONNRESET|Socket closed unexpectedly|^LOADING\b/i.test(
    err.message,
  );
}

export interface RedisHealthOptions {
  /** Where Redis is, for messages (without its password). */
  url: string;
  logger: Logger;
  /** Time between two "still unreachable" lines. @defaultValue 60000 */
  repeatMs?: number;
}

export class RedisHealth {
  readonly #redis: Redis;
  readonly #options: Required<RedisHealthOptions>;
  readonly #onBack: Array<() => void> = [];
  #downSince: number | undefined;
  #lastLine = 0;
  #closing = false;

  constructor(redis: Redis, options: RedisHealthOptions) {
    this.#redis = redis;
    this.#options = { repeatMs: 60_000, ...options };
    redis.on('error', (err: Error) => this.#failed(err));
    redis.on('close', () => this.#failed(undefined));
    redis.on('ready', () => this.#ready());
  }

  /** True while the connection is not ready (Redis unreachable, or reconnecting). */
  get down(): boolean {
    return this.#downSince !== undefined || this.#redis.status !== 'ready';
  }

  /** How long Redis has been unreachable (0 when it answers). */
  downForMs(now = Date.now()): number {
    return this.#downSince === undefined ? 0 : now - this.#downSince;
  }

  /** Runs `fn` each time Redis is back after an outage. */
  onBack(fn: () => void): void {
    this.#onBack.push(fn);
  }

  /** The process is closing its connection on purpose: nothing more to report. */
  closing(): void {
    this.#closing = true;
  }

  #failed(err: Error | undefined): void {
    if (this.#closing) return;
    const now = Date.now();
    const { logger, url, repeatMs } = this.#options;
    const why = err === undefined ? 'connection closed' : err.message;
    if (this.#downSince === undefined) {
      this.#downSince = now;
      this.#lastLine = now;
      logger.warn(
        { redis: url, err: why },
        'Redis is unreachable: waiting for it; work resumes when it is back',
      );
      return;
    }
    if (now - this.#lastLine >= repeatMs) {
      this.#lastLine = now;
      logger.warn(
        { redis: url, err: why, downMs: now - this.#downSince },
        `Redis still unreachable after ${formatDuration(now - this.#downSince)}`,
      );
    }
  }

  #ready(): void {
    if (this.#downSince === undefined) return;
    const downMs = Date.now() - this.#downSince;
    this.#downSince = undefined;
    this.#options.logger.info(
      { redis: this.#options.url, downMs },
      `Redis is back after ${formatDuration(downMs)}`,
    );
    for (const fn of this.#onBack) fn();
  }
}
