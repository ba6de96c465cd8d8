/**
 * The import pipeline: pure streaming stages from an export file to import batches, with no
 * Redis and no HTTP. Compose them with {@link runPipeline}, or use each stage on its own.
 *
 * ```ts
 * const migrated = await buildMigratedIndex('new-tenant.ndjson.gz', { connection: newConnection });
 * const { hashes } = await loadPasswordHashes('hashes.ndjson', { connection: oldConnection });
 * const run = runPipeline({ input: 'old-tenant.ndjson.gz', connection: oldConnection, migrated, hashes });
 * for await (const item of run) {
 *   if (isBatch(item)) await stage(item);   // item.payload: the file to send; item.users: who is in it
 *   else await record(item);                // Skipped (with reason and detail) or AlreadyMigrated
 * }
 * run.check();                              // [] when total = imported + already migrated + skipped
 * ```
 *
 * Password resets: users placed with `hasPassword: false` (no hash merged) need one. Memory: the
 * migrated index (15 bytes per key, two keys per user of the new tenant), the password hashes
 * (about 100 bytes per user) and the duplicate filter (two keys per imported user, 15 to 17.3 bytes
 * each) grow with the users; everything else is bounded by one input chunk and one open batch.
 *
 * Stages, in order: read (read.ts) ▶ transform (transform.ts) ▶ skip migrated (migrated-index.ts)
 * ▶ merge password hashes (password-hashes.ts) ▶ schema check and serialisation (the four per
 * record: prepare.ts) ▶ duplicates (duplicates.ts) ▶ batch (batcher.ts), all on one thread.
 */
import { OutcomeCounter } from './accounting.js';
import { Batcher, type BatchOptions } from './batcher.js';
import { DuplicateFilter } from './duplicates.js';
import type { MigratedIndex } from './migrated-index.js';
import type { MfaFactors } from './mfa-factors.js';
import type { PasswordHashes } from './password-hashes.js';
import { createPreparer } from './prepare.js';
import { createReadState, openExport, readOpened, type ExportInput, type ReadState } from './read.js';
import type { OutcomeCounts, PipelineOutput } from './types.js';

export * from './types.js';
export { PipelineInputError, type PipelineErrorCode, type ReadProgress } from './errors.js';
export {
  createReadState,
  inspectExport,
  readExport,
  readExportChunks,
  type ExportInput,
  type ExportKind,
  type ReadItem,
  type ReadOptions,
  type ReadRecord,
  type ReadState,
} from './read.js';
export {
  createTransformer,
  transformRecords,
  EXTENSION_LABELS,
  RESERVED_APP_METADATA_KEYS,
  type TransformOptions,
  type Transformer,
} from './transform.js';
export {
  MigratedIndex,
  MigratedIndexBuilder,
  buildMigratedIndex,
  skipMigrated,
  type BuildMigratedIndexOptions,
  type MigratedIndexStats,
} from './migrated-index.js';
export { exportIdentities, type ExportIdentities } from './export-identities.js';
export {
  MfaFactors,
  checkMfaFactors,
  loadMfaFactors,
  mergeMfaFactors,
  type LoadedMfaFactors,
  type MfaFactor,
  type MfaFileProblem,
} from './mfa-factors.js';
export {
  PasswordHashes,
  loadPasswordHashes,
  mergePasswordHash,
  mergePasswordHashes,
  type HashFields,
  type HashFileProblem,
  type LoadPasswordHashesOptions,
  type LoadedPasswordHashes,
  type PasswordHashStats,
} from './password-hashes.js';
export {
  AUTH0_MAX_IMPORT_BYTES,
  MAX_IMPORT_FILE_BYTES,
  Batcher,
  DEFAULT_BATCH_BYTES,
  batchUsers,
  type BatchOptions,
  type PreparedUser,
} from './batcher.js';
export { DuplicateFilter } from './duplicates.js';
export { OutcomeCounter, checkOutcomeCounts, emptyOutcomeCounts, isBatch } from './accounting.js';
export { checkImportUser, describeSchemaProblem, importUserValidator, type SchemaProblem } from './schema.js';

