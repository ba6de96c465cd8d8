import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Secret, type SmtpConfig } from '../../src/config.js';
import { sendRunReport } from '../../src/report/email.js';
import { writeRunReport } from '../../src/report/write.js';
import { sampleSummary } from './fixtures.js';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';

const PASSWORD = 'smtp-p@ss-Xq7';

const startSmtp = (): Promise<SmtpSink> => startSmtpSink({ username: 'reports', password: PASSWORD });

const smtpConfig = (url: string): { smtp: SmtpConfig } => ({
  smtp: { url: new Secret(url), to: ['ops@example.com', 'lead@example.com'], from: 'migrate@example.com' },
});

/** The decoded text of a MIME part of the given type (nodemailer uses quoted-printable). */
function part(raw: string, type: string): string {
  const start = raw.indexOf(`Content-Type: ${type}`);
  expect(start).toBeGreaterThan(-1);
  const body = raw.slice(raw.indexOf('\r\n\r\n', start) + 4);
  const end = body.search(/\r\n--/);
  return (end === -1 ? body : body.slice(0, end))
    .replace(/=\r\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

let reportsDir: string;
let smtp: SmtpSink;
beforeEach(async () => {
  reportsDir = await mkdtemp(join(tmpdir(), 'reports-email-'));
  smtp = await startSmtp();
});
afterEach(async () => {
  await smtp.close();
  await rm(reportsDir, { recursive: true, force: true });
});

describe('sendRunReport', () => {
  it('mails the summary with the run id and the counts to every recipient', async () => {
    const { dir, summary } = await writeRunReport({
      reportsDir,
      summary: sampleSummary(),
      failures: [
        { user_id: 'auth0|f1', email: 'f1@example.com', code: 'INVALID_FORMAT', message: 'bad email' },
        { user_id: 'auth0|f2', email: 'f2@example.com', code: 'INVALID_FORMAT', message: 'bad email' },
        { user_id: 'auth0|f3', email: 'f3@example.com', code: 'batch_failed', message: '503' },
      ],
    });
    const sent = await sendRunReport(
      smtpConfig(`smtp://reports:${encodeURIComponent(PASSWORD)}@127.0.0.1:${smtp.port}`),
      summary,
      dir,
    );
    expect(sent?.accepted).toEqual(['ops@example.com', 'lead@example.com']);
    expect(smtp.received).toHaveLength(1);
    const mail = smtp.received[0]!;
    expect(mail.from).toBe('migrate@example.com');
    expect(mail.to).toEqual(['ops@example.com', 'lead@example.com']);
    const unfolded = mail.raw.replace(/\r\n[ \t]+/g, ' ');
    expect(unfolded).toContain(
      'Subject: [auth0-migrate] sweep run-2024-05-01-a completed: 72 imported, 20 already migrated, 5 skipped, 3 failed',
    );
    const text = part(mail.raw, 'text/plain');
    expect(text).toContain('| imported | 72 | 72.0 % | inserted 72, updated 0 |');
    expect(text).toContain('| failed | 3 | 3.0 % |  |');
    expect(text).toContain('### `INVALID_FORMAT`: 2 users');
    const html = part(mail.raw, 'text/html');
    expect(html).toContain('<td class="n">72</td>');
    expect(html).toContain('<code><span class="w">auth0|f1</span></code> (f1@example.com)');
    expect(mail.raw).not.toContain(PASSWORD);
  });

  it('renders the report when the folder has no summary.md yet', async () => {
    const summary = sampleSummary({
      dryRun: true,
      counts: { total: 10, imported: 10, already_migrated: 0, skipped: 0, failed: 0 },
    });
    await sendRunReport(
      smtpConfig(`smtp://reports:${encodeURIComponent(PASSWORD)}@127.0.0.1:${smtp.port}`),
      summary,
      reportsDir,
    );
    const raw = smtp.received[0]!.raw.replace(/\r\n[ \t]+/g, ' ');
    expect(raw).toContain('(dry run): 10 would be imported, 0 already migrated, 0 skipped, 0 failed');
    expect(part(smtp.received[0]!.raw, 'text/plain')).toContain('This was a dry run.');
  });

  it('does nothing when email is not configured', async () => {
    expect(await sendRunReport({ smtp: undefined }, sampleSummary(), reportsDir)).toBeUndefined();
    expect(smtp.received).toHaveLength(0);
  });

  it('never puts the SMTP password in its error, whether the login or the connection fails', async () => {
    const wrong = 'wr0ng-s3cret-pw';
    const bad = await sendRunReport(
      smtpConfig(`smtp://reports:${wrong}@127.0.0.1:${smtp.port}`),
      sampleSummary(),
      reportsDir,
    ).then(
      () => undefined,
      (err: unknown) => err as Error & { hint?: string },
    );
    expect(bad?.name).toBe('MigrateError');
    expect(bad?.message).toMatch(
      /Sending the report of run run-2024-05-01-a to ops@example.com, lead@example.com failed: .*Invalid/,
    );
    expect(`${bad?.message} ${bad?.hint} ${bad?.stack}`).not.toContain(wrong);
    expect(smtp.received).toHaveLength(0);

    await smtp.close();
    const down = await sendRunReport(
      smtpConfig(`smtp://reports:${wrong}@127.0.0.1:${smtp.port}`),
      sampleSummary(),
      reportsDir,
    ).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(down?.message).toMatch(/ECONNREFUSED/);
    expect(`${down?.message} ${down?.stack}`).not.toContain(wrong);
    smtp = await startSmtp();
  });
});
