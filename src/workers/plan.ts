/**
 * The plan processor: streams the input (the old tenant's export, or the import file) through the
 * pipeline with the migrated index built from the new tenant's snapshot, and stages the batches
 * (jobs/plan.ts).
 */
import { maybeFinishRun } from '../jobs/flow.js';
import { stagePlan } from '../jobs/plan.js';
import type { Runtime } from '../jobs/runtime.js';
import { planItems } from './plan-source.js';
import { stageProcessor } from './stage.js';

export const planProcessor = (rt: Runtime) =>
  stageProcessor(rt, 'plan', async (runId, signal) => {
    const run = (await rt.store.getRun(runId))!;
    if (run.planDone) return maybeFinishRun(rt, runId);
    await rt.store.phaseStarted(runId, 'plan');
    await stagePlan(rt, runId, planItems(rt, run), { ...(signal && { signal }) });
  });
