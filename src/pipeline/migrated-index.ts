/**
 * The migrated index: who is already in the new tenant, from an export of the new tenant's
 * connection. A user of the old tenant is already migrated when its id (without `auth0|`) or its
 * lower-cased email is there (DESIGN.md). Keys are 96-bit (keys.ts explains why no user who is
 * not in the new tenant is ever skipped); the table costs about 15 bytes per key.
 */
import { KeyList, KeyTable, emailKey, idKey } from './keys.js';
import { createReadState, readExportChunks, type ExportInput, type ReadState } from './read.js';
import type { AlreadyMigrated, ImportCandidate, Skipped } from './types.js';

/** Load factor the index is built at: 12 bytes per slot / 0.8 = 15 bytes per key. */
const INDEX_LOAD = 0.8;

export interface MigratedIndexStats {
  /** Records read from the new tenant's export. */
  records: number;
  /** Users whose keys went into the index. */
  users: number;
  /** Users of the export left out: not in `connection` when one was given. */
  otherConnection: number;
  /** Malformed lines of the export (their users cannot be matched, so they may be imported again and fail as duplicates, never skipped). */
  malformed: Array<{ line: number; detail: string }>;
  /** Distinct keys (ids and emails). */
  keys: number;
  /** Bytes held by the index. */
  bytes: number;
  /** `bytes / keys`. */
  bytesPerKey: number;
}

export class MigratedIndex {
  readonly #table: KeyTable;
  /** Ids of the users the export shows enrolled in MFA (`multifactor`). */
  readonly #enrolled: KeyTable | undefined;
  readonly #scratch = new Uint32Array(3);
  readonly stats: MigratedIndexStats;

  /** Use {@link buildMigratedIndex} or {@link MigratedIndexBuilder}. */
  constructor(
    table: KeyTable,
    stats: Omit<MigratedIndexStats, 'keys' | 'bytes' | 'bytesPerKey'>,
    enrolled?: KeyTable,
  ) {
    this.#table = table;
    this.#enrolled = enrolled;
    this.stats = {
      ...stats,
      keys: table.size,
      bytes: table.bytes,
      bytesPerKey: table.size === 0 ? 0 : table.bytes / table.size,
    };
  }

  /** An index of nobody (the new tenant is empty). */
  static empty(): MigratedIndex {
    return new MigratedIndexBuilder().build();
  }

  get size(): number {
    return this.#table.size;
  }

