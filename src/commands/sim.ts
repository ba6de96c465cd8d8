/**
 * `auth0-migrate sim`: serves the simulated tenants until SIGINT/SIGTERM. With `--json` the first
 * stdout line is one JSON object describing the tenants, so scripts can drive it; with
 * `--write-env FILE` their settings are written to FILE, ready for the tool to read as its .env.
 * (Not `--env-file`: Node 20 takes that flag for itself wherever it appears on the command line.)
 */
import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Config } from '../config.js';
import { ExitCode, MigrateError, coerceError } from '../errors.js';
import { writeFileAtomic } from '../report/files.js';
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
  /** Seed of the tiers' job timing variance, or `false` for constant timing. @defaultValue 1 */
  variance?: number | false;
  json?: boolean;
  /** Writes the tenants' settings to this file (mode 0600), in the tool's .env format. */
  writeEnv?: string;
  /** Replaces `writeEnv` when it exists. */
  force?: boolean;
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
  const port = opts.port ?? 4010;
  const host = opts.host ?? '127.0.0.1';
  if (opts.writeEnv !== undefined && opts.force !== true && existsSync(opts.writeEnv)) {
    throw new MigrateError(`${opts.writeEnv} exists already; the simulator's settings were not written.`, {
      hint: `Add --force to replace it (its other settings go too), or give another file to --write-env.`,
    });
  }
  let sim: Simulator;
  try {
    sim = await startSimulator({
      port,
      host,
      ...(opts.publicUrl !== undefined ? { publicUrl: opts.publicUrl } : {}),
      seedOld: opts.seedFile === undefined ? (opts.seedOld ?? 1000) : 0,
      seedNewMigrated: opts.seedNewMigrated ?? 0,
      seedLinked: opts.seedLinked ?? 0.05,
      seedMfa: opts.seedMfa ?? 0.1,
      ...(opts.seedFile !== undefined ? { seedFile: opts.seedFile } : {}),
      timing: opts.timing ?? 'production',
      ...(opts.variance !== undefined ? { timingVariance: opts.variance } : {}),
    });
  } catch (err) {
    throw listenError(err, host, port);
  }
  // Listening for the stop before anything is printed: whoever reads the banner may stop it at once.
  const stopped = untilStopped(io.signal);
  try {
    // A file of secrets: 0600, and never half written.
    if (opts.writeEnv !== undefined) await writeFileAtomic(opts.writeEnv, envFileText(sim));
    out.write(opts.json === true ? jsonLine(sim) : banner(sim, opts));
    io.onReady?.(sim);
    await stopped.done;
  } finally {
    stopped.stop();
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

/** `OLD_AUTH0_DOMAIN=…` and the rest, for both tenants. */
function envLines(sim: Simulator): string[] {
  const lines: string[] = [];
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
  return lines;
}

function envFileText(sim: Simulator): string {
  return [
    `# The simulated tenants of \`auth0-migrate sim\` at ${sim.url}, valid while it runs`,
    '# (each start makes new credentials). Written by `auth0-migrate sim --write-env`.',
    ...envLines(sim),
    '',
  ].join('\n');
}

function banner(sim: Simulator, opts: SimCommandOptions): string {
  const seeded =
    opts.seedFile !== undefined
      ? `old seeded from ${opts.seedFile}`
      : `old: ${opts.seedOld ?? 1000} generated users in ${sim.tenant('old').organizations.size} organizations, ${percent(opts.seedLinked ?? 0.05)}% with a linked account, ${percent(opts.seedMfa ?? 0.1)}% of the database ones enrolled in MFA`;
  const variance = sim.tenant('new').options.timing.variance;
  const timing = `${opts.timing ?? 'production'}${variance === false ? ', constant' : `, varied with seed ${variance.seed}`}`;
  const lines = [
    `Auth0 tenant simulator on ${sim.url} (timing: ${timing}; ${seeded}; new: ${percent(
      opts.seedNewMigrated ?? 0,
    )}% already migrated)`,
    '',
  ];
  if (opts.writeEnv !== undefined) {
    lines.push(
      `Wrote these settings to ${opts.writeEnv} (mode 0600); auth0-migrate reads a .env in its folder:`,
    );
  } else {
    lines.push('Point auth0-migrate at it (paste into .env, or write it with --write-env .env):');
  }
  lines.push('', ...envLines(sim));
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

/** Why the simulator cannot listen, and what to do; other failures as they are. */
function listenError(thrown: unknown, host: string, port: number): Error {
  const err = coerceError(thrown);
  const code = (err as NodeJS.ErrnoException).code;
  const other = 'choose another port: --port 4011, or --port 0 for any free one';
  if (code === 'EADDRINUSE') {
    return new MigrateError(
      `Port ${port} on ${host} is in use already, so the simulator cannot listen there.`,
      {
        hint: `Stop what listens there (another \`auth0-migrate sim\`?), or ${other}.`,
        cause: err,
      },
    );
  }
  if (code === 'EACCES') {
    return new MigrateError(`Listening on port ${port} of ${host} is not allowed for this user.`, {
      hint: `Ports below 1024 need privileges: ${other}.`,
      cause: err,
    });
  }
  if (code === 'EADDRNOTAVAIL') {
    return new MigrateError(
      `${host} is not an address of this machine, so the simulator cannot listen on it.`,
      {
        hint: 'Use --host 127.0.0.1, or --host 0.0.0.0 in a container.',
        cause: err,
      },
    );
  }
  return err;
}

/** Resolves `done` on SIGINT, SIGTERM or the signal; `stop()` resolves it and stops listening. */
function untilStopped(signal: AbortSignal | undefined): { done: Promise<void>; stop: () => void } {
  let stop!: () => void;
  const done = new Promise<void>((resolve) => {
    stop = () => {
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
  return { done, stop };
}

const percent = (share: number): number => Math.round(share * 1000) / 10;
