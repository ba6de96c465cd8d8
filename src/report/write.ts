/**
 * Writes a run's report folder, `<reportsDir>/<runId>/`:
 *
 * | file | content |
 * | --- | --- |
 * | `failures.ndjson` | one {@link FailureLine} per failed user |
 * | `skipped.ndjson` | one {@link SkippedLine} per skipped user |
 * | `retry.ndjson` | the failed users as read (export format, `auth0-migrate import` accepts it), never with a password hash |
 * | `password-reset.ndjson` | one {@link PasswordResetLine} per user imported without a password hash |
 * | `summary.md`, `summary.html` | the summary for people (render.ts) |
 * | `summary.json` | the {@link RunSummary}; written last, so its presence means the report is complete |
 *
 * Every file is mode 0600 in a 0700 folder and is written under a temporary name then renamed,
 * so a crash never leaves half a file; writing the same run again replaces the files.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Secret } from '../config.js';
import type { ExportRecord } from '../pipeline/types.js';
import { FailureDigest } from './causes.js';
import { checkSummary, type ReportLineCounts } from './check.js';
import { AtomicFile, REPORT_FILES, ensurePrivateDir, readNdjson, runDir, writeFileAtomic } from './files.js';
import { renderHtml, renderMarkdown } from './render.js';
import { Sanitizer } from './sanitize.js';
import type { FailureLine, PasswordResetLine, RunSummary, SkippedLine } from './types.js';

export { checkSummary, type ReportLineCounts } from './check.js';
export { REPORT_FILES, runDir } from './files.js';

type Lines<T> = AsyncIterable<T> | Iterable<T>;

export interface WriteRunReportOptions {
  /** `REPORTS_DIR`; the run's folder `<reportsDir>/<summary.runId>` is created (0700) if needed. */
  reportsDir: string;
  /**
   * The summary. `files` is set to the names written here, and `problems` to what
   * {@link checkSummary} finds (including line counts that differ from the counts); the
   * summary is written even when it does not add up, with the problems shown at the top.
   */
  summary: RunSummary;
  /** One line per failed user, with the code its `summary.failed` count uses. */
  failures?: Lines<FailureLine>;
  /** One line per skipped user. */
  skipped?: Lines<SkippedLine>;
  /** The failed users' records as read from the input; password hashes are removed. */
  retry?: Lines<ExportRecord>;
  /** The users imported without a password hash. */
  passwordResets?: Lines<PasswordResetLine>;
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
 * Writes the whole report of a run. The four line sources are read concurrently, so they may come
 * from one underlying scan; each is read once.
 */
export async function writeRunReport(options: WriteRunReportOptions): Promise<WriteRunReportResult> {
  runDir(options.reportsDir, options.summary.runId);
  const dir = await ensurePrivateDir(options.reportsDir, options.summary.runId);
  const sanitizer = new Sanitizer(options.secrets);
  const digest = new FailureDigest();

  const [failures, skipped, retry, passwordResets] = await writeAllOrNothing([
    {
      path: join(dir, REPORT_FILES.failures),
      source: options.failures,
      map: (line: FailureLine) => {
        const clean = sanitizer.clean(line);
        digest.add(clean);
        return clean;
      },
    },
    {
      path: join(dir, REPORT_FILES.skipped),
      source: options.skipped,
      map: (l: SkippedLine) => sanitizer.clean(l),
    },
    {
      path: join(dir, REPORT_FILES.retry),
      source: options.retry,
      map: (r: ExportRecord) => sanitizer.clean(r),
    },
    {
      path: join(dir, REPORT_FILES.passwordReset),
      source: options.passwordResets,
      map: (l: PasswordResetLine) => sanitizer.clean(l),
    },
  ] as Array<LineFile<unknown>>);
  const lines: ReportLineCounts = {
    failures: failures!,
    skipped: skipped!,
    retry: retry!,
    passwordResets: passwordResets!,
  };

  const summary = sanitizer.clean({
    ...options.summary,
    files: {
      failures: REPORT_FILES.failures,
      skipped: REPORT_FILES.skipped,
      retry: REPORT_FILES.retry,
      passwordReset: REPORT_FILES.passwordReset,
    },
  });
  delete summary.problems;
  const problems = checkSummary(summary, lines);
  if (problems.length > 0) summary.problems = problems;

  await writeRendered(dir, summary, digest, options.displayDir ?? dir);
  await writeFileAtomic(join(dir, REPORT_FILES.summaryJson), `${JSON.stringify(summary, null, 2)}\n`);
  return { dir, summary, lines, redacted: sanitizer.redacted };
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
  const path = join(dir, summary.files?.failures ?? REPORT_FILES.failures);
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
}

/**
 * Fills the files from their sources concurrently and puts them in place only when every source
 * ended well: a source that throws leaves all the previous files as they were. Returns the lines
 * written to each.
 */
async function writeAllOrNothing(specs: Array<LineFile<unknown>>): Promise<number[]> {
  const created = await Promise.allSettled(specs.map((s) => AtomicFile.create(s.path)));
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
