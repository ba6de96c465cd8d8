/**
 * Batch stage: import candidates into import files of bounded size, each serialised exactly as
 * it is sent (a JSON array). Every user is checked against Auth0's import schema and serialised
 * once, before it is placed; a batch stays under `batchBytes` (a single larger user gets a batch
 * of its own) and never exceeds `maxBatchBytes` (Auth0 answers 413 above 512000 bytes), brackets
 * and commas included. Deterministic: the same candidates in the same order give the same
 * batches, byte for byte, which is what lets a crashed plan resume by skipping batches.
 */
import type { DuplicateFilter } from './duplicates.js';
import { PipelineInputError } from './errors.js';
import { checkImportUser, describeSchemaProblem } from './schema.js';
import type { Batch, ImportCandidate, Skipped } from './types.js';

/** Auth0 refuses a larger import file (413 "Payload content length greater than maximum allowed: 512000"). */
export const AUTH0_MAX_IMPORT_BYTES = 512_000;
/** DESIGN.md's default target, `BATCH_BYTES`. */
export const DEFAULT_BATCH_BYTES = 400_000;

export interface BatchOptions {
  /** Target size of one import file, in bytes. @defaultValue 400000 */
  batchBytes?: number;
  /** Hard limit no batch exceeds; at most 512000. @defaultValue 512000 */
  maxBatchBytes?: number;
}

/** A candidate that passed the schema, with its JSON text (what goes into the file). */
export interface PreparedUser {
  candidate: ImportCandidate;
  json: string;
  /** UTF-8 length of `json`. */
  bytes: number;
}

export class Batcher {
  readonly batchBytes: number;
  readonly maxBatchBytes: number;
  #index = 0;
  #parts: string[] = [];
  #users: ImportCandidate[] = [];
  /** Size of the open batch as a file: brackets, users and commas. */
  #size = 2;

  constructor(options: BatchOptions = {}) {
    this.maxBatchBytes = options.maxBatchBytes ?? AUTH0_MAX_IMPORT_BYTES;
    this.batchBytes = options.batchBytes ?? Math.min(DEFAULT_BATCH_BYTES, this.maxBatchBytes);
    if (
      !Number.isInteger(this.maxBatchBytes) ||
      this.maxBatchBytes < 3 ||
      this.maxBatchBytes > AUTH0_MAX_IMPORT_BYTES
    ) {
      throw new PipelineInputError(
        'bad_option',
        'batch',
        `maxBatchBytes must be a whole number from 3 to ${AUTH0_MAX_IMPORT_BYTES} (got ${this.maxBatchBytes})`,
      );
    }
    if (!Number.isInteger(this.batchBytes) || this.batchBytes < 3 || this.batchBytes > this.maxBatchBytes) {
      throw new PipelineInputError(
        'bad_option',
        'batch',
        `BATCH_BYTES must be a whole number from 3 to ${this.maxBatchBytes} (got ${this.batchBytes})`,
      );
    }
  }

  /** Batches emitted so far. */
  get emitted(): number {
    return this.#index;
  }

  /** Schema check and serialisation: the prepared user, or `schema_invalid` (also for a user too large for any file). */
  prepare(candidate: ImportCandidate): PreparedUser | Skipped {
    const problem = checkImportUser(candidate.user);
    if (problem !== undefined) {
      return schemaInvalid(candidate, describeSchemaProblem(problem));
    }
    const json = JSON.stringify(candidate.user);
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes + 2 > this.maxBatchBytes) {
      return schemaInvalid(
        candidate,
        `user too large: ${bytes} bytes as JSON, and an import file holds at most ${this.maxBatchBytes} bytes`,
      );
    }
    return { candidate, json, bytes };
  }

  /** Places a prepared user; returns the batch it closed when it did not fit there. */
  place(user: PreparedUser): Batch | undefined {
    let closed: Batch | undefined;
    if (this.#users.length > 0 && this.#size + 1 + user.bytes > this.batchBytes) closed = this.flush();
    this.#size += (this.#users.length > 0 ? 1 : 0) + user.bytes;
    this.#parts.push(user.json);
    this.#users.push(user.candidate);
    return closed;
  }

  /** {@link prepare} then {@link place}. */
  add(candidate: ImportCandidate): Batch | Skipped | undefined {
    const prepared = this.prepare(candidate);
    return 'json' in prepared ? this.place(prepared) : prepared;
  }

  /** Closes the open batch, if it has users. */
  flush(): Batch | undefined {
    if (this.#users.length === 0) return undefined;
    const payload = Buffer.from(`[${this.#parts.join(',')}]`, 'utf8');
    if (payload.length !== this.#size) {
      throw new Error(`batch ${this.#index}: payload is ${payload.length} bytes, expected ${this.#size}`);
    }
    const batch: Batch = { kind: 'batch', index: this.#index++, payload, users: this.#users };
    this.#parts = [];
    this.#users = [];
    this.#size = 2;
    return batch;
  }
}

function schemaInvalid(candidate: ImportCandidate, detail: string): Skipped {
  return {
    kind: 'skipped',
    source: candidate.source,
    reason: 'schema_invalid',
    detail,
    original: candidate.original,
  };
}

/**
 * The batch stage on its own: candidates in, batches and `schema_invalid` skips out (and
 * `duplicate_in_export` when a {@link DuplicateFilter} is given); other items pass through.
 */
export async function* batchUsers<T extends { kind: string }>(
  items: AsyncIterable<T | ImportCandidate>,
  options: BatchOptions & { duplicates?: DuplicateFilter } = {},
): AsyncGenerator<T | Batch | Skipped> {
  const batcher = new Batcher(options);
  for await (const item of items) {
    if (item.kind !== 'import') {
      yield item as T;
      continue;
    }
    const prepared = batcher.prepare(item as ImportCandidate);
    if (!('json' in prepared)) {
      yield prepared;
      continue;
    }
    const duplicate = options.duplicates?.check(prepared.candidate);
    if (duplicate !== undefined) {
      yield duplicate;
      continue;
    }
    const out = batcher.place(prepared);
    if (out !== undefined) yield out;
  }
  const last = batcher.flush();
  if (last !== undefined) yield last;
}
