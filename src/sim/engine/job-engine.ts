/**
 * Auth0 jobs of one simulated tenant: users-imports, users-exports and verification emails,
 * asynchronous with a timing model (pending → processing with `percentage_done` /
 * `time_left_seconds` → completed | failed), each job's delay and speed varied around the tier's
 * when the timing profile says so, deleted after the retention period.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Faults, JobFailure } from '../faults.js';
import { newJobId } from '../ids.js';
import type { ExportField, ExportJob, ImportJob, SimJob, VerificationEmailJob } from '../tenant/jobs.js';
import type { SimConnection, SimTenant } from '../tenant/tenant.js';
import { addressToVerify, type SimUser } from '../tenant/users.js';
import { DEFAULT_EXPORT_FIELDS, writeExportFile } from './export-file.js';
import { FileDuplicates, importOne } from './import-users.js';
import { drawJobTiming, type JobTiming } from './job-timing.js';

const IMPORT_EXPIRY_MS = 2 * 3_600_000;

export class JobEngine {
  #timer: NodeJS.Timeout | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #abort = new AbortController();
  readonly #writers = new Set<Promise<unknown>>();
  /** Per import file: the keys its earlier users provided. */
  readonly #duplicates = new WeakMap<ImportJob, FileDuplicates>();
  /** Jobs created so far: a job's place in this order seeds its timing draw. */
  #created = 0;

  constructor(
    private readonly tenant: SimTenant,
    private readonly faults: Faults,
    private readonly workDir: string,
  ) {
    const every = Math.min(60_000, Math.max(1_000, tenant.options.jobRetentionMs / 4));
    this.#sweeper = setInterval(() => void this.removeExpired(), every);
    this.#sweeper.unref();
  }

  get #timing() {
    return this.tenant.options.timing;
  }

  /** The next job's pending delay and speed factor. */
  #drawTiming(): JobTiming {
    return drawJobTiming(this.#timing, this.tenant.name, this.#created++);
  }

  /** Users per second this job processes. */
  #rate(job: SimJob): number {
    const base =
      job.type === 'users_import' ? this.#timing.importUsersPerSecond : this.#timing.exportUsersPerSecond;
    return base * job.speed;
  }

  activeImports(): number {
    let n = 0;
    for (const j of this.tenant.jobs.values()) {
      if (j.type === 'users_import' && (j.status === 'pending' || j.status === 'processing')) n++;
    }
    return n;
  }

  createImport(
    connection: SimConnection,
    file: Buffer,
    options: { upsert: boolean; externalId?: string; sendCompletionEmail: boolean },
  ): ImportJob {
    const now = Date.now();
    const job: ImportJob = {
      id: newJobId(),
      type: 'users_import',
      status: 'pending',
      createdAtMs: now,
      created_at: new Date(now).toISOString(),
      ...this.#drawTiming(),
      connection_id: connection.id,
      connection: connection.name,
      upsert: options.upsert,
      send_completion_email: options.sendCompletionEmail,
      file,
      users: undefined,
      errors: [],
      counts: { inserted: 0, updated: 0, failed: 0 },
      total: 0,
      processed: 0,
    };
    if (options.externalId !== undefined) job.external_id = options.externalId;
    this.#duplicates.set(job, new FileDuplicates());
    this.tenant.jobs.set(job.id, job);
    this.tenant.stats.importJobsCreated++;
    this.tenant.noteImportActivity();
    this.#schedule();
    return job;
  }

  createExport(
    connection: SimConnection | undefined,
    request: { format: 'json' | 'csv'; limit?: number; fields?: ExportField[] },
  ): ExportJob {
    const now = Date.now();
    const job: ExportJob = {
      id: newJobId(),
      type: 'users_export',
      status: 'pending',
      createdAtMs: now,
      created_at: new Date(now).toISOString(),
      ...this.#drawTiming(),
      format: request.format,
      fields: request.fields ?? DEFAULT_EXPORT_FIELDS.map((f) => ({ ...f })),
      fileName: `${this.tenant.name}.${request.format}.gz`,
      total: 0,
      processed: 0,
    };
    if (connection !== undefined) {
      job.connection_id = connection.id;
      job.connection = connection.name;
    }
    if (request.limit !== undefined) job.limit = request.limit;
    this.tenant.jobs.set(job.id, job);
    this.tenant.stats.exportJobsCreated++;
    this.#schedule();
    return job;
  }

  /**
   * POST /jobs/verification-email: the email goes to the outbox when the job leaves `pending`.
   * The caller has checked that the user exists and has an email.
   */
  createVerificationEmail(
    user: SimUser,
    options: { clientId?: string; identity?: { user_id: string; provider: string } },
  ): VerificationEmailJob {
    const now = Date.now();
    const job: VerificationEmailJob = {
      id: newJobId(),
      type: 'verification_email',
      status: 'pending',
      createdAtMs: now,
      created_at: new Date(now).toISOString(),
      ...this.#drawTiming(),
      user_id: user.user_id,
      total: 1,
      processed: 0,
    };
    if (options.clientId !== undefined) job.client_id = options.clientId;
    if (options.identity !== undefined) job.identity = options.identity;
    this.tenant.jobs.set(job.id, job);
    this.#schedule();
    return job;
  }

  /** The job unless it is gone (never existed or past retention). */
  get(id: string): SimJob | undefined {
    const job = this.tenant.jobs.get(id);
    if (job === undefined) return undefined;
    if (Date.now() - job.createdAtMs >= this.tenant.options.jobRetentionMs) {
      void this.#remove(job);
      return undefined;
    }
    return job;
  }

  /** GET /jobs/{id}: a completed export carries a freshly signed download link. */
  toJson(job: SimJob): Record<string, unknown> {
    // "Expired jobs are completed jobs that were created more than 2 hours ago" (legacy import docs).
    const expired =
      job.type === 'users_import' &&
      job.status === 'completed' &&
      Date.now() - job.createdAtMs > IMPORT_EXPIRY_MS;
    const out: Record<string, unknown> = { type: job.type, status: expired ? 'expired' : job.status };
    if (job.type === 'verification_email') {
      // As recorded (go-auth0's TestJobManager_VerifyEmail): no connection, no progress.
      out.created_at = job.created_at;
      out.id = job.id;
      if (job.status_details !== undefined) out.status_details = job.status_details;
      return out;
    }
    if (job.connection_id !== undefined) out.connection_id = job.connection_id;
    if (job.type === 'users_export') {
      out.format = job.format;
      if (job.limit !== undefined) out.limit = job.limit;
      out.fields = job.fields;
    }
    // The OAS requires `connection`; a whole-tenant export has none to name.
    out.connection = job.connection ?? '';
    out.created_at = job.created_at;
    out.id = job.id;
    if (job.type === 'users_import' && job.external_id !== undefined) out.external_id = job.external_id;
    if (job.status === 'processing') {
      out.percentage_done = job.total === 0 ? 0 : Math.floor((job.processed / job.total) * 100);
      const rate = this.#rate(job);
      out.time_left_seconds = rate === Infinity ? 0 : Math.ceil((job.total - job.processed) / rate);
    }
    if (job.type === 'users_export' && job.status === 'completed') out.location = this.#signLocation(job);
    if (job.status_details !== undefined) out.status_details = job.status_details;
    if (job.summary !== undefined) out.summary = { ...job.summary };
    return out;
  }

  /** The answer of POST /jobs/users-imports (202). */
  importCreatedJson(job: ImportJob): Record<string, unknown> {
    const out: Record<string, unknown> = {
      type: job.type,
      status: job.status,
      connection_id: job.connection_id,
      connection: job.connection,
      created_at: job.created_at,
      id: job.id,
    };
    if (job.external_id !== undefined) out.external_id = job.external_id;
    return out;
  }

  #signLocation(job: ExportJob): string {
    const expiresAtMs = Date.now() + this.tenant.options.exportLinkTtlMs;
    const signature = randomBytes(30).toString('base64url');
    this.tenant.exportLinks.set(signature, { jobId: job.id, expiresAtMs });
    const expires = Math.floor(expiresAtMs / 1000);
    return `${this.tenant.baseUrl}/__exports/${job.id}/${job.fileName}?Expires=${expires}&Key-Pair-Id=SIMULATORKEYPAIR&Signature=${signature}`;
  }

  /** The export file a signed link leads to, or why not. */
  resolveLink(jobId: string, signature: string | undefined): { path: string } | 'expired' | 'denied' {
    const link = signature === undefined ? undefined : this.tenant.exportLinks.get(signature);
    if (link === undefined || link.jobId !== jobId) return 'denied';
    if (link.expiresAtMs < Date.now()) return 'expired';
    const job = this.get(jobId);
    if (job?.type !== 'users_export' || job.filePath === undefined) return 'denied';
    return { path: job.filePath };
  }

  /** Makes every link issued so far stop working; returns how many were still live. */
  expireLinks(): number {
    let live = 0;
    const now = Date.now();
    for (const link of this.tenant.exportLinks.values()) {
      if (link.expiresAtMs >= now) live++;
      link.expiresAtMs = 0;
    }
    return live;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#tick();
      if ([...this.tenant.jobs.values()].some((j) => j.status === 'pending' || j.status === 'processing')) {
        this.#schedule();
      }
    }, this.#timing.tickMs);
  }

  #tick(): void {
    const now = Date.now();
    for (const job of this.tenant.jobs.values()) {
      if (job.status === 'pending' && now - job.createdAtMs >= job.pendingMs) this.#start(job, now);
      if (job.status === 'processing' && job.type === 'users_import') this.#advanceImport(job, now);
    }
    this.tenant.noteImportActivity();
  }

  #start(job: SimJob, now: number): void {
    const failure = this.faults.takeJobFailure(this.tenant.name, job.id, job.type);
    if (failure !== undefined) {
      this.#failWhole(job, failure);
      return;
    }
    job.status = 'processing';
    job.startedAtMs = now;
    if (job.type === 'users_import') this.#startImport(job);
    else if (job.type === 'users_export') this.#startExport(job);
    else this.#sendVerificationEmail(job);
    if (job.status === 'processing') this.tenant.events.emit('job-started', job.id);
  }

  #ended(job: SimJob): void {
    job.endedAtMs = Date.now();
    this.tenant.noteImportActivity();
    this.tenant.events.emit('job-ended', job.id);
  }

  #failWhole(job: SimJob, failure: JobFailure): void {
    job.status = 'failed';
    if (failure.statusDetails !== undefined) job.status_details = failure.statusDetails;
    if (failure.summary === true) {
      const total = job.type === 'users_import' ? countUsers(job.file) : job.total;
      job.summary = { failed: total, updated: 0, inserted: 0, total };
    }
    if (job.type === 'users_import') {
      job.file = undefined;
      job.users = undefined;
    }
    job.wholeFailure = failure.errors ?? (failure.statusDetails !== undefined ? 'job' : 'none');
    this.#ended(job);
  }

  #startImport(job: ImportJob): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(job.file!.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    job.file = undefined;
    if (!Array.isArray(parsed)) {
      job.status = 'failed';
      job.status_details =
        'Failed to parse users file JSON when importing users. Make sure it is valid JSON.';
      job.wholeFailure = 'job';
      this.#ended(job);
      return;
    }
    job.users = parsed;
    job.total = parsed.length;
  }

  /** Like Auth0, the email is sent to the user's address now, verified or not. */
  #sendVerificationEmail(job: VerificationEmailJob): void {
    const user = this.tenant.users.get(job.user_id);
    const target = user === undefined ? undefined : addressToVerify(user, job.identity);
    if (user === undefined || target === undefined || 'problem' in target) {
      job.status = 'failed';
      job.status_details = 'The user no longer exists or has no email address.';
      this.#ended(job);
      return;
    }
    this.tenant.outbox.push({
      kind: 'verification_email',
      to: target.email,
      user_id: user.user_id,
      connection: user.connection,
      client_id: job.client_id,
      sent_at: new Date().toISOString(),
    });
    this.tenant.stats.verificationEmails++;
    job.processed = 1;
    job.status = 'completed';
    this.#ended(job);
  }

  #advanceImport(job: ImportJob, now: number): void {
    const rate = this.#rate(job);
    const due =
      rate === Infinity
        ? job.total
        : Math.min(job.total, Math.floor(((now - job.startedAtMs!) / 1000) * rate));
    const connection = job.connection!;
    const duplicates = this.#duplicates.get(job)!;
    while (job.processed < due) {
      const error = importOne(
        this.tenant,
        connection,
        job.users![job.processed],
        job.upsert,
        duplicates,
        job.counts,
      );
      if (error !== undefined) job.errors.push(error);
      job.processed++;
    }
    if (job.processed >= job.total) {
      job.status = 'completed';
      job.users = undefined;
      this.#duplicates.delete(job);
      job.summary = {
        failed: job.counts.failed,
        updated: job.counts.updated,
        inserted: job.counts.inserted,
        total: job.total,
      };
      this.#ended(job);
    }
  }

  #startExport(job: ExportJob): void {
    const connection = job.connection;
    job.total = Math.min(job.limit ?? Infinity, this.tenant.users.count(connection));
    const dir = join(this.workDir, this.tenant.name, job.id);
    const path = join(dir, job.fileName);
    const writer = (async () => {
      await mkdir(dir, { recursive: true });
      await writeExportFile({
        path,
        users: this.tenant.users.iterate(connection),
        fields: job.fields,
        format: job.format,
        limit: job.limit,
        rate: this.#rate(job),
        onProgress: (n) => {
          job.processed = n;
        },
        signal: this.#abort.signal,
      });
      job.filePath = path;
      job.status = 'completed';
      this.#ended(job);
    })().catch((err: unknown) => {
      if (this.#closed) return;
      job.status = 'failed';
      job.status_details = `The export could not be written: ${(err as Error).message}`;
      job.wholeFailure = 'job';
      this.#ended(job);
    });
    this.#writers.add(writer);
    void writer.finally(() => this.#writers.delete(writer));
  }

  /** GET /jobs/{id}/errors: the user errors, the job itself, or nothing (204). */
  errors(job: SimJob): { status: 200; body: unknown } | { status: 204 } {
    if (job.status === 'failed' && job.wholeFailure !== undefined) {
      if (job.wholeFailure === 'none') return { status: 204 };
      const body: Record<string, unknown> = {
        id: job.id,
        type: job.type,
        status: job.status,
        created_at: job.created_at,
      };
      if (job.connection_id !== undefined) body.connection_id = job.connection_id;
      if (job.status_details !== undefined) body.status_details = job.status_details;
      return { status: 200, body };
    }
    if (job.type === 'users_import' && job.errors.length > 0) return { status: 200, body: job.errors };
    return { status: 204 };
  }

  async removeExpired(): Promise<void> {
    const now = Date.now();
    for (const job of [...this.tenant.jobs.values()]) {
      if (now - job.createdAtMs >= this.tenant.options.jobRetentionMs) await this.#remove(job);
    }
    for (const [sig, link] of this.tenant.exportLinks) {
      if (link.expiresAtMs < now - 60_000) this.tenant.exportLinks.delete(sig);
    }
  }

  async #remove(job: SimJob): Promise<void> {
    this.tenant.jobs.delete(job.id);
    this.tenant.noteImportActivity();
    if (job.type === 'users_export') {
      await rm(join(this.workDir, this.tenant.name, job.id), { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#abort.abort();
    await Promise.allSettled([...this.#writers]);
  }
}

function countUsers(file: Buffer | undefined): number {
  try {
    const parsed: unknown = JSON.parse(file?.toString('utf8') ?? '');
    return Array.isArray(parsed) ? parsed.length : 0;
  } catch {
    return 0;
  }
}
