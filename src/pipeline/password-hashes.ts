/**
 * Password hashes from the file Auth0 support sends on request: NDJSON, one user per line, e.g.
 * `{"_id":{"$oid":"5dea..."},"email":"...","passwordHash":"$2b$10$...","password_set_date":{"$date":"..."},
 * "connection":"Username-Password-Authentication","alt_id":"euclid"}`. The user's id is `alt_id`
 * when present (custom ids), otherwise the `$oid`; `email` may appear only in `identifiers[]`.
 *
 * Hashes are matched to users by id (by email only for input users without an id) and merged so
 * users keep their passwords on the first import.
 * bcrypt `$2a$`/`$2b$` with cost 10 goes into `password_hash`; other bcrypt costs, `$2y$`, argon2,
 * PBKDF2 (PHC strings) and LDAP `{SSHA}`-style values into `custom_password_hash`; anything else
 * is reported and the user is imported without a password (listed for a reset).
 *
 * A hash never appears in a message, a note or a problem report: problems name the line and the id.
 */
import { KeyTable, emailKey, idKey } from './keys.js';
import { createReadState, readExportChunks, type ExportInput, type ReadState } from './read.js';
import type { ImportCandidate, ImportUser } from './types.js';

export interface HashFileProblem {
  line: number;
  /** The user's id when the line has one. */
  userId?: string;
  detail: string;
}

export interface PasswordHashStats {
  /** Non-blank lines read. */
  lines: number;
  /** Hashes kept (one per user id). */
  hashes: number;
  /** Lines for another connection, left out. */
  otherConnection: number;
  /** Lines reported in `problems` (malformed, no id, no or unrecognised hash, repeated id). */
  problems: number;
  /** Bytes held. */
  bytes: number;
}

const enum Kind {
  Bcrypt = 0,
  Custom = 1,
}

/** Marks an email that more than one line carries: such an email matches nobody. */
const AMBIGUOUS = 0xffffffff;

/**
 * Password hashes by user id (and by email, for input users that have no id), held compactly:
 * about 100 bytes per user. Build with {@link loadPasswordHashes}.
 */
export class PasswordHashes {
  readonly #table = new KeyTable({ values: true, capacity: 4096 });
  readonly #scratch = new Uint32Array(3);
  /** Entry n: kind byte, 32-bit length, the text (the bcrypt string, or custom_password_hash as JSON). */
  #heap: Buffer = Buffer.alloc(64 * 1024);
  #heapUsed = 0;
  /** Heap offset of entry n, in insertion order. */
  readonly #offsets: number[] = [];
  /** Bit n: entry n was looked up. */
  #used: Uint8Array = new Uint8Array(512);

  get size(): number {
    return this.#offsets.length;
  }

  get bytes(): number {
    return this.#table.bytes + this.#heap.length + this.#used.length + this.#offsets.length * 8;
  }

