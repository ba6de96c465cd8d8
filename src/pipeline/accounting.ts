/**
 * Accounting: every input record leaves the pipeline in exactly one outcome, so
 * `total = imported + alreadyMigrated + skipped`, where `total` is what the reader saw
 * (records parsed plus malformed lines).
 */
import type { Batch, OutcomeCounts, PipelineOutput } from './types.js';

/** Tells batches from the other outputs (a `Batch` made elsewhere may lack `kind`). */
export function isBatch(item: PipelineOutput): item is Batch {
  return 'payload' in item && 'users' in item;
}

export function emptyOutcomeCounts(): OutcomeCounts {
  return {
    total: 0,
    imported: 0,
    batches: 0,
    alreadyMigrated: 0,
    alreadyMigratedBy: {},
    skipped: 0,
    skippedBy: {},
    withoutPassword: 0,
  };
}

/** Counts pipeline outputs; `check(total)` proves they add up. */
export class OutcomeCounter {
  readonly counts: OutcomeCounts = emptyOutcomeCounts();

  add(item: PipelineOutput): void {
    const c = this.counts;
    if (item.kind === 'skipped') {
      c.skipped++;
      c.skippedBy[item.reason] = (c.skippedBy[item.reason] ?? 0) + 1;
    } else if (item.kind === 'already_migrated') {
      c.alreadyMigrated++;
      c.alreadyMigratedBy[item.matchedBy] = (c.alreadyMigratedBy[item.matchedBy] ?? 0) + 1;
    } else if (isBatch(item)) {
      c.batches++;
      c.imported += item.users.length;
      for (const u of item.users) if (!u.hasPassword) c.withoutPassword++;
    }
  }

  /** Sets the number of input records, as the reader counted them. */
  setTotal(total: number): void {
    this.counts.total = total;
  }

  /** What does not add up (empty when everything does). */
  check(): string[] {
    return checkOutcomeCounts(this.counts);
  }
}

/** Problems with a set of counts: the outcomes must add up to the input, and each breakdown to its outcome. */
export function checkOutcomeCounts(c: OutcomeCounts): string[] {
  const problems: string[] = [];
  const sum = c.imported + c.alreadyMigrated + c.skipped;
  if (sum !== c.total) {
    problems.push(
      `${c.total} input records but ${sum} outcomes (imported ${c.imported} + already migrated ${c.alreadyMigrated} + skipped ${c.skipped})`,
    );
  }
  const bySkip = Object.values(c.skippedBy).reduce((a, b) => a + (b ?? 0), 0);
  if (bySkip !== c.skipped) problems.push(`skipped is ${c.skipped} but its reasons add up to ${bySkip}`);
  const byMatch = Object.values(c.alreadyMigratedBy).reduce((a, b) => a + (b ?? 0), 0);
  if (byMatch !== c.alreadyMigrated) {
    problems.push(`already migrated is ${c.alreadyMigrated} but its matches add up to ${byMatch}`);
  }
  if (c.withoutPassword > c.imported)
    problems.push(`${c.withoutPassword} users without a password out of ${c.imported} imported`);
  return problems;
}
