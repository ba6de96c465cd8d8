import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { reportCommand } from '../../src/commands/report.js';
import { runsCommand } from '../../src/commands/runs.js';
import { writeRunReport } from '../../src/report/write.js';
import { sampleSummary } from './fixtures.js';
import { startSmtpSink } from './smtp-sink.js';

class Out {
  text = '';
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

let reportsDir: string;
let config: Config;
beforeEach(async () => {
  reportsDir = await mkdtemp(join(tmpdir(), 'reports-cmd-'));
  config = loadConfig({ env: { REPORTS_DIR: reportsDir }, dotenvPath: false });
});
afterEach(async () => {
  await rm(reportsDir, { recursive: true, force: true });
});

const failures = [
  { user_id: 'auth0|f1', email: 'f1@example.com', line: 1, code: 'INVALID_FORMAT', message: 'bad <email>' },
  { user_id: 'auth0|f2', email: 'f2@example.com', line: 2, code: 'INVALID_FORMAT', message: 'bad <email>' },
  {
    user_id: 'auth0|f3',
    email: 'f3@example.com',
    line: 3,
    code: 'batch_failed',
    message: '503 after 6 attempts',
  },
];

async function seedRuns(): Promise<void> {
  await writeRunReport({
    reportsDir,
    summary: sampleSummary(),
    failures,
    skipped: Array.from({ length: 5 }, (_, i) => ({
      user_id: `x|${i}`,
      line: 10 + i,
      reason: 'not_database_user',
      detail: 'x',
    })),
    retry: failures.map((f) => ({ user_id: f.user_id, email: f.email })),
    imported: Array.from({ length: 72 }, (_, i) => ({
      user_id: `auth0|u${i}`,
      email: `u${i}@example.com`,
      line: 100 + i,
      batch: 'run-2024-05-01-a-0',
      password_reset: true,
    })),
    alreadyMigrated: Array.from({ length: 20 }, (_, i) => ({
      user_id: `auth0|m${i}`,
      line: 200 + i,
      matched_by: i < 16 ? ('user_id' as const) : ('email' as const),
      found_by: 'snapshot' as const,
    })),
  });
  await writeRunReport({
    reportsDir,
    summary: sampleSummary({
      runId: 'run-2024-05-02-dry',
      dryRun: true,
      timings: { startedAt: '2024-05-02T08:00:00.000Z', finishedAt: '2024-05-02T08:01:00.000Z', phases: {} },
      counts: { total: 10, imported: 10, already_migrated: 0, skipped: 0, failed: 0 },
      imported: { inserted: 0, updated: 0 },
      already_migrated: {},
      skipped: {},
      failed: {},
      passwordResets: 0,
    }),
    imported: Array.from({ length: 10 }, (_, i) => ({
      user_id: `auth0|d${i}`,
      email: `d${i}@example.com`,
      line: i + 1,
      batch: 'run-2024-05-02-dry-0',
      password_reset: false,
    })),
  });
  await mkdir(join(reportsDir, 'run-2024-05-03-live'));
  await mkdir(join(reportsDir, '.hidden'));
}

describe('runs', () => {
  it('lists the runs newest first, with a running one that has no report yet', async () => {
    await seedRuns();
    const out = new Out();
    expect(await runsCommand(config, {}, out)).toBe(0);
    const lines = out.text.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^RUN\s+KIND\s+STATUS\s+STARTED\s+TOTAL\s+IMPORTED\s+ALREADY\s+SKIPPED\s+FAILED$/,
    );
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^run-2024-05-03-live\s+running \/ no report yet$/);
    expect(lines[2]).toMatch(
      /^run-2024-05-02-dry\s+sweep\s+completed \(dry run\)\s+2024-05-02 08:00:00Z\s+10\s+10\s+0\s+0\s+0$/,
    );
    expect(lines[3]).toMatch(
      /^run-2024-05-01-a\s+sweep\s+completed\s+2024-05-01 10:00:00Z\s+100\s+72\s+20\s+5\s+3$/,
    );
    expect(out.text).not.toContain('.hidden');
  });

  it('prints JSON for scripts', async () => {
    await seedRuns();
    const out = new Out();
    await runsCommand(config, { json: true }, out);
    const runs = JSON.parse(out.text) as Array<Record<string, unknown>>;
    expect(runs.map((r) => [r.runId, r.status, r.report])).toEqual([
      ['run-2024-05-03-live', 'running', false],
      ['run-2024-05-02-dry', 'completed', true],
      ['run-2024-05-01-a', 'completed', true],
    ]);
    expect(runs[2]).toMatchObject({ counts: { total: 100, failed: 3 }, passwordResets: 72, kind: 'sweep' });
  });

