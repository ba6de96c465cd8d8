/**
 * A tenant's users to a local gzipped NDJSON file, through a users-export job: create it, poll it,
 * download and verify its file. Shared by the `export` command (src/export.ts) and the sweep's
 * export and snapshot workers, so it knows nothing of the CLI.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { isAuth0Error } from '../auth0/errors.js';
import { sleep } from '../auth0/retry.js';
import type { Auth0Job, ExportField, JobStatus, TenantClient } from '../auth0/types.js';
import { MigrateError, ToolError, coerceError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { EXPORT_FIELDS } from '../pipeline/export-fields.js';

export type ExportErrorCode =
  /** The export job ended `failed` or `expired`; a new export may work. */
  | 'job_failed'
  /** Downloads kept failing or kept giving a damaged file. */
  | 'download_failed';

/** An export that could not finish; the message says why and what to do. */
export class ExportError extends MigrateError {
  declare readonly code: ExportErrorCode;
  readonly jobId: string | undefined;

  constructor(
    code: ExportErrorCode,
    message: string,
    options: { hint?: string; cause?: unknown; jobId?: string } = {},
  ) {
    super(message, { hint: options.hint, cause: options.cause, code });
    this.jobId = options.jobId;
  }
}

export interface ExportProgress {
  jobId: string;
  /** `waiting`: Auth0 is building the file; `downloading`: bytes are arriving; `done`: the file is in place. */
  phase: 'waiting' | 'downloading' | 'done';
  status?: JobStatus;
  percentageDone?: number;
  timeLeftSeconds?: number;
  /** Compressed bytes received so far (downloading, done). */
  bytes?: number;
  /** Users in the file (done). */
  users?: number;
  /** 1 for the first download, more when a download was repeated. */
  attempt?: number;
}

export interface ExportUsersOptions {
  /** The connection's name; looked up to get its id. One of `connection` / `connectionId` is needed. */
  connection?: string;
  connectionId?: string;
  /** Every connection of the tenant (social and enterprise users too) instead of one. @defaultValue false */
  wholeTenant?: boolean;
  /** Where the `.ndjson.gz` goes; its folder is created when missing. */
  out: string;
  /** @defaultValue EXPORT_FIELDS (src/pipeline/export-fields.ts) */
  fields?: readonly ExportField[];
  /** First wait between two polls of the job; it grows by half each time. @defaultValue 1000 */
  pollIntervalMs?: number;
  /** @defaultValue 30000 */
  maxPollIntervalMs?: number;
  /** Downloads tried before giving up (expired links, dropped connections, damaged files). @defaultValue 5 */
  downloadAttempts?: number;
  onProgress?: (progress: ExportProgress) => void;
  signal?: AbortSignal;
  /** Its lines carry `tenant` (the client's label): give one not bound to a tenant already. */
  logger?: Logger;
}

export interface ExportResult {
  /** Absolute path of the file. */
  file: string;
  /** NDJSON lines in the file, one per user. */
  users: number;
  /** Size of the file (gzipped). */
  bytes: number;
  jobId: string;
}

/**
 * Runs a users-export job (format `json`, which is NDJSON) and saves its gzipped file at `out`.
 * The file appears only when whole: it is written to a temporary file in the same folder, checked
 * by gunzipping it on the way (a truncated or corrupt download is fetched again), synced, made
 * 0600 and renamed into place. On failure nothing is left behind.
 */
