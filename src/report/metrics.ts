/**
 * Prometheus metrics of a worker process (METRICS_PORT): BullMQ job counts per queue and state, and
 * the counters of the runs it works on. Values are read when Prometheus scrapes, so nothing has to
 * push them. Only counts and run ids are exposed, never user data; still, it has no
 * authentication, so like the dashboard it listens on loopback unless told otherwise
 * (METRICS_HOST, e.g. `0.0.0.0` in a container whose port only Prometheus reaches).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Queue } from 'bullmq';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { coerceError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ProgressSnapshot } from './types.js';

/** The job states exported for each queue. */
export const QUEUE_STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'completed',
  'failed',
  'paused',
] as const;

export interface MetricsServerOptions {
  /** `METRICS_PORT`; 0 picks a free port. */
  port: number;
  /** `METRICS_HOST` @defaultValue `127.0.0.1` */
  host?: string;
  /** The queues whose job counts are exported (label `queue` = the queue's name). */
  queues: ReadonlyArray<Pick<Queue, 'name' | 'getJobCounts'>>;
  /** The runs this process works on, read at each scrape (label `run_id`). */
  counters?: () => ReadonlyArray<ProgressSnapshot> | Promise<ReadonlyArray<ProgressSnapshot>>;
  /** Node process metrics (memory, event loop lag, …). @defaultValue true */
  processMetrics?: boolean;
  logger?: Logger;
}

export interface MetricsServer {
  /** `http://host:port/metrics`. */
  url: string;
  port: number;
  registry: Registry;
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const registry = new Registry();
  if (options.processMetrics !== false)
    collectDefaultMetrics({ register: registry, prefix: 'auth0_migrate_' });

  // prom-client collects all metrics concurrently, so gauges that share a source read it through
  // one promise per scrape.
  const readQueues = shared(async () => {
    try {
      const counts = await Promise.all(options.queues.map((q) => q.getJobCounts(...QUEUE_STATES)));
      return { up: true, counts };
    } catch (err) {
      options.logger?.warn({ err: coerceError(err).message }, 'metrics: cannot read the queue counts');
      return { up: false, counts: [] };
    }
  });
  const readRuns = shared(async (): Promise<ReadonlyArray<ProgressSnapshot>> => {
    try {
      return (await options.counters?.()) ?? [];
    } catch (err) {
      options.logger?.warn({ err: coerceError(err).message }, 'metrics: cannot read the run counters');
      return [];
    }
  });

  new Gauge({
    name: 'auth0_migrate_redis_up',
    help: '1 when the last scrape could read the queues from Redis, else 0',
    registers: [registry],
    async collect() {
      this.set((await readQueues()).up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'auth0_migrate_queue_jobs',
    help: 'Jobs in each BullMQ queue by state',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      const { counts } = await readQueues();
      this.reset();
      counts.forEach((c, i) => {
        for (const state of QUEUE_STATES) this.set({ queue: options.queues[i]!.name, state }, c[state] ?? 0);
      });
    },
  });

  if (options.counters !== undefined) {
    new Gauge({
      name: 'auth0_migrate_runs',
      help: 'Runs this process reports on',
      registers: [registry],
      async collect() {
        this.set((await readRuns()).length);
      },
    });
    new Gauge({
      name: 'auth0_migrate_run_users',
      help: 'Users of a run by outcome so far (read: input records read; total: expected, when known)',
      labelNames: ['run_id', 'outcome'],
      registers: [registry],
      async collect() {
        const runs = await readRuns();
        this.reset();
        for (const r of runs) {
          for (const [outcome, v] of Object.entries(r.counts)) this.set({ run_id: r.runId, outcome }, v);
          this.set({ run_id: r.runId, outcome: 'read' }, r.usersRead);
          if (r.total !== undefined) this.set({ run_id: r.runId, outcome: 'total' }, r.total);
        }
      },
    });
    new Gauge({
      name: 'auth0_migrate_run_batches',
      help: 'Import batches of a run by state',
      labelNames: ['run_id', 'state'],
      registers: [registry],
      async collect() {
        const runs = await readRuns();
        this.reset();
        for (const r of runs) {
          for (const [state, v] of Object.entries(r.batches)) this.set({ run_id: r.runId, state }, v);
        }
      },
    });
    new Gauge({
      name: 'auth0_migrate_run_phase',
      help: 'The phase a run is in (value 1)',
      labelNames: ['run_id', 'phase'],
      registers: [registry],
      async collect() {
        const runs = await readRuns();
        this.reset();
        for (const r of runs) this.set({ run_id: r.runId, phase: r.phase }, 1);
      },
    });
  }

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/metrics' && path !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => {
        res
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`metrics failed: ${coerceError(err).message}\n`);
      },
    );
  });
  const host = options.host ?? '127.0.0.1';
  server.listen(options.port, host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/metrics`,
    port,
    registry,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** Calls `fn` once for all callers that ask while a call is pending. */
function shared<T>(fn: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= fn().finally(() => {
      pending = undefined;
    }));
}
