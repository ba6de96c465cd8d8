/** Shared by the runner's tests: a config, a private key prefix per test, cleanup. */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { loadConfig, type Config } from '../../src/config.js';

export const REDIS_URL = 'redis://127.0.0.1:6379';

export function uniquePrefix(label = 't'): string {
  return `test-runner-${label}-${randomBytes(4).toString('hex')}`;
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    // The relations stage's shared rate budget well above the simulator's fast limits, unless a
    // test sets its own.
    env: {
      REDIS_URL,
      LOG_LEVEL: 'silent',
      LOG_FORMAT: 'json',
      OLD_AUTH0_MAX_RPS: '1000',
      NEW_AUTH0_MAX_RPS: '1000',
      ...env,
    },
    dotenvPath: false,
  });
}

export function newRedis(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: null });
}

/** A logger that keeps its lines (parsed) for the test to read. */
export function captureLogger(level = 'info'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const text of chunk.toString().split('\n')) if (text !== '') lines.push(JSON.parse(text));
      cb();
    },
  });
  return { logger: pino({ level }, stream), lines };
}
