/**
 * The plan stage's input: the run's export file through the pipeline (src/pipeline), with the
 * migrated index read from the new tenant's snapshot and, for `import --hashes`, the password
 * hashes. Deterministic for the same files and settings, which is what makes the plan resumable.
 */
import { existsSync } from 'node:fs';
import { requireTenant } from '../config.js';
import { withEnrolmentReads } from '../jobs/mfa-enrolment.js';
import type { PlanItem } from '../jobs/plan.js';
import type { Runtime } from '../jobs/runtime.js';
import type { RunMeta } from '../jobs/types.js';
import { buildMigratedIndex, loadMfaFactors, loadPasswordHashes, runPipeline } from '../pipeline/index.js';

export async function* planItems(rt: Runtime, run: RunMeta): AsyncGenerator<PlanItem> {
  const input = run.kind === 'sweep' ? run.exportFile : run.file;
  const snapshot = run.snapshotFile;
  for (const [what, path] of [
    ['input', input],
    ['snapshot of the new tenant', snapshot],
    ...(run.mfaFile !== undefined ? [['MFA file', run.mfaFile] as const] : []),
  ] as const) {
    if (path === undefined || !existsSync(path)) {
      throw new Error(
        `The ${what} of run ${run.runId} (${path ?? 'not recorded'}) is not on this machine: every worker needs the run's files (the REPORTS_DIR volume, or the same path for an import or MFA file).`,
      );
    }
  }
  const newTenant = requireTenant(rt.config, 'new');
  // Users of the input belong to the old tenant's database connection; without the old tenant
  // configured (an `import` of a file), its name is taken to be the new connection's.
  const connection = rt.config.tenants.old?.connection ?? newTenant.connection;
  const migrated = await buildMigratedIndex(snapshot!, {
    connection: newTenant.connection,
    name: 'the new tenant snapshot',
  });
  let hashes;
  if (run.hashesFile !== undefined) {
    const loaded = await loadPasswordHashes(run.hashesFile, { connection });
    if (loaded.stats.problems > 0) {
      rt.logger.warn(
        { runId: run.runId, problems: loaded.stats.problems, first: loaded.problems.slice(0, 5) },
        'lines of the password-hash file could not be used',
      );
    }
    hashes = loaded.hashes;
  }
  let mfa;
  if (run.mfaFile !== undefined) {
    const loaded = await loadMfaFactors(run.mfaFile);
    // Counts and line numbers only: a line of this file is a secret.
    rt.logger.info(
      {
        runId: run.runId,
        users: loaded.stats.users,
        invalid: loaded.stats.invalid,
        problems: loaded.stats.problems,
      },
      'MFA factors read',
    );
    if (loaded.stats.problems > 0) {
      rt.logger.warn(
        { runId: run.runId, problems: loaded.stats.problems, first: loaded.problems.slice(0, 5) },
        'lines of the MFA file could not be used',
      );
    }
    mfa = loaded.factors;
  }
  const items = runPipeline({
    input: input!,
    connection,
    migrated,
    ...(hashes !== undefined && { hashes }),
    ...(mfa !== undefined && { mfa }),
    batchBytes: rt.config.batchBytes,
    maxProfileBytes: rt.config.maxProfileBytes,
  });
  yield* run.mfaReads === true ? withEnrolmentReads(items, rt.client('old'), migrated) : items;
}
