/**
 * Batch stage: import candidates into import files of bounded size, each serialised exactly as
 * it is sent (a JSON array). Every user is checked against Auth0's import schema and serialised
 * once, before it is placed; a batch stays under `batchBytes` (a single larger user gets a batch
 * of its own) and never exceeds `maxBatchBytes` (at most 500,000 bytes: Auth0 answers 413 when the
 * whole upload request is over 512,000 bytes, multipart envelope included), brackets
 * and commas included. Deterministic: the same candidates in the same order give the same
 * batches, byte for byte, which is what lets a crashed plan resume by skipping batches.
 */
import type { DuplicateFilter } from './duplicates.js';
import { PipelineInputError } from './errors.js';
import { DEFAULT_MAX_PROFILE_BYTES, invalidMetadataKey } from './profile-checks.js';
import { checkImportUser, describeSchemaProblem } from './schema.js';
import type { Batch, ImportCandidate, Skipped } from './types.js';

/**
 * Auth0 refuses an import request whose content is longer (413 "Payload content length greater
 * than maximum allowed: 512000"): the multipart request, not only the file in it.
 */
export const AUTH0_MAX_IMPORT_BYTES = 512_000;
/**
 * The largest import file we build: Auth0's documented "500KB" file limit, which leaves 12,000
 * bytes of the request for the multipart envelope (boundaries, headers, connection_id, upsert,
 * external_id, send_completion_email: under 1 KB).
 */
export const MAX_IMPORT_FILE_BYTES = 500_000;
/** DESIGN.md's default target, `BATCH_BYTES`. */
export const DEFAULT_BATCH_BYTES = 400_000;

export interface BatchOptions {
  /** Target size of one import file, in bytes. @defaultValue 400000 */
  batchBytes?: number;
  /** Hard limit no batch exceeds; at most 500000. @defaultValue 500000 */
  maxBatchBytes?: number;
  /**
   * A user whose JSON is larger is skipped as `profile_too_large` (Auth0 refuses it with
   * PROFILE_SIZE_EXCEEDED; see profile-checks.ts). @defaultValue 102400
   */
  maxProfileBytes?: number;
}

/** The sizes one user's JSON is checked against. */
export interface UserLimits {
  maxBatchBytes: number;
  maxProfileBytes: number;
}

/** A candidate that passed the schema, with its JSON text (what goes into the file). */
export interface PreparedUser {
  candidate: ImportCandidate;
  json: string;
}

export class Batcher implements UserLimits {
  readonly batchBytes: number;
  readonly maxBatchBytes: number;
  readonly maxProfileBytes: number;
  #index = 0;
  /**
   * The open batch as it will be sent, written user by user: `[`, users and commas; `#at` is its
   * length so far. Encoding each user straight into place is several times cheaper than joining
   * strings and encoding the whole file at the end.
   */
  #work: Buffer;
  #at = 1;
  #users: ImportCandidate[] = [];

  constructor(options: BatchOptions = {}) {
    this.maxBatchBytes = options.maxBatchBytes ?? MAX_IMPORT_FILE_BYTES;
    this.batchBytes = options.batchBytes ?? Math.min(DEFAULT_BATCH_BYTES, this.maxBatchBytes);
    this.maxProfileBytes = options.maxProfileBytes ?? DEFAULT_MAX_PROFILE_BYTES;
    if (!Number.isInteger(this.maxProfileBytes) || this.maxProfileBytes < 1) {
      throw new PipelineInputError(
        'bad_option',
        'batch',
        `MAX_PROFILE_BYTES must be a whole number of bytes above 0 (got ${this.maxProfileBytes})`,
      );
    }
    if (
      !Number.isInteger(this.maxBatchBytes) ||
      this.maxBatchBytes < 3 ||
      this.maxBatchBytes > MAX_IMPORT_FILE_BYTES
    ) {
      throw new PipelineInputError(
        'bad_option',
        'batch',
        `maxBatchBytes must be a whole number from 3 to ${MAX_IMPORT_FILE_BYTES} (got ${this.maxBatchBytes})`,
      );
    }
    if (!Number.isInteger(this.batchBytes) || this.batchBytes < 3 || this.batchBytes > this.maxBatchBytes) {
      throw new PipelineInputError(
        'bad_option',
        'batch',
        `BATCH_BYTES must be a whole number from 3 to ${this.maxBatchBytes} (got ${this.batchBytes})`,
      );
    }
    this.#work = Buffer.allocUnsafe(this.maxBatchBytes + 64 * 1024);
    this.#work[0] = 0x5b;
  }