export interface PipelineOptions extends BatchOptions {
  /** The old tenant's export: a path, or its bytes as a stream (gzip or not, NDJSON or a JSON array). */
  input: ExportInput;
  /** Name of the input in messages. @defaultValue the path, or `input` */
  name?: string;
  /** The old tenant's database connection; users without an identity in it are `not_database_user`. */
  connection: string;
  /** Who is already in the new tenant ({@link buildMigratedIndex}); without it nobody is. */
  migrated?: MigratedIndex;
  /** Password hashes to merge ({@link loadPasswordHashes}); without them every user is `hasPassword: false`. */
  hashes?: PasswordHashes;
  /** MFA factors to merge ({@link loadMfaFactors}); users without any get none. */
  mfa?: MfaFactors;
  /** Skip blocked users (`blocked_excluded`) instead of importing them blocked. @defaultValue false */
  skipBlocked?: boolean;
}

/** A pipeline run: iterate it once for its outputs; its figures are live while it runs. */
export interface PipelineRun extends AsyncIterable<PipelineOutput> {
  /** Reading progress: bytes, lines, records, malformed lines, format. */
  readonly read: ReadState;
  /** Outcomes so far; `total` is set once the input is read to its end. */
  readonly counts: OutcomeCounts;
  /** After the run: what does not add up (empty when `total = imported + alreadyMigrated + skipped`). */
  check(): string[];
  /** Bytes held by the duplicate filter, the one part of a run that grows with the input. */
  readonly duplicateFilterBytes: number;
}

/**
 * The composed pipeline. Yields, in input order, every {@link Skipped} and {@link AlreadyMigrated}
 * record as it is decided, and every {@link Batch} once full (so a skip may come out before the
 * batch that holds users read before it). Batches are numbered from 0 and deterministic for the
 * same input, index, hashes and options: a resumed run may skip the first N.
 *
 * Pull-based: nothing is read ahead of the consumer beyond one input chunk, and memory does not
 * grow with the
 * input except for the duplicate filter (15 to 17.3 bytes per key, two keys per imported user).
 * Errors: {@link PipelineInputError} (`name` `InputError`) when the input cannot be read through;
 * outputs already yielded stay valid.
 */
export function runPipeline(options: PipelineOptions): PipelineRun {
  const read = createReadState();
  const counter = new OutcomeCounter();
  const duplicates = new DuplicateFilter();
  let started = false;
  return {
    read,
    counts: counter.counts,
    check: () => counter.check(),
    get duplicateFilterBytes() {
      return duplicates.bytes;
    },
    [Symbol.asyncIterator]() {
      if (started)
        throw new Error('A pipeline run can be iterated once; call runPipeline again to start over.');
      started = true;
      return run(options, read, counter, duplicates);
    },
  };
}

async function* run(
  options: PipelineOptions,
  read: ReadState,
  counter: OutcomeCounter,
  duplicates: DuplicateFilter,
): AsyncGenerator<PipelineOutput> {
  const name = options.name ?? (typeof options.input === 'string' ? options.input : 'input');
  const batcher = new Batcher(options);
  const opened = await openExport(options.input, { name, state: read });
  const preparer = createPreparer({
    connection: options.connection,
    name,
    skipBlocked: options.skipBlocked,
    migrated: options.migrated,
    hashes: options.hashes,
    mfa: options.mfa,
    maxBatchBytes: batcher.maxBatchBytes,
    maxProfileBytes: batcher.maxProfileBytes,
  });
  // Keys computed once per user, shared by the migrated index and the duplicate filter.
  const keys = new Uint32Array(6);
  let out: PipelineOutput[] = [];
  const emit = (item: PipelineOutput): void => {
    counter.add(item);
    out.push(item);
  };

  for await (const chunk of readOpened(opened, { name })) {
    for (const item of chunk) {
      if (item.kind !== 'record') {
        emit(item);
        continue;
      }
      const p = preparer.prepare(item.record, item.source.line, keys);
      if (p.kind !== 'import') {
        emit(p);
        continue;
      }
      const duplicate = duplicates.checkKeys(p, keys, preparer.hasId);
      if (duplicate !== undefined) {
        emit(duplicate);
        continue;
      }
      const batch = batcher.placeJson(p, preparer.json);
      if (batch !== undefined) emit(batch);
    }
    if (out.length > 0) {
      const ready = out;
      out = [];
      yield* ready;
    }
  }
  preparer.transformer.finish();
  const last = batcher.flush();
  if (last !== undefined) emit(last);
  counter.setTotal(read.records + read.malformed);
  yield* out;
}
