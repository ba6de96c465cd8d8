/**
 * Linked accounts: linking a user into another as one of its identities, unlinking it into a
 * standalone user again, and the first login of a social or enterprise user (Auth0 creates the
 * user on it, with the provider's id).
 *
 * As Auth0 documents it: the primary keeps its id, profile and metadata; the secondary's profile
 * becomes `profileData` of its identity and its metadata is dropped; identities linked to the
 * secondary come along; the secondary stops existing as a user; deleting the primary deletes its
 * linked identities; unlinking creates a new standalone user from the identity's profile.
 */
import type { UserStore } from './user-store.js';
import type { SimTenant } from './tenant.js';
import { identityUserId, profileDataOf, type SimLinkedIdentity, type SimUser } from './users.js';

/** Strategies of enterprise connections (`isSocial: false`); the other non-database ones are social. */
const ENTERPRISE_STRATEGIES = new Set([
  'ad',
  'adfs',
  'auth0-oidc',
  'google-apps',
  'ip',
  'office365',
  'oidc',
  'okta',
  'pingfederate',
  'samlp',
  'sharepoint',
  'waad',
]);

/** Why a link was refused. */
export type LinkRefusal =
  'primary_not_found' | 'same_identity' | 'already_linked' | 'linked_elsewhere' | 'secondary_not_found';

export interface LinkTarget {
  provider: string;
  /** The secondary's id, with or without the `provider|` prefix. */
  userId: string;
  /** The secondary's connection name, when the caller named one (`connection_id`). */
  connection?: string;
}

/** The identities as link and unlink answer them: every one with its profile (recorded traffic). */
export function identitiesAnswer(u: SimUser): Array<Record<string, unknown>> {
  return [
    {
      profileData: profileDataOf(u),
      connection: u.connection,
      user_id: identityUserId(u),
      provider: u.provider,
      isSocial: u.isSocial,
    },
    ...(u.identities ?? []).map((i) => ({
      profileData: i.profileData,
      connection: i.connection,
      user_id: i.user_id,
      provider: i.provider,
      isSocial: i.isSocial,
    })),
  ];
}

function asLinkedIdentity(u: SimUser): SimLinkedIdentity {
  const identity: SimLinkedIdentity = {
    connection: u.connection,
    provider: u.provider,
    user_id: identityUserId(u),
    isSocial: u.isSocial,
    profileData: profileDataOf(u),
  };
  if (u.passwordHash !== undefined) identity.passwordHash = u.passwordHash;
  if (u.customPasswordHash !== undefined) identity.customPasswordHash = u.customPasswordHash;
  if (!u.isSocial && u.generatedIndex !== undefined) identity.generatedIndex = u.generatedIndex;
  return identity;
}

/** Links user `target` into `primaryId`; answers the primary's identities. */
export function linkIdentity(
  store: UserStore,
  primaryId: string,
  target: LinkTarget,
): Array<Record<string, unknown>> | LinkRefusal {
  const primary = store.get(primaryId);
  if (primary === undefined) return 'primary_not_found';
  const prefix = `${target.provider}|`;
  const bare = target.userId.startsWith(prefix) ? target.userId.slice(prefix.length) : target.userId;
  const fullId = `${prefix}${bare}`;
  if (fullId === primary.user_id) return 'same_identity';
  if ((primary.identities ?? []).some((i) => i.provider === target.provider && i.user_id === bare)) {
    return 'already_linked';
  }
  const secondary = store.get(fullId);
  if (secondary === undefined) return store.findLinked(fullId) ? 'linked_elsewhere' : 'secondary_not_found';
  if (target.connection !== undefined && secondary.connection !== target.connection) {
    return 'secondary_not_found';
  }
  const moved = [asLinkedIdentity(secondary), ...(secondary.identities ?? [])];
  store.delete(secondary.user_id, 'linked');
  const linked = store.update(primary.user_id, (u) => {
    u.identities = [...(u.identities ?? []), ...moved];
    u.updated_at = new Date().toISOString();
  })!;
  return identitiesAnswer(linked);
}

/**
 * Unlinks identity `provider|userId` from `primaryId` into a standalone user; answers the
 * identities that remain. An identity the user does not have leaves it as it is.
 */
export function unlinkIdentity(
  store: UserStore,
  primaryId: string,
  provider: string,
  userId: string,
): Array<Record<string, unknown>> | 'primary_not_found' | 'main_identity' {
  const primary = store.get(primaryId);
  if (primary === undefined) return 'primary_not_found';
  if (primary.provider === provider && identityUserId(primary) === userId) return 'main_identity';
  const identity = (primary.identities ?? []).find((i) => i.provider === provider && i.user_id === userId);
  if (identity === undefined) return identitiesAnswer(primary);
  const now = new Date().toISOString();
  const remaining = store.update(primary.user_id, (u) => {
    u.identities = (u.identities ?? []).filter((i) => i !== identity);
    if (u.identities.length === 0) delete u.identities;
    u.updated_at = now;
  })!;
  store.insert(standaloneUser(identity, now));
  return identitiesAnswer(remaining);
}

