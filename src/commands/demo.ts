/**
 * `auth0-migrate demo` (`npm run demo`): a whole end-of-migration sweep rehearsed against the
 * simulator. The old tenant holds `--users` generated users, the new one already holds a share of
 * them (lazy migration); the sweep exports both, imports the difference through the import
 * slots, carries the users' roles over (the relations stage), and writes the report. Redis is REDIS_URL (or 127.0.0.1:6379), or a private
 * `redis-server` started for the run when none answers.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Secret, toTenantConfig, withTenants, type Config } from '../config.js';
import { MigrateError } from '../errors.js';
import { createLogger } from '../log.js';
import type { CommandHooks } from './run.js';
import { sweepCommand } from './sweep.js';
import {
  redisAnswers,
  redisServerInstalled,
  startPrivateRedis,
  type PrivateRedis,
} from '../jobs/redis-server.js';
import { n } from '../report/format.js';
import { startSimulator } from '../sim/index.js';
import { deleteKeysUnder } from '../jobs/queues.js';

export interface DemoOptions {
  /** Users in the old tenant. @defaultValue 2000 */
  users?: number;
  /** Share already in the new tenant. @defaultValue 0.3 */
  migrated?: number;
  /** The simulated tier's speed. @defaultValue enterprise */
  timing?: 'fast' | 'free' | 'production' | 'enterprise';
}

export async function demoCommand(
  config: Config,
  opts: DemoOptions = {},
  hooks: CommandHooks = {},
): Promise<number> {
  const out = hooks.out ?? process.stdout;
  const users = opts.users ?? 2_000;
  const migrated = opts.migrated ?? 0.3;
  const timing = opts.timing ?? 'enterprise';

  let privateRedis: PrivateRedis | undefined;
  let redisUrl = config.redisUrl;
  if (!(await redisAnswers(redisUrl))) {
    if (!redisServerInstalled()) {
      throw new MigrateError(
        `No Redis answers at ${redisUrl}, and redis-server is not installed to start one.`,
        {
          hint: 'Start one (`docker run -d -p 6379:6379 redis:7`, or install redis-server) or set REDIS_URL, then run the demo again.',
        },
      );
    }
    privateRedis = await startPrivateRedis();
    redisUrl = privateRedis.url;
    out.write(`No Redis at ${config.redisUrl}: started a private redis-server for the demo (${redisUrl}).\n`);
  }

  out.write(
    `Starting the simulator: old tenant with ${n(users)} users, ${Math.round(migrated * 100)} % of them already in the new tenant (${timing} timing)…\n`,
  );
  // Some users with linked accounts and MFA enrolments, as real tenants have.
  const sim = await startSimulator({
    seedOld: users,
    seedNewMigrated: migrated,
    seedLinked: 0.05,
    seedMfa: 0.1,
    timing,
  });
  const secretsDir = await mkdtemp(join(tmpdir(), 'auth0-migrate-demo-'));
  try {
    const oldInfo = sim.tenants.old;
    const newInfo = sim.tenants.new;
    const before = sim.tenant('new').userCount(newInfo.connection);
    const rolesBefore = sim.tenant('new').rbac.roles().length;
    const organizationsBefore = sim.tenant('new').organizations.size;
    // Its own queue prefix: workers of a real deployment on the same Redis never see demo jobs.
    const demoConfig: Config = withTenants(
      {
        ...config,
        redisUrl,
        queuePrefix: `${config.queuePrefix}-demo-${randomBytes(3).toString('hex')}`,
        sweepCron: undefined,
        // The simulator's fast tier has no rate limits: nor does the tool's pacing of it. Other tiers
        // keep Auth0's limits, and the relations stage is paced by them as against a real tenant.
        ...(timing === 'fast' && {
          maxRps: { old: 500, new: 500 },
          endpointRateLimits: 'off' as const,
        }),
        // MFA secrets go into the staged payloads: encrypted, with a key of the demo's own if none is set.
        payloadKey: config.payloadKey ?? new Secret(randomBytes(32).toString('hex')),
      },
      { old: toTenantConfig(oldInfo), new: toTenantConfig(newInfo) },
    );
    out.write(
      [
        `  old tenant: ${oldInfo.baseUrl}, ${n(sim.tenant('old').userCount(oldInfo.connection))} users in connection ${oldInfo.connection} (the others log in with Google)`,
        `  new tenant: ${newInfo.baseUrl}, ${n(before)} users already there`,
        `  import slots: ${demoConfig.importConcurrency}, batches up to ${n(demoConfig.batchBytes)} bytes; reports in ${resolve(config.reportsDir)}`,
        '',
      ].join('\n'),
    );
    // The MFA secrets file Auth0 support would send, as the simulator serves it.
    const mfaFile = join(secretsDir, 'mfa-secrets.ndjson');
    const secrets = await fetch(`${sim.url}/__sim/mfa-secrets?tenant=old`);
    await writeFile(mfaFile, await secrets.text(), { mode: 0o600 });
    const enrolledBefore = enrolledUsers(sim, 'old');
    const code = await sweepCommand(
      demoConfig,
      { mfa: mfaFile },
      {
        logger:
          hooks.logger ??
          createLogger({ ...config, logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel }),
        ...hooks,
      },
    );
    const stats = sim.tenant('new').stats;
    const rolesAfter = sim.tenant('new').rbac.roles().length;
    const organizationsAfter = sim.tenant('new').organizations.size;
    out.write(
      `The new tenant now holds ${n(sim.tenant('new').userCount(newInfo.connection))} users (${n(before)} before); ${n(stats.importJobsCreated)} import job${stats.importJobsCreated === 1 ? '' : 's'} ran, at most ${stats.maxActiveImportJobs} at once; it has ${n(rolesAfter)} roles (${n(rolesBefore)} before) and ${n(organizationsAfter)} organizations (${n(organizationsBefore)} before), their members as in the old tenant (the Relations lines above).\n`,
    );
    out.write(
      `MFA: ${n(enrolledUsers(sim, 'new'))} users of the new tenant are enrolled, carried from the secrets file (${n(enrolledBefore)} in the old tenant); linked accounts wait for their Google login (the links line above).\n`,
    );
    await dropKeys(redisUrl, demoConfig.queuePrefix);
    return code;
  } finally {
    await rm(secretsDir, { recursive: true, force: true });
    await sim.close();
    await privateRedis?.stop();
  }
}

function enrolledUsers(sim: Awaited<ReturnType<typeof startSimulator>>, tenant: 'old' | 'new'): number {
  let count = 0;
  for (const u of sim.tenant(tenant).listUsers()) if (Array.isArray(u.multifactor)) count++;
  return count;
}

/** The demo's queues and run state go away with it (the report stays in REPORTS_DIR). */
async function dropKeys(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  try {
    await deleteKeysUnder(redis, prefix);
  } finally {
    await redis.quit();
  }
}
