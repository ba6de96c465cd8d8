import { createHash } from 'node:crypto';
import { runScript } from './entry.js';
import { findByEmail } from './get-user.js';
import { authenticate } from './login.js';
import { createOldTenant } from './old-tenant.js';

/** Bumped whenever what the scripts do changes; shown by `lazy deploy` next to the content hash. */
export const LAZY_SCRIPT_VERSION = '1.0.0';

/** Auth0 refuses custom-database scripts over 100 KB. */
export const SCRIPT_SIZE_LIMIT = 100 * 1024;

export type ScriptName = 'login' | 'get_user';

const MARKER = /auth0-migrate:lazy-migration (login|get_user) v(\S+)( finished)?(?: \(sha256 ([0-9a-f]+)\))?/;

/** Marks text as a script this tool wrote; `lazy deploy` and `lazy finish` overwrite only these. */
export function marker(name: ScriptName, version: string, finished = false): string {
  return `auth0-migrate:lazy-migration ${name} v${version}${finished ? ' finished' : ''}`;
}

export type ScriptIdentity =
  | { kind: 'none' }
  | { kind: 'ours'; name: ScriptName; version: string; finished: boolean; hash: string | undefined }
  /** Auth0's untouched Dashboard template ("Please implement the ... script"). */
  | { kind: 'template' }
  | { kind: 'foreign'; bytes: number };

export function identifyScript(text: unknown): ScriptIdentity {
  if (typeof text !== 'string' || text.trim() === '') return { kind: 'none' };
  const m = MARKER.exec(text);
  if (m)
    return {
      kind: 'ours',
      name: m[1] as ScriptName,
      version: m[2] as string,
      finished: m[3] !== undefined,
      hash: m[4],
    };
  if (/Please implement the (Login|Get User) script/i.test(text)) return { kind: 'template' };
  return { kind: 'foreign', bytes: Buffer.byteLength(text) };
}

export interface BuiltScripts {
  login: string;
  get_user: string;
  version: string;
}

// Auth0's own globals, handed to the shipped functions; `global` may be missing outside Auth0.
const ENV = `{
    configuration: typeof configuration === 'undefined' ? undefined : configuration,
    global: typeof global === 'undefined' ? {} : global,
    fetch: fetch,
    WrongUsernameOrPasswordError: WrongUsernameOrPasswordError,
    UnauthorizedError: UnauthorizedError,
  }`;

const SETTINGS =
  'Settings (connection configuration): OLD_AUTH0_DOMAIN, OLD_AUTH0_CLIENT_ID, OLD_AUTH0_CLIENT_SECRET, ' +
  'OLD_AUTH0_CONNECTION, optional OLD_AUTH0_BASE_URL (default https://<domain>) and OLD_AUTH0_TIMEOUT_MS ' +
  '(per request, at most 5000).';

function header(name: ScriptName, body: string, finished: boolean): string {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  const what = finished
    ? 'Lazy migration has ended: this stub leaves every login to the Auth0 user store.'
    : `Checks users against the old tenant and migrates them on success. ${SETTINGS}`;
  return (
    `/* ${marker(name, LAZY_SCRIPT_VERSION, finished)} (sha256 ${hash})\n` +
    ` * Written by \`auth0-migrate lazy build\`; \`auth0-migrate lazy deploy\` replaces it. Do not edit here.\n` +
    ` * ${what}\n */\n`
  );
}

/**
 * Refuses text that needs something Auth0's sandbox lacks: helpers a transpiler injected (esbuild's
 * `__name` under tsx), `require`, or more than 100 KB.
 */
export function assertSelfContained(name: ScriptName, text: string): void {
  const helper = /\b(__name|__awaiter|__generator|__rest|__spreadArray|__assign|_async_to_generator)\b/.exec(
    text,
  );
  const problems: string[] = [];
  if (helper) problems.push(`it calls the transpiler helper ${helper[1]}`);
  if (/\brequire\s*\(/.test(text)) problems.push('it calls require()');
  if (/\bimport\s*\(|^\s*import\s.*\bfrom\s/m.test(text)) problems.push('it imports modules');
  const bytes = Buffer.byteLength(text);
  if (bytes > SCRIPT_SIZE_LIMIT) problems.push(`it is ${bytes} bytes (Auth0's limit: ${SCRIPT_SIZE_LIMIT})`);
  if (problems.length > 0) {
    throw new Error(
      `The built ${name} script cannot run in Auth0: ${problems.join('; ')}. The functions in src/lazy must ` +
        'stay self-contained, with nested functions only as object methods or inline callbacks.',
    );
  }
}

/** The login and get_user script text, as pasted into (or deployed to) Auth0. */
export function buildScripts(): BuiltScripts {
  const shared = `(${createOldTenant.toString()})`;
  const loginBody =
    'function login(email, password, callback) {\n' +
    `  return (${runScript.toString()})(arguments, 2, ${ENV}, ${shared}, (${authenticate.toString()}));\n}\n`;
  const getUserBody =
    'function getByEmail(email, callback) {\n' +
    `  return (${runScript.toString()})(arguments, 1, ${ENV}, ${shared}, (${findByEmail.toString()}));\n}\n`;
  const login = header('login', loginBody, false) + loginBody;
  const get_user = header('get_user', getUserBody, false) + getUserBody;
  assertSelfContained('login', login);
  assertSelfContained('get_user', get_user);
  return { login, get_user, version: LAZY_SCRIPT_VERSION };
}

/**
 * The scripts `lazy finish` leaves behind, as Auth0 advises at the end of a migration: login finds
 * nobody outside the Auth0 store, get_user reports "not found". They take `context` or not alike.
 */
export function buildFinishedScripts(): BuiltScripts {
  const loginBody =
    'function login(email, password, callback) {\n' +
    '  return arguments[arguments.length - 1](null, null);\n}\n';
  const getUserBody =
    'function getByEmail(email, callback) {\n  return arguments[arguments.length - 1](null);\n}\n';
  return {
    login: header('login', loginBody, true) + loginBody,
    get_user: header('get_user', getUserBody, true) + getUserBody,
    version: LAZY_SCRIPT_VERSION,
  };
}
