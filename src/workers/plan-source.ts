import type { PlanItem } from '../jobs/plan.js';
import type { Runtime } from '../jobs/runtime.js';
import type { RunMeta } from '../jobs/types.js';

export async function* planItems(
  _rt: Runtime,
  _run: RunMeta,
  _signal?: AbortSignal,
): AsyncGenerator<PlanItem> {}
