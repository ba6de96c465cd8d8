/**
 * `resets RUN_ID`: password-change tickets (or Auth0's change-password emails) for the users a run
 * imported without a password hash; with `--verify-email`, verification emails for the users it
 * imported with `email_verified: false`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createTenantClient } from '../auth0/index.js';
import { requireTenant, type Config } from '../config.js';
import { ExitCode, InputError, MigrateError } from '../errors.js';
import { REPORT_FILES } from '../report/files.js';
import { count, n } from '../report/format.js';
import {
  planResets,
  planVerifyEmails,
  resetSource,
  sendResets,
  sendVerifyEmails,
  writeVerifyEmailPlan,
} from '../report/resets.js';
import { readJournal } from '../report/rollback.js';
import type { PasswordResetLine } from '../report/types.js';
import { readSummary } from '../report/write.js';
import { existingReport } from './report.js';
import type { CommandOutput } from './run.js';

export interface ResetsCommandOptions {
  send?: boolean;
  /** Auth0 emails each user its change-password link instead of a ticket being created. */
  email?: boolean;
  ttl?: number;
  resultUrl?: string;
  clientId?: string;
  /** Auth0's verification email for each user imported with `email_verified: false`, instead of resets. */
  verifyEmail?: boolean;
}

/**
 * Lists what `--send` would do (the default), or creates the password-change tickets still to do
 * (with `email`, has Auth0 send its change-password emails instead).
 * Exit 0 when every user has a ticket or an email, 3 when some could not (resets.ndjson says why); an
 * error that would hit every user (credentials, scope, outage) stops it with a message, and the next
 * run carries on from there.
 */
export async function resetsCommand(
  config: Config,
  runId: string,
  options: ResetsCommandOptions = {},
  out: CommandOutput = process.stdout,
): Promise<number> {
  const dir = await existingReport(config.reportsDir, runId);
  const summary = await readSummary(dir);
  if (summary.dryRun) {
    throw new InputError(
      `Run ${runId} was a dry run: nobody was imported, so nobody needs a password reset.`,
      {
        hint: 'Run the import or sweep without --dry-run, then use its run id here.',
      },
    );
  }
  if (options.verifyEmail === true) return verifyEmailsCommand(config, runId, dir, options, out);
  if (resetSource(dir) === undefined) {
    throw new InputError(`Run ${runId} has no ${REPORT_FILES.imported} in ${dir}.`);
  }
  const byEmail = options.email === true;
  if (byEmail && (options.ttl !== undefined || options.resultUrl !== undefined)) {
    throw new InputError(
      '--ttl and --result-url are ticket settings; with --email Auth0 sends its own link.',
      {
        hint: 'Set the link lifetime and redirect of the change-password email in the Auth0 Dashboard (Branding > Email Templates).',
      },
    );
  }
  const plan = await planResets(dir);
  await withoutRolledBack(dir, runId, plan, out);
  const newTenant = config.tenants.new;
  const where = newTenant !== undefined ? `the new tenant (${newTenant.domain})` : 'the new tenant';
  const what = byEmail ? 'change-password email' : 'password-change ticket';
  out.write(
    `${count(plan.users.length, 'user')} of run ${runId} ${plan.users.length === 1 ? 'was' : 'were'} imported without a password hash; ` +
      `${n(plan.alreadyDone.size)} already have a ticket or an email, ${n(plan.todo.length)} to do.\n`,
  );
  if (!options.send) {
    if (plan.todo.length > 0) {
      out.write(
        byEmail
          ? `Dry run: would have ${where} send ${count(plan.todo.length, what)}, for example to:\n`
          : `Dry run: would create ${count(plan.todo.length, what)} on ${where}, for example:\n`,
      );
      for (const u of plan.todo.slice(0, 10)) out.write(`  ${describeUser(u)}\n`);
      if (plan.todo.length > 10) out.write(`  …and ${n(plan.todo.length - 10)} more\n`);
      out.write(
        `Run \`auth0-migrate resets ${runId} --send${byEmail ? ' --email' : ''}\` to ${byEmail ? 'send them' : 'create them'}.\n`,
      );
    }
    return ExitCode.ok;
  }
  if (plan.todo.length === 0) {
    out.write('Nothing to do.\n');
    return ExitCode.ok;
  }
  const tenant = requireTenant(config, 'new');
  const client = createTenantClient(tenant, { label: 'new' });
  const every = Math.max(1, Math.min(500, Math.ceil(plan.todo.length / 20)));
  const result = await sendResets(client, plan, {
    dir,
    method: byEmail ? 'email' : 'ticket',
    connection: tenant.connection,
    ...(options.ttl !== undefined && { ttlSec: options.ttl }),
    ...(options.resultUrl !== undefined && { resultUrl: options.resultUrl }),
    ...(options.clientId !== undefined && { clientId: options.clientId }),
    onResult: (_r, done) => {
      if (done % every === 0 && done < plan.todo.length) out.write(`  ${n(done)}/${n(plan.todo.length)}\n`);
    },
  });
  const errors = Object.entries(result.errors);
  const failed = errors.reduce((t, [, c]) => t + c, 0);
  out.write(
    (byEmail
      ? `${TenantWhere(where)} is sending ${count(result.emailed, what)}`
      : `Created ${count(result.created, 'ticket')} on ${where}`) +
      (failed > 0
        ? `; ${n(failed)} failed (${errors.map(([code, c]) => `${code} ${n(c)}`).join(', ')})`
        : '') +
      (byEmail
        ? `. Results: ${result.file}.\n`
        : `. Tickets and errors: ${result.file} (keep it private: each ticket sets a password).\n`),
  );
  if (result.stoppedBy !== undefined) {
    throw new MigrateError(`Stopped before the end: ${result.stoppedBy.message}`, {
      hint: `Fix the cause and run \`auth0-migrate resets ${runId} --send${byEmail ? ' --email' : ''}\` again: users that have a ticket or an email are skipped.`,
      cause: result.stoppedBy,
    });
  }
  return failed > 0 ? ExitCode.usersFailed : ExitCode.ok;
}

