/**
 * Turns whatever a call to a tenant threw (SDK `ManagementError`s, fetch and socket errors) into an
 * {@link Auth0Error} whose code a caller acts on and whose message says what to do. Secrets and
 * tokens are scrubbed from every message.
 */
import { Auth0Error, isAuth0Error, type Auth0ErrorCode } from './errors.js';
import { rateLimitWaitMs } from './retry.js';

/** Who we are talking to, for messages. */
export interface TenantDescription {
  /** `old`, `new`, or another name given by the caller. */
  label: string;
  domain: string;
  baseUrl: string;
  /** `OLD_AUTH0_` / `NEW_AUTH0_` when the label names a configured tenant. */
  envPrefix: string | undefined;
  /** Blanks out secrets (client secret, current token) wherever they might appear. */
  scrub: (text: string) => string;
}

/** What the failed call was doing. */
export interface CallDescription {
  /** `POST /jobs/users-exports` */
  operation: string;
  /** The scope the call needs, named when Auth0's answer does not name it. */
  scope?: string;
  /** The object the call was about, for not-found messages: `job job_abc`. */
  subject?: string;
}

export interface HttpFailure {
  status: number;
  body: unknown;
  headers?: { get(name: string): string | null } | Record<string, string | undefined>;
}

const SLOTS_BUSY = /active import users jobs/i;
const DASHBOARD_GRANTS =
  'Auth0 Dashboard > Applications > APIs > Auth0 Management API > Machine To Machine Applications';

export function tenantName(t: TenantDescription): string {
  return `the ${t.label} tenant (${t.domain})`;
}

/** {@link tenantName} at the start of a sentence. */
export function TenantName(t: TenantDescription): string {
  return `The ${t.label} tenant (${t.domain})`;
}

function credentialVars(t: TenantDescription): string {
  return t.envPrefix === undefined
    ? `the client id and secret configured for the ${t.label} tenant`
    : `${t.envPrefix}CLIENT_ID / ${t.envPrefix}CLIENT_SECRET`;
}

function clientIdVar(t: TenantDescription): string {
  return t.envPrefix === undefined ? `the ${t.label} tenant's application` : `${t.envPrefix}CLIENT_ID`;
}

/** Auth0's own words from an error body: Management `{message, errorCode}` or OAuth `{error, error_description}`. */
export function bodyText(body: unknown): { message: string | undefined; code: string | undefined } {
  if (typeof body === 'string') return { message: body.slice(0, 300) || undefined, code: undefined };
  if (body === null || typeof body !== 'object') return { message: undefined, code: undefined };
  const b = body as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const message = str(b.message) ?? str(b.error_description) ?? str(b.error);
  const code = str(b.errorCode) ?? (str(b.error_description) !== undefined ? str(b.error) : undefined);
  return { message: message?.slice(0, 300), code };
}

/** `Insufficient scope, expected any of: read:users` → `read:users`. */
export function scopeFromMessage(message: string | undefined): string | undefined {
  const m = message?.match(/expected any of:?\s*([a-z_]+:[a-z_:]+(?:\s*,\s*[a-z_]+:[a-z_:]+)*)/i);
  return m?.[1]?.split(/\s*,\s*/)[0];
}

function said(message: string | undefined): string {
  return message === undefined ? '' : ` (Auth0 said: "${message}")`;
}

/** An answer with a status from the Management API. */
export function fromHttpFailure(
  t: TenantDescription,
  call: CallDescription,
  f: HttpFailure,
  cause?: unknown,
): Auth0Error {
  const { message: raw, code: auth0Code } = bodyText(f.body);
  const message = raw === undefined ? undefined : t.scrub(raw);
  const status = f.status;
  const make = (
    code: Auth0ErrorCode,
    text: string,
    extra: { retryAfterMs?: number; scope?: string } = {},
  ): Auth0Error =>
    new Auth0Error(code, t.scrub(text), {
      status,
      ...(auth0Code === undefined ? {} : { auth0Code }),
      ...extra,
      ...(cause === undefined ? {} : { cause }),
    });
  const on = `${call.operation} on ${tenantName(t)}`;

  if (status === 429) {
    if (message !== undefined && SLOTS_BUSY.test(message)) {
      return make(
        'import_slots_busy',
        `${TenantName(t)} already runs 2 import jobs, Auth0's limit per tenant (shared with the Dashboard and other tools): wait for one to finish, then submit again.`,
      );
    }
    const wait = rateLimitWaitMs(f.headers);
    return make(
      'rate_limited',
      `${on} hit the rate limit${wait === undefined ? '' : `; retry after ${wait} ms`}${said(message)}.`,
      wait === undefined ? {} : { retryAfterMs: wait },
    );
  }
  if (status === 413) {
    return make(
      'payload_too_large',
      `${on}: the file is too large; Auth0 accepts at most 512000 bytes per import job (lower BATCH_BYTES)${said(message)}.`,
    );
  }
  if (status === 401) {
    return make(
      'bad_credentials',
      `${TenantName(t)} refused the Management API token for ${call.operation}${said(message)}: check ${credentialVars(t)}, and that ${t.envPrefix ?? ''}DOMAIN is the tenant the application belongs to.`,
    );
  }
  if (status === 403) {
    const named = scopeFromMessage(message);
    if (
      named !== undefined ||
      auth0Code === 'insufficient_scope' ||
      (message !== undefined && /scope/i.test(message))
    ) {
      const scope = named ?? call.scope;
      return make(
        'missing_scope',
        `${clientIdVar(t)} lacks the ${scope ?? 'needed'} scope for ${call.operation} on ${tenantName(t)}: grant it in the ${DASHBOARD_GRANTS} > (the application) > Permissions, then run again${said(message)}.`,
        scope === undefined ? {} : { scope },
      );
    }
    return make('not_available', `${on} is not allowed${said(message)}.`);
  }
  if (
    status === 404 ||
    (status === 400 && message !== undefined && /connection does not exist/i.test(message))
  ) {
    if (message !== undefined && /connection/i.test(message) && /(does not exist|not found)/i.test(message)) {
      return make(
        'unknown_connection',
        `${on}: ${call.subject ?? 'the connection'} does not exist${said(message)}; check ${t.envPrefix ?? ''}CONNECTION.`,
      );
    }
    return make('not_found', `${on}: ${call.subject ?? 'the resource'} was not found${said(message)}.`);
  }
  if (status === 409)
    return make('already_exists', `${on}: ${call.subject ?? 'it'} already exists${said(message)}.`);
  if (status === 408) return make('network', `${on} timed out${said(message)}; it may be tried again.`);
  if (status >= 500) {
    return make(
      'server_error',
      `${on} failed on Auth0's side with HTTP ${status}${said(message)}; it may be tried again later.`,
    );
  }
  return make('bad_request', `${on} was rejected with HTTP ${status}${said(message)}.`);
}

