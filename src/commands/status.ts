import type { Config } from '../config.js';
import { ExitCode, MigrateError } from '../errors.js';
import { createRuntime } from '../jobs/runtime.js';
import { progressSnapshot } from '../jobs/summary.js';
import { sum } from '../jobs/types.js';
import { formatDuration, n } from '../report/format.js';
import { formatSummary, type CommandHooks } from './run.js';

/** `auth0-migrate status [RUN_ID] [--json]` */
export async function statusCommand(
  config: Config,
  runId: string | undefined,
  opts: { json?: boolean } = {},
  hooks: CommandHooks = {},
): Promise<number> {
  const out = hooks.out ?? process.stdout;
  const rt = await createRuntime(config, { ...(hooks.logger && { logger: hooks.logger }) });
  try {
    const id = runId ?? (await rt.store.listRunIds(1))[0];
    if (id === undefined) {
      out.write('No runs yet. Start one with `auth0-migrate sweep` or `auth0-migrate import FILE`.\n');
      return ExitCode.ok;
    }
    const p = await rt.store.progress(id);
    if (p === undefined) {
      throw new MigrateError(
        `There is no run ${id}${config.queuePrefix !== 'auth0-migrate' ? ` under QUEUE_PREFIX ${config.queuePrefix}` : ''}.`,
        {
          hint: 'List runs with `auth0-migrate runs`.',
        },
      );
    }
    const summary = await rt.store.getSummary(id);
    if (opts.json === true) {
      out.write(
        `${JSON.stringify({ run: p.run, progress: progressSnapshot(p), batches: p.batches, summary }, null, 2)}\n`,
      );
    } else if (summary !== undefined) {
      out.write(formatSummary(summary, p.run.reportDir));
    } else {
      const s = progressSnapshot(p);
      out.write(
        [
          `${p.run.kind} ${id}: ${p.run.status}, phase ${p.run.phase}${p.run.dryRun ? ' (dry run)' : ''}`,
          `  read ${n(s.usersRead)}${s.total !== undefined ? ` of ${n(s.total)}` : ''} users; batches ${n(p.batches.staged)} staged, ${n(p.batches.running)} running, ${n(p.batches.done)} done, ${n(p.batches.failed)} failed`,
          `  imported ${n(s.counts.imported)}, already migrated ${n(s.counts.already_migrated)}, skipped ${n(s.counts.skipped)}, failed ${n(s.counts.failed)}`,
          `  started ${new Date(p.run.createdAt).toISOString()}, ${formatDuration(Date.now() - p.run.createdAt)} ago`,
          ...(p.run.error !== undefined ? [`  error: ${p.run.error}`] : []),
          '',
        ].join('\n'),
      );
    }
    if (p.run.status === 'failed') return ExitCode.failure;
    return sum(p.counts.failed) > 0 ? ExitCode.usersFailed : ExitCode.ok;
  } finally {
    await rt.close();
  }
}
