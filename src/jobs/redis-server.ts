/**
 * A private `redis-server` for one rehearsal (demo, bench) or test: a free port on 127.0.0.1, a
 * temporary folder, no persistence unless asked for AOF (as docker-compose.yml runs Redis);
 * stopped (and its folder removed) afterwards.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { MigrateError } from '../errors.js';

export interface PrivateRedis {
  url: string;
  /** Stops the server (SIGTERM: with AOF it writes what it holds) and removes its folder. */
  stop(): Promise<void>;
  /** Stops the server. With AOF it keeps its data for {@link PrivateRedis.start}; without, it is gone. */
  halt(): Promise<void>;
  /** Starts the halted server again on the same port and folder. */
  start(): Promise<void>;
}

export interface PrivateRedisOptions {
  /** Append-only file, fsync every second, as docker-compose.yml runs Redis. @defaultValue false */
  aof?: boolean;
}

/** True when a `redis-server` binary is on the PATH. */
export function redisServerInstalled(): boolean {
  const r = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** True when a Redis answers PING at `url` within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 1_500): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'auth0-migrate-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    options.aof === true ? 'yes' : 'no',
    '--appendfsync',
    'everysec',
    '--dir',
    dir,
    '--maxmemory-policy',
    'noeviction',
  ];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const halt = async (): Promise<void> => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  const start = async (): Promise<void> => {
    const proc = spawn('redis-server', args, { stdio: 'ignore' });
    child = proc;
    exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) break;
      if (await redisAnswers(url, 500)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    await halt();
    throw new MigrateError(`redis-server did not start on port ${port}.`, {
      hint: 'Start Redis yourself (docker run -p 6379:6379 redis:7) and set REDIS_URL.',
    });
  };
  const stop = async (): Promise<void> => {
    await halt();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await start();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { url, stop, halt, start };
}
