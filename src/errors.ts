/**
 * Exit codes every command uses (DESIGN.md): 0 every user accounted for and none failed,
 * 3 the run finished but some users failed, 1 the run could not finish.
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usersFailed: 3,
} as const;

export interface ToolErrorOptions {
  /** What to do about it, for the operator. */
  hint?: string | undefined;
  cause?: unknown;
  /** @defaultValue {@link ExitCode.failure} */
  exitCode?: number;
}

/**
 * The base of every error this tool throws. `code` is stable and machine-readable; `final` says
 * whether trying again can help (a worker ends the job at once when it cannot); `hint` says what
 * to do. Recognise one with {@link isToolError}, which also knows one that crossed a process
 * boundary or a second copy of this module.
 */
export class ToolError extends Error {
  readonly code: string;
  readonly final: boolean;
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(code: string, message: string, options: ToolErrorOptions & { final?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = this.constructor.name;
    this.code = code;
    this.final = options.final ?? false;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.failure;
  }
}

/**
 * Whether `err` is one of ours: a {@link ToolError}, or an error of the same shape (name, message,
 * `code`, `final`, `exitCode`) from a job queue, another process or a module that mirrors the
 * contract without importing this one (src/pipeline/errors.ts).
 */
export function isToolError(err: unknown): err is ToolError {
  if (err instanceof ToolError) return true;
  if (typeof err !== 'object' || err === null) return false;
  const e = err as Record<string, unknown>;
  return (
    typeof e.name === 'string' &&
    typeof e.message === 'string' &&
    typeof e.code === 'string' &&
    typeof e.final === 'boolean' &&
    typeof e.exitCode === 'number'
  );
}

/** An error the operator can act on: the message says what went wrong, `hint` what to do. */
export class MigrateError extends ToolError {
  constructor(message: string, options: ToolErrorOptions & { code?: string; final?: boolean } = {}) {
    super(options.code ?? 'failed', message, options);
  }
}

/** Bad or missing configuration; the message names every variable at fault. Final. */
export class ConfigError extends MigrateError {
  constructor(message: string, options: ToolErrorOptions = {}) {
    super(message, { ...options, code: 'bad_config', final: true });
  }
}

/** Bad input data (a file, a line, a user); the message names where. Final. */
export class InputError extends MigrateError {
  constructor(message: string, options: ToolErrorOptions = {}) {
    super(message, { ...options, code: 'bad_input', final: true });
  }
}

/**
 * One place that turns whatever was thrown into an Error. A value that is not one is kept as the
 * `cause`, not written into the message (it may hold anything, a secret included).
 */
export function coerceError(err: unknown): Error {
  if (err instanceof Error) return err;
  if (typeof err === 'string') return new Error(err);
  const what =
    err === null
      ? 'null'
      : typeof err === 'object'
        ? 'an object'
        : typeof err === 'function'
          ? 'a function'
          : String(err);
  return new Error(`A value that is not an Error was thrown: ${what}`, { cause: err });
}
