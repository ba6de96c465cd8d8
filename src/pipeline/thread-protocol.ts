/**
 * What the main thread and the pipeline's worker threads (threads.ts, thread-worker.ts) send
 * each other. Results are arrays per record rather than objects per record: typed arrays move
 * between threads without being copied.
 */
import type { SharedMigratedIndex } from './migrated-index.js';
import type { SkipReason } from './types.js';

/** Given to each worker thread when it starts. */
export interface ThreadSetup {
  connection: string;
  name: string;
  skipBlocked: boolean;
  maxBatchBytes: number;
  maxProfileBytes: number;
  maxLineBytes: number;
  migrated: SharedMigratedIndex | undefined;
}

/** Whole lines of the input, numbered from 1 within the piece. */
export interface PieceRequest {
  seq: number;
  buf: Uint8Array;
}

/** A record's outcome in a {@link PieceResult}. */
export const KIND_CODES = {
  import: 0,
  migrated_user_id: 1,
  migrated_email: 2,
  not_database_user: 3,
  no_email: 4,
  invalid_email: 5,
  schema_invalid: 6,
  blocked_excluded: 7,
  malformed_line: 8,
  duplicate_in_export: 9,
  too_deep: 10,
  invalid_metadata_key: 11,
  profile_too_large: 12,
} as const satisfies Record<SkipReason | 'import' | 'migrated_user_id' | 'migrated_email', number>;

/** The skip reason of each code at or above {@link KIND_CODES.not_database_user}. */
export const SKIP_REASONS: readonly SkipReason[] = (Object.keys(KIND_CODES) as Array<keyof typeof KIND_CODES>)
  .filter((k) => KIND_CODES[k] >= KIND_CODES.not_database_user)
  .sort((a, b) => KIND_CODES[a] - KIND_CODES[b]) as SkipReason[];

/**
 * One piece's outcomes: entry `i` (one per non-blank line, in order) has `kind[i]`, its line
 * number within the piece, the bytes of its line in `input`, and its source's user id and email.
 * Skips (`details`, in order of the skipped entries) and imports (`json`, `jsonEnd`, `keys` 6
 * words each, `hasId`, in order of the imported entries) have their own lists.
 */
export interface PieceResult {
  seq: number;
  /** Lines in the piece, blank ones included. */
  lines: number;
  /** The piece itself, handed back: originals are read from it when asked for. */
  input: Buffer;
  n: number;
  kind: Uint8Array;
  line: Int32Array;
  from: Int32Array;
  to: Int32Array;
  ids: Array<string | null>;
  emails: Array<string | null>;
  details: string[];
  notes: Array<[entry: number, notes: string[]]>;
  /** Originals that differ from their line (password fields removed), as JSON. */
  stripped: Array<[entry: number, json: string]>;
  /** Entries whose record has no key for an id or an email, with the keys it has. */
  unmapped: Array<[entry: number, keys: string[]]>;
  json: Buffer;
  jsonEnd: Int32Array;
  keys: Uint32Array;
  hasId: Uint8Array;
}

export interface PieceFailure {
  seq: number;
  error: { message: string; stack?: string };
}
