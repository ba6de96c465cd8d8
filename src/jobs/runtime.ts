/**
 * What every part of the runner shares in one process: the Redis connection, the queues, the
 * run store, the import slots, the tenant clients and the timing settings. Built once by a command
 * (or a test) and handed to the processors; closing it closes every connection it opened.
 */
import { Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { createTenantClient, type RetryOptions } from '../auth0/index.js';
import type { TenantClient } from '../auth0/types.js';
import { requireTenant, type Config, type TenantName } from '../config.js';
import { MigrateError, coerceError } from '../errors.js';
import { LogThrottle, silentLogger, type Logger } from '../log.js';
import { configIdentity } from './identity.js';
import { PayloadCodec } from './payload.js';
import { QUEUES, type QueueName } from './queues.js';
import { endpointBucket } from './endpoint-limits.js';
import { RedisRateBudget } from './rate-budget.js';
import { RedisHealth, isConnectionError } from './redis-health.js';
import { ImportSlots } from './slots.js';
import { RunStore } from './store/index.js';
import type { RunIdentity } from './types.js';

const CLOSE_TIMEOUT_MS = 5_000;

/** Timings and limits of the runner; the defaults suit a real tenant, tests shrink them. */
export interface RunnerSettings {
  /**
   * BullMQ lock of an active job; a worker that dies loses its jobs to another after this long.
   * @defaultValue 30000
   */
  lockDurationMs: number;
  /** @defaultValue 15000 */
  stalledIntervalMs: number;
  /**
   * Redeliveries after a worker died before BullMQ gives a job up. The processors are idempotent,
   * so a generous number only costs time.
   * @defaultValue 20
   */
  maxStalledCount: number;
  /** Attempts of an import batch (5xx, dropped connections); slot waits do not count. @defaultValue 6 */
  batchAttempts: number;
  /** First backoff between batch attempts (exponential). @defaultValue 5000 */
  batchBackoffMs: number;
  /** Attempts of the export, snapshot, plan and report stages. @defaultValue 3 */
  stageAttempts: number;
  /** @defaultValue 10000 */
  stageBackoffMs: number;
  /** Wait before trying again when all of our import slots are taken. @defaultValue 1000 */
  slotWaitMs: number;
  /**
   * Batches allowed to be active beyond the import slots: loaded and waiting for a slot to free,
   * so a slot is given a new Auth0 job as soon as the last one ends. @defaultValue 1
   */
  prefetchBatches: number;
  /** How often a prefetched batch checks for a free slot. @defaultValue 20 */
  slotPollMs: number;
  /** How long a prefetched batch waits for a slot before going back to the queue. @defaultValue 30000 */
  slotHoldMs: number;
  /** Wait before trying again when Auth0 says its import slots are busy (someone else's job). @defaultValue 5000 */
  busyWaitMs: number;
  /** First wait between two polls of an import job (`POLL_INTERVAL_MS`). @defaultValue 1000 */
  pollIntervalMs: number;
  /** @defaultValue 10000 */
  maxPollIntervalMs: number;
  /** Batches the plan stage keeps staged in Redis beyond the running ones. @defaultValue 2 × IMPORT_CONCURRENCY + 2 */
  maxStagedBatches: number;
  /** @defaultValue 900000 */
  slotLeaseMs: number;
  /**
   * Lease of the relations lock (one relations run at a time): renewed while the run's jobs work,
   * so a crashed holder blocks the next run for this long at most. @defaultValue 600000
   */
  relationsLeaseMs: number;
  /** Time active jobs get to finish or hand back their work on SIGTERM. @defaultValue 20000 */
  shutdownGraceMs: number;
  /**
   * How long a worker configured otherwise than a run puts that run's job aside before another
   * worker (one that matches) may take it. @defaultValue 5000
   */
  handBackMs: number;
  /** Time between two heartbeats of a worker process (`status` lists the workers seen). @defaultValue 10000 */
  heartbeatMs: number;
  /** Time between two log lines about a condition that lasts (Redis unreachable, a run refused). @defaultValue 60000 */
  repeatLogMs: number;
  /** Retry policy of the tenant clients. */
  retry?: RetryOptions;
}

export function defaultSettings(config: Config, overrides: Partial<RunnerSettings> = {}): RunnerSettings {
  return {
    lockDurationMs: 30_000,
    stalledIntervalMs: 15_000,
    maxStalledCount: 20,
    batchAttempts: 6,
    batchBackoffMs: 5_000,
    stageAttempts: 3,
    stageBackoffMs: 10_000,
    slotWaitMs: 1_000,
    prefetchBatches: 1,
    slotPollMs: 20,
    slotHoldMs: 30_000,
    busyWaitMs: 5_000,
    pollIntervalMs: config.pollIntervalMs,
    maxPollIntervalMs: Math.max(config.pollIntervalMs, 10_000),
    maxStagedBatches: 2 * config.importConcurrency + 2,
    slotLeaseMs: 900_000,
    relationsLeaseMs: 600_000,
    shutdownGraceMs: 20_000,
    handBackMs: 5_000,
    heartbeatMs: 10_000,
    repeatLogMs: 60_000,
    ...overrides,
  };
}

export interface Runtime {
  config: Config;
  settings: RunnerSettings;
  logger: Logger;
  redis: Redis;
  /** Whether Redis answers; says so at a bounded rate while it does not. */
  health: RedisHealth;
  /** For messages that would otherwise repeat on every attempt. */
  throttle: LogThrottle;
  /** This process's settings that must match a run's for it to work on the run (identity.ts). */
  identity: RunIdentity;
  store: RunStore;
  slots: ImportSlots;
  queue(name: QueueName): Queue;
  /** The tenant's client (one per process and tenant). */
  client(tenant: TenantName): TenantClient;
  /** The new tenant connection's id (looked up once). */
  newConnectionId(): Promise<string>;
  /** Default options of the jobs added to a queue. */
  jobOptions(name: QueueName): JobsOptions;
  close(): Promise<void>;
}

/** Connects to Redis and answers only when it does, with a message that says what to do. */
export async function connectRedis(url: string, options: { timeoutMs?: number } = {}): Promise<Redis> {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    lazyConnect: true,
    connectTimeout: options.timeoutMs ?? 5_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new MigrateError(`Cannot reach Redis at ${redactUrl(url)} (${coerceError(err).message}).`, {
      hint: 'Start Redis (docker-compose up -d redis, or redis-server) or set REDIS_URL to where it runs.',
      cause: err,
    });
  }
  return redis;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = 'redacted';
    return u.toString();
  } catch {
    return '(unparsable REDIS_URL)';
  }
}

