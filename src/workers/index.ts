/**
 * Starts a BullMQ Worker per queue in this process, and stops them: on `close()` they take no new
 * job, active jobs are asked to hand their work back (an import batch keeps its Auth0 job id and
 * slot, so the next worker resumes polling it) and get `shutdownGraceMs` to do so; after that they
 * are dropped and BullMQ's stalled check gives them to another worker.
 *
 * While Redis is unreachable the workers wait (BullMQ reconnects on its own); the outage is
 * reported by the runtime's health tracker at a bounded rate, not by every worker's every attempt.
 * The process beats a heartbeat with its identity, which `status` lists.
 */
import { hostname } from 'node:os';
import { Worker, type Processor } from 'bullmq';
import { coerceError } from '../errors.js';
import { HandBack } from '../jobs/job-control.js';
import { QUEUES, type QueueName } from '../jobs/queues.js';
import { reconcileFailedJobs } from '../jobs/reconcile.js';
import { isConnectionError } from '../jobs/redis-health.js';
import type { Runtime } from '../jobs/runtime.js';
import { deferJob } from './defer.js';
import { importBatchProcessor } from './import-batch.js';
import { planProcessor } from './plan.js';
import { relationCallProcessor, relationsProcessor } from './relations.js';
import { reportProcessor } from './report.js';
import { sweepProcessor } from './sweep.js';
import { exportProcessor, snapshotProcessor } from './tenant-export.js';

export interface Workers {
  readonly workers: ReadonlyMap<QueueName, Worker>;
  /** `host:pid`, as the heartbeat and each job's `processedBy` name this process. */
  readonly id: string;
  /**
   * Stops taking jobs, hands active ones back within the grace period, closes the workers.
   * False when jobs were still active at the end of the grace period (the process should exit).
   * With `now` (Redis is unreachable: nothing can be handed back), it does not wait.
   */
  close(options?: { now?: boolean }): Promise<boolean>;
}

export interface StartWorkersOptions {
  /** Which queues this process works on. @defaultValue all of them */
  queues?: readonly QueueName[];
  /** Restores what the process keeps in Redis (the sweep schedule) after Redis lost its data. */
  onRedisDataLost?: () => Promise<unknown>;
}

