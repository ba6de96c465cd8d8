import type { CreateOldTenant, ScriptContext, ScriptEnv, ScriptHandler, ScriptProfile } from './types.js';

/**
 * What a script does with its arguments, shared by login and get_user: finds the callback (last
 * argument) and the optional `context` (just before it), runs the handler, and calls the callback
 * exactly once, before Auth0's 20 s limit, with no secret in an error message.
 * Shipped to Auth0 as text (build.ts): self-contained, no named nested functions (see old-tenant.ts).
 */
export function runScript(
  args: ArrayLike<unknown>,
  inputCount: number,
  env: ScriptEnv,
  createOldTenant: CreateOldTenant,
  handler: ScriptHandler,
): void {
  const list: unknown[] = Array.prototype.slice.call(args);
  const callback = list[list.length - 1];
  if (typeof callback !== 'function') throw new Error('The script was called without a callback.');
  const candidate = list.length > inputCount + 1 ? list[inputCount] : undefined;
  const context =
    candidate !== null && typeof candidate === 'object' ? (candidate as ScriptContext) : undefined;
  const inputs = list.slice(0, inputCount);
  // The client secret and the password (login's second input) must never travel in an error.
  const secrets = [
    env.configuration ? env.configuration.OLD_AUTH0_CLIENT_SECRET : undefined,
    ...inputs.slice(1),
  ].filter((s): s is string => typeof s === 'string' && s.length >= 4);

  const once = {
    done: false,
    timer: undefined as ReturnType<typeof setTimeout> | undefined,
    clean(thrown: unknown): Error {
      const err =
        thrown instanceof Error || (thrown && typeof (thrown as Error).message === 'string')
          ? (thrown as Error)
          : new Error(`The migration script failed (${String(thrown)}); please try again in a moment.`);
      for (const s of secrets) {
        if (err.message.includes(s)) err.message = err.message.split(s).join('[redacted]');
      }
      return err;
    },
    finish(thrown: unknown, profile: ScriptProfile | null | undefined): void {
      if (once.done) return;
      once.done = true;
      if (once.timer !== undefined) clearTimeout(once.timer);
      if (thrown) callback(once.clean(thrown));
      else if (profile === null || profile === undefined) callback(null);
      else callback(null, profile);
    },
  };
  once.timer = setTimeout(() => {
    once.finish(
      new Error('The old tenant took too long to answer; please try again in a moment.'),
      undefined,
    );
  }, 18000);

  Promise.resolve()
    .then(() => handler(createOldTenant(env), env, inputs, context))
    .then(
      (profile) => once.finish(undefined, profile),
      (err) =>
        once.finish(
          err || new Error('The migration script failed; please try again in a moment.'),
          undefined,
        ),
    )
    .catch((err) => {
      // Only the callback itself can throw here; it has been called, so there is nothing to settle.
      if (typeof console !== 'undefined') console.error('callback threw:', err && err.message);
    });
}
