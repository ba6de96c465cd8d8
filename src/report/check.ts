import type { RunSummary } from './types.js';

/** Lines actually written to each per-user file, to compare with the summary's counts. */
export interface ReportLineCounts {
  failures: number;
  skipped: number;
  retry: number;
  passwordResets: number;
}

/**
 * The accounting problems of a summary, as sentences naming the numbers; empty when it adds up.
 * Checks: no negative or fractional count; `total = imported + already_migrated + skipped + failed`;
 * each breakdown adds up to its count; inserted + updated = imported (not for dry runs); batch
 * counts fit; and, when `lines` is given, one line per user in failures, skipped, retry and
 * password-reset files.
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
  if (summary.status === 'completed' && summary.timings.finishedAt === undefined) {
    problems.push('status is completed but timings.finishedAt is missing');
  }
  if (lines !== undefined) {
    const compare = (file: string, written: number, label: string, expected: number): void => {
      if (written !== expected) problems.push(`${file} has ${written} lines but ${label} is ${expected}`);
    };
    compare('failures.ndjson', lines.failures, 'counts.failed', c.failed);
    compare('retry.ndjson', lines.retry, 'counts.failed', c.failed);
    compare('skipped.ndjson', lines.skipped, 'counts.skipped', c.skipped);
    compare('password-reset.ndjson', lines.passwordResets, 'passwordResets', summary.passwordResets);
  }
  return problems;
}
