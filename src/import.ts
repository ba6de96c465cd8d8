/**
 * `auth0-migrate import FILE [--hashes FILE] [--dry-run] [--upsert] [--run-id ID] [--no-workers]`:
 * an export file through snapshot (new tenant), plan, import batches and report, like the sweep
 * without the old tenant's export.
 */
import { requireTenant, type Config } from './config.js';
import { ConfigError } from './errors.js';
import {
  checkInputFile,
  pickRun,
  runCommand,
  type CommandHooks,
  type RunCommandOptions,
} from './commands/run.js';

export interface ImportCommandOptions extends RunCommandOptions {
  /** Password hashes (NDJSON) merged into the users. */
  hashes?: string;
  /** Allow `hashes` without PAYLOAD_KEY. */
  allowPlaintextHashes?: boolean;
}

export async function importCommand(
  config: Config,
  file: string,
  opts: ImportCommandOptions = {},
  hooks: CommandHooks = {},
): Promise<number> {
  requireTenant(config, 'new');
  checkInputFile(file, 'FILE');
  if (opts.hashes !== undefined) {
    checkInputFile(opts.hashes, '--hashes');
    if (config.payloadKey === undefined && opts.allowPlaintextHashes !== true) {
      throw new ConfigError(
        '--hashes puts password hashes in the batch payloads kept in Redis, and PAYLOAD_KEY is not set.',
        {
          hint: 'Set PAYLOAD_KEY to 32 random bytes (e.g. `openssl rand -hex 32`) so payloads are encrypted, or pass --allow-plaintext-hashes to accept unencrypted hashes in Redis.',
        },
      );
    }
  }
  return runCommand(
    config,
    { kind: 'import', file, ...(opts.hashes !== undefined && { hashesFile: opts.hashes }), ...pickRun(opts) },
    opts,
    hooks,
  );
}
