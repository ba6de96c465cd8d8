/**
 * Transform stage: one exported user to one Auth0 import user, or a reason it cannot be imported.
 *
 * - Only users with an identity in the database connection being migrated are imported
 *   (`not_database_user` otherwise: social, enterprise, other databases).
 * - `user_id` loses its `auth0|` prefix (Auth0 adds it back), so a user keeps the id it has in
 *   the old tenant, as the lazy-migration login script also does (DESIGN.md, one id scheme).
 * - The email is lower-cased (Auth0 stores database emails lower-cased, and the migrated index
 *   matches on it); `email_verified` is always written, because an import without it resets the
 *   flag to false.
 * - `app_metadata` loses the keys Auth0 reserves; export-only fields (identities, timestamps,
 *   login counts) are dropped; anything else not in the import schema is dropped and named in
 *   `notes`. Password hashes come only from the password-hash file (see password-hashes.ts).
 *
 * Keys may be Auth0's field names or the Import/Export extension's default labels ("Id",
 * "Email Verified", ...). An input where no record has a key for the user id or the email is
 * not an export this tool understands: it ends with an error listing the keys found.
 */
import { PipelineInputError } from './errors.js';
import { MAX_NESTING, nestsDeeperThan } from './profile-checks.js';
import { isSchemaEmail } from './schema.js';
import type { ExportRecord, ImportCandidate, ImportUser, RecordSource, Skipped } from './types.js';

/** The keys Auth0 refuses in `app_metadata` (bulk-import schema page and metadata docs). */
export const RESERVED_APP_METADATA_KEYS: ReadonlySet<string> = new Set([
  '__tenant',
  '_id',
  'blocked',
  'clientID',
  'created_at',
  'email_verified',
  'email',
  'globalClientID',
  'global_client_id',
  'identities',
  'lastIP',
  'lastLogin',
  'loginsCount',
  'metadata',
  'multifactor_last_modified',
  'multifactor',
  'updated_at',
  'user_id',
]);

/** The Import/Export extension's default field labels and the fields they stand for. */
export const EXTENSION_LABELS: Readonly<Record<string, string>> = {
  Id: 'user_id',
  'Given Name': 'given_name',
  'Family Name': 'family_name',
  Nickname: 'nickname',
  Name: 'name',
  Email: 'email',
  'Email Verified': 'email_verified',
  Picture: 'picture',
  Connection: 'identities[0].connection',
  'Created At': 'created_at',
  'Updated At': 'updated_at',
};

/** Fields of an export that have no place in an import file and are dropped without a note. */
const EXPORT_ONLY: ReadonlySet<string> = new Set([
  'created_at',
  'updated_at',
  'last_login',
  'last_ip',
  'logins_count',
  'last_password_reset',
  'multifactor',
  'multifactor_last_modified',
  'Created At',
  'Updated At',
]);

/** Fields that would carry a password or an MFA secret: never taken from an export record. */
const SECRET_FIELDS: ReadonlySet<string> = new Set([
  'password_hash',
  'custom_password_hash',
  'mfa_factors',
  'passwordHash',
]);

export interface TransformOptions {
  /** The old tenant's database connection: only users with an identity in it are imported. */
  connection: string;
  /** Skip blocked users (`blocked_excluded`) instead of importing them blocked. @defaultValue false */
  skipBlocked?: boolean;
  /** Name of the input, for the unmapped-fields error. @defaultValue `input` */
  name?: string;
}

/**
 * Refuses an input none of whose first {@link UNMAPPED_LIMIT} records has a key for the user id
 * or the email (an export with field names this tool does not know). Feed it every record in
 * input order.
 */
export class FieldCheck {
  #mapped = false;
  #unmapped = 0;
  readonly #keysSeen = new Set<string>();
  readonly #name: string;

  constructor(name: string) {
    this.#name = name;
  }

  /** Whether records still need checking (false once one maps). */
  get open(): boolean {
    return !this.#mapped;
  }

