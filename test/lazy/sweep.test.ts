/**
 * Lazy migration and the sweep together: users who logged in to the new tenant through the
 * deployed scripts are counted as already migrated by the sweep, everyone else is imported, nobody
 * twice, and both paths give the same ids.
 */
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig, toTenantConfig, withTenants, type Config } from '../../src/config.js';
import { sweepCommand } from '../../src/commands/sweep.js';
import { lazyDeployCommand } from '../../src/commands/lazy.js';
import type { RunSummary } from '../../src/report/types.js';
import { DB_CONNECTION, generatedPassword, startSimulator, type Simulator } from '../../src/sim/index.js';
import { deleteKeysUnder } from '../../src/jobs/queues.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
let sim: Simulator;
let config: Config;
let reportsDir: string;
const prefix = `test-lazy-sweep-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 60, timing: 'fast' });
  reportsDir = await mkdtemp(join(tmpdir(), 'lazy-sweep-'));
  config = withTenants(
    loadConfig({
      env: {
        REDIS_URL,
        QUEUE_PREFIX: prefix,
        REPORTS_DIR: reportsDir,
        LOG_LEVEL: 'silent',
        LOG_FORMAT: 'json',
        POLL_INTERVAL_MS: '20',
      },
      dotenvPath: false,
    }),
    { old: toTenantConfig(sim.tenants.old), new: toTenantConfig(sim.tenants.new) },
  );
});

afterAll(async () => {
  await sim?.close();
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  await deleteKeysUnder(redis, prefix);
  await redis.quit();
  await rm(reportsDir, { recursive: true, force: true });
});

it('counts lazily migrated users as already migrated and imports the others once, under the same ids', async () => {
  expect(await lazyDeployCommand(config, {}, { print: () => undefined })).toBe(0);
  const old = [...sim.tenant('old').users.iterate(DB_CONNECTION)].filter(
    (u) => u.email !== undefined && u.blocked !== true,
  );
  const lazy = old.slice(0, 7);
  const info = sim.tenants.new;
  for (const u of lazy) {
    const res = await fetch(`${info.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'http://auth0.com/oauth/grant-type/password-realm',
        realm: info.connection,
        client_id: info.clientId,
        client_secret: info.clientSecret,
        username: u.email,
        password: generatedPassword(u.generatedIndex!),
      }),
    });
    expect(res.status).toBe(200);
  }
  const lazyIds = lazy.map((u) => u.user_id);

  let out = '';
  const code = await sweepCommand(
    config,
    {},
    {
      out: { write: (t: string) => (out += t) },
      progressStream: new Writable({ write: (_c, _e, cb) => cb() }),
    },
  );
  expect(code, out).toBe(0);
  const [runId] = await readdir(reportsDir);
  const summary = JSON.parse(await readFile(join(reportsDir, runId!, 'summary.json'), 'utf8')) as RunSummary;

  expect(summary.counts.already_migrated).toBe(lazy.length);
  const imported = sim.tenant('new').stats.importedUserIds;
  expect(new Set(imported).size).toBe(imported.length);
  for (const id of lazyIds) expect(imported).not.toContain(id);
  expect(summary.counts.imported).toBe(imported.length);
  // Every old database user with an email is now in the new tenant under its old id.
  const newIds = new Set([...sim.tenant('new').users.iterate(DB_CONNECTION)].map((u) => u.user_id));
  for (const u of old) expect(newIds.has(u.user_id), u.user_id).toBe(true);
});
