/**
 * The run store: every Redis key of a run (keys.ts) and every file of its folder (files.ts) is
 * written and read here, and nowhere else.
 *
 * - Idempotent: an outcome is recorded once per batch or plan chunk (a bit says it is counted), so
 *   a job that runs twice (a retry, a redelivery after a crash) cannot count a user twice; the
 *   run's counts are the sum of those records.
 * - Never recreating: a write checks, in the same Lua script, that the run (and the batch) is
 *   there (scripts.ts); a run that Redis lost is reported as such ({@link RunStateLost}) and never
 *   half-resumed.
 * - Flat in Redis: per-user lines go to the run's folder as batches and chunks end, so Redis holds
 *   the batches in flight and the counters only, whatever the number of users.
 */
import type { Redis } from 'ioredis';
import type { ExportRecord } from '../../pipeline/types.js';
import type {
  AlreadyMigratedLine,
  FailureLine,
  ImportedLine,
  RunSummary,
  SkippedLine,
} from '../../report/types.js';
import { decodeStagedBatch, encodeStagedBatch, type PayloadCodec } from '../payload.js';
import {
  emptyCounts,
  type BatchOutcome,
  type BatchRecord,
  type OutcomeCounts,
  type PlanChunk,
  type RunIdentity,
  type RunMeta,
  type RunProgress,
  type StagedBatch,
  type StageName,
} from '../types.js';
import { RunStateLost, RunStopped } from './errors.js';
import { RunFiles, type RunMarker } from './files.js';
import { RunKeys } from './keys.js';
import { RelationsStore } from './relations.js';
import { LOST_BATCH, LOST_RUN, NOT_RUNNING, defineScripts, flat } from './scripts.js';
import { WorkerRegistry } from './workers.js';

export { RunStateLost, RunStopped } from './errors.js';
export type { RunMarker } from './files.js';
export type { WorkerRecord } from './workers.js';

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Letters, digits, `.`, `_`, `-`; used in Redis keys, BullMQ job ids and the report folder. */
export function isValidRunId(id: string): boolean {
  return RUN_ID.test(id) && !id.includes('..');
}

/** Outcome of a batch as listed in the run's summary (no personal data). */
export interface Auth0JobEntry {
  batch: string;
  jobId: string;
  status: string;
  summary?: { inserted: number; updated: number; failed: number; total: number };
  /** Users in the batch. */
  users?: number;
  /** ISO times the job held its import slot: from its submission to its end. */
  submittedAt?: string;
  endedAt?: string;
}

const iso = (t: number): string => new Date(t).toISOString();

/** What a new run is created with. */
export type NewRun = Pick<RunMeta, 'runId' | 'kind' | 'dryRun' | 'upsert' | 'createdAt'> &
  Partial<
    Pick<RunMeta, 'file' | 'hashesFile' | 'mfaFile' | 'mfaReads' | 'membersOf' | 'membersFile' | 'relations'>
  > &
  RunIdentity;

/** The outcome of a batch as kept in its part file: the outcome and its Auth0 job entry. */
interface BatchPart {
  outcome: BatchOutcome;
  job?: Auth0JobEntry;
}

/** Fields a resumed run drops: what the stopped, failed or reported attempt left. */
const STALE_ON_RESUME = [
  'error',
  'finishedAt',
  'stoppedAt',
  'reportDir',
  'reportError',
  'emailed',
  't:report:start',
  't:report:end',
];

const SWEEP_LOCK_SECONDS = 7 * 86_400;

export class RunStore {
  readonly prefix: string;
  readonly codec: PayloadCodec;
  readonly files: RunFiles;
  readonly workers: WorkerRegistry;
  /** The relations stage's counters, references and files (relations.ts). */
  readonly relations: RelationsStore;
  readonly #redis: Redis;
  readonly #keys: RunKeys;

