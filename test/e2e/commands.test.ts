/**
 * The import, sweep and status commands end to end: --dry-run submits nothing, failed users make
 * exit code 3 and a retry file that `import` accepts, a run that cannot finish makes exit code 1,
 * and --hashes is refused without PAYLOAD_KEY.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import bcrypt from 'bcryptjs';
import { startSmtpSink } from '../report/smtp-sink.js';
import { describe, expect, it } from 'vitest';
import { Secret, withTenants } from '../../src/config.js';
import { discardCommand } from '../../src/commands/discard.js';
import { followRun } from '../../src/commands/run.js';
import { statusCommand } from '../../src/commands/status.js';
import { sweepCommand } from '../../src/commands/sweep.js';
import { workerCommand } from '../../src/commands/worker.js';
import { writeReport } from '../../src/jobs/report.js';
import { exportUsers } from '../../src/jobs/users-export.js';
import { importCommand } from '../../src/import.js';
import { createTenantClient } from '../../src/auth0/index.js';
import { readNdjson } from '../../src/report/files.js';
import type { ImportedLine, RunSummary } from '../../src/report/types.js';
import { generatedPassword, indexFromUserId } from '../../src/sim/tenant/generate.js';
import { FAST, newTenantIds, startHarness, type Harness } from '../jobs/harness.js';

function io() {
  let text = '';
  return {
    settings: FAST,
    out: { write: (t: string) => (text += t) },
    progressStream: new Writable({ write: (_c, _e, cb) => cb() }),
    text: () => text,
  };
}

async function exportOld(harness: Harness): Promise<string> {
  const client = createTenantClient(harness.config.tenants.old!, { label: 'old' });
  const result = await exportUsers(client, {
    connection: harness.sim.tenants.old.connection,
    out: join(harness.reportsDir, 'input', 'old.ndjson.gz'),
    pollIntervalMs: 20,
  });
  return result.file;
}

const summaryOf = async (harness: Harness, runId: string): Promise<RunSummary> =>
  JSON.parse(await readFile(join(harness.reportsDir, runId, 'summary.json'), 'utf8')) as RunSummary;

describe('import command', () => {
  it('--dry-run snapshots the new tenant, goes through every batch, and submits nothing', async () => {
    const h = await startHarness({ sim: { seedOld: 1_500, seedNewMigrated: 0.5 } });
    const file = await exportOld(h);
    const before = newTenantIds(h.sim);
    const cli = io();
    let runId = '';
    const code = await importCommand(
      h.config,
      file,
      { dryRun: true },
      { ...cli, onRun: (id) => (runId = id) },
    );

    const stats = h.sim.tenant('new').stats;
    const summary = await summaryOf(h, runId);
    expect(code).toBe(0);
    expect(stats.importJobsCreated).toBe(0);
    expect(stats.exportJobsCreated).toBe(1);
    expect(newTenantIds(h.sim)).toEqual(before);
    expect(summary.dryRun).toBe(true);
    expect(summary.counts.already_migrated).toBeGreaterThan(0);
    expect(summary.counts.imported).toBe(
      summary.counts.total - summary.counts.already_migrated - summary.counts.skipped,
    );
    expect(summary.problems).toBeUndefined();
    expect(cli.text()).toContain('dry run: nothing was sent');
  });

  it('exits 3 when users failed, and their retry file imports them', async () => {
    const h = await startHarness({ sim: { seedOld: 1_200 }, env: { BATCH_BYTES: '60000' } });
    const file = await exportOld(h);
    h.sim.faults.failJob({ tenant: 'new', statusDetails: 'Internal error' });
    let runId = '';
    const code = await importCommand(h.config, file, {}, { ...io(), onRun: (id) => (runId = id) });
    const summary = await summaryOf(h, runId);
    expect(code).toBe(3);
    expect(summary.failed.job_failed).toBeGreaterThan(0);
    const retryFile = join(h.reportsDir, runId, 'retry.ndjson');
    const retryLines = (await readFile(retryFile, 'utf8')).trim().split('\n');
    expect(retryLines).toHaveLength(summary.counts.failed);

    let retryRun = '';
    const again = await importCommand(h.config, retryFile, {}, { ...io(), onRun: (id) => (retryRun = id) });
    const second = await summaryOf(h, retryRun);
    expect(again).toBe(0);
    expect(second.counts.total).toBe(summary.counts.failed);
    expect(second.counts.imported).toBe(summary.counts.failed);
    const withEmail = [...h.sim.tenant('old').listUsers(h.sim.tenants.old.connection)].filter(
      (u) => typeof u.email === 'string',
    );
    expect(newTenantIds(h.sim)).toEqual(new Set(withEmail.map((u) => String(u.user_id))));
  });

  it('--hashes: users keep their passwords, only the others are listed for a reset, no hash is left in a file', async () => {
    const h = await startHarness({
      sim: { seedOld: 300 },
      env: { PAYLOAD_KEY: randomBytes(32).toString('hex') },
    });
    const file = await exportOld(h);
    const withHash = [...h.sim.tenant('old').listUsers(h.sim.tenants.old.connection)]
      .filter((u) => typeof u.email === 'string')
      .slice(0, 8);
    const lines = await Promise.all(
      withHash.map(async (u) => {
        const id = String(u.user_id);
        const hash = await bcrypt.hash(generatedPassword(indexFromUserId(id)!), 10);
        return JSON.stringify({
          _id: { $oid: id.replace('auth0|', '') },
          email: u.email,
          passwordHash: hash,
          connection: 'Username-Password-Authentication',
        });
      }),
    );
    const hashes = join(h.reportsDir, 'input', 'hashes.ndjson');
    await writeFile(hashes, `${lines.join('\n')}\n`);
    let runId = '';
    const code = await importCommand(h.config, file, { hashes }, { ...io(), onRun: (id) => (runId = id) });

    const summary = await summaryOf(h, runId);
    expect(code).toBe(0);
    expect(summary.input.hashesFile).toBe(hashes);
    expect(summary.passwordResets).toBe(summary.counts.imported - withHash.length);
    const imported = new Map<string, ImportedLine>();
    for await (const l of readNdjson<ImportedLine>(join(h.reportsDir, runId, 'imported.ndjson.gz')))
      imported.set(l.user_id, l);
    expect(imported.size).toBe(summary.counts.imported);
    for (const u of withHash) {
      expect(imported.get(String(u.user_id))?.password_reset).toBe(false);
      expect(h.sim.tenant('new').rawUser(String(u.user_id))?.passwordHash).toMatch(/^\$2[ab]\$10\$/);
    }
    expect([...imported.values()].filter((l) => l.password_reset)).toHaveLength(summary.passwordResets);
    for (const f of await readdir(join(h.reportsDir, runId))) {
      const bytes = await readFile(join(h.reportsDir, runId, f));
      expect((f.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8')).not.toMatch(/\$2[ab]\$10\$/);
    }
  });

  it('a run that stopped mid-plan (a truncated file) resumes with --run-id and sends no batch twice', async () => {
    const h = await startHarness({ sim: { seedOld: 3_000 }, env: { BATCH_BYTES: '50000' } });
    const full = await exportOld(h);
    const file = join(h.reportsDir, 'input', 'users.ndjson.gz');
    const bytes = await readFile(full);
    await writeFile(file, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await expect(importCommand(h.config, file, { runId: 'cut' }, io())).rejects.toThrow(
      /could not finish: plan:.*gzip/,
    );
    const stopped = await summaryOf(h, 'cut');
    const sentBefore = h.sim.tenant('new').stats.importedUserIds.length;
    expect(stopped.status).toBe('failed');
    expect(stopped.counts.imported).toBeGreaterThan(0);
    expect(stopped.counts.imported).toBe(sentBefore);

    await copyFile(full, file);
    const out = io();
    expect(await importCommand(h.config, file, { runId: 'cut' }, out)).toBe(0);
    const done = await summaryOf(h, 'cut');
    const stats = h.sim.tenant('new').stats;
    const withEmail = [...h.sim.tenant('old').listUsers(h.sim.tenants.old.connection)].filter(
      (u) => typeof u.email === 'string',
    );
    expect(out.text()).toContain('Resuming run cut');
    expect(done.status).toBe('completed');
    expect(done.problems).toBeUndefined();
    expect(done.counts.imported).toBe(withEmail.length);
    expect(new Set(stats.importedUserIds).size).toBe(stats.importedUserIds.length);
    expect(stats.importJobsCreated).toBe(done.batches.total);
    expect(newTenantIds(h.sim)).toEqual(new Set(withEmail.map((u) => String(u.user_id))));
  });

  it('discard gives up a failed run: its user data and work files go, its report stays, and it cannot be resumed', async () => {
    const h = await startHarness({ sim: { seedOld: 1_500 }, env: { BATCH_BYTES: '50000' } });
    const full = await exportOld(h);
    const file = join(h.reportsDir, 'input', 'cut.ndjson.gz');
    const bytes = await readFile(full);
    await writeFile(file, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await expect(importCommand(h.config, file, { runId: 'given-up' }, io())).rejects.toThrow(
      /could not finish/,
    );
    const parts = join(h.reportsDir, 'given-up', 'parts');
    const userKeys = async () => [
      ...(await h.rt.redis.keys(`${h.prefix}:run:given-up:payload:*`)),
      ...(existsSync(parts) ? await readdir(parts) : []),
    ];
    expect((await userKeys()).length).toBeGreaterThan(0);
    const work = join(h.reportsDir, 'given-up', 'work');
    expect(existsSync(work)).toBe(true);

    const out = io();
    expect(await discardCommand(h.config, 'given-up', { out: out.out })).toBe(0);
    expect(out.text()).toContain('Discarded run given-up');
    expect(await userKeys()).toEqual([]);
    expect(existsSync(work)).toBe(false);
    expect(existsSync(join(h.reportsDir, 'given-up', 'summary.json'))).toBe(true);
    await expect(importCommand(h.config, file, { runId: 'given-up' }, io())).rejects.toThrow(
      /Run given-up was discarded on .*cannot be resumed/,
    );
    const again = io();
    expect(await discardCommand(h.config, 'given-up', { out: again.out })).toBe(0);
    expect(again.text()).toContain('was discarded already');
    await expect(discardCommand(h.config, 'no-such-run', { out: io().out })).rejects.toThrow(
      /There is no run no-such-run/,
    );
  });

  it('refuses --hashes without PAYLOAD_KEY unless told --allow-plaintext-hashes', async () => {
    const h = await startHarness();
    const file = join(h.reportsDir, 'empty.ndjson');
    await writeFile(file, '');
    await expect(importCommand(h.config, file, { hashes: file }, io())).rejects.toThrow(
      /PAYLOAD_KEY is not set/,
    );
    expect(
      await importCommand(
        h.config,
        file,
        { hashes: file, allowPlaintextHashes: true, allowEmpty: true, dryRun: true },
        io(),
      ),
    ).toBe(0);
    await expect(importCommand(h.config, join(h.reportsDir, 'missing.ndjson'), {}, io())).rejects.toThrow(
      /no such file/,
    );
  });
});

describe('sweep and status commands', () => {
  it('sweep --no-workers only enqueues; a worker finishes it; a second sweep meanwhile is refused', async () => {
    const h = await startHarness({ sim: { seedOld: 300 } });
    const empty = io();
    expect(await statusCommand(h.config, undefined, {}, empty)).toBe(0);
    expect(empty.text()).toContain('No runs yet');

    const cli = io();
    let runId = '';
    expect(await sweepCommand(h.config, { workers: false }, { ...cli, onRun: (id) => (runId = id) })).toBe(0);
    expect(cli.text()).toContain(`auth0-migrate status ${runId}`);
    await expect(sweepCommand(h.config, {}, io())).rejects.toThrow(`Sweep ${runId} is still running`);
    expect(h.sim.tenant('old').stats.exportJobsCreated).toBe(0);

    const stop = new AbortController();
    const worker = workerCommand(h.config, { settings: FAST, signal: stop.signal });
    await followRun(h.rt, runId, { intervalMs: 50 });
    stop.abort();
    expect(await worker).toBe(0);
    const status = io();
    expect(await statusCommand(h.config, undefined, {}, status)).toBe(0);
    expect(status.text()).toContain(`sweep ${runId}`);
    expect((await summaryOf(h, runId)).status).toBe('completed');
  });

  it('mails the summary once when SMTP is configured', async () => {
    const smtp = await startSmtpSink();
    try {
      const port = smtp.port;
      const h = await startHarness({
        sim: { seedOld: 200 },
        env: { SMTP_URL: `smtp://127.0.0.1:${port}`, REPORT_EMAIL_TO: 'ops@example.com' },
      });
      let runId = '';
      expect(await sweepCommand(h.config, { dryRun: true }, { ...io(), onRun: (id) => (runId = id) })).toBe(
        0,
      );
      // The report stage run again (a redelivered job) sends no second mail.
      await writeReport(h.rt, runId);
      expect(smtp.received).toHaveLength(1);
      expect(smtp.received[0]!.raw).toContain(runId);
    } finally {
      await smtp.close();
    }
  });

  it('a sweep that cannot finish (bad credentials) exits 1 with what to do, and still reports', async () => {
    const h = await startHarness({ sim: { seedOld: 100 } });
    const bad = withTenants(h.config, {
      old: { ...h.config.tenants.old!, clientSecret: new Secret('wrong-secret') },
    });
    let runId = '';
    await expect(sweepCommand(bad, {}, { ...io(), onRun: (id) => (runId = id) })).rejects.toThrow(
      /could not finish: export:/,
    );
    const summary = await summaryOf(h, runId);
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/OLD_AUTH0_CLIENT_SECRET|credentials|client/i);
    expect(summary.error).not.toContain('wrong-secret');

    const status = io();
    expect(await statusCommand(h.config, runId, { json: true }, status)).toBe(1);
    expect(JSON.parse(status.text())).toMatchObject({
      run: { runId, status: 'failed' },
      summary: { status: 'failed' },
    });
  });
});
