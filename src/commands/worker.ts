import { requireTenant, type Config } from '../config.js';
import { ConfigError, ExitCode, coerceError } from '../errors.js';
import { warnIfPayloadsUnencrypted } from '../jobs/payload.js';
import { QUEUES, type QueueName } from '../jobs/queues.js';
import { createRuntime, type Runtime } from '../jobs/runtime.js';
import { progressSnapshot } from '../jobs/summary.js';
import { createLogger, type Logger } from '../log.js';
import { startMetricsServer, type MetricsServer } from '../report/metrics.js';
import { startWorkers } from '../workers/index.js';
import type { CommandHooks } from './run.js';

/** `auth0-migrate worker`: the workers, the sweep schedule (SWEEP_CRON) and metrics (METRICS_PORT) until SIGTERM. */
export async function workerCommand(config: Config, hooks: CommandHooks = {}): Promise<number> {
  requireTenant(config, 'new');
  if (config.sweepCron !== undefined || config.relationsCron !== undefined) requireTenant(config, 'old');
  const logger = hooks.logger ?? createLogger(config, { command: 'worker' });
  // Listen for the stop signal before anything starts: a container stopped while it is still
  // starting must close what it opened, not die on Node's default SIGTERM handling.
  const stopped = stopSignal(hooks.signal, logger);
  const rt = await createRuntime(config, { logger, ...(hooks.settings && { settings: hooks.settings }) });
  warnIfPayloadsUnencrypted(config, logger);
  let metrics: MetricsServer | undefined;
  let workers: Awaited<ReturnType<typeof startWorkers>> | undefined;
  let clean = true;
  try {
    await keepSchedule(rt);
    workers = await startWorkers(rt, { onRedisDataLost: () => keepSchedule(rt) });
    if (config.metricsPort !== undefined) {
      metrics = await startMetricsServer({
        port: config.metricsPort,
        host: config.metricsHost,
        queues: (Object.values(QUEUES) as QueueName[]).map((q) => rt.queue(q)),
        counters: () => runningSnapshots(rt),
        logger,
      });
      logger.info({ url: metrics.url }, 'metrics served');
    }
    hooks.onReady?.();
    await stopped;
  } finally {
    if (workers !== undefined) clean = await workers.close({ now: rt.health.down });
    await metrics?.close().catch(() => {});
    await rt.close();
  }
  return clean ? ExitCode.ok : ExitCode.failure;
}

/** Resolves when the caller's signal aborts, or on SIGINT/SIGTERM when there is none. */
function stopSignal(signal: AbortSignal | undefined, logger: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal !== undefined) {
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
      return;
    }
    const onSignal = (sig: NodeJS.Signals): void => {
      logger.info({ signal: sig }, 'stopping: active jobs finish or are handed back');
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/**
 * Keeps the `sweep` queue's job schedulers in step with SWEEP_CRON and RELATIONS_CRON (each
 * removed when its variable is not set).
 */
export async function keepSchedule(rt: Runtime): Promise<void> {
  await keepSweepSchedule(rt);
  await keepRelationsSchedule(rt);
}

async function keepRelationsSchedule(rt: Runtime): Promise<void> {
  const queue = rt.queue(QUEUES.sweep);
  const cron = rt.config.relationsCron;
  if (cron === undefined) {
    await queue.removeJobScheduler('relations');
    return;
  }
  try {
    await queue.upsertJobScheduler(
      'relations',
      { pattern: cron, tz: rt.config.sweepTimezone },
      { name: 'relations', data: { kind: 'relations' } },
    );
  } catch (err) {
    throw new ConfigError(
      `RELATIONS_CRON "${cron}" (time zone ${rt.config.sweepTimezone}) is not a schedule BullMQ accepts: ${coerceError(err).message}`,
      {
        hint: 'Use a cron expression such as "0 4 * * *" (every day at 04:00) and an IANA time zone in SWEEP_TZ.',
      },
    );
  }
  rt.logger.info({ cron, tz: rt.config.sweepTimezone }, 'relations scheduled');
}

async function keepSweepSchedule(rt: Runtime): Promise<void> {
  const queue = rt.queue(QUEUES.sweep);
  const cron = rt.config.sweepCron;
  if (cron === undefined) {
    await queue.removeJobScheduler('sweep');
    return;
  }
  try {
    await queue.upsertJobScheduler(
      'sweep',
      { pattern: cron, tz: rt.config.sweepTimezone },
      { name: 'sweep', data: {} },
    );
  } catch (err) {
    throw new ConfigError(
      `SWEEP_CRON "${cron}" (time zone ${rt.config.sweepTimezone}) is not a schedule BullMQ accepts: ${coerceError(err).message}`,
      {
        hint: 'Use a cron expression such as "0 3 * * *" (every day at 03:00) and an IANA time zone in SWEEP_TZ.',
      },
    );
  }
  rt.logger.info({ cron, tz: rt.config.sweepTimezone }, 'sweep scheduled');
}

async function runningSnapshots(rt: Runtime) {
  const snapshots = [];
  for (const id of await rt.store.listRunIds(20)) {
    const p = await rt.store.progress(id);
    if (p !== undefined && p.run.status === 'running') snapshots.push(progressSnapshot(p));
  }
  return snapshots;
}