  /** One record: `unmappedKeys` are its keys when it has neither id nor email, else undefined. */
  record(unmappedKeys: readonly string[] | undefined): void {
    if (this.#mapped) return;
    if (unmappedKeys === undefined) {
      this.#mapped = true;
      return;
    }
    this.#unmapped++;
    for (const k of unmappedKeys) if (this.#keysSeen.size < 50) this.#keysSeen.add(k);
    if (this.#unmapped >= UNMAPPED_LIMIT) throw this.#refuse();
  }

  /** At the end of input. */
  finish(): void {
    if (!this.#mapped && this.#unmapped > 0) throw this.#refuse();
  }

  #refuse(): PipelineInputError {
    const name = this.#name;
    return new PipelineInputError(
      'unmapped_fields',
      name,
      `${name}: no field of the first ${this.#unmapped} record(s) maps to a user id or an email; keys found: ${[...this.#keysSeen].join(', ') || '(none)'}`,
      {
        hint: `Export with Auth0's field names (user_id, email, email_verified, identities, ...) or the Import/Export extension's default labels (${Object.keys(EXTENSION_LABELS).join(', ')}).`,
      },
    );
  }
}

export interface Transformer {
  /** The import candidate, or why the record cannot be imported. `original` is the record itself. */
  transform(record: ExportRecord, line: number): ImportCandidate | Skipped;
  /** Call at the end of input: throws when no record had a key for the user id or the email. */
  finish(): void;
  /**
   * The database id (without `auth0|`) the last {@link transform} found, also when it skipped the
   * record for its email, so a skipped user can still be matched against the new tenant.
   */
  readonly lastId: string | undefined;
}

/** Records with no id or email key, from the start of input, after which the input is refused. */
const UNMAPPED_LIMIT = 10;

export function createTransformer(options: TransformOptions): Transformer {
  if (typeof options.connection !== 'string' || options.connection === '') {
    throw new PipelineInputError(
      'bad_option',
      options.name ?? 'input',
      'The transform needs the name of the database connection to import from.',
    );
  }
  const connection = options.connection;
  const skipBlocked = options.skipBlocked === true;
  const fields = new FieldCheck(options.name ?? 'input');
  let lastId: string | undefined;

  function transform(record: ExportRecord, line: number): ImportCandidate | Skipped {
    // One pass over the keys; a switch on the key is the cheapest dispatch V8 offers here.
    let rawId: unknown;
    let rawEmail: unknown;
    let verified: unknown;
    let username: unknown;
    let givenName: unknown;
    let familyName: unknown;
    let fullName: unknown;
    let nickname: unknown;
    let picture: unknown;
    let phoneNumber: unknown;
    let phoneVerified: unknown;
    let blocked: unknown;
    let appMetadata: unknown;
    let userMetadata: unknown;
    let identities: unknown;
    let labelConnection: unknown;
    let multifactor: unknown;
    let hasSecret = false;
    let unknown: string[] | undefined;
    lastId = undefined;
    for (const key in record) {
      switch (key) {
        case 'user_id':
        case 'Id':
          rawId = record[key];
          break;
        case 'email':
        case 'Email':
          rawEmail = record[key];
          break;
        case 'email_verified':
        case 'Email Verified':
          verified = record[key];
          break;
        case 'given_name':
        case 'Given Name':
          givenName = record[key];
          break;
        case 'family_name':
        case 'Family Name':
          familyName = record[key];
          break;
        case 'name':
        case 'Name':
          fullName = record[key];
          break;
        case 'nickname':
        case 'Nickname':
          nickname = record[key];
          break;
        case 'picture':
        case 'Picture':
          picture = record[key];
          break;
        case 'username':
          username = record.username;
          break;
        case 'phone_number':
          phoneNumber = record.phone_number;
          break;
        case 'phone_verified':
          phoneVerified = record.phone_verified;
          break;
        case 'blocked':
          blocked = record.blocked;
          break;
        case 'app_metadata':
          appMetadata = record.app_metadata;
          break;
        case 'user_metadata':
          userMetadata = record.user_metadata;
          break;
        case 'identities':
          identities = record.identities;
          break;
        case 'Connection':
          labelConnection = record.Connection;
          break;
        case 'multifactor':
          multifactor = record.multifactor;
          break;
        default:
          if (SECRET_FIELDS.has(key)) hasSecret = true;
          else if (!EXPORT_ONLY.has(key)) (unknown ??= []).push(key);
      }
    }

    if (fields.open)
      fields.record(rawId !== undefined || rawEmail !== undefined ? undefined : Object.keys(record));

    const source: RecordSource = { line };
    if (typeof rawId === 'string') source.userId = rawId;
    // `multifactor` lists the MFA providers the user is enrolled with (e.g. ["guardian"]).
    if (Array.isArray(multifactor) && multifactor.length > 0) source.mfaEnrolled = true;
    if (nestsDeeperThan(record, MAX_NESTING)) {
      // Before anything that walks the record; its original goes nowhere, since nothing could write it.
      const bare = stripDatabasePrefix(rawId);
      if (typeof bare === 'string' && bare !== '' && !bare.includes('|')) lastId = bare;
      return skip(
        source,
        undefined,
        'too_deep',
        `the record nests objects or arrays more than ${MAX_NESTING} levels deep`,
        rawEmail,
      );
    }
    const original = hasSecret ? withoutSecrets(record) : record;

    // Which identity is the database one decides both whether to import and under which id.
    let id: unknown = rawId;
    let notes: string[] | undefined;
    if (Array.isArray(identities) && identities.length > 0) {
      const identity = findIdentity(identities, connection);
      if (identity === undefined) {
        return skip(
          source,
          original,
          'not_database_user',
          `no identity in connection "${connection}" (identities: ${listConnections(identities)})`,
          rawEmail,
        );
      }
      const identityId = identity.user_id;
      if (typeof identityId === 'string' && identityId !== '') {
        id = identityId;
        if (typeof rawId === 'string' && rawId !== `auth0|${identityId}` && rawId !== identityId) {
          (notes ??= []).push(
            `linked account: primary id ${rawId}; imported as its "${connection}" identity, a user of its own, which the relations stage links to the primary once that is in the new tenant`,
          );
          const profileEmail = (identity.profileData as Record<string, unknown> | undefined)?.email;
          if (typeof profileEmail === 'string' && profileEmail !== '') rawEmail = profileEmail;
        }
      } else id = stripDatabasePrefix(rawId);
    } else if (labelConnection !== undefined && labelConnection !== null && labelConnection !== '') {
      if (labelConnection !== connection) {
        return skip(
          source,
          original,
          'not_database_user',
          `connection is "${String(labelConnection)}", not "${connection}"`,
          rawEmail,
        );
      }
      id = stripDatabasePrefix(rawId);
    } else if (typeof rawId === 'string') {
      const bar = rawId.indexOf('|');
      if (bar > 0 && !rawId.startsWith('auth0|')) {
        return skip(
          source,
          original,
          'not_database_user',
          `user_id is from provider "${rawId.slice(0, bar)}", not a database connection`,
          rawEmail,
        );
      }
      id = stripDatabasePrefix(rawId);
    }

    if (typeof id === 'string' && id !== '') lastId = id;

    if (rawEmail === undefined || rawEmail === null || rawEmail === '') {
      return skip(source, original, 'no_email', 'no email: Auth0 imports users by email', undefined);
    }
    if (typeof rawEmail !== 'string') {
      return skip(
        source,
        original,
        'invalid_email',
        `email is ${describe(rawEmail)}, not a string`,
        undefined,
      );
    }
    const email = rawEmail.trim().toLowerCase();
    source.email = email;
    if (!isSchemaEmail(email)) {
      return skip(
        source,
        original,
        'invalid_email',
        'email is not an address the import schema accepts',
        undefined,
      );
    }

    // Always in this order, so users of one export share a few object shapes.
    const out: ImportUser = {
      email,
      email_verified: verified === undefined || verified === null ? false : (toBoolean(verified) as boolean),
    };
    if (id !== undefined && id !== null && id !== '') out.user_id = id as string;
    else if (typeof rawId === 'string' && rawId !== '') {
      (notes ??= []).push(`user_id "${rawId}" has no id after its prefix; Auth0 will assign one`);
    }
    if (present(username)) out.username = username as string;
    if (present(givenName)) out.given_name = givenName as string;
    if (present(familyName)) out.family_name = familyName as string;
    if (present(fullName)) out.name = fullName as string;
    if (present(nickname)) out.nickname = nickname as string;
    if (present(picture)) out.picture = picture as string;
    if (present(phoneNumber)) out.phone_number = phoneNumber as string;
    if (phoneVerified !== undefined && phoneVerified !== null)
      out.phone_verified = toBoolean(phoneVerified) as boolean;
    if (blocked !== undefined && blocked !== null) out.blocked = toBoolean(blocked) as boolean;
    if (appMetadata !== undefined && appMetadata !== null) {
      const kept = withoutReservedKeys(appMetadata);
      out.app_metadata = kept.value;
      if (kept.dropped !== undefined) {
        (notes ??= []).push(`app_metadata: dropped keys Auth0 reserves: ${kept.dropped.join(', ')}`);
      }
    }
    if (userMetadata !== undefined && userMetadata !== null)
      out.user_metadata = userMetadata as Record<string, unknown>;

    if (out.blocked === true && skipBlocked) {
      return skip(
        source,
        original,
        'blocked_excluded',
        'blocked in the old tenant, and blocked users are excluded',
        undefined,
      );
    }
    if (unknown !== undefined) {
      (notes ??= []).push(`not imported (no such field in the import schema): ${unknown.join(', ')}`);
    }
    if (hasSecret) {
      (notes ??= []).push(
        'password and MFA fields of the input are not imported; password hashes come from the hash file',
      );
    }

    const candidate: ImportCandidate = { kind: 'import', source, user: out, original, hasPassword: false };
    if (notes !== undefined) candidate.notes = notes;
    return candidate;
  }

  return {
    transform,
    get lastId() {
      return lastId;
    },
    finish() {
      fields.finish();
    },
  };
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

/** app_metadata without Auth0's reserved keys (the same object when it has none); non-objects as they are, for the schema to report. */
function withoutReservedKeys(meta: unknown): { value: Record<string, unknown>; dropped?: string[] } {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta))
    return { value: meta as Record<string, unknown> };
  const m = meta as Record<string, unknown>;
  let dropped: string[] | undefined;
  for (const k in m) if (RESERVED_APP_METADATA_KEYS.has(k)) (dropped ??= []).push(k);
  if (dropped === undefined) return { value: m };
  const kept: Record<string, unknown> = {};
  for (const k in m) if (!RESERVED_APP_METADATA_KEYS.has(k)) kept[k] = m[k];
  return { value: kept, dropped };
}

function skip(
  source: RecordSource,
  original: ExportRecord | undefined,
  reason: Skipped['reason'],
  detail: string,
  rawEmail: unknown,
): Skipped {
  if (source.email === undefined && typeof rawEmail === 'string' && rawEmail !== '')
    source.email = rawEmail.trim().toLowerCase();
  const skipped: Skipped = { kind: 'skipped', source, reason, detail };
  if (original !== undefined) skipped.original = original;
  return skipped;
}

function findIdentity(identities: unknown[], connection: string): Record<string, unknown> | undefined {
  for (const i of identities) {
    if (i !== null && typeof i === 'object' && (i as Record<string, unknown>).connection === connection) {
      return i as Record<string, unknown>;
    }
  }
  return undefined;
}

function listConnections(identities: unknown[]): string {
  const names = identities
    .slice(0, 3)
    .map((i) =>
      i !== null && typeof i === 'object' ? String((i as Record<string, unknown>).connection) : '?',
    );
  return names.join(', ') + (identities.length > 3 ? ', ...' : '');
}

function stripDatabasePrefix(id: unknown): unknown {
  return typeof id === 'string' && id.startsWith('auth0|') ? id.slice(6) : id;
}

/** JSON booleans, and the strings "true"/"false" some tools write; anything else as it is (the schema reports it). */
function toBoolean(value: unknown): unknown {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** The record without password or MFA fields, so they never reach a retry file or a report. */
function withoutSecrets(record: ExportRecord): ExportRecord {
  const copy: ExportRecord = {};
  for (const k in record) if (!SECRET_FIELDS.has(k)) copy[k] = record[k];
  return copy;
}

/** The transform stage on its own: read items in, candidates and skips out (malformed lines pass through). */
export async function* transformRecords(
  items: AsyncIterable<{ kind: 'record'; source: RecordSource; record: ExportRecord } | Skipped>,
  options: TransformOptions,
): AsyncGenerator<ImportCandidate | Skipped> {
  const transformer = createTransformer(options);
  for await (const item of items) {
    yield item.kind === 'record' ? transformer.transform(item.record, item.source.line) : item;
  }
  transformer.finish();
}
