/**
 * The plan stage's bookkeeping: takes the pipeline's output (batches, skipped and already-migrated
 * users, in input order) and stages it in the run's store, one import-batch job per batch; the
 * skipped and already-migrated users are kept, user by user, in the chunks between batches.
 *
 * Resumable: the pipeline is deterministic, so after a crash the stage reads the input again and
 * batch `n` is the same batch; batches already staged are not staged again (their job is only
 * re-added, which BullMQ ignores when it exists). Bounded: it waits while the batches staged and
 * not yet ended reach the limit, so Redis holds a bounded amount of user data whatever the input's
 * size.
 */
import type { AlreadyMigrated, Batch, ImportCandidate, Skipped } from '../pipeline/types.js';
import type { AlreadyMigratedLine, SkippedLine } from '../report/types.js';
import { FinalError, HandBack, pause } from './job-control.js';
import { addBatchJob, maybeFinishRun } from './flow.js';
import type { Runtime } from './runtime.js';
import { emptyCounts, type BatchUser, type PlanChunk, type StagedBatch } from './types.js';

export type PlanItem = Batch | AlreadyMigrated | Skipped;

/** Users recorded per chunk at most, when no batch boundary comes first (e.g. all of them skipped). */
const CHUNK_RECORDS = 2_000;
const ROOM_POLL_MS = 200;

export interface StagePlanOptions {
  signal?: AbortSignal;
  /** Called with the records read so far, now and then. */
  onRead?: (read: number) => void;
}

export function isBatch(item: PlanItem): item is Batch {
  return 'payload' in item && 'users' in item;
}

// The three below run once per user of the input, so they assign fields one by one: a conditional
// spread (`...(x && { k })`) costs about ten times as much, which showed in the plan stage's CPU.

export function toStaged(batch: Batch): StagedBatch {
  return { payload: batch.payload, users: batch.users.map(batchUser) };
}

function batchUser(c: ImportCandidate): BatchUser {
  const u = { line: c.source.line } as BatchUser;
  if (c.source.userId !== undefined) u.userId = c.source.userId;
  u.email = c.user.email;
  if (c.user.user_id !== undefined) u.sentId = c.user.user_id;
  u.hasPassword = c.hasPassword;
  if (c.source.mfaEnrolled === true) u.mfaEnrolled = true;
  if (c.hasMfaFactors === true) u.mfaFactors = true;
  if (c.user.email_verified === false) u.emailUnverified = true;
  if (c.user.username !== undefined) u.username = c.user.username;
  if (c.user.phone_number !== undefined) u.phone = c.user.phone_number;
  u.original = c.original;
  return u;
}

function skippedLine(s: Skipped): SkippedLine {
  const l = {} as SkippedLine;
  if (s.source.userId !== undefined) l.user_id = s.source.userId;
  if (s.source.email !== undefined) l.email = s.source.email;
  l.line = s.source.line;
  l.reason = s.reason;
  l.detail = s.detail;
  return l;
}

function alreadyMigratedLine(a: AlreadyMigrated): AlreadyMigratedLine {
  const l = {} as AlreadyMigratedLine;
  if (a.source.userId !== undefined) l.user_id = a.source.userId;
  if (a.source.email !== undefined) l.email = a.source.email;
  l.line = a.source.line;
  l.matched_by = a.matchedBy;
  l.found_by = 'snapshot';
  if (a.mfaReenrolment === true) l.mfa_reenrolment = true;
  return l;
}

/** The most batches staged and not yet ended. */
export function stagingLimit(rt: Runtime): number {
  return rt.config.importConcurrency + rt.settings.maxStagedBatches;
}

/** One step of staging: a batch to stage, or a chunk of users decided between two batches. */
export type PlanStep =
  | { kind: 'batch'; n: number; batch: Batch; read: number }
  | { kind: 'chunk'; chunk: PlanChunk; read: number };

/**
 * The plan's items turned into what the run's store keeps, in order: each batch numbered, and the
 * skipped and already-migrated users between two batches gathered into chunks (at most
 * {@link CHUNK_RECORDS} each). `read` is the records read up to and including the step. No I/O:
 * {@link stagePlan} writes the steps; the bench measures them.
 */
