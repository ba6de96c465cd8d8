/**
 * Compact sets of user keys (ids and lower-cased emails) for the migrated index, duplicate
 * detection and the password-hash lookup.
 *
 * A key is stored as 96 bits (three 32-bit words) in an open-addressing table:
 * - a user id of 24 lower-case hex digits (Auth0's own ids) is stored exactly: the 96 bits ARE
 *   the id, so two different such ids never compare equal;
 * - any other id, and every email, is stored as the first 96 bits of SHA-256 over the key with a
 *   domain prefix (`i:` for ids, `e:` for emails), so an id never matches an email's entry by
 *   construction of the input to the hash.
 *
 * Why this never skips a user who is not in the new tenant (the only harmful error: a false
 * "already migrated", or a false "duplicate"): a key that is in a table is always found (equal
 * keys give equal words). A key that is not there is reported present only if its 96 bits equal
 * those of a DIFFERENT stored key. Two exact hex ids have equal bits only when they are the same
 * id; in every other pair at least one side is SHA-256 output for an input the other side is not
 * (ids and emails are hashed with different prefixes), so, taking SHA-256 as a random function,
 * a pair collides with probability 2^-96 and one lookup errs with probability at most n / 2^96
 * for n stored keys. For 10,000,000 users: n <= 2e7 keys and at most 2e7 lookups, so the chance
 * that ANY user of the whole run is wrongly skipped is at most 2e7 * 2e7 / 2^96 = 4e14 / 7.9e28,
 * about 5e-15. Hitting a chosen user's key on purpose means a second preimage of 96 bits of
 * SHA-256 (about 2^96 work). Wider keys would change no real run and cost 4 bytes more per key.
 *
 * Memory: 12 bytes per slot. The migrated index is built once at load 0.8: 15 bytes per key.
 * The duplicate filter's sharded set holds 15 to 17.3 bytes per key (see ShardedKeySet).
 */
import { hash } from 'node:crypto';

/** Number of 32-bit words per key. */
export const KEY_WORDS = 3;
/** Bytes per stored key. */
export const KEY_BYTES = KEY_WORDS * 4;

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[97 + i] = 10 + i;

/** Writes the key of a user id (`auth0|` already stripped) into `out[at..at+3]`. */
export function idKey(id: string, out: Uint32Array, at = 0): void {
  if (id.length === 24 && exactHex(id, out, at)) return;
  digest(`i:${id}`, out, at);
}

/** Writes the key of an email (lower-case it first: Auth0 stores database emails lower-cased). */
export function emailKey(lowerEmail: string, out: Uint32Array, at = 0): void {
  digest(`e:${lowerEmail}`, out, at);
}

function exactHex(id: string, out: Uint32Array, at: number): boolean {
  for (let w = 0; w < 3; w++) {
    let v = 0;
    for (let i = 0; i < 8; i++) {
      const c = id.charCodeAt(w * 8 + i);
      const d = c < 128 ? HEX[c]! : -1;
      if (d < 0) return false;
      v = (v << 4) | d;
    }
    out[at + w] = v;
  }
  return true;
}

function digest(text: string, out: Uint32Array, at: number): void {
  // 'binary' (latin1): one character per digest byte, the cheapest form to read back in JS.
  const s = hash('sha256', text, 'binary');
  out[at] = (s.charCodeAt(0) << 24) | (s.charCodeAt(1) << 16) | (s.charCodeAt(2) << 8) | s.charCodeAt(3);
  out[at + 1] = (s.charCodeAt(4) << 24) | (s.charCodeAt(5) << 16) | (s.charCodeAt(6) << 8) | s.charCodeAt(7);
  out[at + 2] =
    (s.charCodeAt(8) << 24) | (s.charCodeAt(9) << 16) | (s.charCodeAt(10) << 8) | s.charCodeAt(11);
}

/** Spreads exact hex ids (whose first word is a timestamp) over the table. */
export function mix(w0: number, w1: number, w2: number): number {
  let h = Math.imul(w0 ^ Math.imul(w1, 0x9e3779b1) ^ Math.imul(w2, 0x85ebca77), 0xc2b2ae3d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x27d4eb2f);
  h ^= h >>> 13;
  return h >>> 0;
}

