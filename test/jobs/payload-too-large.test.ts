/**
 * Auth0 measures the whole multipart request against 512,000 bytes, so an import file of 512,000
 * bytes is refused with 413. BATCH_BYTES stops at 500,000: a file at that size, with its envelope,
 * is accepted. Should a 413 come all the same, it reaches the runner as `payload_too_large`: the
 * batch fails as a whole, once, each of its users is failed with that code and put in
 * retry.ndjson, and the run's summary adds up.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { importCommand } from '../../src/import.js';
import type { RunSummary } from '../../src/report/types.js';
import { FAST, startHarness } from './harness.js';

async function runTwoUsers(pad: number, fault413: boolean) {
  const h = await startHarness({
    // A tenant whose profile limit lets one user fill a file (Auth0's is 10 KB, extended 100 KB),
    // so the file's size, not the user's, is what the tenant judges.
    sim: { seedOld: 0, maxProfileBytes: 512_000 },
    env: { BATCH_BYTES: '500000', MAX_PROFILE_BYTES: '500000' },
  });
  {
    const big = {
      user_id: 'auth0|big1',
      email: 'big@example.com',
      email_verified: true,
      identities: [
        { connection: h.sim.tenants.old.connection, provider: 'auth0', user_id: 'big1', isSocial: false },
      ],
      user_metadata: { pad: 'x'.repeat(pad) },
    };
    const small = {
      user_id: 'auth0|small1',
      email: 'small@example.com',
      email_verified: true,
      identities: [{ ...big.identities[0]!, user_id: 'small1' }],
    };
    const input = join(h.reportsDir, 'input.ndjson');
    await writeFile(input, `${JSON.stringify(big)}\n${JSON.stringify(small)}\n`);
    // Counts the import submissions: a 413 on every one, or a delay of nothing.
    const counter = h.sim.faults.add({
      ...(fault413 ? { kind: 'error' as const, status: 413 } : { kind: 'delay' as const, delayMs: 0 }),
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
    const dir = join(h.reportsDir, runId);
    const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as RunSummary;
    return { h, code, dir, summary, hits: h.sim.faults.list().find((f) => f.id === counter)?.hits };
  }
}

describe('import files and the 413 of Auth0', () => {
  it('refuses BATCH_BYTES over 500000: a 512,000-byte file would be refused with its envelope', () => {
    expect(() => loadConfig({ env: { BATCH_BYTES: '512000' }, dotenvPath: false })).toThrowError(
      /BATCH_BYTES/,
    );
    expect(() => loadConfig({ env: { MAX_PROFILE_BYTES: '500001' }, dotenvPath: false })).toThrowError(
      /MAX_PROFILE_BYTES/,
    );
  });

  it('a file at BATCH_BYTES at its highest, with its envelope, is accepted', async () => {
    // Two users whose import file is just under 500,000 bytes: one batch, one request.
    const { h, code, summary, hits } = await runTwoUsers(499_650, false);
    expect(code).toBe(0);
    expect(hits).toBe(1);
    expect(summary.counts).toMatchObject({ total: 2, imported: 2, failed: 0 });
    expect(h.sim.tenant('new').user('auth0|big1')).toBeDefined();
  });

  it('a 413 fails its batch as payload_too_large, once, with the run still accounted for', async () => {
    const { h, code, dir, summary, hits } = await runTwoUsers(1_000, true);
    expect(code).toBe(3);
    expect(h.sim.tenant('new').stats.importJobsCreated).toBe(0);
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
    expect(hits).toBe(1);
    expect(h.sim.tenant('new').user('auth0|big1')).toBeUndefined();
  });
});