  /** Hashes no user asked for so far (after a run: hashes of users who were not imported). */
  get unused(): number {
    let used = 0;
    for (let i = 0; i < this.#offsets.length; i++) if ((this.#used[i >> 3]! & (1 << (i & 7))) !== 0) used++;
    return this.#offsets.length - used;
  }

  /**
   * Stores the hash of a user id (without `auth0|`) and, when known, its lower-cased email.
   * `duplicate`: the id already has one; `unrecognised`: Auth0 imports no such hash.
   */
  set(userId: string, passwordHash: string, email?: string): 'ok' | 'duplicate' | 'unrecognised' {
    const parsed = classify(passwordHash);
    if (parsed === undefined) return 'unrecognised';
    const k = this.#scratch;
    idKey(userId, k);
    if (this.#table.get(k) >= 0) return 'duplicate';
    const n = this.#offsets.length;
    this.#table.add(k, 0, n);
    if (email !== undefined && email !== '') {
      emailKey(email, k);
      this.#table.set(k, 0, this.#table.get(k) >= 0 ? AMBIGUOUS : n);
    }
    const text = parsed.kind === Kind.Bcrypt ? passwordHash : JSON.stringify(parsed.custom);
    const offset = this.#heapUsed;
    const need = 5 + Buffer.byteLength(text);
    if (offset + need > this.#heap.length) {
      const grown = Buffer.alloc(Math.max(this.#heap.length * 2, offset + need));
      this.#heap.copy(grown, 0, 0, offset);
      this.#heap = grown;
    }
    this.#heap[offset] = parsed.kind;
    const written = this.#heap.write(text, offset + 5, 'utf8');
    this.#heap.writeUInt32LE(written, offset + 1);
    this.#heapUsed = offset + 5 + written;
    this.#offsets.push(offset);
    if (n >> 3 >= this.#used.length) {
      const grown = new Uint8Array(this.#used.length * 2);
      grown.set(this.#used);
      this.#used = grown;
    }
    return 'ok';
  }

  /** The import fields for a user id (without `auth0|`), or undefined. Marks the hash as used. */
  lookup(userId: string): HashFields | undefined {
    const k = this.#scratch;
    idKey(userId, k);
    return this.#entry(this.#table.get(k));
  }

  /** For input users without an id only: by lower-cased email, when exactly one line has that email. */
  lookupByEmail(email: string): HashFields | undefined {
    const k = this.#scratch;
    emailKey(email, k);
    const n = this.#table.get(k);
    return n === AMBIGUOUS ? undefined : this.#entry(n);
  }

  #entry(n: number): HashFields | undefined {
    if (n < 0) return undefined;
    this.#used[n >> 3]! |= 1 << (n & 7);
    const offset = this.#offsets[n]!;
    const kind = this.#heap[offset];
    const len = this.#heap.readUInt32LE(offset + 1);
    const text = this.#heap.toString('utf8', offset + 5, offset + 5 + len);
    return kind === Kind.Bcrypt
      ? { password_hash: text }
      : { custom_password_hash: JSON.parse(text) as Record<string, unknown> };
  }
}

export type HashFields = Pick<ImportUser, 'password_hash' | 'custom_password_hash'>;

interface Classified {
  kind: Kind;
  custom?: Record<string, unknown>;
}

const BCRYPT = /^\$2([aby])\$(\d\d)\$[./A-Za-z0-9]{53}$/;
const ARGON2 = /^\$argon2(id|i|d)\$/;
const PBKDF2 =
  /^\$pbkdf2-(md4|md5|sha1|sha224|sha256|sha384|sha512|ripemd160|whirlpool)\$i=\d+,l=\d+\$[^$]+\$[^$]+$/;
const LDAP = /^\{(SSHA|SHA|SSHA256|SHA256|SSHA384|SHA384|SSHA512|SHA512|SMD5|MD5)\}[A-Za-z0-9+/=]+$/i;

/** Which import field a hash goes into, or undefined when Auth0 cannot import it. */
function classify(h: string): Classified | undefined {
  const b = BCRYPT.exec(h);
  if (b !== null) {
    // Auth0's password_hash takes bcrypt $2a$/$2b$ with 10 rounds; the rest goes through custom_password_hash.
    if ((b[1] === 'a' || b[1] === 'b') && b[2] === '10') return { kind: Kind.Bcrypt };
    return { kind: Kind.Custom, custom: { algorithm: 'bcrypt', hash: { value: h } } };
  }
  if (ARGON2.test(h))
    return { kind: Kind.Custom, custom: { algorithm: 'argon2', hash: { value: h, encoding: 'utf8' } } };
  if (PBKDF2.test(h))
    return { kind: Kind.Custom, custom: { algorithm: 'pbkdf2', hash: { value: h, encoding: 'utf8' } } };
  if (LDAP.test(h))
    return { kind: Kind.Custom, custom: { algorithm: 'ldap', hash: { value: h, encoding: 'utf8' } } };
  return undefined;
}

export interface LoadPasswordHashesOptions {
  /** Keep only lines of this connection (the old tenant's database connection), when a line names one. */
  connection?: string;
  /** Name for messages. @defaultValue the path */
  name?: string;
  /** Problems listed at most (all are counted). @defaultValue 1000 */
  maxProblemsListed?: number;
  state?: ReadState;
}

export interface LoadedPasswordHashes {
  hashes: PasswordHashes;
  stats: PasswordHashStats;
  /** Lines that could not be used, by line number; never with the hash. */
  problems: HashFileProblem[];
}

/** Reads the password-hash file (NDJSON, optionally gzipped). */
export async function loadPasswordHashes(
  input: ExportInput,
  options: LoadPasswordHashesOptions = {},
): Promise<LoadedPasswordHashes> {
  const hashes = new PasswordHashes();
  const problems: HashFileProblem[] = [];
  const maxListed = options.maxProblemsListed ?? 1000;
  const stats: PasswordHashStats = { lines: 0, hashes: 0, otherConnection: 0, problems: 0, bytes: 0 };
  const report = (p: HashFileProblem): void => {
    stats.problems++;
    if (problems.length < maxListed) problems.push(p);
  };
  const state = options.state ?? createReadState();
  for await (const chunk of readExportChunks(input, {
    ...(options.name !== undefined && { name: options.name }),
    redactParserMessages: true,
    state,
  })) {
    for (const item of chunk) {
      stats.lines++;
      const line = item.source.line;
      if (item.kind !== 'record') {
        report({ line, detail: item.detail });
        continue;
      }
      const r = item.record;
      const id = hashFileUserId(r);
      if (id === undefined) {
        report({ line, detail: `line ${line}: no user id (neither alt_id nor _id.$oid)` });
        continue;
      }
      if (
        options.connection !== undefined &&
        typeof r.connection === 'string' &&
        r.connection !== options.connection
      ) {
        stats.otherConnection++;
        continue;
      }
      const hash = r.passwordHash;
      if (typeof hash !== 'string' || hash === '') {
        report({ line, userId: id, detail: `line ${line}: no passwordHash for user ${id}` });
        continue;
      }
      const result = hashes.set(id, hash, hashFileEmail(r));
      if (result === 'unrecognised') {
        report({
          line,
          userId: id,
          detail: `line ${line}: the password hash of user ${id} is in no format Auth0 can import; the user will need a password reset`,
        });
      } else if (result === 'duplicate') {
        report({
          line,
          userId: id,
          detail: `line ${line}: user ${id} already has a hash on an earlier line; this one is ignored`,
        });
      }
    }
  }
  stats.hashes = hashes.size;
  stats.bytes = hashes.bytes;
  return { hashes, stats, problems };
}

/** `alt_id` (a custom id), else `_id.$oid` (Auth0 support's files spell it `_id`; some copies `_ID`). */
function hashFileUserId(r: Record<string, unknown>): string | undefined {
  if (typeof r.alt_id === 'string' && r.alt_id !== '') return stripPrefix(r.alt_id);
  for (const key of ['_id', '_ID']) {
    const v = r[key];
    if (typeof v === 'string' && v !== '') return stripPrefix(v);
    if (v !== null && typeof v === 'object') {
      const oid = (v as Record<string, unknown>).$oid;
      if (typeof oid === 'string' && oid !== '') return oid;
    }
  }
  return undefined;
}

function stripPrefix(id: string): string {
  return id.startsWith('auth0|') ? id.slice(6) : id;
}

/** The email of a hash-file line: `email`, else the first email in `identifiers[]`. */
function hashFileEmail(r: Record<string, unknown>): string | undefined {
  if (typeof r.email === 'string' && r.email !== '') return r.email.toLowerCase();
  if (Array.isArray(r.identifiers)) {
    for (const i of r.identifiers as unknown[]) {
      if (i !== null && typeof i === 'object') {
        const { type, value } = i as Record<string, unknown>;
        if (type === 'email' && typeof value === 'string' && value !== '') return value.toLowerCase();
      }
    }
  }
  return undefined;
}

/**
 * Merge step for one candidate: adds the user's hash when there is one (`hasPassword: true`),
 * otherwise leaves `hasPassword: false` (the user is listed for a password reset).
 */
export function mergePasswordHash(
  candidate: ImportCandidate,
  hashes: PasswordHashes | undefined,
): ImportCandidate {
  if (hashes === undefined) return candidate;
  const id = candidate.user.user_id;
  // By id only when there is one: an email can pass to another user after a deletion, an id cannot.
  const found = id !== undefined ? hashes.lookup(id) : hashes.lookupByEmail(candidate.user.email);
  if (found === undefined) return candidate;
  Object.assign(candidate.user, found);
  candidate.hasPassword = true;
  return candidate;
}

/** The merge stage on its own. */
export async function* mergePasswordHashes<T extends { kind: string }>(
  items: AsyncIterable<T | ImportCandidate>,
  hashes: PasswordHashes | undefined,
): AsyncGenerator<T | ImportCandidate> {
  for await (const item of items) {
    yield item.kind === 'import' ? mergePasswordHash(item as ImportCandidate, hashes) : item;
  }
}
