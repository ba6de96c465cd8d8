/**
 * A user as the simulated tenant keeps it, and its Management API representation.
 * Password hashes and TOTP secrets live here and never leave through the API.
 */
import { createHash } from 'node:crypto';
import { multifactorOf, type SimAuthenticator } from './authenticators.js';

export interface SimIdentity {
  connection: string;
  provider: string;
  /** The id without the provider prefix, as Auth0 shows it in `identities`. */
  user_id: string;
  isSocial: boolean;
}

/**
 * An identity linked to a primary user (`identities[1..]`): the standalone user it was is gone,
 * its profile kept as `profileData`, and a database identity keeps its credentials (logging in
 * with them reaches the primary).
 */
export interface SimLinkedIdentity extends SimIdentity {
  profileData: Record<string, unknown>;
  /** bcrypt hash; never in an API answer. */
  passwordHash?: string;
  /** Auth0's `custom_password_hash` object; never in an API answer. */
  customPasswordHash?: Record<string, unknown>;
  /** A generated database identity's password is that of generated user `generatedIndex`. */
  generatedIndex?: number;
}

export interface SimUser {
  user_id: string;
  /** The connection of the primary identity. */
  connection: string;
  provider: string;
  isSocial: boolean;
  email?: string;
  email_verified?: boolean;
  username?: string;
  phone_number?: string;
  phone_verified?: boolean;
  given_name?: string;
  family_name?: string;
  name?: string;
  nickname?: string;
  picture?: string;
  blocked?: boolean;
  app_metadata?: Record<string, unknown>;
  user_metadata?: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  last_login?: string;
  last_ip?: string;
  /** When the password was last changed (PATCH with a password, a password-change ticket). */
  last_password_reset?: string;
  logins_count?: number;
  /** bcrypt hash; never in an API answer. */
  passwordHash?: string;
  /** Auth0's `custom_password_hash` object as imported; never in an API answer. */
  customPasswordHash?: Record<string, unknown>;
  /** Identities linked to this user, after its own. */
  identities?: SimLinkedIdentity[];
  /** MFA enrolments (authentication methods). */
  authenticators?: SimAuthenticator[];
  /** Index of a generated user (its password is derived from it), undefined otherwise. */
  generatedIndex?: number;
}

/**
 * The `picture` Auth0 gives a user created without one, as recorded from real tenants (go-auth0's
 * TestUserManager_Create: chuck@example.com → `https://s.gravatar.com/avatar/0b79e7da…?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2Fch.png`):
 * the gravatar of the lower-cased email, falling back to Auth0's avatar named by
 * {@link avatarInitials}. Users without an email get the gravatar of the empty string (unrecorded).
 */
export function defaultPicture(u: Pick<SimUser, 'email' | 'name' | 'nickname' | 'username'>): string {
  return gravatarPicture(u.email, avatarInitials(u.name ?? u.email ?? u.nickname ?? u.username ?? ''));
}

/** The gravatar URL of `email` with Auth0's fallback avatar `initials`.png. */
export function gravatarPicture(email: string | undefined, initials: string): string {
  const hash = createHash('md5')
    .update((email ?? '').trim().toLowerCase())
    .digest('hex');
  const fallback = encodeURIComponent(`https://cdn.auth0.com/avatars/${initials}.png`);
  return `https://s.gravatar.com/avatar/${hash}?s=480&r=pg&d=${fallback}`;
}

/**
 * The letters of Auth0's fallback avatar: the first letters of the first two words of the name
 * ("Daniel Geslin" → `dg`), or the first two letters of a one-word name or an email
 * (`chuck@example.com` → `ch`), lower-cased.
 */
export function avatarInitials(name: string): string {
  const words = name.trim().toLowerCase().split(/\s+/u).filter(Boolean);
  if (words.length >= 2) return [...words[0]!][0]! + [...words[1]!][0]!;
  return [...(words[0] ?? '')].slice(0, 2).join('');
}

