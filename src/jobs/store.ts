/**
 * A run's state in Redis, under `<prefix>:run:<runId>`. Every write that records an outcome is
 * idempotent (a SET or HSET keyed by batch or chunk index, never a blind INCR), so a job that runs
 * twice (a retry, a redelivery after a crash) cannot count a user twice; the run's counts are the
 * sum of those records. Per-user lines stay here until the report job has written the files, so
 * they survive any worker dying.
 */
import type { Redis } from 'ioredis';
import type { ExportRecord } from '../pipeline/types.js';
import type {
  AlreadyMigratedLine,
  FailureLine,
  ImportedLine,
  RunSummary,
  SkippedLine,
} from '../report/types.js';
import type { PayloadCodec } from './payload.js';
import {
  addCounts,
  emptyCounts,
  type BatchOutcome,
  type BatchRecord,
  type OutcomeCounts,
  type PlanChunk,
  type RunMeta,
  type RunProgress,
  type StagedBatch,
  type StageName,
} from './types.js';

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
}

/** The per-user lines of a plan chunk, as stored. */
interface ChunkLines {
  skipped: SkippedLine[];
  alreadyMigrated: AlreadyMigratedLine[];
}

interface CountsEntry {
  status?: 'completed' | 'failed' | 'dry_run';
  counts: OutcomeCounts;
}

export class RunStore {
  readonly redis: Redis;
  readonly prefix: string;
  readonly codec: PayloadCodec;

  constructor(redis: Redis, prefix: string, codec: PayloadCodec) {
    this.redis = redis;
    this.prefix = prefix;
    this.codec = codec;
  }

  runKey(runId: string, ...rest: Array<string | number>): string {
    return [this.prefix, 'run', runId, ...rest].join(':');
  }

  get runsKey(): string {
    return `${this.prefix}:runs`;
  }

  // Not under a queue's name: `<prefix>:sweep:*` belongs to BullMQ's `sweep` queue.
  get sweepLockKey(): string {
    return `${this.prefix}:lock:sweep`;
  }

  slotsKey(tenant: string): string {
    return `${this.prefix}:slots:${tenant}`;
  }

  // ---- the run ----

  /** Creates the run; false when a run with this id already exists (it is left as it is). */
  async createRun(
    meta: Omit<RunMeta, 'planRead' | 'planEmitted' | 'planDone' | 'phases' | 'status' | 'phase'>,
  ): Promise<boolean> {
    const key = this.runKey(meta.runId);
    const created = await this.redis.hsetnx(key, 'runId', meta.runId);
    if (created === 0) return false;
    const fields: Record<string, string> = {
      kind: meta.kind,
      dryRun: meta.dryRun ? '1' : '0',
      upsert: meta.upsert ? '1' : '0',
      status: 'running',
      phase: 'starting',
      createdAt: String(meta.createdAt),
      planRead: '0',
      planEmitted: '0',
      planDone: '0',
    };
    for (const k of ['file', 'hashesFile', 'oldTenant', 'newTenant', 'connection'] as const) {
      const v = meta[k];
      if (v !== undefined) fields[k] = v;
    }
    await this.redis.multi().hset(key, fields).zadd(this.runsKey, meta.createdAt, meta.runId).exec();
    return true;
  }

  async getRun(runId: string): Promise<RunMeta | undefined> {
    const h = await this.redis.hgetall(this.runKey(runId));
    if (h.runId === undefined) return undefined;
    const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
    const phases: RunMeta['phases'] = {};
    for (const [k, v] of Object.entries(h)) {
      const m = /^t:(\w+):(start|end)$/.exec(k);
      if (m) (phases[m[1] as StageName] ??= {})[m[2] as 'start' | 'end'] = Number(v);
    }
    return {
      runId: h.runId,
      kind: h.kind === 'sweep' ? 'sweep' : 'import',
      dryRun: h.dryRun === '1',
      upsert: h.upsert === '1',
      status: (h.status as RunMeta['status']) ?? 'running',
      phase: h.phase ?? 'starting',
      error: h.error,
      createdAt: Number(h.createdAt),
      finishedAt: num(h.finishedAt),
      file: h.file,
      hashesFile: h.hashesFile,
      oldTenant: h.oldTenant,
      newTenant: h.newTenant,
      connection: h.connection,
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
    };
  }

  async setRun(runId: string, fields: Record<string, string | number>): Promise<void> {
    await this.redis.hset(this.runKey(runId), fields);
  }

  /** Records the start of a phase (first start wins, so a retried stage keeps its real start). */
  async phaseStarted(runId: string, phase: StageName): Promise<void> {
    await this.redis
      .multi()
      .hsetnx(this.runKey(runId), `t:${phase}:start`, Date.now())
      .hset(this.runKey(runId), 'phase', phase)
      .exec();
  }