  constructor(redis: Redis, prefix: string, codec: PayloadCodec, reportsDir: string) {
    this.#redis = redis;
    this.prefix = prefix;
    this.codec = codec;
    this.#keys = new RunKeys(prefix);
    this.files = new RunFiles(reportsDir);
    this.workers = new WorkerRegistry(redis, this.#keys.workers);
    this.relations = new RelationsStore(redis, prefix, this.files);
    defineScripts(redis);
  }

  /** The key of a tenant's shared rate budget (rate-budget.ts). */
  rateKey(tenant: string): string {
    return this.#keys.rate(tenant);
  }

  /** The import slots' key for a tenant (slots.ts keeps the leases). */
  slotsKey(tenant: string): string {
    return this.#keys.slots(tenant);
  }

  // ---- the run ----

  /**
   * Creates the run (and its `run.json`); false when a run with this id exists in Redis (it is
   * left as it is). A run whose folder says it was started but that Redis does not hold is
   * {@link RunStateLost}: it is not created again.
   */
  async createRun(meta: NewRun): Promise<boolean> {
    const fields = flat({
      kind: meta.kind,
      dryRun: meta.dryRun ? '1' : '0',
      upsert: meta.upsert ? '1' : '0',
      status: 'running',
      phase: 'starting',
      createdAt: meta.createdAt,
      planRead: 0,
      planEmitted: 0,
      planDone: 0,
      file: meta.file,
      hashesFile: meta.hashesFile,
      membersOf: meta.membersOf === undefined ? undefined : JSON.stringify(meta.membersOf),
      membersFile: meta.membersFile,
      mfaFile: meta.mfaFile,
      mfaReads: meta.mfaReads === true ? '1' : undefined,
      oldTenant: meta.oldTenant,
      sourceConnection: meta.sourceConnection,
      newTenant: meta.newTenant,
      connection: meta.connection,
      batchBytes: meta.batchBytes,
      relations: meta.relations,
    });
    if ((await this.#redis.exists(this.#keys.run(meta.runId))) === 0) {
      const marker = await this.files.readMarker(meta.runId);
      if (marker !== undefined) throw new RunStateLost(meta.runId);
    }
    // Its folder first: a run that cannot have one (a symbolic link there) is not created at all.
    await this.files.prepareRunDir(meta.runId);
    const created = await this.#redis.a0mCreateRun(
      this.#keys.run(meta.runId),
      this.#keys.runs,
      meta.runId,
      meta.createdAt,
      JSON.stringify(fields),
    );
    if (created === 1) {
      const { status: _s, phase: _p, planRead: _r, planEmitted: _e, planDone: _d, ...identity } = fields;
      await this.files.writeMarker({
        ...identity,
        runId: meta.runId,
        kind: meta.kind,
        createdAt: meta.createdAt,
      });
    }
    return created === 1;
  }

  async getRun(runId: string): Promise<RunMeta | undefined> {
    const h = await this.#redis.hgetall(this.#keys.run(runId));
    if (h.runId === undefined) return undefined;
    const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
    const phases: RunMeta['phases'] = {};
    for (const [k, v] of Object.entries(h)) {
      const m = /^t:(\w+):(start|end)$/.exec(k);
      if (m) (phases[m[1] as StageName] ??= {})[m[2] as 'start' | 'end'] = Number(v);
    }
    return {
      runId: h.runId,
      kind: h.kind === 'sweep' || h.kind === 'relations' ? h.kind : 'import',
      dryRun: h.dryRun === '1',
      upsert: h.upsert === '1',
      status: (h.status as RunMeta['status']) ?? 'running',
      phase: h.phase ?? 'starting',
      error: h.error,
      createdAt: Number(h.createdAt),
      finishedAt: num(h.finishedAt),
      file: h.file,
      hashesFile: h.hashesFile,
      ...(h.membersOf !== undefined && { membersOf: JSON.parse(h.membersOf) as string[] }),
      membersFile: h.membersFile,
      mfaFile: h.mfaFile,
      oldTenant: h.oldTenant,
      sourceConnection: h.sourceConnection,
      newTenant: h.newTenant,
      connection: h.connection,
      batchBytes: num(h.batchBytes),
      exportFile: h.exportFile,
      snapshotFile: h.snapshotFile,
      exportUsers: num(h.exportUsers),
      snapshotUsers: num(h.snapshotUsers),
      planRead: Number(h.planRead ?? 0),
      planEmitted: Number(h.planEmitted ?? 0),
      planDone: h.planDone === '1',
      phases,
      reportDir: h.reportDir,
      reportError: h.reportError,
      discardedAt: num(h.discardedAt),
      stoppedAt: num(h.stoppedAt),
      rollbackStartedAt: num(h.rollbackStartedAt),
      rolledBackAt: num(h.rolledBackAt),
      revivedBatches: num(h.revivedBatches),
      relations: h.relations,
      ...(h.mfaReads === '1' && { mfaReads: true }),
    };
  }

  /**
   * The run, or why there is none: {@link RunStateLost} when its folder says it was started (Redis
   * lost it), undefined when it never existed.
   */
  async findRun(runId: string): Promise<RunMeta | undefined> {
    const run = await this.getRun(runId);
    if (run !== undefined) return run;
    if ((await this.files.readMarker(runId)) !== undefined) throw new RunStateLost(runId);
    return undefined;
  }

  /** The run a job belongs to: a job exists only once its run does, so a missing run was lost. */
  async requireRun(runId: string): Promise<RunMeta> {
    const run = await this.getRun(runId);
    if (run === undefined) throw new RunStateLost(runId);
    return run;
  }

  /** The run's `run.json`, when its folder has one. */
  marker(runId: string): Promise<RunMarker | undefined> {
    return this.files.readMarker(runId);
  }

  async setRun(runId: string, fields: Record<string, string | number>): Promise<void> {
    await this.#updateRun(runId, { set: flat(fields) });
  }

  /** Records the start of a phase (first start wins, so a retried stage keeps its real start). */
  async phaseStarted(runId: string, phase: StageName): Promise<void> {
    await this.#updateRun(runId, { setnx: { [`t:${phase}:start`]: String(Date.now()) }, set: { phase } });
  }

  async phaseEnded(
    runId: string,
    phase: StageName,
    extra: Record<string, string | number> = {},
  ): Promise<void> {
    await this.#updateRun(runId, { set: flat({ [`t:${phase}:end`]: Date.now(), ...extra }) });
  }

  /** Records a time once (the first call wins). */
  async markTime(runId: string, phase: StageName, edge: 'start' | 'end'): Promise<void> {
    await this.#updateRun(runId, { setnx: { [`t:${phase}:${edge}`]: String(Date.now()) } });
  }

  /** Marks the run as unable to finish; the first error is kept. */
  async failRun(runId: string, error: string): Promise<void> {
    await this.#updateRun(runId, {
      setnx: { error },
      set: flat({ status: 'failed', finishedAt: Date.now() }),
    });
  }

  /** Marks a running run as stopped; false when it was not running (finished, failed, stopped). */
  async stopRun(runId: string): Promise<boolean> {
    const r = await this.#updateRun(runId, {
      ifStatus: 'running',
      set: flat({ status: 'stopped', stoppedAt: Date.now() }),
    });
    return r > 0;
  }

  /** A failed, stopped or badly reported run runs again: what its last attempt left is dropped. */
  async reopenRun(runId: string): Promise<void> {
    await this.#updateRun(runId, { del: STALE_ON_RESUME, set: { status: 'running' } });
  }

  /** Sets `field` once; true for the one caller that set it (e.g. the report email goes once). */
  async claimOnce(runId: string, field: string): Promise<boolean> {
    return (await this.#updateRun(runId, { setnx: { [field]: String(Date.now()) } })) === 2;
  }

  /** Counts a revival of the run's stage job (reconcile.ts); answers how many there were. */
  async countStageRevival(runId: string, stage: StageName): Promise<number> {
    const key = this.#keys.run(runId);
    const r = await this.#redis.a0mIncrIfExists(key, key, key, `revived:${stage}`, 1, '');
    if (r === LOST_RUN) throw new RunStateLost(runId);
    return r;
  }

  /** Run ids, newest first. */
  async listRunIds(limit = 50): Promise<string[]> {
    return this.#redis.zrevrange(this.#keys.runs, 0, limit - 1);
  }

  async #updateRun(
    runId: string,
    op: { ifStatus?: string; setnx?: Record<string, string>; del?: string[]; set?: Record<string, string> },
  ): Promise<number> {
    const r = await this.#redis.a0mUpdateRun(this.#keys.run(runId), JSON.stringify(op));
    if (r === LOST_RUN) throw new RunStateLost(runId);
    return r;
  }

  // ---- the plan stage ----

  /**
   * Records what the plan found before batch boundary `chunk.index`: its per-user lines in the
   * run's folder, its counts in Redis, once (same index, same content: the plan is deterministic).
   */
  async putChunk(runId: string, chunk: PlanChunk, planRead: number): Promise<void> {
    if ((await this.#redis.exists(this.#keys.run(runId))) === 0) throw new RunStateLost(runId);
    const kept = await this.files.putPart(runId, `chunk-${chunk.index}`, chunk);
    const k = this.#keys;
    const r = await this.#redis.a0mPutChunk(
      k.run(runId),
      k.chunks(runId),
      k.counts(runId),
      chunk.index,
      JSON.stringify(flattenCounts(kept.counts)),
      planRead,
    );
    if (r === LOST_RUN) throw new RunStateLost(runId);
  }

  /**
   * Stores batch `n`'s payload and record, in one step; false when the batch was staged (or has
   * ended) already. {@link RunStopped} when the run is no longer running.
   */
  async stageBatch(runId: string, n: number, staged: StagedBatch, planRead: number): Promise<boolean> {
    const k = this.#keys;
    const payloadKey = k.payload(runId, n);
    const r = await this.#redis.a0mStageBatch(
      k.run(runId),
      k.batch(runId, n),
      payloadKey,
      k.ended(runId),
      await encodeStagedBatch(this.codec, staged, payloadKey),
      staged.users.length,
      staged.payload.length,
      n,
      planRead,
    );
    if (r === LOST_RUN) throw new RunStateLost(runId);
    if (r === NOT_RUNNING) throw new RunStopped(runId);
    return r === 1;
  }

  // ---- batches ----

  async getBatch(runId: string, n: number): Promise<BatchRecord | undefined> {
    const k = this.#keys;
    const [h, ended, failed] = await Promise.all([
      this.#redis.hgetall(k.batch(runId, n)),
      this.#redis.getbit(k.ended(runId), n),
      this.#redis.getbit(k.failed(runId), n),
    ]);
    if (ended === 1) return { state: failed === 1 ? 'failed' : 'done' };
    if (h.state === undefined) return undefined;
    const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
    return {
      state: h.state as BatchRecord['state'],
      users: Number(h.users ?? 0),
      bytes: Number(h.bytes ?? 0),
      jobId: h.jobId,
      submittedAt: num(h.submittedAt),
      resubmitted: num(h.resubmitted),
      revived: num(h.revived),
    };
  }

  async loadBatch(runId: string, n: number): Promise<StagedBatch | undefined> {
    const payloadKey = this.#keys.payload(runId, n);
    const blob = await this.#redis.getBuffer(payloadKey);
    return blob === null ? undefined : await decodeStagedBatch(this.codec, blob, payloadKey);
  }

  /**
   * Updates batch `n` in flight, and whether it holds an Auth0 job (`running`). False when the
   * batch has ended meanwhile (another worker ended it); {@link RunStateLost} when it is gone.
   */
  async setBatch(
    runId: string,
    n: number,
    fields: Record<string, string | number>,
    running?: 'add' | 'rem',
  ): Promise<boolean> {
    const k = this.#keys;
    const r = await this.#redis.a0mUpdateBatch(
      k.run(runId),
      k.batch(runId, n),
      k.running(runId),
      k.ended(runId),
      n,
      JSON.stringify({ set: flat(fields), ...(running !== undefined && { running }) }),
    );
    if (r === LOST_RUN) throw new RunStateLost(runId);
    if (r === LOST_BATCH) throw new RunStateLost(runId, `batch ${n} is gone`);
    return r === 1;
  }

  /** Counts a revival of batch `n`'s job (reconcile.ts); answers how many there were. */
  async countRevival(runId: string, n: number): Promise<number> {
    const key = this.#keys.batch(runId, n);
    const r = await this.#redis.a0mIncrIfExists(
      key,
      key,
      this.#keys.run(runId),
      'revived',
      1,
      'revivedBatches',
    );
    if (r === LOST_RUN) throw new RunStateLost(runId, `batch ${n} is gone`);
    return r;
  }

  /** Batches that have ended (done or failed). */
  async endedCount(runId: string): Promise<number> {
    return this.#redis.bitcount(this.#keys.ended(runId));
  }

  /** Batches staged and not ended, in order. */
  async openBatches(runId: string): Promise<number[]> {
    const [emitted, bits] = await Promise.all([
      this.#redis.hget(this.#keys.run(runId), 'planEmitted'),
      this.#redis.getBuffer(this.#keys.ended(runId)),
    ]);
    const open: number[] = [];
    for (let n = 0; n < Number(emitted ?? 0); n++) {
      const byte = bits?.[n >> 3] ?? 0;
      if ((byte & (0x80 >> (n & 7))) === 0) open.push(n);
    }
    return open;
  }

  /**
   * Ends batch `n` with its outcome: the outcome goes to the run's folder, then its counts are
   * added, the batch marked ended and its payload deleted, in one step. Ending a batch twice
   * changes nothing; answers the outcome that counts (the first one written).
   */
  async finishBatch(runId: string, outcome: BatchOutcome): Promise<BatchOutcome> {
    const n = outcome.index;
    const k = this.#keys;
    if ((await this.#redis.exists(k.run(runId))) === 0) throw new RunStateLost(runId);
    if ((await this.#redis.getbit(k.ended(runId), n)) === 1) {
      return (await this.getOutcome(runId, n)) ?? outcome;
    }
    const part: BatchPart = {
      outcome,
      ...(outcome.jobId !== undefined && {
        job: {
          batch: outcome.batch,
          jobId: outcome.jobId,
          status: outcome.auth0Status ?? outcome.status,
          ...(outcome.summary && { summary: outcome.summary }),
          users: outcome.counts.records,
          ...(outcome.submittedAt !== undefined && { submittedAt: iso(outcome.submittedAt) }),
          ...(outcome.endedAt !== undefined && { endedAt: iso(outcome.endedAt) }),
        },
      }),
    };
    const kept = (await this.files.putPart(runId, `batch-${n}`, part)).outcome;
    const r = await this.#redis.a0mFinishBatch(
      k.run(runId),
      k.ended(runId),
      k.failed(runId),
      k.counts(runId),
      k.batch(runId, n),
      k.payload(runId, n),
      k.running(runId),
      n,
      kept.status === 'failed' ? '1' : '0',
      JSON.stringify(flattenCounts(kept.counts)),
    );
    if (r === LOST_RUN) throw new RunStateLost(runId);
    if (r === LOST_BATCH) throw new RunStateLost(runId, `batch ${n} is gone`);
    return kept;
  }

  async getOutcome(runId: string, n: number): Promise<BatchOutcome | undefined> {
    return (await this.files.getPart<BatchPart>(runId, `batch-${n}`))?.outcome;
  }

  // ---- reading a run back ----

  async progress(runId: string): Promise<RunProgress | undefined> {
    const run = await this.getRun(runId);
    if (run === undefined) return undefined;
    const k = this.#keys;
    const [countsHash, ended, failed, running] = await Promise.all([
      this.#redis.hgetall(k.counts(runId)),
      this.#redis.bitcount(k.ended(runId)),
      this.#redis.bitcount(k.failed(runId)),
      this.#redis.scard(k.running(runId)),
    ]);
    const staged = run.planEmitted;
    const rel = run.phases.relations?.start === undefined ? undefined : await this.relations.state(runId);
    return {
      run,
      ...(rel?.planned === true && {
        relations: { calls: sumOf(rel.calls), ended: sumOf(rel.ended) },
      }),
      counts: countsFromHash(countsHash),
      batches: {
        staged,
        queued: Math.max(0, staged - ended - running),
        running,
        done: ended - failed,
        failed,
      },
    };
  }

  async *#parts(runId: string): AsyncGenerator<BatchPart> {
    const run = await this.getRun(runId);
    for (let n = 0; n < (run?.planEmitted ?? 0); n++) {
      const part = await this.files.getPart<BatchPart>(runId, `batch-${n}`);
      if (part !== undefined) yield part;
    }
  }

  async auth0Jobs(runId: string): Promise<Auth0JobEntry[]> {
    const jobs: Auth0JobEntry[] = [];
    for await (const part of this.#parts(runId)) if (part.job !== undefined) jobs.push(part.job);
    return jobs;
  }

  async *#chunks(runId: string): AsyncGenerator<PlanChunk> {
    const chunks = Number((await this.#redis.hget(this.#keys.run(runId), 'planChunks')) ?? 0);
    for (let c = 0; c < chunks; c++) {
      const chunk = await this.files.getPart<PlanChunk>(runId, `chunk-${c}`);
      if (chunk !== undefined) yield chunk;
    }
  }

  async *skippedLines(runId: string): AsyncGenerator<SkippedLine> {
    for await (const chunk of this.#chunks(runId)) yield* chunk.skipped;
  }

  /** Found by the snapshot (plan chunks), then confirmed at import (batch outcomes). */
  async *alreadyMigratedLines(runId: string): AsyncGenerator<AlreadyMigratedLine> {
    for await (const chunk of this.#chunks(runId)) yield* chunk.alreadyMigrated;
    for await (const o of this.outcomes(runId)) yield* o.alreadyMigrated;
  }

  async *outcomes(runId: string): AsyncGenerator<BatchOutcome> {
    for await (const part of this.#parts(runId)) yield part.outcome;
  }

  async *failureLines(runId: string): AsyncGenerator<FailureLine> {
    for await (const o of this.outcomes(runId)) yield* o.failures;
  }

  async *retryRecords(runId: string): AsyncGenerator<ExportRecord> {
    for await (const o of this.outcomes(runId)) yield* o.retry;
  }

  async *importedLines(runId: string): AsyncGenerator<ImportedLine> {
    for await (const o of this.outcomes(runId)) yield* o.imported;
  }

  /** The run's summary, once its report is written (read from the report folder). */
  async getSummary(runId: string): Promise<RunSummary | undefined> {
    const run = await this.getRun(runId);
    if (run?.reportDir === undefined) return undefined;
    return this.files.readSummary(runId, run.reportDir);
  }

  /**
   * Deletes the run's per-user data: staged payloads in Redis, the parts and work files in its
   * folder. The run, its counts and which batches ended stay: those say what was done, so nothing
   * is ever sent twice.
   */
  async purgeUserData(runId: string): Promise<void> {
    const open = await this.openBatches(runId);
    const keys = open.map((n) => this.#keys.payload(runId, n));
    for (let i = 0; i < keys.length; i += 500) await this.#redis.del(...keys.slice(i, i + 500));
    await this.files.removeUserData(runId);
  }

  // ---- one sweep at a time ----

  /**
   * Takes the sweep lock for `runId`, or answers the run that holds it. A lock left by a run that
   * has finished (or vanished) is taken over.
   */
  async acquireSweepLock(runId: string): Promise<{ ok: true } | { ok: false; holder: string }> {
    const key = this.#keys.sweepLock;
    for (let i = 0; i < 3; i++) {
      if ((await this.#redis.set(key, runId, 'EX', SWEEP_LOCK_SECONDS, 'NX')) === 'OK') return { ok: true };
      const holder = await this.#redis.get(key);
      if (holder === null) continue;
      if (holder === runId) return { ok: true };
      const run = await this.getRun(holder);
      if (run !== undefined && run.status === 'running') return { ok: false, holder };
      // A lock taken in the last minute whose run does not exist yet is being started.
      if (run === undefined && (await this.#redis.ttl(key)) > SWEEP_LOCK_SECONDS - 60)
        return { ok: false, holder };
      await this.#redis.a0mReleaseIfHolder(key, holder);
    }
    return { ok: false, holder: (await this.#redis.get(key)) ?? 'unknown' };
  }

  async releaseSweepLock(runId: string): Promise<void> {
    await this.#redis.a0mReleaseIfHolder(this.#keys.sweepLock, runId);
  }

  // ---- one relations run at a time ----

  /**
   * Takes the relations lock for `runId` with a lease of `leaseMs`, or answers the run that holds
   * it. Its own holder takes it again (a resume). A lock whose run has ended (completed, failed,
   * stopped) is taken over; one whose run is running, or not yet created, is not: its lease
   * lapses when nobody renews it (a crashed holder).
   */
  async acquireRelationsLock(
    runId: string,
    leaseMs: number,
  ): Promise<{ ok: true } | { ok: false; holder: string }> {
    const key = this.#keys.relationsLock;
    for (let i = 0; i < 3; i++) {
      if ((await this.#redis.set(key, runId, 'PX', leaseMs, 'NX')) === 'OK') return { ok: true };
      const holder = await this.#redis.get(key);
      if (holder === null) continue;
      if (holder === runId) {
        if ((await this.#redis.a0mRenewLease(key, runId, leaseMs)) === 1) return { ok: true };
        continue;
      }
      const run = await this.getRun(holder);
      if (run === undefined || run.status === 'running') return { ok: false, holder };
      await this.#redis.a0mReleaseIfHolder(key, holder);
    }
    return { ok: false, holder: (await this.#redis.get(key)) ?? 'unknown' };
  }

  /** Extends `runId`'s lease (or takes the lapsed lock back); false when another run holds it. */
  async renewRelationsLock(runId: string, leaseMs: number): Promise<boolean> {
    return (await this.#redis.a0mRenewLease(this.#keys.relationsLock, runId, leaseMs)) === 1;
  }

  async releaseRelationsLock(runId: string): Promise<void> {
    await this.#redis.a0mReleaseIfHolder(this.#keys.relationsLock, runId);
  }
}

const sumOf = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** Counts as the scripts add them: `field → n`, nested reasons as `group:reason`; zeros left out. */
export function flattenCounts(c: OutcomeCounts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(c) as Array<[string, number | Record<string, number>]>) {
    if (typeof v === 'number') {
      if (v !== 0) out[k] = v;
    } else {
      for (const [reason, x] of Object.entries(v)) if (x !== 0) out[`${k}:${reason}`] = x;
    }
  }
  return out;
}

export function countsFromHash(h: Record<string, string>): OutcomeCounts {
  const c = emptyCounts() as unknown as Record<string, number | Record<string, number>>;
  for (const [field, raw] of Object.entries(h)) {
    const i = field.indexOf(':');
    if (i < 0) {
      c[field] = Number(raw);
    } else {
      const group = (c[field.slice(0, i)] ??= {}) as Record<string, number>;
      group[field.slice(i + 1)] = Number(raw);
    }
  }
  return c as unknown as OutcomeCounts;
}