/** The id inside `identities` (no `provider|` prefix). */
export function identityUserId(user: Pick<SimUser, 'user_id' | 'provider'>): string {
  const prefix = `${user.provider}|`;
  return user.user_id.startsWith(prefix) ? user.user_id.slice(prefix.length) : user.user_id;
}

/** The user as GET /api/v2/users/{id} answers it (Auth0's key order, absent fields left out). */
export function toApiUser(u: SimUser): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  out.created_at = u.created_at;
  if (u.email !== undefined) out.email = u.email;
  if (u.email_verified !== undefined) out.email_verified = u.email_verified;
  if (u.family_name !== undefined) out.family_name = u.family_name;
  if (u.given_name !== undefined) out.given_name = u.given_name;
  out.identities = [
    { connection: u.connection, provider: u.provider, user_id: identityUserId(u), isSocial: u.isSocial },
    ...(u.identities ?? []).map(linkedIdentityApi),
  ];
  if (u.name !== undefined) out.name = u.name;
  if (u.nickname !== undefined) out.nickname = u.nickname;
  if (u.phone_number !== undefined) out.phone_number = u.phone_number;
  if (u.phone_verified !== undefined) out.phone_verified = u.phone_verified;
  if (u.picture !== undefined) out.picture = u.picture;
  out.updated_at = u.updated_at;
  out.user_id = u.user_id;
  if (u.username !== undefined) out.username = u.username;
  if (u.user_metadata !== undefined) out.user_metadata = u.user_metadata;
  if (u.app_metadata !== undefined) out.app_metadata = u.app_metadata;
  if (u.blocked !== undefined) out.blocked = u.blocked;
  if (u.last_ip !== undefined) out.last_ip = u.last_ip;
  if (u.last_login !== undefined) out.last_login = u.last_login;
  if (u.last_password_reset !== undefined) out.last_password_reset = u.last_password_reset;
  if (u.logins_count !== undefined) out.logins_count = u.logins_count;
  const multifactor = multifactorOf(u.authenticators);
  if (multifactor !== undefined) out.multifactor = multifactor;
  return out;
}

/** A linked identity as `identities[]` shows it: the secondary's profile under `profileData`. */
export function linkedIdentityApi(i: SimLinkedIdentity): Record<string, unknown> {
  return {
    profileData: i.profileData,
    connection: i.connection,
    user_id: i.user_id,
    provider: i.provider,
    isSocial: i.isSocial,
  };
}

/** The profile attributes Auth0 keeps as a linked identity's `profileData`. */
export function profileDataOf(u: SimUser): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of [
    'email',
    'email_verified',
    'name',
    'username',
    'given_name',
    'family_name',
    'nickname',
    'picture',
    'phone_number',
    'phone_verified',
  ] as const) {
    if (u[k] !== undefined) out[k] = u[k];
  }
  return out;
}

/** The connections a user has an identity in: its own first, then its linked identities'. */
export function userConnections(u: Pick<SimUser, 'connection' | 'identities'>): string[] {
  const out = [u.connection];
  for (const i of u.identities ?? []) if (!out.includes(i.connection)) out.push(i.connection);
  return out;
}

/**
 * The address a verification email or ticket for this user goes to, or why there is none (the
 * OAS's 400 descriptions). Without `identity` the primary identity is meant, which must be a
 * database one (Auth0 needs `identity` for social, enterprise and secondary identities).
 */
export function addressToVerify(
  user: SimUser,
  identity: { user_id: string; provider: string } | undefined,
): { email: string } | { problem: string } {
  if (identity === undefined) {
    if (user.provider !== 'auth0') return { problem: 'Connection must be a database connection.' };
    return user.email === undefined
      ? { problem: 'User does not have an email address.' }
      : { email: user.email };
  }
  const own = identity.provider === user.provider && identity.user_id === identityUserId(user);
  const linked = (user.identities ?? []).find(
    (i) => i.provider === identity.provider && i.user_id === identity.user_id,
  );
  if (!own && linked === undefined) {
    return { problem: 'The user exists, but does not contain the given identity.' };
  }
  const email = own ? user.email : linked!.profileData.email;
  return typeof email === 'string' ? { email } : { problem: 'User does not have an email address.' };
}
