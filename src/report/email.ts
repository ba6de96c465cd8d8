/**
 * Mails a run's summary (SMTP_URL, REPORT_EMAIL_TO) with nodemailer: the Markdown as the text
 * body, the HTML as the HTML body. The SMTP URL carries the password, so no error or log line
 * built here contains it.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { Config } from '../config.js';
import { coerceError, MigrateError } from '../errors.js';
import { REPORT_FILES } from './files.js';
import { n } from './format.js';
import { renderHtml, renderMarkdown } from './render.js';
import type { RunSummary } from './types.js';
import { digestFailures } from './write.js';

export interface SentReport {
  messageId: string;
  accepted: string[];
  subject: string;
}

/** `[auth0-migrate] sweep run-1 completed: 72 imported, 20 already migrated, 5 skipped, 3 failed`. */
export function reportSubject(s: RunSummary): string {
  const c = s.counts;
  const status = s.status === 'failed' ? 'FAILED' : s.status;
  return (
    `[auth0-migrate] ${s.kind} ${s.runId} ${status}${s.dryRun ? ' (dry run)' : ''}: ` +
    `${n(c.imported)} ${s.dryRun ? 'would be imported' : 'imported'}, ${n(c.already_migrated)} already migrated, ` +
    `${n(c.skipped)} skipped, ${n(c.failed)} failed`
  );
}

/**
 * Sends the report of the run in `dir` (its summary.md and summary.html, rendered from `summary`
 * when missing). Returns `undefined` without sending when email is not configured.
 */
export async function sendRunReport(
  config: Pick<Config, 'smtp'>,
  summary: RunSummary,
  dir: string,
): Promise<SentReport | undefined> {
  const smtp = config.smtp;
  if (smtp === undefined) return undefined;
  const [text, html] = await renderedFiles(summary, dir);
  const subject = reportSubject(summary);
  const url = smtp.url.reveal();
  const transport = nodemailer.createTransport({
    url,
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 30_000,
    logger: false,
    debug: false,
  } as Parameters<typeof nodemailer.createTransport>[0]);
  try {
    const info = await transport.sendMail({ from: smtp.from, to: smtp.to, subject, text, html });
    return {
      messageId: String(info.messageId),
      accepted: (info.accepted as Array<string | { address: string }>).map((a) =>
        typeof a === 'string' ? a : a.address,
      ),
      subject,
    };
  } catch (thrown) {
    const err = coerceError(thrown) as Error & { code?: string; responseCode?: number };
    throw new MigrateError(
      `Sending the report of run ${summary.runId} to ${smtp.to.join(', ')} failed: ${scrub(err.message, url)}` +
        (err.code !== undefined ? ` (${err.code})` : ''),
      {
        hint: `Check SMTP_URL (host, port, user, password) and REPORT_EMAIL_TO; send it again with \`auth0-migrate report ${summary.runId} --email\`.`,
      },
    );
  } finally {
    transport.close();
  }
}

async function renderedFiles(summary: RunSummary, dir: string): Promise<[string, string]> {
  const md = join(dir, REPORT_FILES.summaryMd);
  const html = join(dir, REPORT_FILES.summaryHtml);
  if (existsSync(md) && existsSync(html)) {
    return Promise.all([readFile(md, 'utf8'), readFile(html, 'utf8')]);
  }
  const input = { summary, causes: (await digestFailures(dir, summary)).top(10), dir };
  return [renderMarkdown(input), renderHtml(input)];
}

/** Removes the SMTP URL, its user:password part and the password (raw and decoded) from a message. */
function scrub(message: string, url: string): string {
  const secrets = new Set<string>([url]);
  try {
    const u = new URL(url);
    if (u.password !== '') {
      secrets.add(u.password);
      secrets.add(decodeURIComponent(u.password));
      secrets.add(`${u.username}:${u.password}`);
    }
  } catch {
    // An unparsable URL: the whole value is already in the set.
  }
  let out = message;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (s.length > 0) out = out.split(s).join('[redacted]');
  }
  return out;
}
