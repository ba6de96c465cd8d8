/**
 * Whole runs through the commands, on real Redis and the simulator: a sweep of 20,000 users, the
 * import command with --dry-run, and the exit codes.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { sweepCommand } from '../../src/commands/sweep.js';
import { checkSummary } from '../../src/report/write.js';
import { readNdjson } from '../../src/report/files.js';
import type { ImportedLine, RunSummary } from '../../src/report/types.js';
import { newTenantIds, startHarness, FAST } from '../jobs/harness.js';

const quiet = () => {
  let text = '';
  return {
    out: { write: (t: string) => (text += t) },
    progressStream: new Writable({ write: (_c, _e, cb) => cb() }),
    text: () => text,
  };
};

describe('sweep', () => {
  it('sweeps 20,000 users: the new tenant holds exactly the expected users and the summary adds up', async () => {
    const h = await startHarness({ sim: { seedOld: 20_000, seedNewMigrated: 0.3 } });
    const oldUsers = [...h.sim.tenant('old').listUsers(h.sim.tenants.old.connection)];
    const before = newTenantIds(h.sim);
    const io = quiet();
    let runId = '';
    const code = await sweepCommand(
      h.config,
      {},
      { settings: FAST, out: io.out, progressStream: io.progressStream, onRun: (id) => (runId = id) },
    );

    const summary = JSON.parse(
      await readFile(join(h.reportsDir, runId, 'summary.json'), 'utf8'),
    ) as RunSummary;
    const withEmail = oldUsers.filter((u) => typeof u.email === 'string');
    const expected = new Set([...before, ...withEmail.map((u) => String(u.user_id))]);
    const after = newTenantIds(h.sim);
    const stats = h.sim.tenant('new').stats;

    expect(code).toBe(0);
    expect(after).toEqual(expected);
    expect(new Set(stats.importedUserIds).size).toBe(stats.importedUserIds.length);
    expect(summary.status).toBe('completed');
    expect(checkSummary(summary)).toEqual([]);
    expect(summary.counts.total).toBe(oldUsers.length);
    expect(summary.counts.imported).toBe(after.size - before.size);
    // A user already in the new tenant is already migrated, with or without an email; only the
    // others without one are skipped.
    const alreadyThere = oldUsers.filter((u) => before.has(String(u.user_id)));
    expect(summary.counts.already_migrated).toBe(alreadyThere.length);
    expect(summary.skipped.no_email).toBe(
      oldUsers.filter((u) => typeof u.email !== 'string' && !before.has(String(u.user_id))).length,
    );
    expect(summary.counts.failed).toBe(0);
    expect(summary.passwordResets).toBe(summary.counts.imported);
    expect(summary.auth0Jobs.length).toBe(summary.batches.total);
    expect(stats.maxActiveImportJobs).toBeLessThanOrEqual(2);
    // What the report's picture is drawn from: each job's slot hold and users, each phase's span.
    expect(summary.importSlots).toBe(2);
    expect(Object.keys(summary.timings.spans ?? {}).sort()).toEqual([
      'export',
      'import',
      'plan',
      'relations',
      'snapshot',
    ]);
    const firstSubmit = Math.min(...summary.auth0Jobs.map((j) => Date.parse(j.submittedAt!)));
    expect(firstSubmit).toBeGreaterThanOrEqual(Date.parse(summary.timings.spans!.plan!.start));
    for (const j of summary.auth0Jobs) {
      expect(Date.parse(j.endedAt!)).toBeGreaterThanOrEqual(Date.parse(j.submittedAt!));
      expect(j.users).toBe(j.summary!.total);
    }
    expect(await readFile(join(h.reportsDir, runId, 'summary.html'), 'utf8')).toContain(
      `<rect class="job" data-batch="${summary.auth0Jobs[0]!.batch}"`,
    );
    for (const file of [
      'summary.json',
      'imported.ndjson.gz',
      'already-migrated.ndjson.gz',
      'failures.ndjson',
      'skipped.ndjson',
      'retry.ndjson',
    ]) {
      expect((await stat(join(h.reportsDir, runId, file))).mode & 0o777).toBe(0o600);
    }
    const imported = [];
    for await (const l of readNdjson<ImportedLine>(join(h.reportsDir, runId, 'imported.ndjson.gz'))) {
      imported.push(l);
    }
    expect(imported).toHaveLength(summary.counts.imported);
    expect(imported.every((l) => l.password_reset)).toBe(true);
    expect(io.text()).toContain(`Report: ${join(h.reportsDir, runId)}`);
    // The work files (exports) and the parts the report was made of are gone; no user data in Redis.
    await expect(stat(join(h.reportsDir, runId, 'work'))).rejects.toThrow();
    await expect(stat(join(h.reportsDir, runId, 'parts'))).rejects.toThrow();
    expect(await h.rt.redis.keys(`${h.prefix}:run:${runId}:payload:*`)).toEqual([]);
  });
});