  it('says so when there are no runs, and flags an unreadable summary', async () => {
    const out = new Out();
    await runsCommand(
      loadConfig({ env: { REPORTS_DIR: join(reportsDir, 'none') }, dotenvPath: false }),
      {},
      out,
    );
    expect(out.text).toBe(`No runs in ${join(reportsDir, 'none')} (REPORTS_DIR).\n`);
    await mkdir(join(reportsDir, 'broken'));
    await writeFile(join(reportsDir, 'broken', 'summary.json'), '{"runId":');
    const out2 = new Out();
    await runsCommand(config, {}, out2);
    expect(out2.text).toMatch(/broken\s+unreadable summary.json/);
    expect(out2.text).toContain(`broken: ${join(reportsDir, 'broken', 'summary.json')}:`);
    await writeRunReport({ reportsDir, summary: sampleSummary({ runId: 'short' }), failures });
    const out3 = new Out();
    await runsCommand(config, {}, out3);
    expect(out3.text).toMatch(/\nshort\s+sweep\s+completed \(accounting problems\)\s/);
  });
});

describe('report', () => {
  it('prints the Markdown, the JSON or the HTML of a run', async () => {
    await seedRuns();
    const md = new Out();
    expect(await reportCommand(config, 'run-2024-05-01-a', {}, md)).toBe(0);
    expect(md.text).toBe(await readFile(join(reportsDir, 'run-2024-05-01-a', 'summary.md'), 'utf8'));
    expect(md.text).toContain('### `INVALID_FORMAT`: 2 users');
    expect(md.text).toContain('2 × bad \\<email\\>');
    const json = new Out();
    await reportCommand(config, 'run-2024-05-01-a', { format: 'json' }, json);
    expect(JSON.parse(json.text)).toMatchObject({ runId: 'run-2024-05-01-a', counts: { total: 100 } });
    const html = new Out();
    await reportCommand(config, 'run-2024-05-01-a', { format: 'html' }, html);
    expect(html.text).toMatch(/^<!doctype html>/);
    expect(html.text).toContain('bad &#60;email&#62;');
  });

  it('re-renders summary.md and summary.html from summary.json', async () => {
    await seedRuns();
    const dir = join(reportsDir, 'run-2024-05-01-a');
    const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8'));
    summary.input.file = 'exports/old users.ndjson.gz';
    await writeFile(join(dir, 'summary.json'), JSON.stringify(summary));
    await rm(join(dir, 'summary.html'));
    const out = new Out();
    expect(await reportCommand(config, 'run-2024-05-01-a', { rerender: true }, out)).toBe(0);
    expect(out.text).toBe(`Wrote ${join(dir, 'summary.md')} and ${join(dir, 'summary.html')}\n`);
    expect(await readFile(join(dir, 'summary.md'), 'utf8')).toContain(
      '**Input:** `exports/old users.ndjson.gz`',
    );
    expect(await readFile(join(dir, 'summary.html'), 'utf8')).toContain(
      '<code><span class="w">exports/old</span> <span class="w">users.ndjson.gz</span></code>',
    );
    expect((await stat(join(dir, 'summary.html'))).mode & 0o777).toBe(0o600);
  });

  it('explains a missing run, a run without a report and a bad id', async () => {
    await seedRuns();
    await expect(reportCommand(config, 'nope', {}, new Out())).rejects.toMatchObject({
      name: 'InputError',
      message: `No run nope in ${reportsDir} (REPORTS_DIR).`,
      hint: 'List the runs with `auth0-migrate runs`.',
    });
    await expect(reportCommand(config, 'run-2024-05-03-live', {}, new Out())).rejects.toMatchObject({
      message: expect.stringContaining('has no report yet'),
      hint: 'See `auth0-migrate status run-2024-05-03-live`.',
    });
    await expect(reportCommand(config, '../etc', {}, new Out())).rejects.toThrow(/not a run id/);
  });

  it('--email needs SMTP settings, and sends the report when they are set', async () => {
    await seedRuns();
    await expect(reportCommand(config, 'run-2024-05-01-a', { email: true }, new Out())).rejects.toMatchObject(
      {
        name: 'ConfigError',
      },
    );

    const smtp = await startSmtpSink();
    try {
      const port = smtp.port;
      const mailing = loadConfig({
        env: {
          REPORTS_DIR: reportsDir,
          SMTP_URL: `smtp://127.0.0.1:${port}`,
          REPORT_EMAIL_TO: 'ops@example.com',
        },
        dotenvPath: false,
      });
      const out = new Out();
      expect(await reportCommand(mailing, 'run-2024-05-01-a', { email: true }, out)).toBe(0);
      expect(smtp.received.map((m) => m.subject)).toEqual([
        '[auth0-migrate] sweep run-2024-05-01-a completed: 72 imported, 20 already migrated, 5 skipped, 3 failed',
      ]);
      expect(out.text).toContain('to ops@example.com');
    } finally {
      await smtp.close();
    }
  });
});
