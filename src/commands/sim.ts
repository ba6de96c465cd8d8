/**
 * `auth0-migrate sim`: serves the simulated tenants until SIGINT/SIGTERM. With `--json` the first
 * stdout line is one JSON object describing the tenants, so scripts can drive it.
 */
import type { Writable } from 'node:stream';
import type { Config } from '../config.js';
import { ExitCode } from '../errors.js';
import { startSimulator, type Simulator, type TimingProfile } from '../sim/index.js';

export interface SimCommandOptions {
  port?: number;
  host?: string;
  publicUrl?: string;
  seedOld?: number;
  seedNewMigrated?: number;
  /** @defaultValue 0.05 */
  seedLinked?: number;
  /** @defaultValue 0.1 */
  seedMfa?: number;
  seedFile?: string;
  timing?: TimingProfile;
  json?: boolean;
}

export interface SimCommandIo {
  stdout?: Writable;
  /** Stops the server (besides SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Called once the server listens. */
  onReady?: (sim: Simulator) => void;
}

export async function simCommand(
  _config: Config,
  opts: SimCommandOptions,
  io: SimCommandIo = {},
): Promise<number> {
  const out = io.stdout ?? process.stdout;
  const sim = await startSimulator({
    port: opts.port ?? 4010,
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.publicUrl !== undefined ? { publicUrl: opts.publicUrl } : {}),
    seedOld: opts.seedFile === undefined ? (opts.seedOld ?? 1000) : 0,
    seedNewMigrated: opts.seedNewMigrated ?? 0,
    seedLinked: opts.seedLinked ?? 0.05,
    seedMfa: opts.seedMfa ?? 0.1,
    ...(opts.seedFile !== undefined ? { seedFile: opts.seedFile } : {}),
    timing: opts.timing ?? 'production',
  });
  try {
    out.write(opts.json === true ? jsonLine(sim) : banner(sim, opts));
    io.onReady?.(sim);
    await untilStopped(io.signal);
  } finally {
    await sim.close();
  }
  return ExitCode.ok;
}

function jsonLine(sim: Simulator): string {
  const tenants = Object.fromEntries(
    (['old', 'new'] as const).map((name) => {
      const t = sim.tenants[name];
      return [
        name,
        {
          domain: t.domain,
          baseUrl: t.baseUrl,
          clientId: t.clientId,
          clientSecret: t.clientSecret,
          connection: t.connection,
        },
      ];
    }),
  );
  return `${JSON.stringify({ tenants })}\n`;
}

function banner(sim: Simulator, opts: SimCommandOptions): string {
  const seeded =
    opts.seedFile !== undefined
      ? `old seeded from ${opts.seedFile}`
      : `old: ${opts.seedOld ?? 1000} generated users in ${sim.tenant('old').organizations.size} organizations, ${percent(opts.seedLinked ?? 0.05)}% with a linked account, ${percent(opts.seedMfa ?? 0.1)}% of the database ones enrolled in MFA`;
  const lines = [
    `Auth0 tenant simulator on ${sim.url} (timing: ${opts.timing ?? 'production'}; ${seeded}; new: ${percent(
      opts.seedNewMigrated ?? 0,
    )}% already migrated)`,
    '',
    'Point auth0-migrate at it (paste into .env):',
    '',
  ];
  for (const name of ['old', 'new'] as const) {
    const t = sim.tenants[name];
    const p = name.toUpperCase();
    lines.push(
      `${p}_AUTH0_DOMAIN=${t.domain}`,
      `${p}_AUTH0_BASE_URL=${t.baseUrl}`,
      `${p}_AUTH0_CLIENT_ID=${t.clientId}`,
      `${p}_AUTH0_CLIENT_SECRET=${t.clientSecret}`,
      `${p}_AUTH0_CONNECTION=${t.connection}`,
    );
  }
  lines.push(
    '',
    'Generated users log in with the password Sim-<n>-Passw0rd!, where <n> is the number in their email or username.',
    `Stats: ${sim.url}/__sim/stats   Faults: ${sim.url}/__sim/faults`,
    `A social user's login: POST ${sim.url}/__sim/idp-login   MFA secrets: ${sim.url}/__sim/mfa-secrets`,
    'Ctrl-C stops it.',
    '',
  );
  return lines.join('\n');
}

function untilStopped(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (signal?.aborted) stop();
    else signal?.addEventListener('abort', stop, { once: true });
  });
}

const percent = (share: number): number => Math.round(share * 1000) / 10;
