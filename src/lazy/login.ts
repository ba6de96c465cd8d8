import type { OldTenant, OldUser, ScriptContext, ScriptEnv, ScriptProfile } from './types.js';

/**
 * The login script's body: checks the password against the old tenant, then hands Auth0 the old
 * profile so it stores the user (and the password) under the same id the bulk import gives.
 * Shipped to Auth0 as text (build.ts): self-contained, no named nested functions (see old-tenant.ts).
 */
export async function authenticate(
  old: OldTenant,
  env: ScriptEnv,
  inputs: unknown[],
  context: ScriptContext | undefined,
): Promise<ScriptProfile> {
  const username = typeof inputs[0] === 'string' ? inputs[0].trim() : '';
  const password = typeof inputs[1] === 'string' ? inputs[1] : '';
  if (username === '' || password === '') {
    throw new env.WrongUsernameOrPasswordError(username === '' ? null : username, 'Wrong email or password.');
  }
  const request = context && typeof context === 'object' ? context.request : undefined;
  const ip = request && typeof request.ip === 'string' && request.ip !== '' ? request.ip : undefined;

  // The password first: a wrong one must not cost the old tenant a Management API call.
  const { sub } = await old.verifyPassword(username, password, ip);

  let user: OldUser | null | undefined;
  if (username.includes('@')) {
    const users = await old.usersByEmail(username);
    if (sub !== undefined) user = users.find((u) => u.user_id === sub);
    else if (users.length === 1) user = users[0];
    else if (users.length > 1) {
      throw new Error(
        `The old tenant has ${users.length} users with this email on connection "${old.connection}" and did not ` +
          'say which one logged in; resolve the duplicate in the old tenant.',
      );
    }
  } else if (sub !== undefined) {
    user = await old.userById(sub);
  } else {
    throw new Error(
      'The old tenant accepted a username login without sending an id_token, so its profile cannot be found; ' +
        'log in with the email address instead.',
    );
  }
  if (!user) {
    throw new Error('The old tenant has no profile for this user yet; please try again in a moment.');
  }
  if (user.blocked === true) throw old.blocked();
  return old.toProfile(user);
}
