/**
 * Auth0's custom-database script runtime, simulated: runs a script's text in a `node:vm` sandbox
 * with the globals Auth0 provides. The simulator's tenants call it for connections with custom
 * scripts; the lazy-migration tests call it to run the built scripts.
 *
 * Like Auth0: the text must be one function; it gets `configuration`, `global` (kept between runs
 * of the same runtime, like a Webtask container), `WrongUsernameOrPasswordError`,
 * `UnauthorizedError`, `ValidationError`, `fetch`, `console`, timers and the usual web globals; it
 * gets no `require`, no `process` and no file system; it has 20 s to call its callback, once.
 * `node:vm` is not a security boundary (host functions such as `fetch` lead back to the host): it
 * reproduces what a script may use, for trusted scripts, and is no place for untrusted code.
 */
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { format } from 'node:util';
import vm from 'node:vm';

export interface ScriptContext {
  request?: { ip?: string; userAgent?: string };
  [key: string]: unknown;
}

export type ScriptOutcome =
  | { ok: true; profile: Record<string, unknown> | null }
  | { ok: false; error: { name: string; message: string } };

export interface RunLoginScript {
  script: string;
  configuration: Record<string, string>;
  username: string;
  password: string;
  context?: ScriptContext;
  /** @defaultValue 20000 (Auth0's limit) */
  timeoutMs?: number;
  /**
   * The container to run in. @defaultValue one shared runtime per script text and configuration,
   * so `global` persists between runs the way it does in an Auth0 container.
   */
  runtime?: ScriptRuntime;
}

export interface RunGetUserScript {
  script: string;
  configuration: Record<string, string>;
  email: string;
  context?: ScriptContext;
  /** @defaultValue 20000 (Auth0's limit) */
  timeoutMs?: number;
  /** @defaultValue as for {@link RunLoginScript.runtime} */
  runtime?: ScriptRuntime;
}

/** Something a script did that Auth0 would not accept; kept in `problems` and emitted as `problem`. */
export interface ScriptProblem {
  kind: 'callback_called_twice' | 'callback_after_timeout';
  script: ScriptName;
  detail: string;
}

export type ScriptName = 'login' | 'get_user';

export interface ScriptRuntimeOptions {
  /** The scripts' `fetch`. @defaultValue the process's `fetch` */
  fetch?: typeof fetch;
  /** Also print what scripts write to `console` (it is always kept in `logs`). @defaultValue false */
  echoConsole?: boolean;
}

const AUTH0_TIMEOUT_MS = 20_000;

// Auth0's error classes, created inside the sandbox so scripts see their own realm's Error.
const PRELUDE = `
globalThis.global = globalThis;
globalThis.WrongUsernameOrPasswordError = class WrongUsernameOrPasswordError extends Error {
  constructor(userOrEmail, message) {
    super(message === undefined ? 'Wrong email or password.' : message);
    this.name = 'WrongUsernameOrPasswordError';
    this.user_id = userOrEmail;
  }
};
globalThis.UnauthorizedError = class UnauthorizedError extends Error {
  constructor(message) {
    super(message);
    this.name = 'UnauthorizedError';
  }
};
globalThis.ValidationError = class ValidationError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'ValidationError';
    this.code = code;
  }
};
`;

type ScriptFactory = (configuration: Readonly<Record<string, string>>) => unknown;

/** One simulated Webtask container: a sandbox whose `global` lives as long as the runtime. */
export class ScriptRuntime extends EventEmitter {
  /** The sandbox's `global` (what scripts cache between runs, e.g. a management token). */
  readonly global: Record<string, unknown>;
  /** Lines the scripts wrote to `console`. */
  readonly logs: string[] = [];
  readonly problems: ScriptProblem[] = [];
  /** Script runs started in this runtime. */
  runs = 0;
  readonly #context: vm.Context;
  readonly #factories = new Map<string, ScriptFactory>();
  readonly #invokeName = `__simInvoke_${randomBytes(6).toString('hex')}`;

