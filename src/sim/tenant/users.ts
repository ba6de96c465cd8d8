/**
 * A user as the simulated tenant keeps it, and its Management API representation.
 * Password hashes and TOTP secrets live here and never leave through the API.
 */
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
