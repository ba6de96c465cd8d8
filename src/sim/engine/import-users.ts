/**
 * What an Auth0 import job does with each user of its file: schema validation with Auth0's error
 * codes, duplicates within the file, matching existing users (email, user_id, username, phone),
 * insert or upsert, then the user's MFA factors. Invalid users fail alone; the job goes on.
 */
import { newObjectIdHex } from '../ids.js';
import { importUserErrors, type SchemaError } from '../schemas.js';
import { authenticatorsFromFactors, type SimAuthenticator } from '../tenant/authenticators.js';
import type { ImportCounts, ImportUserError } from '../tenant/jobs.js';
import type { SimTenant } from '../tenant/tenant.js';
import type { SimUser } from '../tenant/users.js';

// A deliberate copy of src/pipeline/transform.ts's list: the simulator stays an independent check.
/** app_metadata keys Auth0 reserves (bulk-import schema page, metadata docs). */
const RESERVED_APP_METADATA = [
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
];

/** Attributes an upsert may change (the `upsertable` tags of the import schema). */
const UPSERTABLE_STRINGS = ['family_name', 'given_name', 'name', 'nickname', 'picture'] as const;

/**
 * The user as `/errors` shows it: hash values and HMAC keys redacted, and TOTP secrets (Auth0
 * documents the redaction of hashes only; a secret is treated the same way here).
 */
export function redactUser(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const copy = structuredClone(raw) as Record<string, unknown>;
  if (typeof copy.password_hash === 'string') copy.password_hash = '*****';
  if (Array.isArray(copy.mfa_factors)) {
    for (const f of copy.mfa_factors as unknown[]) {
      const totp = (f as { totp?: Record<string, unknown> } | null)?.totp;
      if (totp !== null && typeof totp === 'object' && 'secret' in totp) totp.secret = '*****';
    }
  }
  const custom = copy.custom_password_hash as Record<string, unknown> | undefined;
  const hash = custom?.hash as Record<string, unknown> | undefined;
  if (hash && typeof hash === 'object') {
    if ('value' in hash) hash.value = '*****';
    const key = hash.key as Record<string, unknown> | undefined;
    if (key && typeof key === 'object' && 'value' in key) key.value = '*****';
  }
  return copy;
}

// A deliberate copy of the rule src/pipeline/duplicates.ts anticipates: the simulator stays independent.
/** Per-file state: keys already provided earlier in the same file. */
export class FileDuplicates {
  readonly #seen = new Map<string, Set<string>>([
    ['email', new Set()],
    ['user_id', new Set()],
    ['username', new Set()],
    ['phone_number', new Set()],
  ]);

  /** The field this user repeats, if any; otherwise records its keys. */
  check(u: Record<string, unknown>): string | undefined {
    const keys: Array<[string, string]> = [];
    for (const field of this.#seen.keys()) {
      const v = u[field];
      if (typeof v === 'string')
        keys.push([field, field === 'email' || field === 'username' ? v.toLowerCase() : v]);
    }
    for (const [field, v] of keys) if (this.#seen.get(field)!.has(v)) return field;
    for (const [field, v] of keys) this.#seen.get(field)!.add(v);
    return undefined;
  }
}

/**
 * Levels of objects and arrays a user may nest, the user being level 1. Auth0 documents no depth
 * limit; its profile store refuses documents nested more than 100 levels [inference], which its
 * import answers as one user's failure. A deliberate copy of src/pipeline/profile-checks.ts: the
 * simulator shares no code with what it checks.
 */
const MAX_NESTING = 100;

/** The top-level field that nests more than {@link MAX_NESTING} levels (iteratively: any depth is safe). */
function tooDeepField(u: Record<string, unknown>): string | undefined {
  for (const [field, value] of Object.entries(u)) {
    if (value === null || typeof value !== 'object') continue;
    const stack: Array<[unknown, number]> = [[value, 2]];
    while (stack.length > 0) {
      const [node, depth] = stack.pop()!;
      if (depth > MAX_NESTING) return field;
      for (const child of Object.values(node as object)) {
        if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
      }
    }
  }
  return undefined;
}

/** Where a metadata field name holds `.` or `$` ("Metadata field names must not contain . or $"), at any depth. */
function invalidMetadataKeys(u: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const field of ['app_metadata', 'user_metadata']) {
    const md = u[field];
    if (!md || typeof md !== 'object' || Array.isArray(md)) continue;
    const stack: Array<[unknown, string]> = [[md, field]];
    while (stack.length > 0) {
      const [node, path] = stack.pop()!;
      const entries = Object.entries(node as object);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        const at = Array.isArray(node) ? `${path}[${key}]` : `${path}.${key}`;
        if (!Array.isArray(node) && (key.includes('.') || key.includes('$'))) out.push(at);
        if (child !== null && typeof child === 'object') stack.push([child, at]);
      }
    }
  }
  return out;
}

