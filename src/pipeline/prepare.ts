/**
 * Everything the pipeline decides about one record on its own, without looking at the records
 * around it: transform ▶ skip migrated ▶ merge the password hash ▶ schema check and
 * serialisation, plus the user's keys for the duplicate filter. What depends on the records
 * before it (duplicates, batch boundaries) is left to the caller.
 */
import { serialiseUser } from './batcher.js';
import { emailKey, idKey } from './keys.js';
import type { MigratedIndex } from './migrated-index.js';
import { mergeMfaFactors, type MfaFactors } from './mfa-factors.js';
import { mergePasswordHash, type PasswordHashes } from './password-hashes.js';
import { createTransformer, type Transformer } from './transform.js';
import type { AlreadyMigrated, ExportRecord, ImportCandidate, Skipped } from './types.js';

export interface PreparerOptions {
  connection: string;
  /** Name of the input in messages. */
  name: string;
  skipBlocked?: boolean;
  migrated?: MigratedIndex | undefined;
  hashes?: PasswordHashes | undefined;
  /** MFA factors to merge (mfa-factors.ts). */
  mfa?: MfaFactors | undefined;
  /** The largest import file; a user that cannot fit one is `schema_invalid`. */
  maxBatchBytes: number;
  /** Users whose JSON is larger are `profile_too_large` (batcher.ts, `BatchOptions.maxProfileBytes`). */
  maxProfileBytes: number;
}

export interface Preparer {
  /**
   * The record's outcome so far. For an {@link ImportCandidate}, {@link json} holds its JSON text
   * and `keys` its keys: words 0-2 the id (when {@link hasId}), 3-5 the lower-cased email.
   * (Fields rather than a wrapper object: this runs once per user of the export.)
   */
  prepare(record: ExportRecord, line: number, keys: Uint32Array): ImportCandidate | Skipped | AlreadyMigrated;
  /** The JSON text of the last candidate. */
  readonly json: string;
  /** Whether the last candidate has a `user_id` (and so an id key). */
  readonly hasId: boolean;
  readonly transformer: Transformer;
}

export function createPreparer(options: PreparerOptions): Preparer {
  const transformer = createTransformer({
    connection: options.connection,
    name: options.name,
    ...(options.skipBlocked !== undefined && { skipBlocked: options.skipBlocked }),
  });
  const { migrated, hashes, mfa } = options;
  const limits = { maxBatchBytes: options.maxBatchBytes, maxProfileBytes: options.maxProfileBytes };
  let json = '';
  let hasId = false;

  function prepare(
    record: ExportRecord,
    line: number,
    keys: Uint32Array,
  ): ImportCandidate | Skipped | AlreadyMigrated {
    const t = transformer.transform(record, line);
    if (t.kind !== 'import') {
      // A user already in the new tenant is already migrated, whatever is wrong with its email.
      const by =
        migrated !== undefined &&
        (t.reason === 'no_email' || t.reason === 'invalid_email' || t.reason === 'too_deep')
          ? migrated.match(transformer.lastId, t.source.email)
          : undefined;
      return by === undefined ? t : alreadyMigrated(t.source, by, transformer.lastId);
    }
    const id = t.user.user_id;
    hasId = id !== undefined && id !== '';
    if (hasId) {
      idKey(id!, keys, 0);
      if (migrated?.hasKey(keys, 0) === true) return alreadyMigrated(t.source, 'user_id', id);
    }
    emailKey(t.user.email, keys, 3);
    if (migrated?.hasKey(keys, 3) === true) return alreadyMigrated(t.source, 'email', id);
    mergePasswordHash(t, hashes);
    const merged = mergeMfaFactors(t, mfa);
    if (merged.kind === 'skipped') return merged;
    const text = serialiseUser(t, limits);
    if (typeof text !== 'string') return text;
    json = text;
    return t;
  }

  /** Enrolled in the old tenant but not (by its id) in the new one: the user must re-enrol. */
  function alreadyMigrated(
    source: AlreadyMigrated['source'],
    matchedBy: AlreadyMigrated['matchedBy'],
    id: string | undefined,
  ): AlreadyMigrated {
    const out: AlreadyMigrated = { kind: 'already_migrated', source, matchedBy };
    if (source.mfaEnrolled === true && migrated?.enrolled(id) !== true) out.mfaReenrolment = true;
    return out;
  }

  return {
    prepare,
    transformer,
    get json() {
      return json;
    },
    get hasId() {
      return hasId;
    },
  };
}