  async phaseEnded(
    runId: string,
    phase: StageName,
    extra: Record<string, string | number> = {},
  ): Promise<void> {
    await this.redis.hset(this.runKey(runId), { [`t:${phase}:end`]: Date.now(), ...extra });
  }

  /** Records a time once (the first call wins). */
  async markTime(runId: string, phase: StageName, edge: 'start' | 'end'): Promise<void> {
    await this.redis.hsetnx(this.runKey(runId), `t:${phase}:${edge}`, Date.now());
  }

  /** Marks the run as unable to finish; the first error is kept. */
  async failRun(runId: string, error: string): Promise<void> {
    await this.redis
      .multi()
      .hsetnx(this.runKey(runId), 'error', error)
      .hset(this.runKey(runId), { status: 'failed', finishedAt: Date.now() })
      .exec();
  }

  /** Run ids, newest first. */
  async listRunIds(limit = 50): Promise<string[]> {
    return this.redis.zrevrange(this.runsKey, 0, limit - 1);
  }

  // ---- the plan stage ----

  /** Stores what the plan found before batch boundary `chunk.index` (idempotent: same index, same content). */
  async putChunk(runId: string, chunk: PlanChunk, planRead: number): Promise<void> {
    const entry: CountsEntry = { counts: chunk.counts };
    await this.redis
      .multi()
      .set(
        this.runKey(runId, 'chunk', chunk.index),
        await this.codec.encode(
          { skipped: chunk.skipped, alreadyMigrated: chunk.alreadyMigrated } satisfies ChunkLines,
          this.runKey(runId, 'chunk', chunk.index),
        ),
      )
      .hset(this.runKey(runId, 'counts'), `c${chunk.index}`, JSON.stringify(entry))
      .hset(this.runKey(runId), { planRead, planChunks: chunk.index + 1 })
      .exec();
  }

  async getBatch(runId: string, n: number): Promise<BatchRecord | undefined> {
    const h = await this.redis.hgetall(this.runKey(runId, 'batch', n));
    if (h.state === undefined) return undefined;
    return {
      state: h.state as BatchRecord['state'],
      users: Number(h.users ?? 0),
      bytes: Number(h.bytes ?? 0),
      jobId: h.jobId,
      submittedAt: h.submittedAt === undefined ? undefined : Number(h.submittedAt),
      resubmitted: h.resubmitted === undefined ? undefined : Number(h.resubmitted),
    };
  }

  /** Stores batch `n`'s payload and record, in one transaction. */
  async stageBatch(runId: string, n: number, staged: StagedBatch, planRead: number): Promise<void> {
    const payloadKey = this.runKey(runId, 'payload', n);
    await this.redis
      .multi()
      .set(payloadKey, await this.codec.encode(staged, payloadKey))
      .hset(this.runKey(runId, 'batch', n), {
        state: 'queued',
        users: staged.users.length,
        bytes: Buffer.byteLength(staged.payload),
      })
      .hset(this.runKey(runId), { planEmitted: n + 1, planRead })
      .exec();
  }

  async loadBatch(runId: string, n: number): Promise<StagedBatch | undefined> {
    const payloadKey = this.runKey(runId, 'payload', n);
    const blob = await this.redis.getBuffer(payloadKey);
    return blob === null ? undefined : await this.codec.decode<StagedBatch>(blob, payloadKey);
  }

  async setBatch(runId: string, n: number, fields: Record<string, string | number>): Promise<void> {
    await this.redis.hset(this.runKey(runId, 'batch', n), fields);
  }

  /** Batches that have ended (done or failed). */
  async endedCount(runId: string): Promise<number> {
    return this.redis.scard(this.runKey(runId, 'ended'));
  }

  async markRunning(runId: string, n: number): Promise<void> {
    await this.redis.sadd(this.runKey(runId, 'running'), n);
  }

  /**
   * Ends batch `n` with its outcome, in one transaction: the result and its counts are stored, the
   * batch is marked ended, its payload deleted. Writing the same outcome twice changes nothing.
   */
  async finishBatch(runId: string, outcome: BatchOutcome): Promise<void> {
    const n = outcome.index;
    const resultKey = this.runKey(runId, 'result', n);
    const entry: CountsEntry = { status: outcome.status, counts: outcome.counts };
    const tx = this.redis
      .multi()
      .set(resultKey, await this.codec.encode(outcome, resultKey))
      .hset(this.runKey(runId, 'counts'), `b${n}`, JSON.stringify(entry))
      .hset(this.runKey(runId, 'batch', n), 'state', outcome.status === 'failed' ? 'failed' : 'done')
      .sadd(this.runKey(runId, 'ended'), n)
      .srem(this.runKey(runId, 'running'), n)
      .del(this.runKey(runId, 'payload', n));
    if (outcome.jobId !== undefined) {
      const job: Auth0JobEntry = {
        batch: outcome.batch,
        jobId: outcome.jobId,
        status: outcome.auth0Status ?? outcome.status,
        ...(outcome.summary && { summary: outcome.summary }),
      };
      tx.hset(this.runKey(runId, 'jobs'), String(n), JSON.stringify(job));
    }
    await tx.exec();
  }

