/**
 * A user as the simulated tenant keeps it, and its Management API representation.
 * Password hashes live here and never leave through the API.
 */

export interface SimIdentity {
  connection: string;
  provider: string;
  /** The id without the provider prefix, as Auth0 shows it in `identities`. */
  user_id: string;
  isSocial: boolean;
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
  mfaFactors?: unknown[];
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
  if (u.mfaFactors !== undefined && u.mfaFactors.length > 0) {
    out.multifactor = ['guardian'];
  }
  return out;
}
