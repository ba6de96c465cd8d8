/**
 * `auth0-migrate export`: a tenant's users to a local gzipped NDJSON file (src/jobs/users-export.ts),
 * with configuration, progress on the terminal and the exit code.
 */
import { join } from 'node:path';
import { createTenantClient } from './auth0/index.js';
import { requireTenant, type Config, type TenantName } from './config.js';
import { ExitCode, MigrateError } from './errors.js';
import { exportUsers, type ExportProgress } from './jobs/users-export.js';
import { createLogger } from './log.js';

function defaultOut(tenant: TenantName): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return join('exports', `${tenant}-${stamp}.ndjson.gz`);
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 ** 2).toFixed(1)} MB`;
}

/** Progress on stderr: one rewritten line on a terminal, a line per change otherwise. */
function progressPrinter(stream: NodeJS.WriteStream): {
  update: (p: ExportProgress) => void;
  end: () => void;
} {
  let last = '';
  return {
    update(p) {
      let text: string;
      if (p.phase === 'waiting') {
        const pct = p.percentageDone === undefined ? '' : ` ${p.percentageDone}%`;
        const left = p.timeLeftSeconds === undefined ? '' : `, about ${p.timeLeftSeconds} s left`;
        text = `export job ${p.jobId}: ${p.status ?? 'pending'}${pct}${left}`;
      } else if (p.phase === 'downloading') {
        text = `export job ${p.jobId}: downloading${p.attempt !== undefined && p.attempt > 1 ? ` (attempt ${p.attempt})` : ''}, ${formatBytes(p.bytes ?? 0)}`;
      } else {
        text = `export job ${p.jobId}: saved ${p.users ?? 0} users`;
      }
      if (text === last) return;
      last = text;
      if (stream.isTTY) stream.write(`\r\x1b[2K${text}`);
      else stream.write(`${text}\n`);
    },
    end() {
      if (stream.isTTY && last !== '') stream.write('\n');
    },
  };
}

/** `auth0-migrate export [--tenant old|new] [--out FILE]` */
export async function exportCommand(
  config: Config,
  opts: { tenant?: TenantName; out?: string } = {},
): Promise<number> {
  const tenantName = opts.tenant ?? 'old';
  const tenant = requireTenant(config, tenantName);
  const logger = createLogger(config, { command: 'export', tenant: tenantName });
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void =>
    stop.abort(new MigrateError(`Export stopped (${sig}); no file was written.`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = progressPrinter(process.stderr);
  try {
    const client = createTenantClient(tenant, { label: tenantName, logger, signal: stop.signal });
    const result = await exportUsers(client, {
      connection: tenant.connection,
      out: opts.out ?? defaultOut(tenantName),
      pollIntervalMs: config.pollIntervalMs,
      onProgress: progress.update,
      signal: stop.signal,
      logger,
    });
    progress.end();
    process.stdout.write(
      `Exported ${result.users} users of connection "${tenant.connection}" on the ${tenantName} tenant (${tenant.domain}) to ${result.file} (${formatBytes(result.bytes)}, job ${result.jobId}).\n`,
    );
    return ExitCode.ok;
  } catch (err) {
    progress.end();
    if (stop.signal.aborted) throw stop.signal.reason;
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
