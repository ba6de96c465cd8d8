/**
 * Duplicate detection: a user whose id or lower-cased email already belongs to a user placed in
 * a batch earlier in the same input is skipped as `duplicate_in_export` (Auth0 would refuse the
 * second one, and a DUPLICATED_USER answer would otherwise pass for "already migrated"). Keys are
 * 96-bit, as in the migrated index (keys.ts: a distinct user is wrongly flagged with probability
 * about 5e-15 over a 10-million-user run).
 */
import { ShardedKeySet, emailKey, idKey } from './keys.js';
import type { ImportCandidate, Skipped } from './types.js';

export class DuplicateFilter {
  readonly #table = new ShardedKeySet();
  readonly #scratch = new Uint32Array(6);

  get bytes(): number {
    return this.#table.bytes;
  }

  /** Undefined when the user is new (its keys are then remembered); otherwise the skip. */
  check(candidate: ImportCandidate): Skipped | undefined {
    const k = this.#scratch;
    const id = candidate.user.user_id;
    const hasId = id !== undefined && id !== '';
    if (hasId) idKey(id, k, 0);
    emailKey(candidate.user.email, k, 3);
    return this.checkKeys(candidate, k, hasId);
  }

  /**
   * Same with the keys computed by the caller: words `at` to `at+2` the id (when `hasId`), `at+3`
   * to `at+5` the email.
   */
  checkKeys(candidate: ImportCandidate, keys: Uint32Array, hasId: boolean, at = 0): Skipped | undefined {
    const table = this.#table;
    // Three probes, not four: adding the id both tests for it and records it.
    let field: string | undefined;
    if (table.has(keys, at + 3)) field = 'email';
    else if (hasId && !table.add(keys, at)) field = 'user_id';
    if (field !== undefined) {
      return {
        kind: 'skipped',
        source: candidate.source,
        reason: 'duplicate_in_export',
        detail: `an earlier user in this input has the same ${field}; only the first is imported`,
        original: candidate.original,
      };
    }
    table.add(keys, at + 3);
    return undefined;
  }
}