  constructor(options: ScriptRuntimeOptions = {}) {
    super();
    const logs = this.logs;
    const echo = options.echoConsole === true;
    const write =
      (level: string) =>
      (...args: unknown[]): void => {
        const line = format(...args);
        logs.push(`${level}: ${line}`);
        if (echo) process.stderr.write(`[custom-db ${level}] ${line}\n`);
      };
    const sandbox: Record<string, unknown> = {
      fetch: options.fetch ?? globalThis.fetch,
      console: {
        log: write('log'),
        info: write('info'),
        warn: write('warn'),
        error: write('error'),
        debug: write('debug'),
      },
      Buffer,
      URL,
      URLSearchParams,
      AbortController,
      AbortSignal,
      Headers,
      Request,
      Response,
      FormData,
      Blob,
      TextEncoder,
      TextDecoder,
      atob,
      btoa,
      structuredClone,
      queueMicrotask,
      crypto: webcrypto,
      setTimeout,
      clearTimeout,
      setInterval,
      clearInterval,
      setImmediate,
      clearImmediate,
    };
    this.#context = vm.createContext(sandbox, { name: 'auth0-custom-db' });
    vm.runInContext(PRELUDE, this.#context);
    this.global = vm.runInContext('globalThis', this.#context) as Record<string, unknown>;
  }

  /** Runs a script once: resolves when it calls back, fails it at the time limit. */
  async run(request: {
    name: ScriptName;
    script: string;
    configuration: Record<string, string>;
    inputs: unknown[];
    context?: ScriptContext;
    timeoutMs?: number;
  }): Promise<ScriptOutcome> {
    const { name } = request;
    const timeoutMs = request.timeoutMs ?? AUTH0_TIMEOUT_MS;
    this.runs += 1;
    let factory: ScriptFactory;
    try {
      factory = this.#compile(name, request.script, timeoutMs);
    } catch (err) {
      return failed(err, `The ${name} script does not compile`);
    }
    const configuration = Object.freeze({ ...request.configuration });

    return new Promise<ScriptOutcome>((resolve) => {
      let calls = 0;
      let timedOut = false;
      let settled = false;
      const settle = (outcome: ScriptOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const timer = setTimeout(() => {
        timedOut = true;
        settle({
          ok: false,
          error: { name: 'Error', message: `Script execution time exceeded (${timeoutMs} ms)` },
        });
      }, timeoutMs);
      const callback = (err?: unknown, profile?: unknown): void => {
        calls += 1;
        if (calls > 1) {
          this.#problem({
            kind: 'callback_called_twice',
            script: name,
            detail: `callback call number ${calls}`,
          });
          return;
        }
        if (timedOut) {
          this.#problem({
            kind: 'callback_after_timeout',
            script: name,
            detail: 'callback after the time limit',
          });
          return;
        }
        settle(err ? failed(err) : succeeded(name, profile));
      };
      const args = [...request.inputs];
      if (request.context !== undefined) args.push(request.context);
      args.push(callback);
      try {
        const fn = factory(configuration);
        if (typeof fn !== 'function') {
          settle(failed(new Error(`The ${name} script must be a single function`)));
          return;
        }
        this.#invoke(fn as (...a: unknown[]) => unknown, args, timeoutMs);
      } catch (err) {
        if (calls === 0) settle(failed(err));
      }
    });
  }

  #compile(name: ScriptName, script: string, timeoutMs: number): ScriptFactory {
    const key = `${name}\0${script}`;
    let factory = this.#factories.get(key);
    if (factory === undefined) {
      // The text must be one function expression, as Auth0 requires; `configuration` is bound per run.
      const source = `(function (configuration) {\n  return (\n${script}\n);\n})`;
      factory = new vm.Script(source, { filename: `${name}.js` }).runInContext(this.#context, {
        timeout: timeoutMs,
      }) as ScriptFactory;
      this.#factories.set(key, factory);
    }
    return factory;
  }

  /** Calls the script inside the sandbox so the time limit also covers its synchronous part. */
  #invoke(fn: (...a: unknown[]) => unknown, args: unknown[], timeoutMs: number): void {
    const sandbox = this.#context as Record<string, unknown>;
    Object.defineProperty(sandbox, this.#invokeName, {
      value: () => fn(...args),
      configurable: true,
      enumerable: false,
    });
    try {
      vm.runInContext(`${this.#invokeName}()`, this.#context, { timeout: timeoutMs });
    } finally {
      delete sandbox[this.#invokeName];
    }
  }

  #problem(problem: ScriptProblem): void {
    this.problems.push(problem);
    this.emit('problem', problem);
  }
}

function failed(err: unknown, prefix?: string): ScriptOutcome {
  const e = err as { name?: unknown; message?: unknown } | null | undefined;
  const name = e && typeof e.name === 'string' ? e.name : 'Error';
  const message = e && typeof e.message === 'string' ? e.message : String(err);
  return { ok: false, error: { name, message: prefix ? `${prefix}: ${message}` : message } };
}

function succeeded(name: ScriptName, profile: unknown): ScriptOutcome {
  if (profile === undefined || profile === null) return { ok: true, profile: null };
  let copy: unknown;
  try {
    copy = JSON.parse(JSON.stringify(profile));
  } catch (err) {
    return failed(err, `The ${name} script returned a profile that is not JSON`);
  }
  if (copy === null || typeof copy !== 'object' || Array.isArray(copy)) {
    return failed(new Error(`The ${name} script returned a profile that is not an object`));
  }
  const id = (copy as Record<string, unknown>).user_id;
  if (typeof id !== 'string' || id === '') {
    return failed(new Error(`The ${name} script returned a profile without user_id (Auth0 requires one)`));
  }
  return { ok: true, profile: copy as Record<string, unknown> };
}

export function createScriptRuntime(options?: ScriptRuntimeOptions): ScriptRuntime {
  return new ScriptRuntime(options);
}

// Containers for callers that do not bring their own runtime, one per script and configuration.
const shared = new Map<string, ScriptRuntime>();
const SHARED_LIMIT = 32;

function sharedRuntime(script: string, configuration: Record<string, string>): ScriptRuntime {
  const sorted = Object.keys(configuration)
    .sort()
    .map((k) => [k, configuration[k]]);
  const key = createHash('sha256').update(script).update('\0').update(JSON.stringify(sorted)).digest('hex');
  let runtime = shared.get(key);
  if (runtime === undefined) {
    if (shared.size >= SHARED_LIMIT) shared.delete(shared.keys().next().value as string);
    runtime = new ScriptRuntime();
    shared.set(key, runtime);
  }
  return runtime;
}

/** Runs a login script (`login(username, password[, context], callback)`) the way Auth0 does. */
export async function runLoginScript(options: RunLoginScript): Promise<ScriptOutcome> {
  const runtime = options.runtime ?? sharedRuntime(options.script, options.configuration);
  return runtime.run({
    name: 'login',
    script: options.script,
    configuration: options.configuration,
    inputs: [options.username, options.password],
    context: options.context,
    timeoutMs: options.timeoutMs,
  });
}

/** Runs a get_user script (`getByEmail(email[, context], callback)`) the way Auth0 does. */
export async function runGetUserScript(options: RunGetUserScript): Promise<ScriptOutcome> {
  const runtime = options.runtime ?? sharedRuntime(options.script, options.configuration);
  return runtime.run({
    name: 'get_user',
    script: options.script,
    configuration: options.configuration,
    inputs: [options.email],
    context: options.context,
    timeoutMs: options.timeoutMs,
  });
}
