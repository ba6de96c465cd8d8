/**
 * Auth0's 413 reaches the runner as `payload_too_large`: Auth0 measures the whole multipart request
 * against 512,000 bytes, so a file just under 512,000 bytes (BATCH_BYTES at its highest) is still
 * refused. The batch fails as a whole, each of its users is failed with that code and put in
 * retry.ndjson, and the run's summary adds up.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { importCommand } from '../../src/import.js';
import type { RunSummary } from '../../src/report/types.js';
import { FAST, startHarness } from './harness.js';

describe('an import file Auth0 refuses with 413', () => {
  it('fails its batch as payload_too_large, once, with the run still accounted for', async () => {
    const h = await startHarness({
      sim: { seedOld: 0 },
      env: { BATCH_BYTES: '512000', MAX_PROFILE_BYTES: '512000' },
    });
    // Two users whose import file is just under 512,000 bytes (one batch, within BATCH_BYTES), over
    // 512,000 with the multipart envelope around it.
    const big = {
      user_id: 'auth0|big1',
      email: 'big@example.com',
      email_verified: true,
      identities: [
        { connection: h.sim.tenants.old.connection, provider: 'auth0', user_id: 'big1', isSocial: false },
      ],
      user_metadata: { pad: 'x'.repeat(511_650) },
    };
    const small = {
      user_id: 'auth0|small1',
      email: 'small@example.com',
      email_verified: true,
      identities: [{ ...big.identities[0]!, user_id: 'small1' }],
    };
    const input = join(h.reportsDir, 'input.ndjson');
    await writeFile(input, `${JSON.stringify(big)}\n${JSON.stringify(small)}\n`);
    // Counts the import submissions (a delay of nothing, on every one).
    const counter = h.sim.faults.add({
      kind: 'delay',
      delayMs: 0,
      tenant: 'new',
      method: 'POST',
      path: '/api/v2/jobs/users-imports',
      times: 0,
    });
    let runId = '';
    const code = await importCommand(
      h.config,
      input,
      {},
      {
        settings: FAST,
        out: { write: () => undefined },
        progressStream: new Writable({ write: (_c, _e, cb) => cb() }),
        onRun: (id) => (runId = id),
      },
    );
    expect(code).toBe(3);
    expect(h.sim.tenant('new').stats.importJobsCreated).toBe(0);
    const dir = join(h.reportsDir, runId);
    const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as RunSummary;
    const c = summary.counts;
    expect(c.total).toBe(2);
    expect(c.total).toBe(c.imported + c.already_migrated + c.skipped + c.failed);
    expect(c.imported).toBe(0);
    expect(c.failed).toBe(2);
    expect(summary.failed).toEqual({ payload_too_large: 2 });
    expect(summary.batches).toMatchObject({ total: 1, failed: 1 });
    const failures = (await readFile(join(dir, 'failures.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { user_id: string; code: string });
    expect(failures.map((f) => [f.user_id, f.code]).sort()).toEqual([
      ['auth0|big1', 'payload_too_large'],
      ['auth0|small1', 'payload_too_large'],
    ]);
    const retry = (await readFile(join(dir, 'retry.ndjson'), 'utf8')).trim().split('\n');
    expect(retry.map((l) => (JSON.parse(l) as { user_id: string }).user_id).sort()).toEqual([
      'auth0|big1',
      'auth0|small1',
    ]);
    // The 413 was final: one submission, answered 413, not sent again; nobody reached the tenant.
    expect(h.sim.faults.list().find((f) => f.id === counter)?.hits).toBe(1);
    expect(h.sim.tenant('new').user('auth0|big1')).toBeUndefined();
  });
});