/**
 * The `/oauth/token` request failed with a status. A refusal names the credentials; a rate limit
 * or a failure on Auth0's side is reported as `operation`'s, the call that needed the token.
 */
export function fromTokenFailure(
  t: TenantDescription,
  f: HttpFailure,
  cause?: unknown,
  operation = 'POST /oauth/token',
): Auth0Error {
  const { message: raw, code: auth0Code } = bodyText(f.body);
  const message = raw === undefined ? undefined : t.scrub(raw);
  const opts = {
    status: f.status,
    ...(auth0Code === undefined ? {} : { auth0Code }),
    ...(cause === undefined ? {} : { cause }),
  };
  if (f.status === 401 || auth0Code === 'invalid_client') {
    return new Auth0Error(
      'bad_credentials',
      t.scrub(`${TenantName(t)} refused the client credentials${said(message)}: check ${credentialVars(t)}.`),
      opts,
    );
  }
  if (f.status === 403) {
    return new Auth0Error(
      'missing_scope',
      t.scrub(
        `${clientIdVar(t)} may not get a Management API token from ${tenantName(t)}${said(message)}: authorize the application in the ${DASHBOARD_GRANTS} and grant read:users, create:users, read:connections, update:connections and create:user_tickets.`,
      ),
      opts,
    );
  }
  if (f.status === 429 || f.status === 408 || f.status >= 500) {
    return fromHttpFailure(t, { operation }, f, cause);
  }
  return new Auth0Error(
    'bad_request',
    t.scrub(
      `${TenantName(t)} refused the token request with HTTP ${f.status}${said(message)}: check ${credentialVars(t)} and ${t.envPrefix ?? ''}DOMAIN.`,
    ),
    opts,
  );
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** The error chain's system/undici code (`ECONNRESET`, `UND_ERR_SOCKET`, ...). */
export function causeCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 6 && e !== null && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when the request never reached the tenant (connection refused, DNS), so repeating it is safe. */
export function neverReachedServer(err: unknown): boolean {
  const code = causeCode(err);
  return code !== undefined && CONNECT_CODES.has(code);
}

/** No answer at all: connection refused or dropped, DNS, timeout. */
export function networkError(t: TenantDescription, operation: string, cause: unknown): Auth0Error {
  const code = causeCode(cause);
  const detail = code ?? (cause instanceof Error ? cause.message : String(cause));
  return new Auth0Error(
    'network',
    t.scrub(
      `${operation} on ${tenantName(t)} got no answer from ${t.baseUrl} (${detail}): check ${t.envPrefix ?? ''}DOMAIN${t.envPrefix === undefined ? '' : ` / ${t.envPrefix}BASE_URL`} and the network.`,
    ),
    { cause },
  );
}

/** The SDK's errors, and the raw fetch errors its token provider lets through. */
export function fromThrown(t: TenantDescription, call: CallDescription, thrown: unknown): Auth0Error {
  if (isAuth0Error(thrown)) return thrown;
  // The SDK wraps what its fetch threw (a refused redirect, an answer cut off) as the cause.
  const cause = (thrown as { cause?: unknown } | null)?.cause;
  if (isAuth0Error(cause)) return cause;
  const err = thrown as {
    name?: unknown;
    statusCode?: unknown;
    body?: unknown;
    rawResponse?: { headers?: unknown };
  };
  if (err !== null && typeof err === 'object' && err.name === 'ManagementTimeoutError') {
    return networkError(t, call.operation, thrown);
  }
  if (err !== null && typeof err === 'object' && typeof err.statusCode === 'number' && err.statusCode > 0) {
    const headers = err.rawResponse?.headers as HttpFailure['headers'];
    return fromHttpFailure(
      t,
      call,
      { status: err.statusCode, body: err.body, ...(headers === undefined ? {} : { headers }) },
      thrown,
    );
  }
  return networkError(t, call.operation, thrown);
}