export async function startWorkers(rt: Runtime, options: StartWorkersOptions = {}): Promise<Workers> {
  const { settings, config } = rt;
  const id = `${hostname()}:${process.pid}`;
  // Across every process, no more batches are active than the import slots (IMPORT_CONCURRENCY,
  // enforced by the slot leases) and the prefetched batches that wait, loaded, for a slot to free.
  const limitBatches = () =>
    rt.queue(QUEUES.importBatch).setGlobalConcurrency(config.importConcurrency + settings.prefetchBatches);
  await limitBatches();

  const processors: Record<QueueName, { fn: Processor; concurrency: number }> = {
    [QUEUES.sweep]: { fn: sweepProcessor(rt) as Processor, concurrency: 1 },
    [QUEUES.export]: { fn: exportProcessor(rt) as Processor, concurrency: 2 },
    [QUEUES.snapshot]: { fn: snapshotProcessor(rt) as Processor, concurrency: 2 },
    [QUEUES.plan]: { fn: planProcessor(rt) as Processor, concurrency: 2 },
    [QUEUES.importBatch]: {
      fn: importBatchProcessor(rt) as Processor,
      concurrency: config.workerConcurrency,
    },
    [QUEUES.report]: { fn: reportProcessor(rt) as Processor, concurrency: 1 },
    [QUEUES.relations]: { fn: relationsProcessor(rt) as Processor, concurrency: 1 },
    // The tenant's rate budget (shared by every process) paces the calls, not this number.
    [QUEUES.relationCall]: {
      fn: relationCallProcessor(rt) as Processor,
      concurrency: config.relationsConcurrency,
    },
  };
  // Set once close() begins. A worker that is closing can still take one job: a fetch already
  // waiting on Redis when close() began returns the job just handed back (BullMQ checks `closing`
  // only before it waits). Such a job is handed back again at once, before it starts.
  let stopping = false;
  const unlessStopping =
    (fn: Processor): Processor =>
    async (job, token, signal) => {
      if (stopping) await deferJob(job, token, new HandBack());
      return fn(job, token, signal);
    };
  const workers = new Map<QueueName, Worker>();
  for (const name of options.queues ?? (Object.values(QUEUES) as QueueName[])) {
    const { fn, concurrency } = processors[name];
    const worker = new Worker(name, unlessStopping(fn), {
      // Recorded on each job (processedBy): which process ran it.
      name: id,
      connection: rt.redis,
      prefix: config.queuePrefix,
      concurrency,
      lockDuration: settings.lockDurationMs,
      stalledInterval: settings.stalledIntervalMs,
      maxStalledCount: settings.maxStalledCount,
      // Stage jobs poll Auth0 for minutes; the lock is renewed meanwhile.
      drainDelay: 5,
    });
    worker.on('error', (err) => {
      // An unreachable Redis is reported once by the runtime's health tracker, not here.
      if (rt.health.down || isConnectionError(err)) return;
      const { ok, held } = rt.throttle.allow(`worker:${name}:${err.message}`);
      if (ok) rt.logger.warn({ queue: name, err: err.message, repeated: held }, 'worker error');
    });
    worker.on('failed', (job, err) =>
      rt.logger.warn({ queue: name, jobId: job?.id, err: err.message }, 'job failed'),
    );
    workers.set(name, worker);
  }
  await Promise.all([...workers.values()].map((w) => w.waitUntilReady()));
  rt.logger.info({ queues: [...workers.keys()] }, 'workers started');

  let reconciling: Promise<unknown> = Promise.resolve();
  const reconcile = (): void => {
    reconciling = reconcileFailedJobs(rt).then(
      (n) =>
        n > 0 &&
        rt.logger.warn(
          { jobs: n },
          'revived or ended jobs that BullMQ failed on its own (stalled too often)',
        ),
      (err: unknown) => rt.logger.warn({ err: coerceError(err).message }, 'reconciling failed jobs'),
    );
  };
  reconcile();
  const reconciler = setInterval(reconcile, settings.stalledIntervalMs * 4);
  reconciler.unref();

  const startedAt = Date.now();
  const queues = [...workers.keys()];
  let recorded = false;
  const beat = (stoppedAt?: number): Promise<unknown> =>
    rt.store.workers
      .beat({
        id,
        identity: rt.identity,
        queues,
        startedAt,
        lastSeen: Date.now(),
        ...(stoppedAt && { stoppedAt }),
      })
      .then(
        (known) => {
          const first = !recorded;
          recorded = true;
          if (known || first || stoppedAt !== undefined) return;
          // Redis forgot this worker: it lost its data (restarted without persistence).
          rt.logger.error(
            'Redis came back without its data (restarted without persistence?): runs in flight are lost; start them again as new runs',
          );
          return Promise.all([limitBatches(), options.onRedisDataLost?.()]);
        },
        () => undefined,
      );
  void beat();
  const heartbeat = setInterval(() => void beat(), settings.heartbeatMs);
  heartbeat.unref();

  let closing: Promise<boolean> | undefined;
  return {
    workers,
    id,
    close(closeOptions = {}) {
      closing ??= (async () => {
        stopping = true;
        clearInterval(reconciler);
        clearInterval(heartbeat);
        const all = [...workers.values()];
        if (closeOptions.now === true) {
          // Redis is unreachable: nothing can be handed back, and waiting would only hold the process.
          for (const w of all) w.cancelAllJobs('shutdown');
          await Promise.race([
            Promise.allSettled(all.map((w) => w.close(true))),
            new Promise((resolve) => setTimeout(resolve, 1_000).unref()),
          ]);
          return false;
        }
        await reconciling;
        void beat(Date.now());
        const graceful = Promise.all(all.map((w) => w.close()));
        for (const w of all) w.cancelAllJobs('shutdown');
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          graceful.then(() => false),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(true), settings.shutdownGraceMs);
          }),
        ]).catch((err: unknown) => {
          rt.logger.warn({ err: coerceError(err).message }, 'error while closing workers');
          return false;
        });
        clearTimeout(timer);
        // Past the grace period the jobs are left as they are: their locks lapse and BullMQ's
        // stalled check hands them to another worker, which resumes from the stored state.
        if (timedOut) {
          rt.logger.warn(
            { graceMs: settings.shutdownGraceMs },
            'jobs still active after the grace period: leaving them to another worker',
          );
        } else {
          rt.logger.info('workers stopped');
        }
        return !timedOut;
      })();
      return closing;
    },
  };
}