export async function exportUsers(client: TenantClient, options: ExportUsersOptions): Promise<ExportResult> {
  const logger = (options.logger ?? silentLogger).child({ tenant: client.label });
  const signal = options.signal;
  const report = options.onProgress ?? (() => {});
  const out = resolve(options.out);
  signal?.throwIfAborted();

  let connectionId = options.connectionId;
  if (connectionId === undefined && options.wholeTenant !== true) {
    if (options.connection === undefined)
      throw new TypeError('exportUsers needs `connection` or `connectionId`');
    connectionId = (await client.getConnectionByName(options.connection)).id;
  }
  const created = await createExportJob(client, connectionId, options, logger);
  const jobId = created.id;
  logger.info({ jobId, connectionId }, 'export job created');

  const completed = await waitForJob(client, created, options);
  await mkdir(dirname(out), { recursive: true, mode: 0o700 });

  const attempts = Math.max(1, options.downloadAttempts ?? 5);
  let location = completed.location;
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    signal?.throwIfAborted();
    try {
      if (location === undefined) location = await freshLocation(client, jobId);
      const source = await client.download(location);
      report({ jobId, phase: 'downloading', bytes: 0, attempt });
      const { users, bytes } = await writeVerified(source, out, signal, (n) =>
        report({ jobId, phase: 'downloading', bytes: n, attempt }),
      );
      report({ jobId, phase: 'done', bytes, users, attempt });
      logger.info({ jobId, file: out, users, bytes }, 'export saved');
      return { file: out, users, bytes, jobId };
    } catch (thrown) {
      signal?.throwIfAborted();
      const err = coerceError(thrown);
      if (!downloadMayBeRepeated(err)) throw err;
      lastError = err;
      // The 60-second link may have lapsed during a failed attempt: always ask for a fresh one.
      location = undefined;
      logger.warn({ jobId, attempt, err: err.message }, 'export download failed, trying again');
      if (!isAuth0Error(err, 'link_expired') && attempt < attempts) {
        await sleep(
          Math.min(
            options.maxPollIntervalMs ?? 30_000,
            (options.pollIntervalMs ?? 1000) * 2 ** (attempt - 1),
          ),
          signal,
        );
      }
    }
  }
  throw new ExportError(
    'download_failed',
    `The file of export job ${jobId} on the ${client.label} tenant could not be downloaded whole after ${attempts} attempts (last: ${lastError?.message ?? 'unknown'}).`,
    {
      hint: 'Check the network to the tenant and run the export again.',
      jobId,
      ...(lastError === undefined ? {} : { cause: lastError }),
    },
  );
}

/**
 * Unlike an import, an export only reads: when the answer to its creation is lost
 * (`outcome_unknown`), a job Auth0 may have created anyway is simply left to expire, so asking
 * for another one is safe.
 */
async function createExportJob(
  client: TenantClient,
  connectionId: string | undefined,
  options: ExportUsersOptions,
  logger: Logger,
): Promise<Auth0Job> {
  const request = {
    ...(connectionId !== undefined && { connectionId }),
    fields: [...(options.fields ?? EXPORT_FIELDS)],
  };
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.createExportJob(request);
    } catch (err) {
      if (!isAuth0Error(err, 'outcome_unknown') || attempt >= 3) throw err;
      logger.warn({ attempt, err: err.message }, 'export job creation unanswered, asking again');
      await sleep((options.pollIntervalMs ?? 1000) * 2 ** attempt, options.signal);
    }
  }
}

async function waitForJob(
  client: TenantClient,
  created: Auth0Job,
  options: ExportUsersOptions,
): Promise<Auth0Job> {
  const report = options.onProgress ?? (() => {});
  const maxDelay = options.maxPollIntervalMs ?? 30_000;
  let delay = Math.min(options.pollIntervalMs ?? 1000, maxDelay);
  let job = created;
  for (;;) {
    report({
      jobId: job.id,
      phase: 'waiting',
      status: job.status,
      ...(typeof job.percentage_done === 'number' ? { percentageDone: job.percentage_done } : {}),
      ...(typeof job.time_left_seconds === 'number' ? { timeLeftSeconds: job.time_left_seconds } : {}),
    });
    if (job.status === 'completed') return job;
    if (job.status === 'failed' || job.status === 'expired') throw jobEnded(client, job);
    await sleep(delay, options.signal);
    delay = Math.min(maxDelay, Math.round(delay * 1.5));
    job = await client.getJob(job.id);
  }
}

async function freshLocation(client: TenantClient, jobId: string): Promise<string> {
  const job = await client.getJob(jobId);
  if (job.status !== 'completed') throw jobEnded(client, job);
  if (typeof job.location !== 'string' || job.location === '') {
    throw new ExportError(
      'job_failed',
      `Export job ${jobId} on the ${client.label} tenant completed without a file location.`,
      {
        hint: 'Run the export again.',
        jobId,
      },
    );
  }
  return job.location;
}

