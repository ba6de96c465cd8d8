/**
 * `rollback RUN_ID [--send] [--include-active]`: removes from the new tenant exactly the users a
 * run inserted (jobs/rollback.ts says which and why). A dry run by default, writing the plan;
 * `--send` carries it out, resumably, and reports it (rollback.json, rollback.md). A run rolled
 * back is marked so: it cannot be resumed, nor rolled back again.
 */
import { join } from 'node:path';
import { requireTenant, type Config } from '../config.js';
import { ExitCode, InputError, MigrateError } from '../errors.js';
import { summarizeRelations, undoRelations } from '../jobs/rollback-relations.js';
import { RedisRateBudget } from '../jobs/rate-budget.js';
import { loadRollbackRun, planRollback, sendRollback } from '../jobs/rollback.js';
import { createRuntime } from '../jobs/runtime.js';
import { AtomicFile, writeFileAtomic } from '../report/files.js';
import { count, n } from '../report/format.js';
import {
  ROLLBACK_FILES,
  ROLLBACK_OUTCOMES,
  readJournal,
  readRollbackSummary,
  renderRollbackMarkdown,
  renderRelationsPlan,
  renderRollbackPlanMarkdown,
  summarizeRollback,
  type RollbackOutcome,
} from '../report/rollback.js';
import { readSummary } from '../report/write.js';
import { existingReport } from './report.js';
import type { CommandHooks } from './run.js';

export interface RollbackCommandOptions {
  /** Carry the rollback out (otherwise a dry run that writes the plan). */
  send?: boolean;
  /** Delete users who logged in to the new tenant since the run too. */
  includeActive?: boolean;
  /** Users handled at once. @defaultValue 4 */
  concurrency?: number;
}

