import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config.js';
import type { ExportRecord } from '../../src/pipeline/types.js';
import { readNdjson } from '../../src/report/files.js';
import type { AlreadyMigratedLine, FailureLine, ImportedLine, SkippedLine } from '../../src/report/types.js';
import { checkSummary, rerenderRunReport, writeRunReport } from '../../src/report/write.js';
import { BCRYPT, sampleSummary } from './fixtures.js';

let reportsDir: string;
beforeEach(async () => {
  reportsDir = await mkdtemp(join(tmpdir(), 'reports-write-'));
});
afterEach(async () => {
  await rm(reportsDir, { recursive: true, force: true });
});

const failures: FailureLine[] = [
  {
    user_id: 'auth0|f1',
    email: 'f1@example.com',
    line: 3,
    batch: 'run-2024-05-01-a-0',
    code: 'INVALID_FORMAT',
    message: "Object didn't pass validation for format email: f1@",
  },
  {
    user_id: 'auth0|f2',
    email: 'f2@example.com',
    line: 9,
    batch: 'run-2024-05-01-a-0',
    code: 'INVALID_FORMAT',
    message: "Object didn't pass validation for format email: f2@",
  },
  {
    user_id: 'auth0|f3',
    email: 'f3@example.com',
    line: 40,
    batch: 'run-2024-05-01-a-1',
    code: 'batch_failed',
    message: 'the batch failed after 5 attempts: 503',
  },
];
const skipped: SkippedLine[] = [
  ...[1, 2, 3, 4].map((i) => ({
    user_id: `google-oauth2|${i}`,
    line: 10 + i,
    reason: 'not_database_user',
    detail: 'connection google-oauth2',
  })),
  { user_id: 'auth0|noemail', line: 30, reason: 'no_email', detail: 'no email' },
];
const retryRecords: ExportRecord[] = failures.map((f) => ({ user_id: f.user_id, email: f.email }));
const imported: ImportedLine[] = Array.from({ length: 72 }, (_, i) => ({
  user_id: `auth0|u${i}`,
  email: `u${i}@example.com`,
  line: 100 + i,
  batch: `run-2024-05-01-a-${i < 40 ? 0 : 1}`,
  job_id: i < 40 ? 'job_aaaaaaaaaaaaaaaa' : 'job_bbbbbbbbbbbbbbbb',
  password_reset: true,
}));
const alreadyMigrated: AlreadyMigratedLine[] = Array.from({ length: 20 }, (_, i) => ({
  user_id: `auth0|m${i}`,
  email: `m${i}@example.com`,
  line: 50 + i,
  matched_by: i < 16 ? 'user_id' : 'email',
  found_by: 'snapshot',
}));
/** Every per-user source of the sample summary. */
const all = {
  imported,
  alreadyMigrated,
  failures,
  skipped,
  retry: failures.map((f) => ({ user_id: f.user_id })),
};

async function gzLines(path: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const line of readNdjson(path)) out.push(line);
  return out;
}

async function* slowly<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) {
    await Promise.resolve();
    yield item;
  }
}

async function readLines(path: string): Promise<unknown[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown);
}