export interface KeyTableOptions {
  /** Initial number of slots. @defaultValue 1024 */
  capacity?: number;
  /** Grow when this share of slots is used. @defaultValue 0.8 */
  maxLoad?: number;
  /** Factor the number of slots grows by. @defaultValue 1.5 */
  growth?: number;
  /** Keep a 32-bit value per key. @defaultValue false */
  values?: boolean;
}

/** A set (or map to 32-bit values) of 96-bit keys: open addressing, linear probing. */
export class KeyTable {
  #words: Uint32Array;
  #values: Uint32Array | undefined;
  #capacity: number;
  #size = 0;
  #maxLoad: number;
  #growth: number;
  /** All-zero words mark an empty slot; the all-zero key itself lives here. */
  #zero: { value: number } | undefined;

  constructor(options: KeyTableOptions = {}) {
    this.#capacity = Math.max(8, Math.ceil(options.capacity ?? 1024));
    this.#maxLoad = options.maxLoad ?? 0.8;
    this.#growth = options.growth ?? 1.5;
    this.#words = new Uint32Array(this.#capacity * KEY_WORDS);
    this.#values = options.values === true ? new Uint32Array(this.#capacity) : undefined;
  }

  /** A table sized for `count` keys at `load`, so it never grows while they are added. */
  static sizedFor(count: number, options: { load?: number; values?: boolean } = {}): KeyTable {
    const load = options.load ?? 0.8;
    return new KeyTable({
      capacity: Math.ceil(count / load) + 1,
      maxLoad: Math.max(load, 0.8),
      values: options.values === true,
    });
  }

  /** Keys stored. */
  get size(): number {
    return this.#size + (this.#zero === undefined ? 0 : 1);
  }

  /** Bytes held by the table's arrays. */
  get bytes(): number {
    return this.#words.byteLength + (this.#values?.byteLength ?? 0);
  }

  has(k: Uint32Array, at = 0): boolean {
    return this.#find(k[at]!, k[at + 1]!, k[at + 2]!) >= 0 || this.#isZeroStored(k, at);
  }

  /** The value stored with the key, or -1 when absent. */
  get(k: Uint32Array, at = 0): number {
    const w0 = k[at]!;
    const w1 = k[at + 1]!;
    const w2 = k[at + 2]!;
    if ((w0 | w1 | w2) === 0) return this.#zero?.value ?? -1;
    const slot = this.#find(w0, w1, w2);
    if (slot < 0) return -1;
    return this.#values?.[slot] ?? 0;
  }

