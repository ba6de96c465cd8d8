/**
 * Types of the custom-database scripts. The functions that become script text (old-tenant.ts,
 * login.ts, get-user.ts, entry.ts) may use types from here and nothing else of ours: Auth0 runs
 * their text alone.
 */

/** What Auth0 puts in scope of a custom-database script, passed in explicitly so tests can vary it. */
export interface ScriptEnv {
  /** The connection's configuration parameters (`OLD_AUTH0_*`). */
  configuration: Record<string, unknown> | undefined;
  /** Per-container state kept between invocations; holds the cached management token. */
  global: Record<string, unknown>;
  fetch: typeof fetch;
  WrongUsernameOrPasswordError: new (userOrEmail: string | null, message?: string) => Error;
  UnauthorizedError: new (message?: string) => Error;
}

/** `context` as Auth0 passes it to connections with `options.enable_script_context` on. */
export interface ScriptContext {
  request?: { ip?: string; userAgent?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** The normalised profile a script hands back to Auth0. */
export interface ScriptProfile {
  /** Without the `auth0|` prefix: Auth0 adds it back, giving the same id as the bulk import. */
  user_id: string;
  email?: string;
  email_verified: boolean;
  username?: string;
  name?: string;
  nickname?: string;
  given_name?: string;
  family_name?: string;
  picture?: string;
  user_metadata?: Record<string, unknown>;
  app_metadata?: Record<string, unknown>;
}

/** A user as the old tenant's Management API returns it. */
export interface OldUser {
  user_id?: string;
  email?: string;
  blocked?: boolean;
  identities?: Array<{ connection?: string; provider?: string; user_id?: string }>;
  [key: string]: unknown;
}

/** The old tenant as one script invocation sees it (old-tenant.ts). */
export interface OldTenant {
  /** The configured connection name (`OLD_AUTH0_CONNECTION`). */
  readonly connection: string;
  /**
   * Checks a password with the password-realm grant. Resolves with the user id the old tenant
   * vouches for (the id_token's `sub`, when it sent one); rejects with the error to hand to Auth0.
   */
  verifyPassword(username: string, password: string, ip: string | undefined): Promise<{ sub?: string }>;
  /** Users of the configured connection with exactly this email (lower-cased before the lookup). */
  usersByEmail(email: string): Promise<OldUser[]>;
  /** One user by id, or null when the old tenant does not know it. */
  userById(userId: string): Promise<OldUser | null>;
  toProfile(user: OldUser): ScriptProfile;
  /** The error for a user who is blocked in the old tenant (never migrated). */
  blocked(): Error;
}

export type CreateOldTenant = (env: ScriptEnv) => OldTenant;

/** The body of a script: gets the script's inputs (and context), resolves with its profile. */
export type ScriptHandler = (
  old: OldTenant,
  env: ScriptEnv,
  inputs: unknown[],
  context: ScriptContext | undefined,
) => Promise<ScriptProfile | null>;