  /** Batches emitted so far. */
  get emitted(): number {
    return this.#index;
  }

  /** Schema check and serialisation: the prepared user, or `schema_invalid` (also for a user too large for any file). */
  prepare(candidate: ImportCandidate): PreparedUser | Skipped {
    const json = this.serialise(candidate);
    return typeof json === 'string' ? { candidate, json } : json;
  }

  /** {@link prepare} without the wrapper object: the user's JSON text, or `schema_invalid`. */
  serialise(candidate: ImportCandidate): string | Skipped {
    return serialiseUser(candidate, this);
  }

  /** Places a prepared user; returns the batch it closed when it did not fit there. */
  place(user: PreparedUser): Batch | undefined {
    return this.placeJson(user.candidate, user.json);
  }

  /** {@link place} for a user and the JSON text {@link serialise} gave for it. */
  placeJson(candidate: ImportCandidate, json: string): Batch | undefined {
    const at = this.#openSlot(json.length * 3);
    return this.#placed(candidate, at, this.#work.write(json, at, 'utf8'));
  }

  /** Room for a user of at most `maxBytes` after the open batch, and its comma: where it goes. */
  #openSlot(maxBytes: number): number {
    const room = this.#at + 1 + maxBytes + 1;
    if (room > this.#work.length) this.#grow(room);
    let at = this.#at;
    if (this.#users.length > 0) this.#work[at++] = 0x2c;
    return at;
  }

  /** The user now written at `at` (`written` bytes): kept, or the batch closed before it. */
  #placed(candidate: ImportCandidate, at: number, written: number): Batch | undefined {
    let closed: Batch | undefined;
    if (this.#users.length > 0 && at + written + 1 > this.batchBytes) {
      // It does not fit: the batch ends before its comma, and the user opens the next one.
      closed = this.#close(this.#at);
      this.#work.copyWithin(1, at, at + written);
      this.#at = 1 + written;
    } else {
      this.#at = at + written;
    }
    this.#users.push(candidate);
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
    const batch = this.#close(this.#at);
    this.#at = 1;
    return batch;
  }

  /** The batch of the users placed so far, whose bytes end at `end` (exclusive). */
  #close(end: number): Batch {
    const payload = Buffer.allocUnsafe(end + 1);
    this.#work.copy(payload, 0, 0, end);
    payload[end] = 0x5d;
    const batch: Batch = { kind: 'batch', index: this.#index++, payload, users: this.#users };
    this.#users = [];
    return batch;
  }

  #grow(size: number): void {
    const grown = Buffer.allocUnsafe(size);
    this.#work.copy(grown, 0, 0, this.#at);
    this.#work = grown;
  }
}

/**
 * Schema check and serialisation of one user: its JSON text as it goes into an import file, or
 * why Auth0 would refuse it: `schema_invalid` (also for a user too large for a file of
 * `maxBatchBytes`), `invalid_metadata_key`, `profile_too_large`.
 */
export function serialiseUser(candidate: ImportCandidate, limits: UserLimits): string | Skipped {
  const problem = checkImportUser(candidate.user);
  if (problem !== undefined) {
    return skipped(candidate, 'schema_invalid', describeSchemaProblem(problem));
  }
  const key = invalidMetadataKey(candidate.user);
  if (key !== undefined) {
    return skipped(
      candidate,
      'invalid_metadata_key',
      `${key}: metadata field names must not contain "." or "$" (Auth0 refuses the user with NOT_PASSED)`,
    );
  }
  const json = JSON.stringify(candidate.user);
  const { maxBatchBytes, maxProfileBytes } = limits;
  // UTF-8 takes 1 to 3 bytes per UTF-16 unit: count exactly only when the bound says it may not fit.
  if (json.length * 3 + 2 > Math.min(maxBatchBytes, maxProfileBytes)) {
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > maxProfileBytes) {
      return skipped(
        candidate,
        'profile_too_large',
        `the profile is ${bytes} bytes as JSON; Auth0 refuses profiles over ${maxProfileBytes} bytes (PROFILE_SIZE_EXCEEDED)`,
      );
    }
    if (bytes + 2 > maxBatchBytes) {
      return skipped(
        candidate,
        'schema_invalid',
        `user too large: ${bytes} bytes as JSON, and an import file holds at most ${maxBatchBytes} bytes`,
      );
    }
  }
  return json;
}

function skipped(candidate: ImportCandidate, reason: Skipped['reason'], detail: string): Skipped {
  return { kind: 'skipped', source: candidate.source, reason, detail, original: candidate.original };
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
