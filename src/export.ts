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
import { terminalFor, type TerminalStream } from './terminal.js';

function defaultOut(tenant: TenantName): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return join('exports', `${tenant}-${stamp}.ndjson.gz`);
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 ** 2).toFixed(1)} MB`;
}

/**
 * Progress on stderr: on a terminal a status line redrawn at the bottom, below the log
 * (terminal.ts), left as a plain line at the end; otherwise a line per change.
 */
function progressPrinter(stream: TerminalStream): {
  update: (p: ExportProgress) => void;
  end: () => void;
} {
  const terminal = terminalFor(stream);
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
      if (terminal.isTTY) terminal.status(text);
      else terminal.log(`${text}\n`);
    },
    end() {
      if (!terminal.isTTY || last === '') return;
      terminal.clearStatus();
      terminal.log(`${last}\n`);
    },
  };
}

/** Where the export command writes; tests give their own. */
export interface ExportCommandIo {
  /** The log and the progress. @defaultValue process.stderr */
  stderr?: TerminalStream;
  /** Where the file went. @defaultValue process.stdout */
  stdout?: { write(text: string): unknown };
}

/** `auth0-migrate export [--tenant old|new] [--out FILE]` */
export async function exportCommand(
  config: Config,
  opts: { tenant?: TenantName; out?: string } = {},
  io: ExportCommandIo = {},
): Promise<number> {
  const tenantName = opts.tenant ?? 'old';
  const tenant = requireTenant(config, tenantName);
  const stderr = io.stderr ?? process.stderr;
  // Not bound to the tenant: exportUsers adds it to its lines, the client's get it here, each once.
  const logger = createLogger(config, { command: 'export' }, stderr);
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void =>
    stop.abort(new MigrateError(`Export stopped (${sig}); no file was written.`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = progressPrinter(stderr);
  try {
    const client = createTenantClient(tenant, {
      label: tenantName,
      logger: logger.child({ tenant: tenantName }),
      signal: stop.signal,
      maxDownloadBytes: config.exportMaxBytes,
    });
    const result = await exportUsers(client, {
      connection: tenant.connection,
      out: opts.out ?? defaultOut(tenantName),
      pollIntervalMs: config.pollIntervalMs,
      onProgress: progress.update,
      signal: stop.signal,
      logger,
    });
    progress.end();
    (io.stdout ?? process.stdout).write(
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