  async getOutcome(runId: string, n: number): Promise<BatchOutcome | undefined> {
    const key = this.runKey(runId, 'result', n);
    const blob = await this.redis.getBuffer(key);
    return blob === null ? undefined : await this.codec.decode<BatchOutcome>(blob, key);
  }

  // ---- reading a run back ----

  async progress(runId: string): Promise<RunProgress | undefined> {
    const run = await this.getRun(runId);
    if (run === undefined) return undefined;
    const [countsHash, ended, running] = await Promise.all([
      this.redis.hgetall(this.runKey(runId, 'counts')),
      this.redis.scard(this.runKey(runId, 'ended')),
      this.redis.scard(this.runKey(runId, 'running')),
    ]);
    const counts = emptyCounts();
    let failed = 0;
    for (const raw of Object.values(countsHash)) {
      const entry = JSON.parse(raw) as CountsEntry;
      addCounts(counts, entry.counts);
      if (entry.status === 'failed') failed++;
    }
    const staged = run.planEmitted;
    return {
      run,
      counts,
      batches: {
        staged,
        queued: Math.max(0, staged - ended - running),
        running,
        done: ended - failed,
        failed,
      },
    };
  }

  async auth0Jobs(runId: string): Promise<Auth0JobEntry[]> {
    const h = await this.redis.hgetall(this.runKey(runId, 'jobs'));
    return Object.entries(h)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([, v]) => JSON.parse(v) as Auth0JobEntry);
  }

  async *chunkLines(runId: string): AsyncGenerator<ChunkLines> {
    const chunks = Number((await this.redis.hget(this.runKey(runId), 'planChunks')) ?? 0);
    for (let c = 0; c < chunks; c++) {
      const key = this.runKey(runId, 'chunk', c);
      const blob = await this.redis.getBuffer(key);
      if (blob === null) continue;
      const lines = await this.codec.decode<ChunkLines | SkippedLine[]>(blob, key);
      // A chunk staged by an earlier version holds its skipped lines only.
      yield Array.isArray(lines) ? { skipped: lines, alreadyMigrated: [] } : lines;
    }
  }

  async *skippedLines(runId: string): AsyncGenerator<SkippedLine> {
    for await (const c of this.chunkLines(runId)) yield* c.skipped;
  }

  /** Found by the snapshot (plan chunks), then confirmed at import (batch outcomes). */
  async *alreadyMigratedLines(runId: string): AsyncGenerator<AlreadyMigratedLine> {
    for await (const c of this.chunkLines(runId)) yield* c.alreadyMigrated;
    for await (const o of this.outcomes(runId)) yield* o.alreadyMigrated;
  }

  async *outcomes(runId: string): AsyncGenerator<BatchOutcome> {
    const run = await this.getRun(runId);
    for (let n = 0; n < (run?.planEmitted ?? 0); n++) {
      const outcome = await this.getOutcome(runId, n);
      if (outcome !== undefined) yield outcome;
    }
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

  // ---- after the report ----

  async putSummary(runId: string, summary: RunSummary): Promise<void> {
    await this.redis.set(this.runKey(runId, 'summary'), JSON.stringify(summary));
  }

  async getSummary(runId: string): Promise<RunSummary | undefined> {
    const raw = await this.redis.get(this.runKey(runId, 'summary'));
    return raw === null ? undefined : (JSON.parse(raw) as RunSummary);
  }

  /**
   * Deletes the run's per-user data (payloads, results, chunks). The run, its counts, its summary
   * and the batch records stay: those say which batches ended, so nothing is ever sent twice.
   */
  async purgeUserData(runId: string): Promise<void> {
    const h = await this.redis.hmget(this.runKey(runId), 'planEmitted', 'planChunks');
    const batches = Number(h[0] ?? 0);
    const chunks = Number(h[1] ?? 0);
    const keys: string[] = [];
    for (let n = 0; n < batches; n++) {
      keys.push(this.runKey(runId, 'payload', n), this.runKey(runId, 'result', n));
    }
    for (let c = 0; c < chunks; c++) keys.push(this.runKey(runId, 'chunk', c));
    for (let i = 0; i < keys.length; i += 500) await this.redis.del(...keys.slice(i, i + 500));
  }
}
