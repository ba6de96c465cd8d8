#!/usr/bin/env node
/**
 * `auth0-migrate <command>`: every npm script goes through here. Configuration is read once, here,
 * and handed to the command; each command returns its exit code (errors.ts, ExitCode).
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig, type Config, type TenantName } from './config.js';
import { ExitCode, coerceError, isToolError } from './errors.js';
import { keepHeapNearLive } from './heap.js';

keepHeapNearLive();

// `auth0-migrate report RUN | head`: once the reader is gone the rest of the output has nowhere to
// go, which is not a failure of the command.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

// One level above this file both as source (src/) and as built (dist/).
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command('auth0-migrate')
  .description('Move users from one Auth0 tenant to another: lazy migration scripts and a bulk sweep.')
  .version(version, '-V, --version', 'print the version')
  .showHelpAfterError()
  .exitOverride((err) => {
    // commander's own help/version exits are not failures.
    process.exit(err.exitCode === 0 ? 0 : ExitCode.failure);
  });

function int(name: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}.`);
    return n;
  };
}

function fraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('must be a number from 0 to 1.');
  return n;
}

/**
 * Runs a command with the config read once, and turns its outcome into the process exit code.
 * `needs` names the tenants the command uses, so their problems come in the same message as the
 * others.
 */
function run<A extends unknown[]>(
  fn: (config: Config, ...args: A) => Promise<number>,
  needs?: NoInfer<(config: Config, ...args: A) => readonly TenantName[]>,
) {
  return async (...args: A): Promise<void> => {
    let code: number;
    try {
      const config = loadConfig(needs === undefined ? {} : { needs: (c) => needs(c, ...args) });
      for (const warning of config.warnings) process.stderr.write(`warning: ${warning}\n`);
      code = await fn(config, ...args);
    } catch (err) {
      code = report(err);
    }
    process.exitCode = code;
  };
}