function extraChecks(u: Record<string, unknown>, maxProfileBytes: number): SchemaError[] {
  const out: SchemaError[] = [];
  if (u.password_hash !== undefined && u.custom_password_hash !== undefined) {
    out.push({
      code: 'NOT_PASSED',
      message: 'password_hash and custom_password_hash are mutually exclusive',
      path: 'custom_password_hash',
    });
  }
  const am = u.app_metadata;
  if (am && typeof am === 'object' && !Array.isArray(am)) {
    for (const key of Object.keys(am)) {
      if (RESERVED_APP_METADATA.includes(key)) {
        out.push({
          code: 'NOT_PASSED',
          message: `app_metadata must not contain the reserved key "${key}"`,
          path: `app_metadata.${key}`,
        });
      }
    }
  }
  for (const path of invalidMetadataKeys(u)) {
    out.push({
      code: 'NOT_PASSED',
      message: `${path.split(/[.[]/)[0]} field names must not contain "." or "$"`,
      path,
    });
  }
  if (out.length === 0 && Buffer.byteLength(JSON.stringify(u)) > maxProfileBytes) {
    out.push({
      code: 'PROFILE_SIZE_EXCEEDED',
      message: `The user profile exceeds the maximum size of ${maxProfileBytes} bytes`,
      path: '',
    });
  }
  return out;
}

const withoutEmptyPath = (errors: SchemaError[]) =>
  errors.map((e) => (e.path === '' ? { code: e.code, message: e.message } : e));

/**
 * Imports one user of a file into `connection`. Returns the error entry when the user failed.
 */
export function importOne(
  tenant: SimTenant,
  connection: string,
  raw: unknown,
  upsert: boolean,
  duplicates: FileDuplicates,
  counts: ImportCounts,
): ImportUserError | undefined {
  const failWith = (errors: SchemaError[] | Array<{ code: string; message: string }>): ImportUserError => {
    counts.failed++;
    return { user: redactUser(raw), errors: withoutEmptyPath(errors as SchemaError[]) };
  };
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const deep = tooDeepField(raw as Record<string, unknown>);
    if (deep !== undefined) {
      counts.failed++;
      // Shown without its nested fields: the /errors answer could not be serialised with them.
      const shown: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(raw)) if (v === null || typeof v !== 'object') shown[k] = v;
      if (typeof shown.password_hash === 'string') shown.password_hash = '*****';
      return {
        user: shown,
        errors: [
          { code: 'NOT_PASSED', message: `Objects nest more than ${MAX_NESTING} levels deep`, path: deep },
        ],
      };
    }
  }
  // Factors are imported after the user, so they are validated on their own (see importFactors).
  const schemaErrors = importUserErrors(withoutFactors(raw));
  if (schemaErrors.length > 0) return failWith(schemaErrors);
  const u = raw as Record<string, unknown>;
  const extra = extraChecks(u, tenant.options.maxProfileBytes);
  if (extra.length > 0) return failWith(extra);

  const repeated = duplicates.check(u);
  if (repeated !== undefined) {
    return failWith([
      { code: 'DUPLICATED_USER', message: `A user with this ${repeated} was already provided.` },
    ]);
  }

  const email = (u.email as string).toLowerCase();
  const store = tenant.users;
  const byEmail = store.findByEmail(email, connection)[0];
  const idGiven = typeof u.user_id === 'string' ? `auth0|${u.user_id}` : undefined;
  const byIdRaw = idGiven === undefined ? undefined : store.get(idGiven);
  const byId = byIdRaw?.connection === connection ? byIdRaw : undefined;
  const byUsername =
    typeof u.username === 'string' ? store.findByUsername(u.username, connection) : undefined;
  const byPhone =
    typeof u.phone_number === 'string' ? store.findByPhone(u.phone_number, connection) : undefined;

  if (byEmail === undefined && byId === undefined && byUsername === undefined && byPhone === undefined) {
    if (byIdRaw !== undefined) {
      return failWith([
        { code: 'CONFLICT', message: 'A user with this user_id already exists in another connection' },
      ]);
    }
    // An identity linked to another user keeps its id taken.
    if (idGiven !== undefined && store.findLinked(idGiven) !== undefined) {
      return failWith([
        upsert
          ? { code: 'CONFLICT', message: 'The user_id is already used by another user of this connection' }
          : { code: 'DUPLICATED_USER', message: 'The user already exist and upsert parameter is false' },
      ]);
    }
    const user = newUser(u, email, connection, idGiven);
    const factors = importFactors(u);
    if (Array.isArray(factors)) user.authenticators = factors;
    store.insert(user);
    tenant.stats.importedUserIds.push(user.user_id);
    if (factors !== undefined && !Array.isArray(factors)) return failWith([factors]);
    counts.inserted++;
    return undefined;
  }
  if (!upsert) {
    return failWith([
      { code: 'DUPLICATED_USER', message: 'The user already exist and upsert parameter is false' },
    ]);
  }
  // Upsert matches on email; another user holding the given id, username or phone is a conflict.
  if (byEmail === undefined) {
    return failWith([
      byUsername !== undefined
        ? {
            code: 'CONFLICT_USERNAME',
            message: 'The username is already used by another user of this connection',
          }
        : {
            code: 'CONFLICT',
            message: 'The user_id or phone_number is already used by another user of this connection',
          },
    ]);
  }
  if (byUsername !== undefined && byUsername.user_id !== byEmail.user_id) {
    return failWith([
      {
        code: 'CONFLICT_USERNAME',
        message: 'The username is already used by another user of this connection',
      },
    ]);
  }
  if (
    byEmail.connection !== connection ||
    (byId !== undefined && byId.user_id !== byEmail.user_id) ||
    (byPhone !== undefined && byPhone.user_id !== byEmail.user_id)
  ) {
    return failWith([
      {
        code: 'CONFLICT',
        message: 'The user_id or phone_number is already used by another user of this connection',
      },
    ]);
  }
  const factors = importFactors(u);
  store.update(byEmail.user_id, (existing) => {
    applyUpsert(existing, u);
    if (Array.isArray(factors)) existing.authenticators = factors;
  });
  tenant.stats.importedUserIds.push(byEmail.user_id);
  if (factors !== undefined && !Array.isArray(factors)) return failWith([factors]);
  counts.updated++;
  return undefined;
}