function jobEnded(client: TenantClient, job: Auth0Job): ExportError {
  const details =
    typeof job.status_details === 'string' && job.status_details !== '' ? `: ${job.status_details}` : '';
  return new ExportError(
    'job_failed',
    `Export job ${job.id} on the ${client.label} tenant ended "${job.status}"${details}.`,
    {
      hint:
        job.status === 'expired'
          ? 'Auth0 keeps export results for 24 hours; run the export again.'
          : 'Run the export again; if it keeps failing, check the tenant logs in the Auth0 Dashboard (Monitoring > Logs).',
      jobId: job.id,
    },
  );
}

/** Failures a new download (with a fresh link) may cure. */
function downloadMayBeRepeated(err: Error): boolean {
  if (err instanceof FileIntegrityError) return true;
  if (isAuth0Error(err)) return err.code === 'link_expired' || err.retryable;
  return false;
}

/** The download ended but the gzip stream inside is truncated or damaged. */
class FileIntegrityError extends ToolError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('file_damaged', message, options);
  }
}

/** Counts NDJSON lines that hold something (a user each). */
class LineCounter extends Writable {
  lines = 0;
  #open = false;

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (error?: Error | null) => void): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!this.#open && hasContent(chunk, start, end)) this.#open = true;
      if (nl === -1) break;
      if (this.#open) this.lines++;
      this.#open = false;
      start = nl + 1;
    }
    done();
  }

  override _final(done: (error?: Error | null) => void): void {
    if (this.#open) this.lines++;
    done();
  }
}

function hasContent(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c !== 0x20 && c !== 0x0d && c !== 0x09) return true;
  }
  return false;
}

/**
 * Streams `source` into a temporary file next to `target` while gunzipping the same bytes to
 * count lines; renames it to `target` only when both ended cleanly.
 */
async function writeVerified(
  source: Readable,
  target: string,
  signal: AbortSignal | undefined,
  onBytes: (bytes: number) => void,
): Promise<{ users: number; bytes: number }> {
  const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  let renamed = false;
  let file: WriteStream | undefined;
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // flush: the file is fsynced before it is closed, so the rename never exposes unwritten data.
    file = createWriteStream(tmp, { flags: 'wx', mode: 0o600, flush: true });
    const gunzip = createGunzip();
    const counter = new LineCounter();
    let bytes = 0;
    let lastReport = 0;
    const tee = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        if (bytes - lastReport >= 1 << 20) {
          lastReport = bytes;
          onBytes(bytes);
        }
        if (gunzip.write(chunk)) done(null, chunk);
        else gunzip.once('drain', () => done(null, chunk));
      },
      flush(done) {
        gunzip.end();
        done();
      },
    });
    const fail = (err: unknown): never => {
      if (!stop.signal.aborted) stop.abort(err);
      throw err;
    };
    const results = await Promise.allSettled([
      pipeline(source, tee, file as WriteStream, { signal: stop.signal }).catch(fail),
      pipeline(gunzip, counter, { signal: stop.signal })
        .catch((err: unknown) => {
          throw new FileIntegrityError(
            `the downloaded file is not a whole gzip file (${coerceError(err).message})`,
            { cause: err },
          );
        })
        .catch(fail),
    ]);
    if (results.some((r) => r.status === 'rejected')) {
      signal?.throwIfAborted();
      throw stop.signal.reason;
    }
    await chmod(tmp, 0o600);
    await rename(tmp, target);
    renamed = true;
    await syncDir(dirname(target));
    return { users: counter.lines, bytes };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // The stream opens the file asynchronously: wait until it is closed so the removal is final.
    const f = file;
    if (f !== undefined && !f.closed) {
      await new Promise<void>((done) => {
        f.once('close', () => done());
        f.destroy();
      });
    }
    if (!renamed) await rm(tmp, { force: true });
  }
}

/** Makes the rename durable; not every platform allows opening a folder, which is harmless. */
async function syncDir(dir: string): Promise<void> {
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Best effort only: the file itself is already synced.
  }
}
