/**
 * The report stage: the run's summary and per-user files, concatenated from the parts the batches
 * and plan chunks left in the run's folder; then the parts and work files are deleted (the report
 * holds what they held), the email sent. Idempotent: writing the report again replaces the same
 * files; the email goes once.
 */
import type { Secret } from '../config.js';
import { coerceError } from '../errors.js';
import { sendRunReport } from '../report/email.js';
import type { RunSummary } from '../report/types.js';
import { writeRunReport } from '../report/write.js';
import { releaseSweepLock } from './flow.js';
import { releaseRelationsLock } from './relations-lock.js';
import type { Runtime } from './runtime.js';
import { RunStateLost } from './store/index.js';
import { buildSummary } from './summary.js';
import { relationsSection } from './relations.js';
import { relationsOf, type RunMeta } from './types.js';

export async function writeReport(rt: Runtime, runId: string): Promise<RunSummary | undefined> {
  const run = await rt.store.getRun(runId);
  if (run === undefined) throw new RunStateLost(runId);
  if (run.reportDir !== undefined) {
    await cleanUp(rt, run);
    return rt.store.getSummary(runId);
  }
  await rt.store.phaseStarted(runId, 'report');
  const progress = (await rt.store.progress(runId))!;
  const finishedAt = Date.now();
  const summary = buildSummary(
    progress,
    await rt.store.auth0Jobs(runId),
    finishedAt,
    rt.config.importConcurrency,
  );
  if (relationsOf(run) !== undefined) summary.relations = await relationsSection(rt, run);
  const written = await writeRunReport({
    reportsDir: rt.config.reportsDir,
    summary,
    imported: rt.store.importedLines(runId),
    alreadyMigrated: rt.store.alreadyMigratedLines(runId),
    skipped: rt.store.skippedLines(runId),
    failures: rt.store.failureLines(runId),
    retry: rt.store.retryRecords(runId),
    secrets: secretsOf(rt),
  });
  await rt.store.setRun(runId, {
    ...(run.status !== 'failed' && { status: 'completed' }),
    phase: 'done',
    finishedAt,
    reportDir: written.dir,
  });
  await rt.store.markTime(runId, 'report', 'end');
  if (written.summary.problems !== undefined) {
    rt.logger.error({ runId, problems: written.summary.problems }, 'the run summary does not add up');
  }
  rt.logger.info({ runId, dir: written.dir, counts: written.summary.counts }, 'report written');
  await cleanUp(rt, run);
  if (rt.config.smtp !== undefined && (await rt.store.claimOnce(runId, 'emailed'))) {
    try {
      await sendRunReport(rt.config, written.summary, written.dir);
    } catch (err) {
      rt.logger.error(
        { runId, err: coerceError(err).message },
        'the report email could not be sent; the report is in the folder',
      );
    }
  }
  return written.summary;
}

/**
 * A finished run's per-user data and work files go; a failed run keeps them, since resuming it
 * needs the files (to plan again) and the earlier batches' lines (for the next report).
 */
async function cleanUp(rt: Runtime, run: RunMeta): Promise<void> {
  if (run.status !== 'failed') await rt.store.purgeUserData(run.runId);
  if (run.kind === 'sweep') await releaseSweepLock(rt, run.runId);
  if (run.kind === 'relations') await releaseRelationsLock(rt, run.runId);
}

function secretsOf(rt: Runtime): Secret[] {
  const c = rt.config;
  const out: Secret[] = [];
  for (const t of [c.tenants.old, c.tenants.new]) if (t !== undefined) out.push(t.clientSecret);
  if (c.payloadKey !== undefined) out.push(c.payloadKey);
  if (c.smtp !== undefined) out.push(c.smtp.url);
  return out;
}
