/**
 * What the simulated tenants hold at start: the old tenant's users, generated (with the shares of
 * linked accounts and MFA enrolments asked for) or read from an Auth0 export file (NDJSON,
 * optionally gzipped, linked identities included), and a share of them already in the new tenant
 * (as a lazy migration leaves it: no links, no enrolments); generated tenants also get APIs, roles
 * and who holds them (tenant/generate-rbac.ts), and organizations with their members, whose
 * member roles draw on those roles (seed-organizations.ts).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { newObjectIdHex } from './ids.js';
import type { ResolvedOptions } from './options.js';
import { hash32 } from './prng.js';
import { seedOrganizations } from './seed-organizations.js';
import { DB_CONNECTION, isMigrated } from './tenant/generate.js';
import type { SimTenant } from './tenant/tenant.js';
import type { GeneratedPopulation } from './tenant/user-store.js';
import type { SimLinkedIdentity, SimUser } from './tenant/users.js';

export async function seedTenants(
  tenants: { old: SimTenant; new: SimTenant },
  opts: ResolvedOptions,
): Promise<void> {
  if (opts.seedFile !== undefined) {
    let i = 0;
    for await (const user of readExportFile(opts.seedFile)) {
      tenants.old.users.insert(user);
      if (
        opts.seedNewMigrated > 0 &&
        user.connection === DB_CONNECTION &&
        hash32(opts.seed ^ 0x5a5a5a5a, i) / 4294967296 < opts.seedNewMigrated
      ) {
        const { identities: _links, ...migrated } = structuredClone(user);
        tenants.new.users.insert({ ...migrated, logins_count: 1 });
      }
      i++;
    }
    return;
  }
  if (opts.seedOld <= 0) return;
  const old: GeneratedPopulation = {
    seed: opts.seed,
    variant: 'old',
    indices: { count: opts.seedOld },
    extras: { linked: opts.seedLinked, mfa: opts.seedMfa },
  };
  tenants.old.users.setGenerated(old);
  tenants.old.rbac.seed(old);
  const picked: number[] = [];
  for (let i = 0; i < opts.seedOld && opts.seedNewMigrated > 0; i++) {
    if (isMigrated(opts.seed, i, opts.seedNewMigrated)) picked.push(i);
  }
  const migratedIndices = Uint32Array.from(picked);
  const migrated: GeneratedPopulation = { seed: opts.seed, variant: 'migrated', indices: migratedIndices };
  if (picked.length > 0) tenants.new.users.setGenerated(migrated);
  // The new tenant has the APIs and part of the roles even before anyone moved.
  tenants.new.rbac.seed(migrated);
  seedOrganizations(tenants, opts.seed, opts.seedOld, migratedIndices);
}

// A deliberate copy of src/pipeline/read.ts's reading: the simulator stays an independent check.
/** Reads an export file's users; `.gz` files (or gzip magic bytes) are decompressed. */
export async function* readExportFile(path: string): AsyncGenerator<SimUser> {
  const head = await new Promise<Buffer>((resolve, reject) => {
    const s = createReadStream(path, { start: 0, end: 1 });
    const parts: Buffer[] = [];
    s.on('data', (c) => parts.push(c as Buffer));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
  });
  const gz = head.length === 2 && head[0] === 0x1f && head[1] === 0x8b;
  const raw = createReadStream(path);
  const input = gz ? raw.pipe(createGunzip()) : raw;
  let line = 0;
  for await (const text of createInterface({ input, crlfDelay: Infinity })) {
    line++;
    if (text.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (err) {
      throw new Error(`${path}:${line} is not JSON (${(err as Error).message}); expected one user per line`);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      throw new Error(`${path}:${line} is not a user object; expected one JSON object per line`);
    }
    yield fromExportRecord(obj as Record<string, unknown>);
  }
}

/** An exported user (Auth0 field names) as a stored user. */
export function fromExportRecord(r: Record<string, unknown>): SimUser {
  const identities = Array.isArray(r.identities) ? (r.identities as Array<Record<string, unknown>>) : [];
  const first = identities[0] ?? {};
  const rawId = typeof r.user_id === 'string' ? r.user_id : `auth0|${newObjectIdHex()}`;
  const provider =
    typeof first.provider === 'string'
      ? first.provider
      : rawId.includes('|')
        ? rawId.slice(0, rawId.indexOf('|'))
        : 'auth0';
  const connection =
    typeof first.connection === 'string'
      ? first.connection
      : typeof r['identities[0].connection'] === 'string'
        ? (r['identities[0].connection'] as string)
        : provider === 'auth0'
          ? DB_CONNECTION
          : provider;
  const now = new Date().toISOString();
  const u: SimUser = {
    user_id: rawId,
    connection,
    provider,
    isSocial: typeof first.isSocial === 'boolean' ? first.isSocial : provider !== 'auth0',
    created_at: typeof r.created_at === 'string' ? r.created_at : now,
    updated_at: typeof r.updated_at === 'string' ? r.updated_at : now,
  };
  for (const k of [
    'email',
    'username',
    'phone_number',
    'given_name',
    'family_name',
    'name',
    'nickname',
    'picture',
    'last_login',
    'last_ip',
  ] as const) {
    if (typeof r[k] === 'string') u[k] = k === 'email' ? (r[k] as string).toLowerCase() : (r[k] as string);
  }
  for (const k of ['email_verified', 'phone_verified', 'blocked'] as const) {
    if (typeof r[k] === 'boolean') u[k] = r[k] as boolean;
  }
  if (typeof r.logins_count === 'number') u.logins_count = r.logins_count;
  if (r.app_metadata && typeof r.app_metadata === 'object')
    u.app_metadata = r.app_metadata as Record<string, unknown>;
  if (r.user_metadata && typeof r.user_metadata === 'object')
    u.user_metadata = r.user_metadata as Record<string, unknown>;
  const linked = identities.slice(1).flatMap((i): SimLinkedIdentity[] =>
    typeof i.provider === 'string' && typeof i.connection === 'string' && i.user_id !== undefined
      ? [
          {
            connection: i.connection,
            provider: i.provider,
            user_id: String(i.user_id),
            isSocial: i.isSocial === true,
            profileData:
              i.profileData !== null && typeof i.profileData === 'object'
                ? (i.profileData as Record<string, unknown>)
                : {},
          },
        ]
      : [],
  );
  if (linked.length > 0) u.identities = linked;
  return u;
}
