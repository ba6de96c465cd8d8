/**
 * The plan stage as the product runs it (src/workers/plan-source.ts ▶ src/jobs/plan.ts), with the
 * Redis calls left out: the pipeline's items through `planSteps` and `writeSteps`, each batch
 * turned into what the import-batch job receives (`toStaged`, which reads every candidate's `user`
 * and `original`) and sealed as `RunStore.stageBatch` seals it (`PayloadCodec`: JSON, gzip, AES-256-GCM), each chunk
 * of skipped and already-migrated users written as `RunStore.putChunk` writes it (`RunFiles`).
 * What is not here is one Redis round trip per batch and per chunk, and the wait for room.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { encodeStagedBatch, PayloadCodec } from '../../src/jobs/payload.js';
import { planSteps, toStaged, writeSteps } from '../../src/jobs/plan.js';
import { RunFiles } from '../../src/jobs/store/files.js';
import { runPipeline, type MigratedIndex, type OutcomeCounts } from '../../src/pipeline/index.js';
import { BENCH_CONNECTION } from './synthetic-export.js';

export interface PlanFigures {
  users: number;
  batches: number;
  chunks: number;
  /** The largest import file (bytes of the `users` part). */
  maxPayload: number;
  /** Sealed staged batches, as Redis would hold them. */
  stagedBytes: number;
  payloadBytes: number;
  counts: OutcomeCounts;
  problems: string[];
  duplicateFilterBytes: number;
}

/** The settings the product runs with: defaults, and a PAYLOAD_KEY (as the README asks). */
export function planSettings() {
  return loadConfig({ env: { PAYLOAD_KEY: randomBytes(32).toString('hex') }, dotenvPath: false });
}

export async function planStage(file: string, migrated: MigratedIndex): Promise<PlanFigures> {
  const config = planSettings();
  const codec = new PayloadCodec(config.payloadKey);
  const reports = await mkdtemp(join(tmpdir(), 'bench-plan-'));
  const files = new RunFiles(reports);
  const runId = 'bench-plan';
  try {
    const run = runPipeline({
      input: file,
      connection: BENCH_CONNECTION,
      migrated,
      batchBytes: config.batchBytes,
      maxProfileBytes: config.maxProfileBytes,
    });
    const f = { batches: 0, chunks: 0, maxPayload: 0, stagedBytes: 0, payloadBytes: 0 };
    await writeSteps(planSteps(run), async (step) => {
      if (step.kind === 'batch') {
        const sealed = await encodeStagedBatch(codec, toStaged(step.batch), `${runId}:payload:${step.n}`);
        f.batches++;
        f.stagedBytes += sealed.length;
        f.payloadBytes += step.batch.payload.length;
        f.maxPayload = Math.max(f.maxPayload, step.batch.payload.length);
      } else {
        await files.putPart(runId, `chunk-${step.chunk.index}`, step.chunk);
        f.chunks++;
      }
    });
    return {
      ...f,
      users: run.counts.total,
      counts: run.counts,
      problems: run.check(),
      duplicateFilterBytes: run.duplicateFilterBytes,
    };
  } finally {
    await rm(reports, { recursive: true, force: true });
  }
}