export async function createRuntime(
  config: Config,
  options: { settings?: Partial<RunnerSettings>; logger?: Logger; redis?: Redis } = {},
): Promise<Runtime> {
  const settings = defaultSettings(config, options.settings);
  const logger = options.logger ?? silentLogger;
  const redis = options.redis ?? (await connectRedis(config.redisUrl));
  const ownsRedis = options.redis === undefined;
  const health = new RedisHealth(redis, {
    url: redactUrl(config.redisUrl),
    logger,
    repeatMs: settings.repeatLogMs,
  });
  const store = new RunStore(
    redis,
    config.queuePrefix,
    new PayloadCodec(config.payloadKey),
    config.reportsDir,
  );
  const newTenant = config.tenants.new;
  const slots = new ImportSlots(redis, store.slotsKey(newTenant?.domain ?? 'new'), {
    limit: config.importConcurrency,
    ttlMs: settings.slotLeaseMs,
  });
  const queues = new Map<QueueName, Queue>();
  const clients = new Map<TenantName, TenantClient>();
  let connectionId: Promise<string> | undefined;

  const runtime: Runtime = {
    config,
    settings,
    logger,
    redis,
    health,
    throttle: new LogThrottle(settings.repeatLogMs),
    identity: configIdentity(config),
    store,
    slots,
    queue(name) {
      let q = queues.get(name);
      if (q === undefined) {
        // A short event stream: its length would otherwise grow with the number of batches.
        q = new Queue(name, {
          connection: redis,
          prefix: config.queuePrefix,
          streams: { events: { maxLen: 500 } },
        });
        q.on('error', (err) => {
          if (isConnectionError(err) || !runtime.throttle.allow(`queue:${name}:${err.message}`).ok) return;
          logger.warn({ err: err.message, queue: name }, 'queue error');
        });
        queues.set(name, q);
      }
      return q;
    },
    client(tenant) {
      let c = clients.get(tenant);
      if (c === undefined) {
        const tenantConfig = requireTenant(config, tenant);
        c = createTenantClient(tenantConfig, {
          label: tenant,
          // Paces the relations stage's requests, all processes together (the SDK calls of the
          // import stage are not paced: they keep the rest of the tenant's limit).
          rateGate: new RedisRateBudget(redis, store.rateKey(tenantConfig.domain), {
            rps: config.maxRps[tenant],
            endpoint: (method, path) => endpointBucket(config.endpointRateLimits, method, path),
          }),
          logger: logger.child({ tenant }),
          maxDownloadBytes: config.exportMaxBytes,
          ...(settings.retry && { retry: settings.retry }),
        });
        clients.set(tenant, c);
      }
      return c;
    },
    newConnectionId() {
      connectionId ??= runtime
        .client('new')
        .getConnectionByName(requireTenant(config, 'new').connection)
        .then((c) => c.id);
      connectionId.catch(() => {
        connectionId = undefined;
      });
      return connectionId;
    },
    jobOptions(name) {
      const keep = {
        removeOnComplete: { age: 7 * 86_400, count: 1_000 },
        removeOnFail: { age: 30 * 86_400, count: 1_000 },
      };
      if (name === QUEUES.importBatch) {
        // A run has a batch job per ~1,000 users: kept by count, so Redis does not grow with users
        // (a batch's outcome is in the run's folder; the job only says which process ran it).
        return {
          removeOnComplete: { age: 7 * 86_400, count: 100 },
          removeOnFail: { age: 30 * 86_400, count: 1_000 },
          attempts: settings.batchAttempts,
          backoff: { type: 'exponential', delay: settings.batchBackoffMs },
        };
      }
      return {
        ...keep,
        attempts: settings.stageAttempts,
        backoff: { type: 'exponential', delay: settings.stageBackoffMs },
      };
    },
    async close() {
      health.closing();
      if (health.down) {
        // Nothing to say goodbye to: waiting would only hold the process.
        for (const q of queues.values()) void q.disconnect().catch(() => {});
        if (ownsRedis) redis.disconnect();
        return;
      }
      // Every connection closes, politely if Redis answers within the time, else at once.
      const polite = (async () => {
        await Promise.allSettled([...queues.values()].map((q) => q.close()));
        if (ownsRedis) await redis.quit().catch(() => redis.disconnect());
      })();
      let timer: NodeJS.Timeout | undefined;
      const late = await Promise.race([
        polite.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), CLOSE_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
      if (late) {
        logger.warn({ timeoutMs: CLOSE_TIMEOUT_MS }, 'Redis did not answer in time: connections dropped');
        for (const q of queues.values()) void q.disconnect().catch(() => {});
        if (ownsRedis) redis.disconnect();
      }
    },
  };
  return runtime;
}
