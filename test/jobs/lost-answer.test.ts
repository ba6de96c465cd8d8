/**
 * Auth0 created an import job but its answer was lost: the client reports `outcome_unknown`, the
 * runner sends the batch again, and the run still accounts for every user exactly once.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isAuth0Error } from '../../src/auth0/errors.js';
import { createTenantClient } from '../../src/auth0/index.js';
import { exportUsers } from '../../src/jobs/users-export.js';
import { importCommand } from '../../src/import.js';
import { readNdjson } from '../../src/report/files.js';
import type { ImportedLine, RunSummary } from '../../src/report/types.js';
import type { ImportJob } from '../../src/sim/index.js';
import { FAST, importableUsers, startHarness } from './harness.js';

describe('a lost answer to POST /jobs/users-imports', () => {
  it('is outcome_unknown for the client, which does not send the POST again', async () => {
    const h = await startHarness({ sim: { seedOld: 0 } });
    h.sim.faults.add({
      kind: 'drop-after',
      tenant: 'new',
      method: 'POST',
      path: '/api/v2/jobs/users-imports',
    });
    const users = [{ email: 'lost@example.com', user_id: 'lost1', email_verified: false }];
    const thrown = await h.rt
      .client('new')
      .createImportJob({
        connectionId: h.sim.tenants.new.connectionId,
        users: Buffer.from(JSON.stringify(users)),
        externalId: 'lost-0',
      })
      .catch((err: unknown) => err);
    expect(isAuth0Error(thrown, 'outcome_unknown')).toBe(true);
    expect((thrown as Error).message).toMatch(/may have been created/);
    const state = h.sim.tenant('new');
    expect(state.stats.importJobsCreated).toBe(1);
    const [job] = [...state.jobs.values()];
    await state.jobEnded(job!.id);
    expect(state.user('auth0|lost1')).toMatchObject({ email: 'lost@example.com' });
  });

  it('sends the batch again; its users are imported once, counted once as imported, and listed for a reset', async () => {
    const h = await startHarness({
      sim: { seedOld: 400, seedNewMigrated: 0.25 },
      env: { BATCH_BYTES: '20000' },
    });
    const inNewBefore = new Set(
      [...h.sim.tenant('new').listUsers(h.sim.tenants.new.connection)].map((u) => String(u.user_id)),
    );
    const importable = importableUsers(h.sim);
    const toImport = importable.filter((u) => !inNewBefore.has(String(u.user_id)));
    const exported = await exportUsers(createTenantClient(h.config.tenants.old!, { label: 'old' }), {
      connection: h.sim.tenants.old.connection,
      out: join(h.reportsDir, 'input', 'old.ndjson.gz'),
      pollIntervalMs: 20,
    });
    // The first import job is created and runs; its 202 never reaches the client.
    h.sim.faults.add({
      kind: 'drop-after',
      tenant: 'new',
      method: 'POST',
      path: '/api/v2/jobs/users-imports',
    });

    let runId = '';
    const code = await importCommand(
      h.config,
      exported.file,
      {},
      {
        settings: FAST,
        out: { write: () => undefined },
        progressStream: new Writable({ write: (_c, _e, cb) => cb() }),
        onRun: (id) => (runId = id),
      },
    );

    const state = h.sim.tenant('new');
    const summary = JSON.parse(
      await readFile(join(h.reportsDir, runId, 'summary.json'), 'utf8'),
    ) as RunSummary;
    const imported: ImportedLine[] = [];
    for await (const l of readNdjson<ImportedLine>(join(h.reportsDir, runId, 'imported.ndjson.gz'))) {
      imported.push(l);
    }
    const imports = [...state.jobs.values()].filter((j): j is ImportJob => j.type === 'users_import');
    const byBatch = new Map<string | undefined, ImportJob[]>();
    for (const j of imports) byBatch.set(j.external_id, [...(byBatch.get(j.external_id) ?? []), j]);
    const sentTwice = [...byBatch.values()].filter((jobs) => jobs.length > 1);

    // The fault hit once; exactly one batch went twice, and the first of its jobs did the inserting.
    expect(state.stats.faultsInjected).toBe(1);
    expect(sentTwice).toHaveLength(1);
    const [lost, again] = sentTwice[0]!.sort((a, b) => a.createdAtMs - b.createdAtMs);
    const batchSize = lost!.summary!.total;
    expect(batchSize).toBeGreaterThan(0);
    expect(lost!.summary).toEqual({ inserted: batchSize, updated: 0, failed: 0, total: batchSize });
    expect(again!.summary).toEqual({ inserted: 0, updated: 0, failed: batchSize, total: batchSize });
    expect(again!.errors.every((e) => e.errors.map((x) => x.code).join() === 'DUPLICATED_USER')).toBe(true);
    expect(summary.auth0Jobs.map((j) => j.jobId)).toContain(again!.id);
    expect(summary.auth0Jobs.map((j) => j.jobId)).not.toContain(lost!.id);
    expect(summary.batches).toEqual({ total: byBatch.size, completed: byBatch.size, failed: 0 });

    // Every importable user is in the new tenant exactly once, put there by exactly one job.
    const inNew = [...state.listUsers(h.sim.tenants.new.connection)].map((u) => String(u.user_id));
    expect(inNew).toHaveLength(new Set(inNew).size);
    expect(new Set(inNew)).toEqual(new Set([...inNewBefore, ...toImport.map((u) => String(u.user_id))]));
    expect([...state.stats.importedUserIds].sort()).toEqual(toImport.map((u) => String(u.user_id)).sort());

    // The lost job's users come back DUPLICATED_USER from the second job. The snapshot had already
    // removed everyone who was in the new tenant before the run, so they are counted as imported
    // (by our own lost job), not as already migrated, and they are listed for a password reset.
    const c = summary.counts;
    expect(c.total).toBe(c.imported + c.already_migrated + c.skipped + c.failed);
    expect(c.imported).toBe(toImport.length);
    // Already migrated: every old user already in the new tenant, with or without an email.
    const alreadyThere = [...h.sim.tenant('old').listUsers(h.sim.tenants.old.connection)].filter((u) =>
      inNewBefore.has(String(u.user_id)),
    ).length;
    expect(summary.already_migrated).toEqual({ user_id: alreadyThere });
    expect(c.skipped).toBe(exported.users - toImport.length - alreadyThere);
    expect(c.failed).toBe(0);
    expect(c.total).toBe(exported.users);
    expect(summary.imported).toEqual({ inserted: toImport.length, updated: 0 });
    expect(summary.passwordResets).toBe(toImport.length);
    expect(
      imported
        .filter((l) => l.password_reset)
        .map((l) => l.user_id)
        .sort(),
    ).toEqual(toImport.map((u) => String(u.user_id)).sort());
    // The users of the batch sent twice are named as the earlier job's, under the later job's id.
    const earlier = imported.filter((l) => l.earlier_job === true);
    expect(earlier).toHaveLength(batchSize);
    expect(new Set(earlier.map((l) => l.job_id))).toEqual(new Set([again!.id]));
    expect(summary.problems).toBeUndefined();
    expect(summary.status).toBe('completed');
    expect(code).toBe(0);
  });
});
