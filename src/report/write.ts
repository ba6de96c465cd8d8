/**
 * Writes a run's report folder, `<reportsDir>/<runId>/`. Every input user is named on exactly one
 * line of the first four files, so the summary's counts can be audited user by user:
 *
 * | file | content |
 * | --- | --- |
 * | `imported.ndjson.gz` | one {@link ImportedLine} per imported user, with its batch, Auth0 job and whether it must reset its password |
 * | `already-migrated.ndjson.gz` | one {@link AlreadyMigratedLine} per user the new tenant already held: how it matched, and whether the snapshot or a read at import found it |
 * | `skipped.ndjson` | one {@link SkippedLine} per skipped user |
 * | `failures.ndjson` | one {@link FailureLine} per failed user |
 * | `mfa-reenrolment.ndjson` | the users of those files flagged `mfa_reenrolment`: enrolled in MFA in the old tenant, arriving without their factors |
 * | `retry.ndjson` | the failed users as read (export format, `auth0-migrate import` accepts it), never with a password hash |
 * | `summary.md`, `summary.html` | the summary for people (render.ts) |
 * | `summary.json` | the {@link RunSummary}, naming each per-user file and its lines; written last, so its presence means the report is complete |
 *
 * Every file is mode 0600 in a 0700 folder and is written under a temporary name then renamed,
 * so a crash never leaves half a file; writing the same run again replaces the files.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Secret } from '../config.js';
import type { ExportRecord } from '../pipeline/types.js';
import { FailureDigest } from './causes.js';
import { checkSummary, type ReportLineCounts } from './check.js';
import { AtomicFile, REPORT_FILES, ensurePrivateDir, readNdjson, runDir, writeFileAtomic } from './files.js';
import { LineLedger } from './ledger.js';
import { renderHtml, renderMarkdown } from './render.js';
import { Sanitizer } from './sanitize.js';
import type {
  AlreadyMigratedLine,
  FailureLine,
  ImportedLine,
  PerUserFile,
  RunSummary,
  SkippedLine,
} from './types.js';

export { checkSummary, type ReportLineCounts } from './check.js';
export { REPORT_FILES, runDir } from './files.js';

type Lines<T> = AsyncIterable<T> | Iterable<T>;

export interface WriteRunReportOptions {
  /** `REPORTS_DIR`; the run's folder `<reportsDir>/<summary.runId>` is created (0700) if needed. */
  reportsDir: string;
  /**
   * The summary. `files` is set to the files written here and their lines, and `problems` to
   * what {@link checkSummary} finds (including line counts that differ from the counts) and any
   * input line named twice; the summary is written even when it does not add up, with the
   * problems shown at the top.
   */
  summary: Omit<RunSummary, 'files'>;
  /** One line per imported user; `password_reset` lines add up to `summary.passwordResets`. */
  imported?: Lines<ImportedLine>;
  /** One line per user the new tenant already held. */
  alreadyMigrated?: Lines<AlreadyMigratedLine>;
  /** One line per skipped user. */
  skipped?: Lines<SkippedLine>;
  /** One line per failed user, with the code its `summary.failed` count uses. */
  failures?: Lines<FailureLine>;
  /** The failed users' records as read from the input; password hashes are removed. */
  retry?: Lines<ExportRecord>;
  /**
   * Values that must not appear in any file (client secrets, SMTP password, PAYLOAD_KEY): replaced by
   * `[redacted]` wherever they occur. Password hashes and secret-named keys are always removed.
   */
  secrets?: ReadonlyArray<Secret | string>;
  /** How the next-steps commands name the run folder. @defaultValue the folder's path */
  displayDir?: string;
}

export interface WriteRunReportResult {
  /** The run's report folder. */
  dir: string;
  /** The summary as written (with `files` and `problems` filled in). */
  summary: RunSummary;
  lines: ReportLineCounts;
  /** Values (hashes, secret keys, secrets) removed from the lines; 0 on a clean run. */
  redacted: number;
}

/**
 * Writes the whole report of a run. The line sources are read concurrently, so they may come
 * from one underlying scan; each is read once.
 */
