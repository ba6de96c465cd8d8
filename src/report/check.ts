import { unbalanced } from '../relations/types.js';
import type { PerUserFile, RunSummary } from './types.js';

/** Lines actually written to each per-user file, to compare with the summary's counts. */
export interface ReportLineCounts extends Record<PerUserFile, number> {
  /** Lines of the imported file with `password_reset: true`. */
  passwordResets: number;
}

/** Which count each per-user file's lines must equal. */
const FILE_COUNTS: Array<[PerUserFile, 'imported' | 'already_migrated' | 'skipped' | 'failed']> = [
  ['imported', 'imported'],
  ['alreadyMigrated', 'already_migrated'],
  ['skipped', 'skipped'],
  ['failures', 'failed'],
  ['retry', 'failed'],
];

/**
 * The accounting problems of a summary, as sentences naming the numbers; empty when it adds up.
 * Checks: no negative or fractional count; `total = imported + already_migrated + skipped + failed`;
 * each breakdown adds up to its count; inserted + updated = imported (not for dry runs); batch
 * counts fit; and the per-user files: one line per user in each (the imported, already-migrated,
 * skipped and failures files together holding `total` lines), the retry file one per failed user,
 * and the imported file's reset flags `passwordResets`. The line counts are `lines` when given
 * (what was written), else those `summary.files` records.
 */
export function checkSummary(summary: RunSummary, lines?: ReportLineCounts): string[] {
  const problems: string[] = [];
  const c = summary.counts;
  const checkNumber = (label: string, n: unknown): void => {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      problems.push(`${label} must be a whole number ≥ 0 (is ${JSON.stringify(n)})`);
    }
  };
  for (const [k, n] of Object.entries(c)) checkNumber(`counts.${k}`, n);
  checkNumber('imported.inserted', summary.imported.inserted);
  checkNumber('imported.updated', summary.imported.updated);
  checkNumber('passwordResets', summary.passwordResets);
  for (const [k, n] of Object.entries(summary.batches)) checkNumber(`batches.${k}`, n);

  const sum = c.imported + c.already_migrated + c.skipped + c.failed;
  if (c.total !== sum) {
    problems.push(
      `counts.total is ${c.total} but imported ${c.imported} + already_migrated ${c.already_migrated} + skipped ${c.skipped} + failed ${c.failed} = ${sum}`,
    );
  }
  for (const key of ['already_migrated', 'skipped', 'failed'] as const) {
    const parts = summary[key];
    let total = 0;
    for (const [reason, n] of Object.entries(parts)) {
      checkNumber(`${key}.${reason}`, n);
      total += n;
    }
    if (total !== c[key]) {
      problems.push(`${key} by reason adds up to ${total} but counts.${key} is ${c[key]}`);
    }
  }
  if (!summary.dryRun && summary.imported.inserted + summary.imported.updated !== c.imported) {
    problems.push(
      `imported.inserted ${summary.imported.inserted} + imported.updated ${summary.imported.updated} is not counts.imported ${c.imported}`,
    );
  }
  if (!summary.dryRun && summary.passwordResets > c.imported) {
    problems.push(`passwordResets ${summary.passwordResets} is more than the ${c.imported} users imported`);
  }
  const b = summary.batches;
  if (b.completed + b.failed > b.total) {
    problems.push(
      `batches.completed ${b.completed} + batches.failed ${b.failed} is more than batches.total ${b.total}`,
    );
  }
  if (summary.relations !== undefined) {
    for (const p of unbalanced(summary.relations.counts)) problems.push(`relations ${p}`);
  }
  if (summary.status === 'completed' && summary.timings.finishedAt === undefined) {
    problems.push('status is completed but timings.finishedAt is missing');
  }
  const files = summary.files as Partial<RunSummary['files']> | undefined;
  const written = (file: PerUserFile): number | undefined => lines?.[file] ?? files?.[file]?.lines;
  const nameOf = (file: PerUserFile): string => files?.[file]?.name ?? file;
  let inFiles = 0;
  for (const [file, count] of FILE_COUNTS) {
    const n = written(file);
    if (n === undefined) continue;
    if (file !== 'retry') inFiles += n;
    if (n !== c[count]) problems.push(`${nameOf(file)} has ${n} lines but counts.${count} is ${c[count]}`);
  }
  const perUser = FILE_COUNTS.filter(([f]) => f !== 'retry' && written(f) !== undefined).length;
  if (perUser === 4 && inFiles !== c.total) {
    problems.push(
      `the imported, already-migrated, skipped and failures files hold ${inFiles} lines but counts.total is ${c.total}`,
    );
  }
  if (lines !== undefined && lines.passwordResets !== summary.passwordResets) {
    problems.push(
      `${nameOf('imported')} flags ${lines.passwordResets} users for a password reset but passwordResets is ${summary.passwordResets}`,
    );
  }
  return problems;
}