export async function* planSteps(
  items: AsyncIterable<PlanItem>,
  signal?: AbortSignal,
): AsyncGenerator<PlanStep> {
  let read = 0;
  let n = 0;
  let chunk: PlanChunk = { index: 0, counts: emptyCounts(), skipped: [], alreadyMigrated: [] };
  const take = (): PlanStep => {
    const step: PlanStep = { kind: 'chunk', chunk, read };
    chunk = { index: chunk.index + 1, counts: emptyCounts(), skipped: [], alreadyMigrated: [] };
    return step;
  };

  for await (const item of items) {
    if (signal?.aborted) throw new HandBack();
    if (isBatch(item)) {
      if (chunk.counts.records > 0) yield take();
      read += item.users.length;
      yield { kind: 'batch', n: n++, batch: item, read };
      continue;
    }
    read++;
    const c = chunk.counts;
    c.records++;
    if (item.kind === 'skipped') {
      c.skipped[item.reason] = (c.skipped[item.reason] ?? 0) + 1;
      chunk.skipped.push(skippedLine(item));
    } else {
      c.already_migrated[item.matchedBy] = (c.already_migrated[item.matchedBy] ?? 0) + 1;
      if (item.mfaReenrolment === true) c.mfaReenrolments++;
      chunk.alreadyMigrated.push(alreadyMigratedLine(item));
    }
    if (c.records >= CHUNK_RECORDS) yield take();
  }
  if (chunk.counts.records > 0) yield take();
}

/**
 * Writes each step with `write`, in order and one at a time, while the pipeline prepares the next
 * step: sealing a batch and storing it (gzip and file writes on libuv's threads, a Redis round
 * trip) overlap with reading and preparing the next batch's users, instead of leaving the main
 * thread idle. At most one step is read ahead of the one being written.
 */
export async function writeSteps(
  steps: AsyncIterable<PlanStep>,
  write: (step: PlanStep) => Promise<void>,
): Promise<void> {
  let writing: Promise<void> | undefined;
  try {
    for await (const step of steps) {
      await writing;
      writing = write(step);
      // Its failure is taken by the next await; until then it is not an unhandled rejection.
      writing.catch(() => undefined);
    }
    await writing;
  } finally {
    // The pipeline failed while a write was under way: let that write end before the stage does.
    await writing?.catch(() => undefined);
  }
}

export async function stagePlan(
  rt: Runtime,
  runId: string,
  items: AsyncIterable<PlanItem>,
  options: StagePlanOptions = {},
): Promise<{ read: number; batches: number }> {
  const { signal } = options;
  let read = 0;
  let batches = 0;
  let chunks = 0;
  await writeSteps(planSteps(items, signal), async (step) => {
    if (step.kind === 'batch') {
      await stageBatch(rt, runId, step.n, step.batch, step.read, signal);
      batches++;
    } else {
      await rt.store.putChunk(runId, step.chunk, step.read);
      chunks++;
    }
    read = step.read;
    options.onRead?.(read);
  });
  await rt.store.setRun(runId, {
    planDone: 1,
    planRead: read,
    planEmitted: batches,
    planChunks: chunks,
    phase: 'import',
  });
  await rt.store.phaseEnded(runId, 'plan');
  await maybeFinishRun(rt, runId);
  return { read, batches };
}

async function stageBatch(
  rt: Runtime,
  runId: string,
  n: number,
  batch: Batch,
  read: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const existing = await rt.store.getBatch(runId, n);
  if (existing !== undefined) {
    if (existing.users !== undefined && existing.users !== batch.users.length) {
      throw new FinalError(
        'plan_changed',
        `Batch ${n} of run ${runId} had ${existing.users} users and now has ${batch.users.length}: the input or the settings (BATCH_BYTES, the snapshot) changed since the run started.`,
      );
    }
    if (existing.state !== 'done' && existing.state !== 'failed') await addBatchJob(rt, runId, n);
    return;
  }
  const limit = stagingLimit(rt);
  while (n - (await rt.store.endedCount(runId)) >= limit) await pause(ROOM_POLL_MS, signal);
  await rt.store.stageBatch(runId, n, toStaged(batch), read);
  await addBatchJob(rt, runId, n);
}