export async function writeRunReport(options: WriteRunReportOptions): Promise<WriteRunReportResult> {
  runDir(options.reportsDir, options.summary.runId);
  const dir = await ensurePrivateDir(options.reportsDir, options.summary.runId);
  const sanitizer = new Sanitizer(options.secrets);
  const digest = new FailureDigest();
  const ledger = new LineLedger();
  let passwordResets = 0;
  let mfaReenrolments = 0;
  const perUser =
    <T extends { line?: number }>(file: PerUserFile) =>
    (line: T): T => {
      ledger.note(REPORT_FILES[file], line.line);
      return sanitizer.clean(line);
    };
  const importedLine = perUser<ImportedLine>('imported');
  const failureLine = perUser<FailureLine>('failures');

  const order: PerUserFile[] = ['imported', 'alreadyMigrated', 'skipped', 'failures', 'retry'];
  const counts = await writeAllOrNothing([
    {
      path: join(dir, REPORT_FILES.imported),
      source: options.imported,
      gzip: true,
      map: (line: ImportedLine) => {
        if (line.password_reset) passwordResets++;
        if (line.mfa_reenrolment === true) mfaReenrolments++;
        return importedLine(line);
      },
    },
    {
      path: join(dir, REPORT_FILES.alreadyMigrated),
      source: options.alreadyMigrated,
      gzip: true,
      map: (line: AlreadyMigratedLine) => {
        if (line.mfa_reenrolment === true) mfaReenrolments++;
        return perUser<AlreadyMigratedLine>('alreadyMigrated')(line);
      },
    },
    { path: join(dir, REPORT_FILES.skipped), source: options.skipped, map: perUser<SkippedLine>('skipped') },
    {
      path: join(dir, REPORT_FILES.failures),
      source: options.failures,
      map: (line: FailureLine) => {
        if (line.mfa_reenrolment === true) mfaReenrolments++;
        const clean = failureLine(line);
        digest.add(clean);
        return clean;
      },
    },
    {
      path: join(dir, REPORT_FILES.retry),
      source: options.retry,
      map: (r: ExportRecord) => sanitizer.clean(r),
    },
  ] as Array<LineFile<unknown>>);
  const lines = { passwordResets } as ReportLineCounts;
  await writeMfaReenrolment(dir, mfaReenrolments);
  const files = {} as RunSummary['files'];
  order.forEach((file, i) => {
    lines[file] = counts[i]!;
    files[file] = { name: REPORT_FILES[file], lines: counts[i]! };
  });

  const summary: RunSummary = sanitizer.clean({
    ...options.summary,
    ...(mfaReenrolments > 0 && { mfaReenrolments }),
    files,
  });
  delete summary.problems;
  const problems = [...checkSummary(summary, lines), ...ledger.problems()];
  if (problems.length > 0) summary.problems = problems;

  await writeRendered(dir, summary, digest, options.displayDir ?? dir);
  await writeFileAtomic(join(dir, REPORT_FILES.summaryJson), `${JSON.stringify(summary, null, 2)}\n`);
  return { dir, summary, lines, redacted: sanitizer.redacted };
}

/** Who must re-enrol in MFA, and why, taken from the per-user files just written. */
export interface MfaReenrolmentLine {
  user_id?: string;
  email?: string;
  /** Which per-user file names the user. */
  outcome: 'imported' | 'already_migrated' | 'failed';
  why: string;
}

const REENROL_WHY = {
  imported: 'enrolled in MFA in the old tenant; imported without factors (no MFA file line)',
  already_migrated:
    'enrolled in MFA in the old tenant; already in the new tenant (e.g. arrived by lazy migration), which shows no enrolment',
  failed:
    'Auth0 could not import the factors (MFA_FACTORS_FAILED); the user may be in the new tenant without them',
} as const;

/**
 * `mfa-reenrolment.ndjson`: the flagged lines of the imported, already-migrated and failures files,
 * read back once they are written; no file when none was flagged.
 */