export async function rollbackCommand(
  config: Config,
  runId: string,
  options: RollbackCommandOptions = {},
  hooks: CommandHooks = {},
): Promise<number> {
  const out = hooks.out ?? process.stdout;
  const dir = await existingReport(config.reportsDir, runId);
  const summary = await readSummary(dir);
  if (summary.dryRun) {
    throw new InputError(`Run ${runId} was a dry run: it imported nobody, so there is nothing to roll back.`);
  }
  const tenant = requireTenant(config, 'new');
  // Deleting in another tenant than the one the run wrote to would remove someone else's users.
  for (const [what, recorded, now] of [
    ['NEW_AUTH0_DOMAIN', summary.input.newTenant, tenant.domain],
    ['NEW_AUTH0_CONNECTION', summary.input.connection, tenant.connection],
  ] as const) {
    if (recorded !== undefined && recorded !== now) {
      throw new MigrateError(`Run ${runId} imported into ${recorded}, but ${what} is ${now}.`, {
        hint: `Run the rollback with the settings the run used (${what}=${recorded}).`,
      });
    }
  }
  const done = await readRollbackSummary(dir);
  if (done?.complete === true) {
    throw new MigrateError(`Run ${runId} was rolled back already (${done.finishedAt}).`, {
      hint: `${join(dir, ROLLBACK_FILES.md)} says what it did; \`discard ${runId}\` still deletes its leftover data.`,
    });
  }

  const rt = await createRuntime(config, {
    ...(hooks.logger && { logger: hooks.logger }),
    ...(hooks.settings && { settings: hooks.settings }),
  });
  try {
    const run = await rt.store.getRun(runId);
    if (run !== undefined && (run.status === 'running' || run.status === 'stopped')) {
      throw new MigrateError(
        `Run ${runId} is ${run.status}: its report is from an earlier attempt, and batches may still import users.`,
        {
          hint: `Let it end (or resume it to the end), or \`discard ${runId}\` it, then roll it back.`,
        },
      );
    }
    const rr = await loadRollbackRun(dir, summary);
    // The tenant's one rate budget, shared with every worker: the client's own requests draw on
    // it, and the rollback takes from it before each read and delete of a user (SDK calls).
    const client = rt.client('new');
    const gate = new RedisRateBudget(rt.redis, rt.store.rateKey(tenant.domain), { rps: config.maxRps.new });
    const includeActive = options.includeActive === true;
    const common = {
      includeActive,
      gate,
      ...(options.concurrency !== undefined && { concurrency: options.concurrency }),
    };
    out.write(
      `Run ${runId} inserted ${count(rr.users.length, 'user')} into ${tenant.domain}${summary.upsert ? ' (with --upsert: users it updated are kept and listed)' : ''}.\n`,
    );

    if (options.send !== true) {
      const plan = await planRollback(client, rr, common);
      const file = await AtomicFile.create(join(dir, ROLLBACK_FILES.plan));
      try {
        for (const line of plan) await file.write(`${JSON.stringify(line)}\n`);
        await file.commit();
      } catch (err) {
        await file.abort();
        throw err;
      }
      // The relations name users by their id in the new tenant.
      const fates = new Map<string, RollbackOutcome | undefined>(
        plan.map((l) => [l.new_user_id ?? l.user_id, l.action === 'delete' ? 'deleted' : l.action]),
      );
      const relations = await undoRelations(client, dir, { users: fates });
      await writeFileAtomic(
        join(dir, ROLLBACK_FILES.planMd),
        renderRollbackPlanMarkdown(runId, plan, { includeActive }) +
          (relations.lines.length > 0 ? renderRelationsPlan(relations.lines) : ''),
      );
      const by = new Map<string, number>();
      for (const l of plan) {
        const key = l.reason !== undefined ? `${l.action} (${l.reason})` : l.action;
        by.set(key, (by.get(key) ?? 0) + 1);
      }
      out.write(`Dry run, nothing changed. As the new tenant reads now:\n`);
      for (const [k, c] of by) out.write(`  ${k}: ${n(c)}\n`);
      if (relations.lines.length > 0) {
        const rel = summarizeRelations(relations.lines);
        for (const [kind, c] of Object.entries(rel.byKind)) {
          const parts = Object.entries(c).filter(([o, x]) => o !== 'total' && x > 0);
          out.write(`  relations ${kind}: ${parts.map(([o, x]) => `${o} ${n(x)}`).join(', ')}\n`);
        }
      }
      out.write(
        `The plan, user by user: ${join(dir, ROLLBACK_FILES.planMd)}.\nRun \`auth0-migrate rollback ${runId} --send${includeActive ? ' --include-active' : ''}\` to carry it out.\n`,
      );
      return ExitCode.ok;
    }

    // From here on the run must never be resumed: it would import again what is being deleted.
    if (run !== undefined && run.rollbackStartedAt === undefined) {
      await rt.store.setRun(runId, { rollbackStartedAt: Date.now() });
    }
    const every = Math.max(1, Math.min(500, Math.ceil(rr.users.length / 20)));
    const result = await sendRollback(client, rr, {
      ...common,
      onUser: (k, todo) => {
        if (k % every === 0 && k < todo) out.write(`  ${n(k)}/${n(todo)}\n`);
      },
    });
    const journal = await readJournal(dir);
    let relations: Awaited<ReturnType<typeof undoRelations>> | undefined;
    if (result.stoppedBy === undefined) {
      const fates = new Map(
        rr.users.map((u) => {
          const line = journal.final.get(u.user_id);
          return [line?.new_user_id ?? u.newId ?? u.user_id, line?.outcome] as const;
        }),
      );
      relations = await undoRelations(client, dir, { users: fates, send: true });
    }
    const stoppedBy = result.stoppedBy ?? relations?.stoppedBy;
    const s = summarizeRollback(
      {
        runId,
        includeActive,
        newTenant: tenant.domain,
        startedAt: journal.startedAt ?? new Date().toISOString(),
        finishedAt: new Date().toISOString(),
      },
      rr.users.map((u) => u.user_id),
      journal,
      relations !== undefined && relations.lines.length > 0 ? summarizeRelations(relations.lines) : undefined,
    );
    await writeFileAtomic(join(dir, ROLLBACK_FILES.json), `${JSON.stringify(s, null, 2)}\n`);
    const kept = rr.users
      .map((u) => journal.final.get(u.user_id))
      .filter((l) => l !== undefined && l.reason !== undefined)
      .map((l) => l!);
    await writeFileAtomic(join(dir, ROLLBACK_FILES.md), renderRollbackMarkdown(s, kept));
    if (s.complete && run !== undefined) await rt.store.setRun(runId, { rolledBackAt: Date.now() });
    out.write(
      `${ROLLBACK_OUTCOMES.map((o) => `${o} ${n(s.users[o])}`).join(', ')} (of ${n(s.users.total)}). Report: ${join(dir, ROLLBACK_FILES.md)}.\n`,
    );
    if (stoppedBy !== undefined) {
      throw new MigrateError(`Stopped before the end: ${stoppedBy.message}`, {
        hint: `Fix the cause and run \`auth0-migrate rollback ${runId} --send\` again: it carries on where it stopped.`,
        cause: stoppedBy,
      });
    }
    if (s.complete) out.write(`Run ${runId} is rolled back.\n`);
    return s.complete ? ExitCode.ok : ExitCode.usersFailed;
  } finally {
    await rt.close();
  }
}