  /** How the user matches the new tenant, if it does. `userId` without `auth0|`; `email` lower-cased. */
  match(userId: string | undefined, email: string | undefined): AlreadyMigrated['matchedBy'] | undefined {
    const k = this.#scratch;
    if (userId !== undefined && userId !== '') {
      idKey(userId, k);
      if (this.#table.has(k)) return 'user_id';
    }
    if (email !== undefined && email !== '') {
      emailKey(email, k);
      if (this.#table.has(k)) return 'email';
    }
    return undefined;
  }

  /** Whether the new tenant's user with this id (without `auth0|`) is enrolled in MFA. */
  enrolled(userId: string | undefined): boolean {
    if (this.#enrolled === undefined || userId === undefined || userId === '') return false;
    idKey(userId, this.#scratch);
    return this.#enrolled.has(this.#scratch);
  }

  /** Whether a key computed with `idKey`/`emailKey` (keys.ts) at `keys[at..at+3]` is in the index. */
  hasKey(keys: Uint32Array, at: number): boolean {
    return this.#table.has(keys, at);
  }
}

/** Collects keys user by user, then builds a right-sized {@link MigratedIndex}. */
export class MigratedIndexBuilder {
  readonly #keys = new KeyList();
  readonly #enrolled = new KeyList();
  readonly #scratch = new Uint32Array(3);
  #users = 0;

  /**
   * Adds a user of the new tenant. `userId` with or without `auth0|`; `email` in any case;
   * `enrolled`: the export shows the user enrolled in MFA.
   */
  add(userId: unknown, email: unknown, enrolled = false): void {
    const k = this.#scratch;
    let added = false;
    if (typeof userId === 'string' && userId !== '') {
      idKey(userId.startsWith('auth0|') ? userId.slice(6) : userId, k);
      this.#keys.add(k);
      if (enrolled) this.#enrolled.add(k);
      added = true;
    }
    if (typeof email === 'string' && email.trim() !== '') {
      emailKey(email.trim().toLowerCase(), k);
      this.#keys.add(k);
      added = true;
    }
    if (added) this.#users++;
  }

  build(
    extra: Partial<Omit<MigratedIndexStats, 'keys' | 'bytes' | 'bytesPerKey' | 'users'>> = {},
  ): MigratedIndex {
    const table = KeyTable.sizedFor(this.#keys.count, { load: INDEX_LOAD });
    this.#keys.drainInto(table);
    let enrolled: KeyTable | undefined;
    if (this.#enrolled.count > 0) {
      enrolled = KeyTable.sizedFor(this.#enrolled.count, { load: INDEX_LOAD });
      this.#enrolled.drainInto(enrolled);
    }
    return new MigratedIndex(
      table,
      {
        records: extra.records ?? this.#users,
        users: this.#users,
        otherConnection: extra.otherConnection ?? 0,
        malformed: extra.malformed ?? [],
      },
      enrolled,
    );
  }
}

export interface BuildMigratedIndexOptions {
  /**
   * The new tenant's database connection. When given, only users with an identity in it count
   * (an export of the whole tenant also lists social users, who are not database users).
   */
  connection?: string;
  /** Name for messages. @defaultValue the path */
  name?: string;
  /** Filled while reading. */
  state?: ReadState;
  /** Malformed lines listed in the stats at most. @defaultValue 100 */
  maxMalformedListed?: number;
}

/**
 * Reads an export of the new tenant (.ndjson, .ndjson.gz or JSON array) into a
 * {@link MigratedIndex}. Throws {@link PipelineInputError} when the file cannot be read through.
 */
export async function buildMigratedIndex(
  input: ExportInput,
  options: BuildMigratedIndexOptions = {},
): Promise<MigratedIndex> {
  const builder = new MigratedIndexBuilder();
  const state = options.state ?? createReadState();
  const malformed: MigratedIndexStats['malformed'] = [];
  const maxListed = options.maxMalformedListed ?? 100;
  let otherConnection = 0;
  for await (const chunk of readExportChunks(input, {
    ...(options.name !== undefined && { name: options.name }),
    state,
  })) {
    for (const item of chunk) {
      if (item.kind !== 'record') {
        if (malformed.length < maxListed) malformed.push({ line: item.source.line, detail: item.detail });
        continue;
      }
      const r = item.record;
      const userId = r.user_id ?? r.Id;
      const email = r.email ?? r.Email;
      if (options.connection !== undefined && !inConnection(r, options.connection)) {
        otherConnection++;
        continue;
      }
      const identityId = databaseIdentityId(r, options.connection);
      builder.add(identityId ?? userId, email, Array.isArray(r.multifactor) && r.multifactor.length > 0);
    }
  }
  return builder.build({ records: state.records + state.malformed, otherConnection, malformed });
}

function inConnection(r: Record<string, unknown>, connection: string): boolean {
  const identities = r.identities;
  if (Array.isArray(identities) && identities.length > 0) {
    return identities.some(
      (i) => i !== null && typeof i === 'object' && (i as Record<string, unknown>).connection === connection,
    );
  }
  const label = r.Connection;
  if (typeof label === 'string' && label !== '') return label === connection;
  const id = r.user_id ?? r.Id;
  if (typeof id === 'string') {
    const bar = id.indexOf('|');
    return bar <= 0 || id.slice(0, bar) === 'auth0';
  }
  return true;
}

/** The id of the user's identity in the connection (the id it was imported or lazily migrated under). */
function databaseIdentityId(r: Record<string, unknown>, connection: string | undefined): string | undefined {
  if (connection === undefined || !Array.isArray(r.identities)) return undefined;
  for (const i of r.identities as unknown[]) {
    if (i !== null && typeof i === 'object') {
      const identity = i as Record<string, unknown>;
      if (
        identity.connection === connection &&
        typeof identity.user_id === 'string' &&
        identity.user_id !== ''
      ) {
        return identity.user_id;
      }
    }
  }
  return undefined;
}

/** Skips that a match in the new tenant overrides: the user is there, whatever is wrong with the record. */
const OVERRIDDEN_BY_MIGRATED: ReadonlySet<Skipped['reason']> = new Set([
  'no_email',
  'invalid_email',
  'schema_invalid',
]);

/**
 * Skip-migrated stage on its own: candidates that are already in the new tenant become
 * {@link AlreadyMigrated}, and so do users skipped for their email or the schema (matched by the
 * exported id and email; the composed pipeline also knows the database identity's id).
 */
export async function* skipMigrated(
  items: AsyncIterable<ImportCandidate | Skipped>,
  index: MigratedIndex,
): AsyncGenerator<ImportCandidate | Skipped | AlreadyMigrated> {
  for await (const item of items) {
    if (item.kind !== 'import') {
      const id = item.source.userId;
      const by = OVERRIDDEN_BY_MIGRATED.has(item.reason)
        ? index.match(id?.startsWith('auth0|') ? id.slice(6) : id, item.source.email)
        : undefined;
      yield by === undefined ? item : { kind: 'already_migrated', source: item.source, matchedBy: by };
      continue;
    }
    const by = index.match(item.user.user_id, item.user.email);
    yield by === undefined ? item : { kind: 'already_migrated', source: item.source, matchedBy: by };
  }
}