/** The new standalone user of an unlinked identity: its profile and credentials, no metadata. */
function standaloneUser(i: SimLinkedIdentity, now: string): SimUser {
  const u: SimUser = {
    user_id: `${i.provider}|${i.user_id}`,
    connection: i.connection,
    provider: i.provider,
    isSocial: i.isSocial,
    created_at: now,
    updated_at: now,
  };
  applyProfile(u, i.profileData);
  if (i.passwordHash !== undefined) u.passwordHash = i.passwordHash;
  if (i.customPasswordHash !== undefined) u.customPasswordHash = i.customPasswordHash;
  if (i.generatedIndex !== undefined) u.generatedIndex = i.generatedIndex;
  return u;
}

function applyProfile(u: SimUser, profile: Record<string, unknown>): void {
  for (const k of [
    'email',
    'name',
    'username',
    'given_name',
    'family_name',
    'nickname',
    'picture',
    'phone_number',
  ] as const) {
    const v = profile[k];
    if (typeof v === 'string') u[k] = k === 'email' ? v.toLowerCase() : v;
  }
  for (const k of ['email_verified', 'phone_verified'] as const) {
    if (typeof profile[k] === 'boolean') u[k] = profile[k];
  }
}

/** A login through a social or enterprise connection, as `/__sim/idp-login` takes it. */
export interface IdpLogin {
  /** `provider|id`, e.g. `google-oauth2|1234`: the provider's subject. */
  user_id: string;
  /** The connection's name. @defaultValue the tenant's connection whose strategy is the provider */
  connection?: string;
  /** What the provider says about the user. @defaultValue the profile another tenant holds for the id */
  profile?: Record<string, unknown>;
}

export type IdpLoginResult = { created: boolean; user: SimUser } | { error: string };

/**
 * What Auth0 does when someone logs in through a social or enterprise connection: the first time,
 * it creates the user under the provider's id (the same id in every tenant whose connection uses
 * the same identity-provider application); later, it records the login, on the user the identity
 * is linked to if it is linked.
 */
export function idpLogin(
  tenant: SimTenant,
  login: IdpLogin,
  elsewhere: readonly SimTenant[],
): IdpLoginResult {
  const bar = typeof login.user_id === 'string' ? login.user_id.indexOf('|') : -1;
  if (bar <= 0 || bar === login.user_id.length - 1) {
    return { error: 'user_id must be "provider|id", e.g. "google-oauth2|1234"' };
  }
  const provider = login.user_id.slice(0, bar);
  const connection =
    login.connection !== undefined
      ? tenant.connectionByName(login.connection)
      : tenant.connections.find((c) => c.strategy === provider);
  if (connection === undefined || connection.strategy === 'auth0') {
    return {
      error: `tenant "${tenant.name}" has no social or enterprise connection ${
        login.connection !== undefined ? `"${login.connection}"` : `for provider "${provider}"`
      }`,
    };
  }
  if (connection.strategy !== provider) {
    return {
      error: `connection "${connection.name}" is a "${connection.strategy}" connection, not "${provider}"`,
    };
  }
  const now = new Date().toISOString();
  const loggedIn = (u: SimUser) => {
    u.last_login = now;
    u.last_ip = '127.0.0.1';
    u.logins_count = (u.logins_count ?? 0) + 1;
  };
  const known = tenant.users.get(login.user_id) ?? tenant.users.findLinked(login.user_id)?.primary;
  if (known !== undefined) {
    tenant.stats.logins++;
    return { created: false, user: tenant.users.update(known.user_id, loggedIn)! };
  }
  const profile = login.profile ?? knownProfile(login.user_id, elsewhere);
  if (profile === undefined) {
    return { error: `no tenant knows ${login.user_id}: give its "profile"` };
  }
  const u: SimUser = {
    user_id: login.user_id,
    connection: connection.name,
    provider,
    isSocial: !ENTERPRISE_STRATEGIES.has(provider),
    created_at: now,
    updated_at: now,
  };
  applyProfile(u, profile);
  u.nickname ??= u.email?.split('@')[0];
  u.name ??= u.email;
  loggedIn(u);
  tenant.users.insert(u);
  tenant.stats.logins++;
  return { created: true, user: u };
}

function knownProfile(fullId: string, tenants: readonly SimTenant[]): Record<string, unknown> | undefined {
  for (const t of tenants) {
    const user = t.users.get(fullId);
    if (user !== undefined) return profileDataOf(user);
    const linked = t.users.findLinked(fullId);
    if (linked !== undefined) return linked.identity.profileData;
  }
  return undefined;
}
