/**
 * The report commands: `runs` (the list of runs in REPORTS_DIR), `report RUN_ID` (print, re-render
 * or mail a run's report) and `resets RUN_ID` (password-change tickets for the users imported
 * without a password hash). Output goes to stdout; each returns its exit code.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createTenantClient } from '../auth0/index.js';
import { requireTenant, type Config } from '../config.js';
import { ConfigError, ExitCode, InputError, MigrateError } from '../errors.js';
import { sendRunReport } from '../report/email.js';
import { REPORT_FILES, runDir } from '../report/files.js';
import { count, n } from '../report/format.js';
import { renderHtml, renderMarkdown } from '../report/render.js';
import { planResets, sendResets } from '../report/resets.js';
import type { RunSummary } from '../report/types.js';
import { digestFailures, readSummary, rerenderRunReport } from '../report/write.js';

/** Where the commands write; process.stdout unless a test gives its own. */
export interface CommandOutput {
  write(text: string): unknown;
}

function stdout(): CommandOutput {
  return process.stdout;
}

export interface RunListing {
  runId: string;
  dir: string;
  /** The summary's status, or `running` when the folder has no summary.json yet. */
  status: RunSummary['status'] | 'unreadable';
  report: boolean;
  kind?: RunSummary['kind'];
  dryRun?: boolean;
  startedAt?: string;
  finishedAt?: string;
  counts?: RunSummary['counts'];
  passwordResets?: number;
  problems?: string[];
  /** Why summary.json could not be read. */
  error?: string;
}