  /** Adds the key; false when it was already there (its value is then left unchanged). */
  add(k: Uint32Array, at = 0, value = 0): boolean {
    const w0 = k[at]!;
    const w1 = k[at + 1]!;
    const w2 = k[at + 2]!;
    if ((w0 | w1 | w2) === 0) {
      if (this.#zero !== undefined) return false;
      this.#zero = { value };
      return true;
    }
    if (this.#size + 1 > this.#capacity * this.#maxLoad) this.#grow();
    return this.#insert(w0, w1, w2, value);
  }

  /** Adds the key or replaces its value. */
  set(k: Uint32Array, at: number, value: number): void {
    const w0 = k[at]!;
    const w1 = k[at + 1]!;
    const w2 = k[at + 2]!;
    if ((w0 | w1 | w2) === 0) {
      this.#zero = { value };
      return;
    }
    const slot = this.#find(w0, w1, w2);
    if (slot >= 0 && this.#values !== undefined) this.#values[slot] = value;
    else if (slot < 0) this.add(k, at, value);
  }

  #isZeroStored(k: Uint32Array, at: number): boolean {
    return this.#zero !== undefined && (k[at]! | k[at + 1]! | k[at + 2]!) === 0;
  }

  #home(w0: number, w1: number, w2: number): number {
    return Math.floor((mix(w0, w1, w2) * this.#capacity) / 4294967296);
  }

  #find(w0: number, w1: number, w2: number): number {
    if ((w0 | w1 | w2) === 0) return -1;
    const words = this.#words;
    const cap = this.#capacity;
    let i = this.#home(w0, w1, w2);
    for (;;) {
      const o = i * 3;
      const a = words[o]!;
      const b = words[o + 1]!;
      const c = words[o + 2]!;
      if (a === w0 && b === w1 && c === w2) return i;
      if ((a | b | c) === 0) return -1;
      i = i + 1 === cap ? 0 : i + 1;
    }
  }

  #insert(w0: number, w1: number, w2: number, value: number): boolean {
    const words = this.#words;
    const cap = this.#capacity;
    let i = this.#home(w0, w1, w2);
    for (;;) {
      const o = i * 3;
      const a = words[o]!;
      const b = words[o + 1]!;
      const c = words[o + 2]!;
      if ((a | b | c) === 0) {
        words[o] = w0;
        words[o + 1] = w1;
        words[o + 2] = w2;
        if (this.#values !== undefined) this.#values[i] = value;
        this.#size++;
        return true;
      }
      if (a === w0 && b === w1 && c === w2) return false;
      i = i + 1 === cap ? 0 : i + 1;
    }
  }

  #grow(): void {
    const oldWords = this.#words;
    const oldValues = this.#values;
    const oldCap = this.#capacity;
    this.#capacity = Math.ceil(oldCap * this.#growth) + 1;
    this.#words = new Uint32Array(this.#capacity * KEY_WORDS);
    this.#values = oldValues === undefined ? undefined : new Uint32Array(this.#capacity);
    this.#size = 0;
    for (let i = 0; i < oldCap; i++) {
      const o = i * 3;
      const a = oldWords[o]!;
      const b = oldWords[o + 1]!;
      const c = oldWords[o + 2]!;
      if ((a | b | c) !== 0) this.#insert(a, b, c, oldValues?.[i] ?? 0);
    }
  }
}

/**
 * A growing set of keys split over 256 tables by the low bits of {@link mix}: growing reallocates
 * 1/256 of the set at a time (no moment with the whole set held twice), which also allows growing
 * by less each time (by 15%): loads stay between 0.69 and 0.8 (15 to 17.3 bytes per key), at the
 * cost of moving each key about seven times instead of three as the set grows.
 */
export class ShardedKeySet {
  readonly #shards: KeyTable[];

  constructor(initialCapacity = 64 * 1024) {
    const each = Math.max(8, Math.ceil(initialCapacity / 256));
    this.#shards = Array.from(
      { length: 256 },
      () => new KeyTable({ capacity: each, maxLoad: 0.8, growth: 1.15 }),
    );
  }

  #shard(k: Uint32Array, at: number): KeyTable {
    return this.#shards[mix(k[at]!, k[at + 1]!, k[at + 2]!) & 255]!;
  }

  has(k: Uint32Array, at = 0): boolean {
    return this.#shard(k, at).has(k, at);
  }

  /** False when the key was already there. */
  add(k: Uint32Array, at = 0): boolean {
    return this.#shard(k, at).add(k, at);
  }

  get size(): number {
    return this.#shards.reduce((n, t) => n + t.size, 0);
  }

  get bytes(): number {
    return this.#shards.reduce((n, t) => n + t.bytes, 0);
  }
}

/** Keys appended in fixed-size chunks, for building a table once their number is known. */
export class KeyList {
  static readonly CHUNK_KEYS = 65_536;
  #chunks: Uint32Array[] = [];
  #last: Uint32Array | undefined;
  #fill = 0;
  #count = 0;

  get count(): number {
    return this.#count;
  }

  add(k: Uint32Array, at = 0): void {
    if (this.#last === undefined || this.#fill === KeyList.CHUNK_KEYS) {
      this.#last = new Uint32Array(KeyList.CHUNK_KEYS * KEY_WORDS);
      this.#chunks.push(this.#last);
      this.#fill = 0;
    }
    const o = this.#fill * 3;
    this.#last[o] = k[at]!;
    this.#last[o + 1] = k[at + 1]!;
    this.#last[o + 2] = k[at + 2]!;
    this.#fill++;
    this.#count++;
  }

  /** Moves the keys into a table sized for them, releasing each chunk once copied. */
  drainInto(table: KeyTable): void {
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#last = undefined;
    let left = this.#count;
    for (let c = 0; c < chunks.length; c++) {
      const chunk = chunks[c]!;
      const n = Math.min(left, KeyList.CHUNK_KEYS);
      for (let i = 0; i < n; i++) table.add(chunk, i * 3);
      left -= n;
      chunks[c] = EMPTY;
    }
    this.#count = 0;
    this.#fill = 0;
  }
}

const EMPTY = new Uint32Array(0);
