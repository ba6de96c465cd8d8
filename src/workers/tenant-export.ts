/**
 * The export (old tenant) and snapshot (new tenant) processors: a users-export job each
 * (src/export.ts), saved in the run's work folder; the plan starts when both are there.
 */
import { join } from 'node:path';
import { requireTenant, type TenantName } from '../config.js';
import { exportUsers } from '../export.js';
import { maybeStartPlan } from '../jobs/flow.js';
import type { Runtime } from '../jobs/runtime.js';
import { stageProcessor } from './stage.js';

function tenantExport(rt: Runtime, stage: 'export' | 'snapshot', tenant: TenantName) {
  return stageProcessor(rt, stage, async (runId, signal) => {
    const run = (await rt.store.getRun(runId))!;
    if (run.phases[stage]?.end === undefined) {
      await rt.store.phaseStarted(runId, stage);
      const result = await exportUsers(rt.client(tenant), {
        connection: requireTenant(rt.config, tenant).connection,
        out: join(await rt.store.files.prepareWorkDir(runId), `${tenant}-tenant.ndjson.gz`),
        pollIntervalMs: rt.settings.pollIntervalMs,
        maxPollIntervalMs: rt.settings.maxPollIntervalMs,
        ...(signal && { signal }),
        logger: rt.logger.child({ runId, stage }),
      });
      await rt.store.phaseEnded(runId, stage, {
        [stage === 'export' ? 'exportFile' : 'snapshotFile']: result.file,
        [stage === 'export' ? 'exportUsers' : 'snapshotUsers']: result.users,
      });
    }
    await maybeStartPlan(rt, runId);
  });
}

export const exportProcessor = (rt: Runtime) => tenantExport(rt, 'export', 'old');
export const snapshotProcessor = (rt: Runtime) => tenantExport(rt, 'snapshot', 'new');