/** The runs in REPORTS_DIR, newest first. */
export async function listRuns(reportsDir: string): Promise<RunListing[]> {
  if (!existsSync(reportsDir)) return [];
  const runs: Array<RunListing & { sortKey: number }> = [];
  for (const entry of await readdir(reportsDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    let dir: string;
    try {
      dir = runDir(reportsDir, entry.name);
    } catch {
      continue;
    }
    const summaryPath = join(dir, REPORT_FILES.summaryJson);
    if (!existsSync(summaryPath)) {
      runs.push({
        runId: entry.name,
        dir,
        status: 'running',
        report: false,
        sortKey: (await stat(dir)).mtimeMs,
      });
      continue;
    }
    try {
      const s = await readSummary(dir);
      runs.push({
        runId: s.runId,
        dir,
        status: s.status,
        report: true,
        kind: s.kind,
        dryRun: s.dryRun,
        startedAt: s.timings.startedAt,
        ...(s.timings.finishedAt !== undefined && { finishedAt: s.timings.finishedAt }),
        counts: s.counts,
        passwordResets: s.passwordResets,
        ...(s.problems !== undefined && { problems: s.problems }),
        sortKey: Date.parse(s.timings.startedAt) || (await stat(summaryPath)).mtimeMs,
      });
    } catch (err) {
      runs.push({
        runId: entry.name,
        dir,
        status: 'unreadable',
        report: false,
        error: `${summaryPath}: ${(err as Error).message}`,
        sortKey: (await stat(summaryPath)).mtimeMs,
      });
    }
  }
  return runs.sort((a, b) => b.sortKey - a.sortKey).map(({ sortKey: _sortKey, ...run }) => run);
}

/** Prints the runs in REPORTS_DIR as a table (or JSON), newest first. */
export async function runsCommand(
  config: Config,
  options: { json?: boolean } = {},
  out: CommandOutput = stdout(),
): Promise<number> {
  const runs = await listRuns(config.reportsDir);
  if (options.json) {
    out.write(`${JSON.stringify(runs, null, 2)}\n`);
    return ExitCode.ok;
  }
  if (runs.length === 0) {
    out.write(`No runs in ${config.reportsDir} (REPORTS_DIR).\n`);
    return ExitCode.ok;
  }
  const rows = runs.map((r) => {
    if (!r.report) {
      return [
        r.runId,
        '',
        r.status === 'running' ? 'running / no report yet' : `unreadable summary.json`,
        '',
        '',
        '',
        '',
        '',
        '',
      ];
    }
    const c = r.counts!;
    const status = `${r.status}${r.dryRun ? ' (dry run)' : ''}${r.problems ? ' (accounting problems)' : ''}`;
    return [
      r.runId,
      r.kind ?? '',
      status,
      (r.startedAt ?? '').replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      n(c.total),
      n(c.imported),
      n(c.already_migrated),
      n(c.skipped),
      n(c.failed),
    ];
  });
  out.write(
    table(['RUN', 'KIND', 'STATUS', 'STARTED', 'TOTAL', 'IMPORTED', 'ALREADY', 'SKIPPED', 'FAILED'], rows, 5),
  );
  for (const r of runs) if (r.error !== undefined) out.write(`\n${r.runId}: ${r.error}\n`);
  return ExitCode.ok;
}

export interface ReportCommandOptions {
  format?: 'md' | 'json' | 'html';
  rerender?: boolean;
  email?: boolean;
}

/**
 * Prints the run's summary.md (or summary.json / summary.html with `format`). With `rerender` it
 * writes summary.md and summary.html again from summary.json, with `email` it mails the report;
 * either prints a confirmation instead of the report.
 */
export async function reportCommand(
  config: Config,
  runId: string,
  options: ReportCommandOptions = {},
  out: CommandOutput = stdout(),
): Promise<number> {
  const dir = await existingReport(config.reportsDir, runId);
  if (options.email && config.smtp === undefined) {
    throw new ConfigError('--email needs SMTP_URL and REPORT_EMAIL_TO to be set', {
      hint: 'e.g. SMTP_URL=smtp://user:password@mail.example.com:587 REPORT_EMAIL_TO=ops@example.com',
    });
  }
  let summary: RunSummary;
  if (options.rerender) {
    summary = await rerenderRunReport(config.reportsDir, runId);
    out.write(`Wrote ${join(dir, REPORT_FILES.summaryMd)} and ${join(dir, REPORT_FILES.summaryHtml)}\n`);
  } else {
    summary = await readSummary(dir);
  }
  if (options.email) {
    const sent = await sendRunReport(config, summary, dir);
    out.write(`Sent "${sent!.subject}" to ${sent!.accepted.join(', ')}\n`);
  }
  if (options.rerender || options.email) return ExitCode.ok;

  const format = options.format ?? 'md';
  const file = join(
    dir,
    format === 'md'
      ? REPORT_FILES.summaryMd
      : format === 'html'
        ? REPORT_FILES.summaryHtml
        : REPORT_FILES.summaryJson,
  );
  if (existsSync(file)) {
    out.write(await readFile(file, 'utf8'));
  } else {
    const input = { summary, causes: (await digestFailures(dir, summary)).top(10), dir };
    out.write(format === 'html' ? renderHtml(input) : renderMarkdown(input));
  }
  return ExitCode.ok;
}

export interface ResetsCommandOptions {
  send?: boolean;
  /** Auth0 emails each user its change-password link instead of a ticket being created. */
  email?: boolean;
  ttl?: number;
  resultUrl?: string;
  clientId?: string;
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
  out: CommandOutput = stdout(),
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
  if (!existsSync(join(dir, REPORT_FILES.passwordReset))) {
    throw new InputError(`Run ${runId} has no ${REPORT_FILES.passwordReset} in ${dir}.`);
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
      for (const u of plan.todo.slice(0, 10)) out.write(`  ${u.user_id} ${u.email}\n`);
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

/** "The new tenant (x.auth0.com)" at the start of a sentence. */
function TenantWhere(where: string): string {
  return where.charAt(0).toUpperCase() + where.slice(1);
}

/** The run's folder, checked to hold a report, with a message saying what to do when it does not. */
async function existingReport(reportsDir: string, runId: string): Promise<string> {
  const dir = runDir(reportsDir, runId);
  if (!existsSync(dir)) {
    throw new InputError(`No run ${runId} in ${reportsDir} (REPORTS_DIR).`, {
      hint: 'List the runs with `auth0-migrate runs`.',
    });
  }
  if (!existsSync(join(dir, REPORT_FILES.summaryJson))) {
    throw new InputError(
      `Run ${runId} has no report yet (${join(dir, REPORT_FILES.summaryJson)} is missing): it is still going or did not finish.`,
      {
        hint: `See \`auth0-migrate status ${runId}\`.`,
      },
    );
  }
  return dir;
}

/** Left-aligned text columns; the last `numeric` columns right-aligned. */
function table(head: string[], rows: string[][], numeric: number): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i >= cells.length - numeric ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(head), ...rows.map(line)].join('\n')}\n`;
}
