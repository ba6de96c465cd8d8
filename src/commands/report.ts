/**
 * `report RUN_ID`: prints, re-renders or mails a run's report. Output goes to stdout; it returns
 * its exit code.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { ConfigError, ExitCode, InputError } from '../errors.js';
import { sendRunReport } from '../report/email.js';
import { REPORT_FILES, runDir } from '../report/files.js';
import { renderHtml, renderMarkdown } from '../report/render.js';
import { readRollbackSummary, rollbackNote } from '../report/rollback.js';
import type { RunSummary } from '../report/types.js';
import { digestFailures, readSummary, rerenderRunReport } from '../report/write.js';
import type { CommandOutput } from './run.js';

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
  out: CommandOutput = process.stdout,
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
  const rollback = format === 'md' ? await readRollbackSummary(dir) : undefined;
  if (rollback !== undefined) out.write(`> ${rollbackNote(rollback)}\n\n`);
  if (existsSync(file)) {
    out.write(await readFile(file, 'utf8'));
  } else {
    const input = { summary, causes: (await digestFailures(dir, summary)).top(10), dir };
    out.write(format === 'html' ? renderHtml(input) : renderMarkdown(input));
  }
  return ExitCode.ok;
}

/** The run's folder, checked to hold a report, with a message saying what to do when it does not. */
export async function existingReport(reportsDir: string, runId: string): Promise<string> {
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