function withoutFactors(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const { mfa_factors: _factors, ...rest } = raw as Record<string, unknown>;
  return rest;
}

/**
 * A user's `mfa_factors` as enrolments (none given: none), or Auth0's MFA_FACTORS_FAILED. The user
 * is inserted or updated either way; under upsert, imported factors replace the user's enrolments.
 */
function importFactors(u: Record<string, unknown>): SimAuthenticator[] | undefined | SchemaError {
  if (!('mfa_factors' in u)) return undefined;
  const made = authenticatorsFromFactors(u.mfa_factors, new Date().toISOString());
  if (Array.isArray(made)) return made;
  return { code: 'MFA_FACTORS_FAILED', message: 'Unable to import factors', path: made.path };
}

function newUser(
  u: Record<string, unknown>,
  email: string,
  connection: string,
  id: string | undefined,
): SimUser {
  const now = new Date().toISOString();
  const user: SimUser = {
    user_id: id ?? `auth0|${newObjectIdHex()}`,
    connection,
    provider: 'auth0',
    isSocial: false,
    email,
    // Auth0 sets email_verified to false for an added email unless the file says true.
    email_verified: u.email_verified === true,
    created_at: now,
    updated_at: now,
    logins_count: 0,
  };
  for (const k of [
    'username',
    'given_name',
    'family_name',
    'name',
    'nickname',
    'picture',
    'phone_number',
  ] as const) {
    if (typeof u[k] === 'string') user[k] = u[k] as string;
  }
  if (typeof u.phone_verified === 'boolean') user.phone_verified = u.phone_verified;
  if (typeof u.blocked === 'boolean') user.blocked = u.blocked;
  user.nickname ??= email.split('@')[0];
  user.name ??= email;
  if (u.app_metadata !== undefined) user.app_metadata = u.app_metadata as Record<string, unknown>;
  if (u.user_metadata !== undefined) user.user_metadata = u.user_metadata as Record<string, unknown>;
  if (typeof u.password_hash === 'string') user.passwordHash = u.password_hash;
  if (u.custom_password_hash !== undefined)
    user.customPasswordHash = u.custom_password_hash as Record<string, unknown>;
  return user;
}

/**
 * Upsert: only upsertable attributes change, metadata is replaced (not merged), `password_hash`
 * is ignored (it can only be set on first import), `custom_password_hash` replaces the password.
 */
function applyUpsert(existing: SimUser, u: Record<string, unknown>): void {
  for (const k of UPSERTABLE_STRINGS) if (typeof u[k] === 'string') existing[k] = u[k] as string;
  if (u.app_metadata !== undefined) existing.app_metadata = u.app_metadata as Record<string, unknown>;
  if (u.user_metadata !== undefined) existing.user_metadata = u.user_metadata as Record<string, unknown>;
  // "With or without upsert, email_verified is set to false ... unless the file says true."
  existing.email_verified = u.email_verified === true;
  if (u.custom_password_hash !== undefined) {
    existing.customPasswordHash = u.custom_password_hash as Record<string, unknown>;
    delete existing.passwordHash;
  }
  existing.updated_at = new Date().toISOString();
}
