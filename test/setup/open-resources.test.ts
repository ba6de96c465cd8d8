/** The tracker behind test/setup/close-everything.ts: it sees what is open and where it came from. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { deleteKeysUnder } from '../../src/jobs/queues.js';
import { redisServerInstalled, startPrivateRedis } from '../../src/jobs/redis-server.js';
import { REDIS_URL, uniquePrefix } from '../jobs/helpers.js';
import { openResources } from './open-resources.js';

const tracker = openResources();
const names = async () => (await tracker.stillOpen(0)).map((r) => `${r.what()} | ${r.openedAt}`);

describe('open resources', () => {
  it('are a Redis connection until it has quit', async () => {
    const redis = new Redis(REDIS_URL);
    await redis.ping();
    expect(await names()).toEqual([
      expect.stringMatching(
        /^a Redis connection to 127\.0\.0\.1:6379 \| in ".*until it has quit" at test\/setup\/open-resources\.test\.ts:\d+$/,
      ),
    ]);
    await redis.quit();
    expect(await tracker.stillOpen(10_000)).toEqual([]);
  });

  it.skipIf(!redisServerInstalled())('are not a Redis connection closed while Redis was away', async () => {
    const server = await startPrivateRedis();
    const redis = new Redis(server.url, { retryStrategy: () => 50 });
    redis.on('error', () => {});
    await redis.ping();
    await server.halt();
    await new Promise((resolve) => redis.once('reconnecting', resolve));
    redis.disconnect();
    expect(await tracker.stillOpen(0)).toEqual([]);
    await server.stop();
  });

  it("name a BullMQ Worker's connections", async () => {
    const prefix = uniquePrefix('leaks');
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue('q', { connection, prefix });
    const worker = new Worker('q', async () => {}, { connection, prefix });
    await worker.waitUntilReady();
    expect(await names()).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^a Redis connection to .* \(a BullMQ Worker's\) \| in ".*" at test\/setup\/open-resources\.test\.ts:\d+$/,
        ),
      ]),
    );
    await worker.close();
    await queue.close();
    await deleteKeysUnder(connection, prefix);
    await connection.quit();
    expect(await tracker.stillOpen(10_000)).toEqual([]);
  });

  it('are a server until it has closed, and a child process until it has exited', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await once(child, 'spawn');
    expect(await names()).toEqual([
      expect.stringMatching(
        /^a server listening on 127\.0\.0\.1:\d+ \| in ".*" at test\/setup\/open-resources\.test\.ts:\d+$/,
      ),
      expect.stringMatching(/^child process \d+ \(.*node -e setInterval.*\) \| in ".*" at test\/setup/),
    ]);
    server.close();
    child.kill('SIGKILL');
    expect(await tracker.stillOpen(10_000)).toEqual([]);
  });
});
