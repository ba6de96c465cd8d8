import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config.js';
import { isLoopback, startDashboard, type Dashboard } from '../../src/report/dashboard.js';
import { QUEUES, deleteKeysUnder } from '../../src/jobs/queues.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
let dashboard: Dashboard | undefined;
let queue: Queue | undefined;
const prefixes: string[] = [];
/** A queue prefix of this test; its keys (BullMQ writes `<queue>:meta` on sight) go at the end. */
const newPrefix = (): string => {
  const p = `test-dash-${randomUUID()}`;
  prefixes.push(p);
  return p;
};
afterEach(async () => {
  await dashboard?.close();
  dashboard = undefined;
  await queue?.close();
  queue = undefined;
  const redis = new Redis(REDIS_URL);
  for (const p of prefixes.splice(0)) await deleteKeysUnder(redis, p);
  await redis.quit();
});

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('isLoopback', () => {
  it('tells loopback addresses from the others', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.1', 'example.com', '::ffff:10.0.0.1'])
      expect(isLoopback(h)).toBe(false);
  });
});

describe('startDashboard', () => {
  it('serves bull-board on 127.0.0.1 with the queues under the prefix', async () => {
    const prefix = newPrefix();
    queue = new Queue('import-batch', { connection: { host: '127.0.0.1', port: 6379 }, prefix });
    await queue.add('batch', { n: 1 });
    dashboard = await startDashboard({
      redisUrl: REDIS_URL,
      prefix,
      host: '127.0.0.1',
      port: 0,
      queueNames: Object.values(QUEUES),
    });
    expect(dashboard.url).toBe(`http://127.0.0.1:${dashboard.port}/`);
    const page = await fetch(dashboard.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('auth0-migrate');
    const api = await fetch(`${dashboard.url}api/queues?activeQueue=import-batch&status=waiting&page=1`);
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: Array<{ name: string; counts: Record<string, number> }> };
    expect(body.queues.map((q) => q.name).sort()).toEqual([
      'export',
      'import-batch',
      'plan',
      'relation-call',
      'relations',
      'report',
      'snapshot',
      'sweep',
    ]);
    expect(body.queues.find((q) => q.name === 'import-batch')?.counts.waiting).toBe(1);
  });

  it('refuses to listen on 0.0.0.0 without a user and password', async () => {
    await expect(
      startDashboard({
        redisUrl: REDIS_URL,
        prefix: newPrefix(),
        host: '0.0.0.0',
        port: 0,
        queueNames: Object.values(QUEUES),
      }),
    ).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringContaining('would listen on 0.0.0.0 without a password'),
      hint: expect.stringContaining('DASHBOARD_USER and DASHBOARD_PASSWORD'),
    });
  });

  it('asks every request for the basic-auth credentials when they are set', async () => {
    dashboard = await startDashboard({
      redisUrl: REDIS_URL,
      prefix: newPrefix(),
      host: '0.0.0.0',
      port: 0,
      queueNames: Object.values(QUEUES),
      auth: { user: 'ops', password: new Secret('dash-pw-123') },
    });
    const url = `http://127.0.0.1:${dashboard.port}/`;
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Basic');
    expect(
      (await fetch(`${url}api/queues`, { headers: { authorization: basic('ops', 'wrong') } })).status,
    ).toBe(401);
    expect(
      (await fetch(`${url}api/queues`, { headers: { authorization: basic('ops', 'dash-pw-1234') } })).status,
    ).toBe(401);
    const ok = await fetch(`${url}api/queues`, { headers: { authorization: basic('ops', 'dash-pw-123') } });
    expect(ok.status).toBe(200);
  });
});

describe('auth0-migrate dashboard', () => {
  const cli = (env: Record<string, string>) =>
    spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'dashboard'], {
      env: { PATH: process.env.PATH ?? '', REDIS_URL, LOG_LEVEL: 'silent', LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  it('serves until SIGTERM and exits 0', async () => {
    const port = await freePort();
    const child = cli({ DASHBOARD_PORT: String(port), QUEUE_PREFIX: newPrefix() });
    let out = '';
    child.stdout.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('Dashboard on')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`exited ${code} before serving`)));
    });
    expect(out).toContain(`http://127.0.0.1:${port}/`);
    expect((await fetch(`http://127.0.0.1:${port}/api/queues`)).status).toBe(200);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    expect((await exited)[0]).toBe(0);
  });

  it('exits 1 with what to do when asked for 0.0.0.0 without auth', async () => {
    const child = cli({
      DASHBOARD_HOST: '0.0.0.0',
      DASHBOARD_PORT: String(await freePort()),
      QUEUE_PREFIX: newPrefix(),
    });
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (err += c));
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(err).toContain('would listen on 0.0.0.0 without a password');
    expect(err).toContain('hint: Set DASHBOARD_USER and DASHBOARD_PASSWORD');
  });
});
