/** The report processor: writes the run's report (jobs/report.ts). */
import { writeReport } from '../jobs/report.js';
import type { Runtime } from '../jobs/runtime.js';
import { stageProcessor } from './stage.js';

export const reportProcessor = (rt: Runtime) =>
  stageProcessor(rt, 'report', (runId) => writeReport(rt, runId));