async function writeMfaReenrolment(dir: string, expected: number): Promise<void> {
  const path = join(dir, REPORT_FILES.mfaReenrolment);
  if (expected === 0) {
    // A report written again without such users drops the earlier list.
    await rm(path, { force: true });
    return;
  }
  const file = await AtomicFile.create(path, { gzip: false });
  try {
    for (const [name, outcome] of [
      [REPORT_FILES.imported, 'imported'],
      [REPORT_FILES.alreadyMigrated, 'already_migrated'],
      [REPORT_FILES.failures, 'failed'],
    ] as const) {
      for await (const l of readNdjson<{ user_id?: string; email?: string; mfa_reenrolment?: true }>(
        join(dir, name),
      )) {
        if (l.mfa_reenrolment !== true) continue;
        const line: MfaReenrolmentLine = {
          ...(l.user_id !== undefined && { user_id: l.user_id }),
          ...(l.email !== undefined && { email: l.email }),
          outcome,
          why: REENROL_WHY[outcome],
        };
        await file.write(`${JSON.stringify(line)}\n`);
      }
    }
    await file.finish();
    await file.commit();
  } catch (err) {
    await file.abort();
    throw err;
  }
}

/**
 * Writes summary.md and summary.html again from the run's summary.json and failures.ndjson (after
 * a change to the rendering, or a hand-edited summary). Returns the summary read.
 */
export async function rerenderRunReport(
  reportsDir: string,
  runId: string,
  displayDir?: string,
): Promise<RunSummary> {
  const dir = runDir(reportsDir, runId);
  const summary = await readSummary(dir);
  const digest = await digestFailures(dir, summary);
  await writeRendered(dir, summary, digest, displayDir ?? dir);
  return summary;
}

/** Reads `<dir>/summary.json`. */
export async function readSummary(dir: string): Promise<RunSummary> {
  return JSON.parse(await readFile(join(dir, REPORT_FILES.summaryJson), 'utf8')) as RunSummary;
}

/** The top failure causes from a run's failures file (empty when there is none). */
export async function digestFailures(dir: string, summary: RunSummary): Promise<FailureDigest> {
  const digest = new FailureDigest();
  const named = (summary.files as Partial<RunSummary['files']> | undefined)?.failures?.name;
  const path = join(dir, typeof named === 'string' ? named : REPORT_FILES.failures);
  if (existsSync(path)) {
    for await (const line of readNdjson<FailureLine>(path)) digest.add(line);
  }
  return digest;
}

async function writeRendered(
  dir: string,
  summary: RunSummary,
  digest: FailureDigest,
  displayDir: string,
): Promise<void> {
  const input = { summary, causes: digest.top(10), dir: displayDir };
  await writeFileAtomic(join(dir, REPORT_FILES.summaryMd), renderMarkdown(input));
  await writeFileAtomic(join(dir, REPORT_FILES.summaryHtml), renderHtml(input));
}

interface LineFile<T> {
  path: string;
  source: Lines<T> | undefined;
  map: (line: T) => unknown;
  gzip?: boolean;
}

/**
 * Fills the files from their sources concurrently and puts them in place only when every source
 * ended well: a source that throws leaves all the previous files as they were. Returns the lines
 * written to each.
 */
async function writeAllOrNothing(specs: Array<LineFile<unknown>>): Promise<number[]> {
  const created = await Promise.allSettled(
    specs.map((s) => AtomicFile.create(s.path, { gzip: s.gzip === true })),
  );
  const files = created.flatMap((c) => (c.status === 'fulfilled' ? [c.value] : []));
  const failedCreate = created.find((c) => c.status === 'rejected');
  if (failedCreate !== undefined) {
    await Promise.all(files.map((f) => f.abort()));
    throw failedCreate.reason;
  }
  let stop = false;
  const fill = async (file: AtomicFile, spec: LineFile<unknown>): Promise<number> => {
    let count = 0;
    try {
      if (spec.source !== undefined) {
        for await (const line of spec.source) {
          if (stop) break;
          await file.write(`${JSON.stringify(spec.map(line))}\n`);
          count++;
        }
      }
      await file.finish();
      return count;
    } catch (err) {
      stop = true;
      throw err;
    }
  };
  const filled = await Promise.allSettled(files.map((f, i) => fill(f, specs[i]!)));
  const failed = filled.find((r) => r.status === 'rejected');
  if (failed !== undefined || stop) {
    await Promise.all(files.map((f) => f.abort()));
    throw failed?.reason;
  }
  for (const f of files) await f.commit();
  return filled.map((r) => (r as PromiseFulfilledResult<number>).value);
}
