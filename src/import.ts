/**
 * `auth0-migrate import FILE [--hashes FILE] [--mfa FILE] [--allow-empty] [--dry-run] [--upsert] [--run-id ID]
 * [--no-workers]`: an export file through snapshot (new tenant), plan, import batches and report,
 * like the sweep without the old tenant's export.
 */
import { stat } from 'node:fs/promises';
import { requireTenant, type Config } from './config.js';
import { InputError, isToolError } from './errors.js';
import { pickRun, runCommand, type CommandHooks, type RunCommandOptions } from './commands/run.js';
import { inspectExport } from './pipeline/index.js';

export interface ImportCommandOptions extends RunCommandOptions {
  /** Password hashes (NDJSON) merged into the users. */
  hashes?: string;
  /** MFA secrets (NDJSON) merged into the users. */
  mfa?: string;
  /** Read each user's MFA enrolments from the old tenant when the export does not show them. */
  mfaReads?: boolean;
  /** Allow `hashes` without PAYLOAD_KEY. */
  allowPlaintextHashes?: boolean;
  /** Run even when the input (or the hash file) holds no users. @defaultValue false */
  allowEmpty?: boolean;
}

export async function importCommand(
  config: Config,
  file: string,
  opts: ImportCommandOptions = {},
  hooks: CommandHooks = {},
): Promise<number> {
  requireTenant(config, 'new');
  if (opts.mfaReads === true) {
    requireTenant(config, 'old');
    (hooks.out ?? process.stdout).write(mfaReadsCost(config));
  }
  await checkInputs(config, file, opts);
  return runCommand(
    config,
    {
      kind: 'import',
      file,
      ...(opts.hashes !== undefined && { hashesFile: opts.hashes }),
      ...(opts.mfa !== undefined && { mfaFile: opts.mfa }),
      ...(opts.mfaReads === true && { mfaReads: true }),
      ...pickRun(opts),
    },
    opts,
    hooks,
  );
}

/**
 * Everything wrong with the files and the options, in one error, before any tenant work: a run
 * started on a file that turns out not to be an export could never be resumed.
 */
async function checkInputs(config: Config, file: string, opts: ImportCommandOptions): Promise<void> {
  const allowEmpty = opts.allowEmpty === true;
  const problems: string[] = [];
  const hints = new Set<string>();
  const fileProblem = await inputProblem(file, allowEmpty);
  if (fileProblem !== undefined) {
    problems.push(fileProblem.problem);
    hints.add(fileProblem.hint);
  }
  if (opts.hashes !== undefined) {
    const hashesProblem = await inputProblem(opts.hashes, allowEmpty);
    if (hashesProblem !== undefined) {
      problems.push(`--hashes ${hashesProblem.problem}`);
      hints.add('--hashes takes the NDJSON file of password hashes Auth0 support sends.');
    }
    if (config.payloadKey === undefined && opts.allowPlaintextHashes !== true) {
      problems.push(
        '--hashes puts password hashes in the batch payloads kept in Redis, and PAYLOAD_KEY is not set.',
      );
      hints.add(
        'Set PAYLOAD_KEY to 32 random bytes (e.g. `openssl rand -hex 32`) so payloads are encrypted, or pass --allow-plaintext-hashes to accept unencrypted hashes in Redis.',
      );
    }
  }
  if (opts.mfa !== undefined) await mfaProblems(config, opts.mfa, allowEmpty, problems, hints);
  throwProblems('import', problems, hints);
}

/**
 * `--mfa FILE`: the file must be readable NDJSON, and PAYLOAD_KEY set (no way round it: TOTP
 * secrets let whoever reads them pass the second factor).
 */
export async function mfaProblems(
  config: Config,
  path: string,
  allowEmpty: boolean,
  problems: string[],
  hints: Set<string>,
): Promise<void> {
  const problem = await inputProblem(path, allowEmpty);
  if (problem !== undefined) {
    problems.push(`--mfa ${problem.problem}`);
    hints.add(
      '--mfa takes the NDJSON file of MFA secrets Auth0 support sends (see the README for its lines).',
    );
  }
  if (config.payloadKey === undefined) {
    problems.push('--mfa puts MFA secrets in the batch payloads kept in Redis, and PAYLOAD_KEY is not set.');
    hints.add('Set PAYLOAD_KEY to 32 random bytes (e.g. `openssl rand -hex 32`) so payloads are encrypted.');
  }
}

/** What `--mfa-reads` costs, said before it is spent. */
export function mfaReadsCost(config: Config): string {
  const rps = config.maxRps.old;
  const hours = (users: number): string => (users / rps / 3600).toFixed(1);
  return `--mfa-reads: one GET /users/{id}/authentication-methods on the old tenant per user its export does not show enrolled, at OLD_AUTH0_MAX_RPS ${rps}/s: 100,000 users ≈ ${hours(100_000)} h, 1,000,000 ≈ ${hours(1_000_000)} h.\n`;
}

export function throwProblems(command: string, problems: string[], hints: Set<string>): void {
  if (problems.length === 1) throw new InputError(problems[0]!, { hint: [...hints].join(' ') });
  if (problems.length > 1) {
    throw new InputError(`${command} cannot start:\n  - ${problems.join('\n  - ')}`, {
      hint: [...hints].join(' '),
    });
  }
}

/** Why `path` cannot be imported (missing, a folder, unreadable, not an export, empty), or undefined. */
async function inputProblem(
  path: string,
  allowEmpty: boolean,
): Promise<{ problem: string; hint: string } | undefined> {
  const exportHint = 'Pass the users-export file itself (.ndjson, .ndjson.gz) or a JSON array of users.';
  try {
    const st = await stat(path);
    if (st.isDirectory()) return { problem: `${path} is a folder, not a file.`, hint: exportHint };
    const kind = await inspectExport(path, { name: path });
    if (kind.format === 'empty' && !allowEmpty) {
      return {
        problem: `${path} holds no users${kind.gzip ? ' (once gunzipped)' : ''}; --allow-empty runs with none.`,
        hint: 'Check that it is the file you meant; a users export is never empty.',
      };
    }
    return undefined;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { reason?: string };
    if (e.code === 'ENOENT') return { problem: `${path}: no such file.`, hint: exportHint };
    if (isToolError(err)) return { problem: e.reason ?? e.message, hint: exportHint };
    return { problem: `${path} cannot be read: ${e.code ?? e.message}.`, hint: 'Check its permissions.' };
  }
}