function report(thrown: unknown): number {
  const err = coerceError(thrown);
  if (isToolError(err)) {
    process.stderr.write(`error: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
    return err.exitCode;
  }
  process.stderr.write(`error: ${err.stack ?? err.message}\n`);
  return ExitCode.failure;
}

program
  .command('export')
  .description('run a users-export job on a tenant and save its gzipped NDJSON')
  .addOption(new Option('--tenant <tenant>', 'which tenant').choices(['old', 'new']).default('old'))
  .option('--out <file>', 'where to write the .ndjson.gz (default: ./exports/<tenant>-<time>.ndjson.gz)')
  .action(
    run(
      async (config, opts: { tenant: 'old' | 'new'; out?: string }) => {
        const { exportCommand } = await import('./export.js');
        return exportCommand(config, opts);
      },
      (_c, opts) => [opts.tenant],
    ),
  );

program
  .command('import')
  .description('import an export file (.ndjson, .ndjson.gz or a JSON array) into the new tenant')
  .argument('<file>', 'the users to import')
  .option(
    '--hashes <file>',
    'password hashes from Auth0 support (NDJSON), merged in so users keep their passwords',
  )
  .option(
    '--allow-plaintext-hashes',
    'allow --hashes without PAYLOAD_KEY (hashes then sit unencrypted in Redis)',
  )
  .option(
    '--mfa <file>',
    'MFA secrets from Auth0 support (NDJSON with mfa_factors), so users keep their enrolments',
  )
  .option(
    '--mfa-reads',
    "read each user's MFA enrolments from the old tenant when its export does not show them (one call per user)",
  )
  .option('--allow-empty', 'run even when FILE (or the --hashes file) holds no users')
  .option('--dry-run', 'go through everything but the import submissions, and report what would happen')
  .option('--upsert', "update users that already exist (Auth0's upsert; metadata is replaced, not merged)")
  .option('--run-id <id>', 'name the run (resumes it when it exists)')
  .option('--no-workers', 'only enqueue the run; workers elsewhere process it')
  .action(
    run(
      async (config, file: string, opts) => {
        const { importCommand } = await import('./import.js');
        return importCommand(config, file, opts);
      },
      () => ['new'],
    ),
  );

program
  .command('sweep')
  .description('export the old tenant, snapshot the new one, import the difference, report')
  .option(
    '--mfa <file>',
    'MFA secrets from Auth0 support (NDJSON with mfa_factors), so users keep their enrolments',
  )
  .option(
    '--mfa-reads',
    "read each user's MFA enrolments from the old tenant when its export does not show them (one call per user)",
  )
  .option('--dry-run', 'go through everything but the import submissions')
  .option('--upsert', "update users that already exist (Auth0's upsert)")
  .option('--run-id <id>', 'name the run (resumes it when it exists)')
  .option('--no-relations', "skip the relations stage (users' roles and permissions)")
  .option('--no-workers', 'only enqueue the run; workers elsewhere process it')
  .option(
    '--members-of <organization...>',
    "import only these organizations' members (old tenant, by name), e.g. before switching to organization login",
  )
  .option(
    '--hashes <file>',
    'password hashes from Auth0 support (NDJSON), so imported users keep their passwords',
  )
  .option(
    '--allow-plaintext-hashes',
    'allow --hashes without PAYLOAD_KEY (hashes then sit unencrypted in Redis)',
  )
  .action(
    run(
      async (config, opts) => {
        const { sweepCommand } = await import('./commands/sweep.js');
        return sweepCommand(config, opts);
      },
      () => ['old', 'new'],
    ),
  );

program
  .command('relations')
  .description('carry roles and permissions of users present in both tenants over to the new tenant')
  .option('--dry-run', 'read and diff both tenants, write the whole plan, send nothing')
  .option('--run-id <id>', 'name the run (resumes it when it exists)')
  .option('--update-roles', 'give roles that exist in both tenants the permissions the new one lacks')
  .option('--direct-permissions', "also users' own permissions (one read per user of the old tenant)")
  .option('--no-workers', 'only enqueue the run; workers elsewhere process it')
  .action(
    run(
      async (config, opts) => {
        const { relationsCommand } = await import('./commands/relations.js');
        return relationsCommand(config, opts);
      },
      () => ['old', 'new'],
    ),
  );

program
  .command('worker')
  .description('run the workers (the container command) and keep the sweep schedule (SWEEP_CRON)')
  .action(
    run(
      async (config) => {
        const { workerCommand } = await import('./commands/worker.js');
        return workerCommand(config);
      },
      (c) => (c.sweepCron === undefined && c.relationsCron === undefined ? ['new'] : ['old', 'new']),
    ),
  );

program
  .command('status')
  .description('progress of a run (the latest when no id is given)')
  .argument('[runId]')
  .option('--json', 'print JSON')
  .action(
    run(async (config, runId: string | undefined, opts: { json?: boolean }) => {
      const { statusCommand } = await import('./commands/status.js');
      return statusCommand(config, runId, opts);
    }),
  );

program
  .command('discard')
  .description('give up a failed run: delete its user data in Redis and its work files (the report stays)')
  .argument('<runId>')
  .action(
    run(async (config, runId: string) => {
      const { discardCommand } = await import('./commands/discard.js');
      return discardCommand(config, runId);
    }),
  );

program
  .command('runs')
  .description('list runs')
  .option('--json', 'print JSON')
  .action(
    run(async (config, opts: { json?: boolean }) => {
      const { runsCommand } = await import('./commands/runs.js');
      return runsCommand(config, opts);
    }),
  );

program
  .command('report')
  .description("print a run's report, or render it again")
  .argument('<runId>')
  .addOption(new Option('--format <format>', 'what to print').choices(['md', 'json', 'html']).default('md'))
  .option('--rerender', 'write summary.md and summary.html again from summary.json')
  .option('--email', 'send the summary by email (SMTP_URL, REPORT_EMAIL_TO)')
  .action(
    run(async (config, runId: string, opts) => {
      const { reportCommand } = await import('./commands/report.js');
      return reportCommand(config, runId, opts);
    }),
  );

program
  .command('resets')
  .description(
    'password-change tickets, or emails, for users imported without a password hash (dry run unless --send)',
  )
  .argument('<runId>')
  .option('--send', 'create the tickets (or send the emails)')
  .option('--email', 'have Auth0 send each user its change-password email instead of creating tickets')
  .option('--ttl <seconds>', 'ticket lifetime in seconds (Auth0 default: 5 days)', int('--ttl', 0))
  .option('--result-url <url>', 'where the user lands after the reset')
  .option('--client-id <id>', 'application whose login page follows the reset')
  .option('--verify-email', 'instead: verification emails for users imported with email_verified false')
  .action(
    run(
      async (config, runId: string, opts) => {
        const { resetsCommand } = await import('./commands/resets.js');
        return resetsCommand(config, runId, opts);
      },
      () => ['new'],
    ),
  );

program
  .command('rollback')
  .description('remove from the new tenant exactly the users a run inserted (dry run unless --send)')
  .argument('<runId>')
  .option('--send', 'carry it out (resumable: run it again to carry on)')
  .option('--include-active', 'delete users who logged in to the new tenant since the run too')
  .action(
    run(
      async (config, runId: string, opts: { send?: boolean; includeActive?: boolean }) => {
        const { rollbackCommand } = await import('./commands/rollback.js');
        return rollbackCommand(config, runId, opts);
      },
      () => ['new'],
    ),
  );

program
  .command('dashboard')
  .description('bull-board over the queues (DASHBOARD_HOST, DASHBOARD_PORT)')
  .action(
    run(async (config) => {
      const { dashboardCommand } = await import('./commands/dashboard.js');
      return dashboardCommand(config);
    }),
  );

const lazy = program.command('lazy').description('the custom-database scripts for lazy migration');
lazy
  .command('build')
  .description('write login.js and get_user.js as Auth0 runs them')
  .option('--out <dir>', 'output folder', './lazy-scripts')
  .action(
    run(async (config, opts: { out: string }) => {
      const { lazyBuildCommand } = await import('./commands/lazy.js');
      return lazyBuildCommand(config, opts);
    }),
  );
lazy
  .command('deploy')
  .description("install the scripts on the new tenant's connection (import mode on)")
  .option('--dry-run', 'show what would change, change nothing')
  .option('--force', 'overwrite scripts this tool did not write')
  .action(
    run(
      async (config, opts: { dryRun?: boolean; force?: boolean }) => {
        const { lazyDeployCommand } = await import('./commands/lazy.js');
        return lazyDeployCommand(config, opts);
      },
      () => ['old', 'new'],
    ),
  );
lazy
  .command('finish')
  .description('end lazy migration: scripts become no-ops, import mode stays on')
  .option('--dry-run', 'show what would change, change nothing')
  .option('--force', 'overwrite scripts this tool did not write')
  .action(
    run(
      async (config, opts: { dryRun?: boolean; force?: boolean }) => {
        const { lazyFinishCommand } = await import('./commands/lazy.js');
        return lazyFinishCommand(config, opts);
      },
      () => ['new'],
    ),
  );

program
  .command('sim')
  .description('serve simulated old and new Auth0 tenants on 127.0.0.1')
  .option('--port <port>', 'port (0 picks a free one)', int('--port', 0), 4010)
  .option('--host <address>', 'address to listen on (0.0.0.0 in a container)', '127.0.0.1')
  .option(
    '--public-url <url>',
    'URL clients reach it at, when not http://<host>:<port> (e.g. http://sim:4010)',
  )
  .option('--seed-old <n>', 'generated users in the old tenant', int('--seed-old', 0), 1000)
  .option('--seed-new-migrated <fraction>', 'share of old users already in the new tenant', fraction, 0)
  .option(
    '--seed-linked <fraction>',
    'share of generated old users with a linked account (database + Google, Google + database)',
    fraction,
    0.05,
  )
  .option('--seed-mfa <fraction>', 'share of generated old database users enrolled in MFA', fraction, 0.1)
  .option('--seed-file <file>', 'seed the old tenant from an export file instead')
  .addOption(
    new Option('--timing <profile>', 'job speed: fast (tests), or Auth0-like per plan tier')
      .choices(['fast', 'free', 'production', 'enterprise'])
      .default('production'),
  )
  .option('--variance <seed>', "seed of the tiers' job timing variance (default 1)", int('--variance', 0))
  .option('--no-variance', 'constant job timing')
  .option('--json', 'print the tenants and their credentials as one JSON line first')
  .option(
    '--write-env <file>',
    "write the tenants' settings to FILE (e.g. .env), mode 0600, for the tool to read",
  )
  .option('--force', 'replace the --write-env file when it exists')
  .action(
    run(async (config, opts) => {
      const { simCommand } = await import('./commands/sim.js');
      return simCommand(config, opts);
    }),
  );

program
  .command('demo')
  .description('a whole migration rehearsal against the simulator, with a report')
  .option('--users <n>', 'users in the old tenant', int('--users', 1), 2_000)
  .option('--migrated <fraction>', 'share already in the new tenant (lazy migration)', fraction, 0.3)
  .addOption(
    new Option('--timing <profile>', 'simulated import speed')
      .choices(['fast', 'free', 'production', 'enterprise'])
      .default('enterprise'),
  )
  .action(
    run(async (config, opts) => {
      const { demoCommand } = await import('./commands/demo.js');
      return demoCommand(config, opts);
    }),
  );

await program.parseAsync(process.argv);