/**
 * `resets RUN_ID --verify-email [--send]`: a verification email job per user the run imported
 * unverified. The dry run writes the plan (verify-email-plan.ndjson); `--send` records each job in
 * verify-email.ndjson, which a later run reads to skip the users already sent one.
 */
async function verifyEmailsCommand(
  config: Config,
  runId: string,
  dir: string,
  options: ResetsCommandOptions,
  out: CommandOutput,
): Promise<number> {
  if (options.email === true || options.ttl !== undefined || options.resultUrl !== undefined) {
    throw new InputError(
      '--verify-email takes no --email, --ttl or --result-url: they are password-reset settings.',
      {
        hint: `Run \`auth0-migrate resets ${runId} --verify-email\` on its own (with --client-id to name the application).`,
      },
    );
  }
  if (!existsSync(join(dir, REPORT_FILES.imported))) {
    throw new InputError(`Run ${runId} has no ${REPORT_FILES.imported} in ${dir}.`, {
      hint: 'Runs recorded before imported users were listed with their email_verified cannot be used here.',
    });
  }
  const plan = await planVerifyEmails(dir);
  await withoutRolledBack(dir, runId, plan, out);
  const newTenant = config.tenants.new;
  const where = newTenant !== undefined ? `the new tenant (${newTenant.domain})` : 'the new tenant';
  out.write(
    `${count(plan.users.length, 'user')} of run ${runId} ${plan.users.length === 1 ? 'was' : 'were'} imported with an unverified email; ` +
      `${n(plan.alreadyDone.size)} already have a verification email, ${n(plan.todo.length)} to do.\n`,
  );
  if (!options.send) {
    const file = await writeVerifyEmailPlan(dir, plan);
    if (plan.todo.length > 0) {
      out.write(
        `Dry run: would have ${where} send ${count(plan.todo.length, 'verification email')}, for example to:\n`,
      );
      for (const u of plan.todo.slice(0, 10)) out.write(`  ${describeUser(u)}\n`);
      if (plan.todo.length > 10) out.write(`  …and ${n(plan.todo.length - 10)} more\n`);
      out.write(
        `The whole list: ${file}. Run \`auth0-migrate resets ${runId} --verify-email --send\` to send them.\n`,
      );
    }
    return ExitCode.ok;
  }
  if (plan.todo.length === 0) {
    out.write('Nothing to do.\n');
    return ExitCode.ok;
  }
  const client = createTenantClient(requireTenant(config, 'new'), { label: 'new' });
  const every = Math.max(1, Math.min(500, Math.ceil(plan.todo.length / 20)));
  const result = await sendVerifyEmails(client, plan, {
    dir,
    ...(options.clientId !== undefined && { clientId: options.clientId }),
    onResult: (_r, done) => {
      if (done % every === 0 && done < plan.todo.length) out.write(`  ${n(done)}/${n(plan.todo.length)}\n`);
    },
  });
  const errors = Object.entries(result.errors);
  const failed = errors.reduce((t, [, c]) => t + c, 0);
  out.write(
    `${TenantWhere(where)} is sending ${count(result.sent, 'verification email')}` +
      (failed > 0
        ? `; ${n(failed)} failed (${errors.map(([code, c]) => `${code} ${n(c)}`).join(', ')})`
        : '') +
      `. Results: ${result.file}.\n`,
  );
  if (result.stoppedBy !== undefined) {
    throw new MigrateError(`Stopped before the end: ${result.stoppedBy.message}`, {
      hint: `Fix the cause and run \`auth0-migrate resets ${runId} --verify-email --send\` again: users already sent one are skipped.`,
      cause: result.stoppedBy,
    });
  }
  return failed > 0 ? ExitCode.usersFailed : ExitCode.ok;
}

/** "The new tenant (x.auth0.com)" at the start of a sentence. */
function TenantWhere(where: string): string {
  return where.charAt(0).toUpperCase() + where.slice(1);
}

/**
 * Leaves out of `plan.todo` the users a rollback of the run deleted (a ticket or an email for
 * them would fail), saying how many.
 */
/** `id email`, with the new tenant's id when the user is held there under another. */
function describeUser(u: PasswordResetLine): string {
  return `${u.user_id}${u.new_user_id !== undefined ? ` (${u.new_user_id} in the new tenant)` : ''} ${u.email}`;
}

async function withoutRolledBack(
  dir: string,
  runId: string,
  plan: { todo: Array<{ user_id: string }> },
  out: CommandOutput,
): Promise<void> {
  const journal = await readJournal(dir);
  const gone = (id: string): boolean => {
    const o = journal.final.get(id)?.outcome;
    return o === 'deleted' || o === 'already_gone';
  };
  const removed = plan.todo.filter((u) => gone(u.user_id)).length;
  if (removed === 0) return;
  plan.todo = plan.todo.filter((u) => !gone(u.user_id));
  out.write(
    `${count(removed, 'user')} of the run ${removed === 1 ? 'was' : 'were'} removed by \`rollback ${runId}\`: left out.\n`,
  );
}
