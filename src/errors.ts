/**
 * Exit codes every command uses (DESIGN.md): 0 every user accounted for and none failed,
 * 3 the run finished but some users failed, 1 the run could not finish.
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usersFailed: 3,
} as const;

/**
 * An error the operator can act on: the message says what went wrong, `hint` what to do.
 * Recognised by `err.name` as well as `instanceof`, so it survives a trip through a job queue.
 */
export class MigrateError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(message: string, options: { hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = this.constructor.name;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.failure;
  }
}

/** Bad or missing configuration; the message names every variable at fault. */
export class ConfigError extends MigrateError {}

/** Bad input data (a file, a line, a user); the message names where. */
export class InputError extends MigrateError {}

/** One place that turns whatever was thrown into an Error. */
export function coerceError(err: unknown): Error {
  if (err instanceof Error) return err;
  if (typeof err === 'string') return new Error(err);
  try {
    return new Error(JSON.stringify(err));
  } catch {
    return new Error(String(err));
  }
}
