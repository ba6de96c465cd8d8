/** `runs`: the runs in REPORTS_DIR, newest first, as a table or JSON. */
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { ExitCode } from '../errors.js';
import { REPORT_FILES, runDir } from '../report/files.js';
import { readRollbackSummary } from '../report/rollback.js';
import { n } from '../report/format.js';
import type { RunSummary } from '../report/types.js';
import { readSummary } from '../report/write.js';
import type { CommandOutput } from './run.js';

export interface RunListing {
  runId: string;
  dir: string;
  /** The summary's status, or `running` when the folder has no summary.json yet. */
  status: RunSummary['status'] | 'unreadable';
  report: boolean;
  kind?: RunSummary['kind'];
  dryRun?: boolean;
  startedAt?: string;
  finishedAt?: string;
  counts?: RunSummary['counts'];
  passwordResets?: number;
  problems?: string[];
  /** Why summary.json could not be read. */
  error?: string;
  /** `rollback --send` ran on it: true once every user it imported is settled, false while in part. */
  rolledBack?: boolean;
}

/** The runs in REPORTS_DIR, newest first. */
export async function listRuns(reportsDir: string): Promise<RunListing[]> {
  if (!existsSync(reportsDir)) return [];
  const runs: Array<RunListing & { sortKey: number }> = [];
  for (const entry of await readdir(reportsDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    let dir: string;
    try {
      dir = runDir(reportsDir, entry.name);
    } catch {
      continue;
    }
    const summaryPath = join(dir, REPORT_FILES.summaryJson);
    if (!existsSync(summaryPath)) {
      runs.push({
        runId: entry.name,
        dir,
        status: 'running',
        report: false,
        sortKey: (await stat(dir)).mtimeMs,
      });
      continue;
    }
    try {
      const s = await readSummary(dir);
      const rollback = await readRollbackSummary(dir);
      runs.push({
        runId: s.runId,
        dir,
        status: s.status,
        report: true,
        kind: s.kind,
        dryRun: s.dryRun,
        startedAt: s.timings.startedAt,
        ...(s.timings.finishedAt !== undefined && { finishedAt: s.timings.finishedAt }),
        counts: s.counts,
        passwordResets: s.passwordResets,
        ...(s.problems !== undefined && { problems: s.problems }),
        ...(rollback !== undefined && { rolledBack: rollback.complete }),
        sortKey: Date.parse(s.timings.startedAt) || (await stat(summaryPath)).mtimeMs,
      });
    } catch (err) {
      runs.push({
        runId: entry.name,
        dir,
        status: 'unreadable',
        report: false,
        error: `${summaryPath}: ${(err as Error).message}`,
        sortKey: (await stat(summaryPath)).mtimeMs,
      });
    }
  }
  return runs.sort((a, b) => b.sortKey - a.sortKey).map(({ sortKey: _sortKey, ...run }) => run);
}

/** Prints the runs in REPORTS_DIR as a table (or JSON), newest first. */
export async function runsCommand(
  config: Config,
  options: { json?: boolean } = {},
  out: CommandOutput = process.stdout,
): Promise<number> {
  const runs = await listRuns(config.reportsDir);
  if (options.json) {
    out.write(`${JSON.stringify(runs, null, 2)}\n`);
    return ExitCode.ok;
  }
  if (runs.length === 0) {
    out.write(`No runs in ${config.reportsDir} (REPORTS_DIR).\n`);
    return ExitCode.ok;
  }
  const rows = runs.map((r) => {
    if (!r.report) {
      return [
        r.runId,
        '',
        r.status === 'running' ? 'running / no report yet' : `unreadable summary.json`,
        '',
        '',
        '',
        '',
        '',
        '',
      ];
    }
    const c = r.counts!;
    const rolledBack =
      r.rolledBack === undefined ? '' : r.rolledBack ? ' (rolled back)' : ' (rolled back in part)';
    const status = `${r.status}${r.dryRun ? ' (dry run)' : ''}${r.problems ? ' (accounting problems)' : ''}${rolledBack}`;
    return [
      r.runId,
      r.kind ?? '',
      status,
      (r.startedAt ?? '').replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      n(c.total),
      n(c.imported),
      n(c.already_migrated),
      n(c.skipped),
      n(c.failed),
    ];
  });
  out.write(
    table(['RUN', 'KIND', 'STATUS', 'STARTED', 'TOTAL', 'IMPORTED', 'ALREADY', 'SKIPPED', 'FAILED'], rows, 5),
  );
  for (const r of runs) if (r.error !== undefined) out.write(`\n${r.runId}: ${r.error}\n`);
  return ExitCode.ok;
}

/** Left-aligned text columns; the last `numeric` columns right-aligned. */
function table(head: string[], rows: string[][], numeric: number): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i >= cells.length - numeric ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(head), ...rows.map(line)].join('\n')}\n`;
}
