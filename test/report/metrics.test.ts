import { randomUUID } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { startMetricsServer, type MetricsServer } from '../../src/report/metrics.js';
import type { ProgressSnapshot } from '../../src/report/types.js';

const connection = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null };

/** `name{labels} value` lines of a Prometheus text exposition, as a map. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

let queues: Queue[] = [];
let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const q of queues) {
    await q.obliterate({ force: true });
    await q.close();
  }
  queues = [];
});

describe('startMetricsServer', () => {
  it('listens on loopback unless given a host: another interface of the machine is refused', async () => {
    server = await startMetricsServer({ port: 0, queues: [], processMetrics: false });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);
    expect((await fetch(server.url)).status).toBe(200);
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((a) => a !== undefined && !a.internal && a.family === 'IPv4');
    if (outside !== undefined) {
      await expect(fetch(`http://${outside.address}:${server.port}/metrics`)).rejects.toThrow();
    }
  });

  it('serves the job counts of each queue and the counters of the runs', async () => {
    const prefix = `test-metrics-${randomUUID()}`;
    const imports = new Queue('import-batch', { connection, prefix });
    const plan = new Queue('plan', { connection, prefix });
    queues = [imports, plan];
    await imports.addBulk([1, 2, 3].map((i) => ({ name: 'batch', data: { i } })));
    await imports.add('later', {}, { delay: 60_000 });
    await plan.add('plan', {});

    const run: ProgressSnapshot = {
      runId: 'run-7',
      phase: 'import',
      usersRead: 900,
      total: 1000,
      batches: { queued: 3, running: 1, done: 5, failed: 1 },
      counts: { imported: 500, already_migrated: 200, skipped: 20, failed: 4 },
      startedAt: Date.now(),
    };
    server = await startMetricsServer({ port: 0, host: '127.0.0.1', queues, counters: () => [run] });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const m = samples(await res.text());
    expect(m.get('auth0_migrate_queue_jobs{queue="import-batch",state="waiting"}')).toBe(3);
    expect(m.get('auth0_migrate_queue_jobs{queue="import-batch",state="delayed"}')).toBe(1);
    expect(m.get('auth0_migrate_queue_jobs{queue="import-batch",state="active"}')).toBe(0);
    expect(m.get('auth0_migrate_queue_jobs{queue="plan",state="waiting"}')).toBe(1);
    expect(m.get('auth0_migrate_redis_up')).toBe(1);
    expect(m.get('auth0_migrate_run_users{run_id="run-7",outcome="imported"}')).toBe(500);
    expect(m.get('auth0_migrate_run_users{run_id="run-7",outcome="already_migrated"}')).toBe(200);
    expect(m.get('auth0_migrate_run_users{run_id="run-7",outcome="read"}')).toBe(900);
    expect(m.get('auth0_migrate_run_users{run_id="run-7",outcome="total"}')).toBe(1000);
    expect(m.get('auth0_migrate_run_batches{run_id="run-7",state="failed"}')).toBe(1);
    expect(m.get('auth0_migrate_run_phase{run_id="run-7",phase="import"}')).toBe(1);
    expect(m.get('auth0_migrate_runs')).toBe(1);
    expect([...m.keys()].some((k) => k.startsWith('auth0_migrate_process_'))).toBe(true);

    // Counts are read at each scrape.
    const job = await imports.getWaiting(0, 0);
    await job[0]!.remove();
    const again = samples(await (await fetch(server.url)).text());
    expect(again.get('auth0_migrate_queue_jobs{queue="import-batch",state="waiting"}')).toBe(2);

    expect((await fetch(server.url.replace('/metrics', '/other'))).status).toBe(404);
  });

  it('reports Redis as down instead of failing the scrape', async () => {
    const dead = new Queue('import-batch', {
      connection: {
        host: '127.0.0.1',
        port: 1,
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        retryStrategy: () => null,
      },
      prefix: `test-metrics-${randomUUID()}`,
    });
    dead.on('error', () => undefined);
    server = await startMetricsServer({ port: 0, host: '127.0.0.1', queues: [dead], processMetrics: false });
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    const m = samples(await res.text());
    expect(m.get('auth0_migrate_redis_up')).toBe(0);
    expect(m.has('auth0_migrate_queue_jobs{queue="import-batch",state="waiting"}')).toBe(false);
    await dead.close();
  });
});