describe('writeRunReport', () => {
  it('writes every file with mode 0600 in a 0700 folder, summary.json last and complete', async () => {
    const { dir, summary, lines, redacted } = await writeRunReport({
      reportsDir,
      summary: sampleSummary(),
      failures: slowly(failures),
      skipped,
      retry: failures.map((f) => ({
        user_id: f.user_id,
        email: f.email,
        identities: [{ provider: 'auth0' }],
      })),
      imported: slowly(imported),
      alreadyMigrated,
    });
    expect(dir).toBe(join(reportsDir, 'run-2024-05-01-a'));
    expect((await readdir(dir)).sort()).toEqual([
      'already-migrated.ndjson.gz',
      'failures.ndjson',
      'imported.ndjson.gz',
      'retry.ndjson',
      'skipped.ndjson',
      'summary.html',
      'summary.json',
      'summary.md',
    ]);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    for (const f of await readdir(dir))
      expect(((await stat(join(dir, f))).mode & 0o777).toString(8)).toBe('600');
    expect(lines).toEqual({
      imported: 72,
      alreadyMigrated: 20,
      skipped: 5,
      failures: 3,
      retry: 3,
      passwordResets: 72,
    });
    expect(summary.files).toEqual(sampleSummary().files);
    expect(redacted).toBe(0);
    expect(summary.problems).toBeUndefined();
    const written = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8'));
    expect(written).toEqual(summary);
    expect(written.counts.total).toBe(100);
    expect(await readLines(join(dir, 'failures.ndjson'))).toEqual(failures);
    expect(await gzLines(join(dir, 'imported.ndjson.gz'))).toEqual(imported);
    expect(await gzLines(join(dir, 'already-migrated.ndjson.gz'))).toEqual(alreadyMigrated);
    const md = await readFile(join(dir, 'summary.md'), 'utf8');
    expect(md).toContain(
      "- `auth0|f1` (f1@example.com), input line 3, batch run-2024-05-01-a-0: Object didn't pass validation for format email: f1@\n",
    );
  });

  it('retry lines keep the export shape but never a password hash, and hashes are cut out of messages', async () => {
    const record = {
      user_id: 'auth0|f1',
      email: 'f1@example.com',
      email_verified: true,
      identities: [{ connection: 'Users', provider: 'auth0', user_id: 'f1', isSocial: false }],
      app_metadata: { plan: 'gold' },
      created_at: '2020-01-01T00:00:00.000Z',
      password_hash: BCRYPT,
      custom_password_hash: {
        algorithm: 'argon2',
        hash: { value: '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$abcdef' },
      },
    };
    const { dir, redacted, summary } = await writeRunReport({
      reportsDir,
      summary: sampleSummary(),
      failures: [
        { ...failures[0]!, message: `bad value ${BCRYPT} in password_hash` },
        failures[1]!,
        failures[2]!,
      ],
      skipped,
      retry: [
        record,
        { user_id: 'auth0|f2', email: 'f2@example.com' },
        { user_id: 'auth0|f3', email: 'f3@example.com' },
      ],
      imported,
      alreadyMigrated,
    });
    const [retry] = await readLines(join(dir, 'retry.ndjson'));
    const { password_hash: _h, custom_password_hash: _c, ...exportShape } = record;
    expect(retry).toEqual(exportShape);
    expect(redacted).toBe(3);
    expect(summary.problems).toBeUndefined();
    for (const f of await readdir(dir)) {
      const text = f.endsWith('.gz')
        ? JSON.stringify(await gzLines(join(dir, f)))
        : await readFile(join(dir, f), 'utf8');
      expect(text).not.toContain('$2b$10$');
      expect(text).not.toContain('$argon2id$');
    }
    const [failure] = await readLines(join(dir, 'failures.ndjson'));
    expect(failure).toMatchObject({ message: 'bad value [redacted] in password_hash' });
  });

  it('replaces given secret values wherever they appear', async () => {
    const secret = new Secret('s3cr3t-client-value');
    const { dir } = await writeRunReport({
      reportsDir,
      summary: sampleSummary({ status: 'failed', error: 'token request with s3cr3t-client-value refused' }),
      failures: [{ ...failures[0]!, message: 'echo s3cr3t-client-value' }, failures[1]!, failures[2]!],
      skipped,
      retry: failures.map((f) => ({ user_id: f.user_id })),
      imported: imported.map((l) => ({ ...l, email: 's3cr3t-client-value' })),
      alreadyMigrated,
      secrets: [secret],
    });
    for (const f of await readdir(dir)) {
      const text = f.endsWith('.gz')
        ? JSON.stringify(await gzLines(join(dir, f)))
        : await readFile(join(dir, f), 'utf8');
      expect(text).not.toContain('s3cr3t-client-value');
    }
  });

  it('records and shows the problems when the files and the counts disagree', async () => {
    const { dir, summary } = await writeRunReport({
      reportsDir,
      summary: sampleSummary(),
      failures: failures.slice(0, 2),
      skipped,
      retry: [],
      imported: imported.map((l, i) => ({ ...l, password_reset: i > 0 })),
      alreadyMigrated,
    });
    expect(summary.problems).toEqual([
      'failures.ndjson has 2 lines but counts.failed is 3',
      'retry.ndjson has 0 lines but counts.failed is 3',
      'the imported, already-migrated, skipped and failures files hold 99 lines but counts.total is 100',
      'imported.ndjson.gz flags 71 users for a password reset but passwordResets is 72',
    ]);
    expect(summary.files.failures).toEqual({ name: 'failures.ndjson', lines: 2 });
    const md = await readFile(join(dir, 'summary.md'), 'utf8');
    expect(md).toContain('The accounting does not add up');
    expect(md).toContain('failures.ndjson has 2 lines but counts.failed is 3');
  });

  it('shows an input line named twice, or a per-user line naming none', async () => {
    const { summary } = await writeRunReport({
      reportsDir,
      summary: sampleSummary(),
      ...all,
      alreadyMigrated: alreadyMigrated.map((l, i) => (i === 0 ? { ...l, line: 100 } : l)),
      failures: failures.map((f, i) => (i === 2 ? { ...f, line: undefined } : f)),
    });
    expect(summary.problems).toHaveLength(2);
    expect(summary.problems![0]).toMatch(
      /^1 input line is named more than once: input line 100 is named in (imported|already-migrated)\.ndjson\.gz and again in (imported|already-migrated)\.ndjson\.gz$/,
    );
    expect(summary.problems![1]).toBe('1 line of failures.ndjson names no input line');
  });

  it('replaces a previous report of the same run whole, leaving no temporary files', async () => {
    await writeRunReport({
      reportsDir,
      summary: sampleSummary({ status: 'running' }),
      failures,
      skipped,
      retry: [],
    });
    const { dir } = await writeRunReport({
      reportsDir,
      summary: sampleSummary(),
      ...all,
      retry: retryRecords,
    });
    expect((await readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]);
    expect(JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')).status).toBe('completed');
    expect(await readLines(join(dir, 'retry.ndjson'))).toHaveLength(3);
  });

  it('keeps every previous file when one line source throws midway', async () => {
    await writeRunReport({
      reportsDir,
      summary: sampleSummary(),
      ...all,
      retry: retryRecords,
    });
    async function* broken(): AsyncGenerator<FailureLine> {
      yield failures[0]!;
      throw new Error('redis went away');
    }
    await expect(
      writeRunReport({
        reportsDir,
        summary: sampleSummary(),
        failures: broken(),
        skipped: skipped.slice(0, 1),
        retry: retryRecords.slice(0, 1),
        imported: slowly(imported.slice(0, 1)),
      }),
    ).rejects.toThrow('redis went away');
    const dir = join(reportsDir, 'run-2024-05-01-a');
    expect(await readLines(join(dir, 'failures.ndjson'))).toHaveLength(3);
    expect(await readLines(join(dir, 'skipped.ndjson'))).toHaveLength(5);
    expect(await readLines(join(dir, 'retry.ndjson'))).toHaveLength(3);
    expect(await gzLines(join(dir, 'imported.ndjson.gz'))).toHaveLength(72);
    expect((await readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('refuses a run folder that is a symbolic link: nothing is written to its target, whose mode stays', async () => {
    const target = await mkdtemp(join(tmpdir(), 'reports-target-'));
    try {
      await chmod(target, 0o755);
      await symlink(target, join(reportsDir, 'run-2024-05-01-a'));
      await expect(writeRunReport({ reportsDir, summary: sampleSummary(), ...all })).rejects.toThrow(
        /run-2024-05-01-a is a symbolic link/,
      );
      expect(await readdir(target)).toEqual([]);
      expect((await stat(target)).mode & 0o777).toBe(0o755);
    } finally {
      await rm(target, { recursive: true, force: true });
    }
  });

  it('refuses a report file that is a symbolic link, leaving its target as it was', async () => {
    const target = await mkdtemp(join(tmpdir(), 'reports-target-'));
    try {
      const victim = join(target, 'victim.txt');
      await writeFile(victim, 'untouched\n', { mode: 0o644 });
      const dir = join(reportsDir, 'run-2024-05-01-a');
      await mkdir(dir, { mode: 0o700 });
      await symlink(victim, join(dir, 'skipped.ndjson'));
      await expect(writeRunReport({ reportsDir, summary: sampleSummary(), ...all })).rejects.toThrow(
        /skipped\.ndjson is a symbolic link/,
      );
      expect(await readFile(victim, 'utf8')).toBe('untouched\n');
      expect((await stat(victim)).mode & 0o777).toBe(0o644);
      expect(await readdir(dir)).toEqual(['skipped.ndjson']);
    } finally {
      await rm(target, { recursive: true, force: true });
    }
  });

  it('refuses a run id that would leave the reports folder', async () => {
    await expect(
      writeRunReport({ reportsDir, summary: sampleSummary({ runId: '../escape' }) }),
    ).rejects.toThrow(/not a run id/);
    await expect(readdir(join(reportsDir, '..', 'escape'))).rejects.toThrow();
  });

  it('rerenders summary.md and summary.html from summary.json and failures.ndjson', async () => {
    const { dir } = await writeRunReport({
      reportsDir,
      summary: sampleSummary(),
      ...all,
      retry: retryRecords,
    });
    await rm(join(dir, 'summary.md'));
    await rm(join(dir, 'summary.html'));
    await rerenderRunReport(reportsDir, 'run-2024-05-01-a');
    const md = await readFile(join(dir, 'summary.md'), 'utf8');
    expect(md).toContain('INVALID_FORMAT`: 2 users');
    expect(((await stat(join(dir, 'summary.html'))).mode & 0o777).toString(8)).toBe('600');
  });
});

describe('checkSummary', () => {
  it('accepts a summary that adds up', () => {
    expect(checkSummary(sampleSummary())).toEqual([]);
  });

  it('checks the per-user files the summary names against the counts', () => {
    const s = sampleSummary();
    s.files.alreadyMigrated.lines = 19;
    s.files.retry.lines = 2;
    expect(checkSummary(s)).toEqual([
      'already-migrated.ndjson.gz has 19 lines but counts.already_migrated is 20',
      'retry.ndjson has 2 lines but counts.failed is 3',
      'the imported, already-migrated, skipped and failures files hold 99 lines but counts.total is 100',
    ]);
  });

  it('catches a total that is not the sum of the outcomes', () => {
    const s = sampleSummary();
    s.counts.total = 101;
    expect(checkSummary(s)).toEqual([
      'counts.total is 101 but imported 72 + already_migrated 20 + skipped 5 + failed 3 = 100',
      'the imported, already-migrated, skipped and failures files hold 100 lines but counts.total is 101',
    ]);
  });

  it('catches a breakdown that does not add up to its count', () => {
    const s = sampleSummary({
      skipped: { not_database_user: 4 },
      failed: { INVALID_FORMAT: 2, batch_failed: 2 },
    });
    expect(checkSummary(s)).toEqual([
      'skipped by reason adds up to 4 but counts.skipped is 5',
      'failed by reason adds up to 4 but counts.failed is 3',
    ]);
  });

  it('catches negative and fractional numbers', () => {
    const s = sampleSummary({ already_migrated: { user_id: 21, email: -1 } });
    s.counts.imported = 71.5;
    s.counts.failed = 3.5;
    const problems = checkSummary(s);
    expect(problems).toContain('counts.imported must be a whole number ≥ 0 (is 71.5)');
    expect(problems).toContain('already_migrated.email must be a whole number ≥ 0 (is -1)');
  });

  it('checks inserted + updated against imported, except in a dry run', () => {
    const s = sampleSummary({ imported: { inserted: 70, updated: 0 } });
    expect(checkSummary(s)).toEqual(['imported.inserted 70 + imported.updated 0 is not counts.imported 72']);
    expect(checkSummary({ ...s, dryRun: true })).toEqual([]);
  });

  it('catches batch counts and a completed run without an end time', () => {
    const s = sampleSummary({ batches: { total: 2, completed: 2, failed: 1 } });
    delete s.timings.finishedAt;
    expect(checkSummary(s)).toEqual([
      'batches.completed 2 + batches.failed 1 is more than batches.total 2',
      'status is completed but timings.finishedAt is missing',
    ]);
  });
});
