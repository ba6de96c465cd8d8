import type { OldTenant, ScriptEnv, ScriptProfile } from './types.js';

/**
 * The get_user script's body (Auth0 runs it on sign-up and password reset): the old tenant's user
 * with exactly this email on the old connection, or null when there is none.
 * Shipped to Auth0 as text (build.ts): self-contained, no named nested functions (see old-tenant.ts).
 */
export async function findByEmail(
  old: OldTenant,
  _env: ScriptEnv,
  inputs: unknown[],
): Promise<ScriptProfile | null> {
  const email = typeof inputs[0] === 'string' ? inputs[0].trim() : '';
  // users-by-email only takes email addresses; a username is not in the old tenant under that name.
  if (email === '' || !email.includes('@')) return null;
  const users = await old.usersByEmail(email);
  const user = users[0];
  if (user === undefined) return null;
  if (users.length > 1) {
    throw new Error(
      `The old tenant has ${users.length} users with this email on connection "${old.connection}"; resolve the ` +
        'duplicate in the old tenant.',
    );
  }
  if (user.blocked === true) throw old.blocked();
  return old.toProfile(user);
}
