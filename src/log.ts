import { pino, type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import type { Config } from './config.js';
import { terminalFor, type TerminalStream } from './terminal.js';

export type { Logger };

/**
 * Paths pino blanks out wherever they appear in a log object. Secrets are also wrapped in
 * `Secret` (config.ts), so this is the second line of defence, not the first.
 */
const REDACT = [
  'password',
  '*.password',
  'client_secret',
  '*.client_secret',
  'clientSecret',
  '*.clientSecret',
  'access_token',
  '*.access_token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'password_hash',
  '*.password_hash',
  '*.*.password_hash',
  'custom_password_hash',
  '*.custom_password_hash',
  '*.*.custom_password_hash',
  'passwordHash',
  '*.passwordHash',
];

/**
 * The process logger, always on stderr: readable lines (`LOG_FORMAT=pretty`) or JSON lines. On a
 * terminal each line is written at once through {@link terminalFor}, above the progress line
 * (a transport's thread would write between its redraws); elsewhere JSON goes out asynchronously.
 */
export function createLogger(
  config: Pick<Config, 'logLevel' | 'logFormat'>,
  bindings: Record<string, unknown> = {},
  stream: TerminalStream = process.stderr,
): Logger {
  const options = { level: config.logLevel, redact: { paths: REDACT, censor: '[redacted]' }, base: bindings };
  const prettify =
    config.logFormat === 'pretty'
      ? prettyFactory({ colorize: stream.isTTY === true, ignore: 'pid,hostname' })
      : undefined;
  if (stream.isTTY === true) {
    const terminal = terminalFor(stream);
    return pino(options, { write: (line: string) => terminal.log(prettify?.(line) ?? line) });
  }
  if (prettify !== undefined) return pino(options, { write: (line: string) => stream.write(prettify(line)) });
  if (stream === process.stderr) return pino(options, pino.destination({ dest: 2, sync: false }));
  return pino(options, { write: (line: string) => stream.write(line) });
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = pino({ level: 'silent' });

/**
 * Lets a repeated message through once per `everyMs` per key, counting what it held back: a
 * condition that lasts (Redis unreachable, a worker configured otherwise) is reported at a bounded
 * rate instead of on every attempt.
 */
export class LogThrottle {
  readonly everyMs: number;
  readonly #last = new Map<string, { at: number; held: number }>();

  constructor(everyMs: number) {
    this.everyMs = everyMs;
  }

  /** Whether to log `key` now, and how many were held back since it was last let through. */
  allow(key: string, now = Date.now()): { ok: boolean; held: number } {
    const seen = this.#last.get(key);
    if (seen !== undefined && now - seen.at < this.everyMs) {
      seen.held++;
      return { ok: false, held: seen.held };
    }
    this.#last.set(key, { at: now, held: 0 });
    return { ok: true, held: seen?.held ?? 0 };
  }

  /** Forgets `key`: its next message goes through at once. */
  reset(key: string): void {
    this.#last.delete(key);
  }
}
