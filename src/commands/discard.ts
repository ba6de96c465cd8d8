import type { Config } from '../config.js';
import { ExitCode, MigrateError } from '../errors.js';
import { createRuntime } from '../jobs/runtime.js';
import type { CommandHooks } from './run.js';

/**
 * `discard RUN_ID`: gives up a failed or stopped run. Its per-user data (staged payloads in Redis,
 * the parts and work files in its folder) is deleted; its report stays, and so do its counts and
 * which batches ended. The run can no longer be resumed. A run that Redis lost has its files
 * deleted the same way.
 */
export async function discardCommand(
  config: Config,
  runId: string,
  hooks: CommandHooks = {},
): Promise<number> {
  const out = hooks.out ?? process.stdout;
  const rt = await createRuntime(config, { ...(hooks.logger && { logger: hooks.logger }) });
  try {
    const run = await rt.store.getRun(runId);
    if (run === undefined) {
      if ((await rt.store.marker(runId)) === undefined) {
        throw new MigrateError(`There is no run ${runId}.`, { hint: 'List runs with `auth0-migrate runs`.' });
      }
      await rt.store.purgeUserData(runId);
      out.write(
        `Run ${runId} was lost by Redis: its parts and work files are deleted; its folder keeps run.json, so it is never mistaken for a new run.\n`,
      );
      return ExitCode.ok;
    }
    if (run.discardedAt !== undefined) {
      out.write(`Run ${runId} was discarded already (${new Date(run.discardedAt).toISOString()}).\n`);
      return ExitCode.ok;
    }
    if (run.status === 'completed') {
      out.write(
        `Run ${runId} completed: it keeps no user data to discard (its report stays in ${run.reportDir ?? config.reportsDir}).\n`,
      );
      return ExitCode.ok;
    }
    if (run.status === 'running') {
      throw new MigrateError(
        `Run ${runId} is still running (phase ${run.phase}): only a failed or stopped run can be discarded.`,
        {
          hint: `Let it finish, or stop it (Ctrl-C on the command that runs it); a run whose workers are gone fails when they come back, or resume it with --run-id ${runId}.`,
        },
      );
    }
    await rt.store.purgeUserData(runId);
    await rt.store.setRun(runId, { discardedAt: Date.now() });
    out.write(
      `Discarded run ${runId}: its user data in Redis and its work files are deleted; the report stays${run.reportDir !== undefined ? ` in ${run.reportDir}` : ''}.\n`,
    );
    return ExitCode.ok;
  } finally {
    await rt.close();
  }
}
