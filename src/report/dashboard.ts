/**
 * bull-board over the runner's queues (the `dashboard` command serves it). Job data can name users, so it
 * listens on loopback unless basic auth (DASHBOARD_USER, DASHBOARD_PASSWORD) is set, and with those
 * set every request must carry them.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { Queue } from 'bullmq';
import { fastify } from 'fastify';
import { Redis } from 'ioredis';
import type { Secret } from '../config.js';
import { ConfigError, MigrateError, coerceError } from '../errors.js';
import type { Logger } from '../log.js';

export interface DashboardOptions {
  /** `REDIS_URL`. */
  redisUrl: string;
  /** `QUEUE_PREFIX`. */
  prefix: string;
  /** `DASHBOARD_HOST` @defaultValue `127.0.0.1` */
  host?: string;
  /** `DASHBOARD_PORT`; 0 picks a free port. */
  port: number;
  /** Basic auth; required when `host` is not a loopback address. */
  auth?: { user: string; password: Secret };
  /** The queues shown (the command shows every queue of src/jobs/queues.ts). */
  queueNames: readonly string[];
  logger?: Logger;
}

export interface Dashboard {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** 127.0.0.0/8, ::1 and `localhost`: addresses only this machine reaches. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && mapped[1]!.startsWith('127.');
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host) && options.auth === undefined) {
    throw new ConfigError(
      `The dashboard shows job data (user ids, emails) and would listen on ${host} without a password.`,
      {
        hint: 'Set DASHBOARD_USER and DASHBOARD_PASSWORD, or leave DASHBOARD_HOST at 127.0.0.1 and reach it through an SSH tunnel.',
      },
    );
  }

  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: 3 });
  connection.on('error', (err) =>
    options.logger?.warn({ err: err.message }, 'dashboard: Redis connection error'),
  );
  const queues = options.queueNames.map((name) => new Queue(name, { connection, prefix: options.prefix }));
  const app = fastify({ logger: false });
  try {
    // Fail at start, not on the first page view, when Redis does not answer.
    await connection.ping();
    if (options.auth !== undefined) {
      const expected = digest(`${options.auth.user}:${options.auth.password.reveal()}`);
      app.addHook('onRequest', async (req, reply) => {
        const header = req.headers.authorization ?? '';
        const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header);
        const given = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
        // Compare digests: equal lengths, constant time, whatever was sent.
        if (!timingSafeEqual(digest(given), expected)) {
          await reply
            .code(401)
            .header('www-authenticate', 'Basic realm="auth0-migrate", charset="UTF-8"')
            .type('text/plain')
            .send('Authentication required\n');
        }
      });
    }
    const serverAdapter = new FastifyAdapter();
    serverAdapter.setBasePath('/');
    createBullBoard({
      queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: false })),
      serverAdapter,
      options: { uiConfig: { boardTitle: 'auth0-migrate' } },
    });
    await app.register(serverAdapter.registerPlugin(), { prefix: '/' });
    await app.listen({ host, port: options.port });
  } catch (err) {
    await Promise.allSettled([app.close(), ...queues.map((q) => q.close())]);
    connection.disconnect();
    throw new MigrateError(
      `The dashboard could not start on ${host}:${options.port}: ${coerceError(err).message}`,
      {
        hint: 'Check DASHBOARD_HOST, DASHBOARD_PORT (free?) and REDIS_URL.',
        cause: err,
      },
    );
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    async close() {
      await app.close();
      await Promise.all(queues.map((q) => q.close()));
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
