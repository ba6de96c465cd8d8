/**
 * Errors from a tenant, with a stable `code` a caller acts on without parsing messages.
 * A {@link ToolError}; {@link isAuth0Error} recognises it (across a job queue too).
 */
import { isToolError, ToolError } from '../errors.js';

export type Auth0ErrorCode =
  /** 429 from the rate limiter: wait `retryAfterMs` and try again. */
  | 'rate_limited'
  /** 429 "There are 2 active import users jobs": wait for an import job to end, then try again. */
  | 'import_slots_busy'
  /** 413: the import file is over 512000 bytes. */
  | 'payload_too_large'
  /** 401 from /oauth/token or the API: wrong client id or secret, or an expired token. */
  | 'bad_credentials'
  /** 403 insufficient_scope: the client lacks a scope (named in `scope` when known). */
  | 'missing_scope'
  /** 404. */
  | 'not_found'
  /** 409 or a duplicate: the thing already exists. */
  | 'already_exists'
  /** The tenant's plan or settings do not allow the operation (e.g. bulk export). */
  | 'not_available'
  /** 400: the request was wrong; repeating it will not help. */
  | 'bad_request'
  /** 5xx: the tenant failed; may be retried. */
  | 'server_error'
  /** No answer: connection refused or dropped, DNS, timeout; may be retried. */
  | 'network'
  /** The configured connection does not exist (message lists those that do). */
  | 'unknown_connection'
  /** An export's download link expired; fetch the job again for a fresh one. */
  | 'link_expired'
  /**
   * The tenant answered with a redirect, which is never followed: the request carried the client
   * secret, a token or users. The base URL or domain is wrong (or not the tenant's).
   */
  | 'redirected'
  /** The answer (or the export file) was larger than allowed; reading stopped there. */
  | 'answer_too_large'
  /**
   * A job-creating POST got no usable answer (5xx, a dropped connection, a timeout): the job may
   * or may not exist, and Auth0 cannot list jobs by `external_id`. Not retried by the client; the
   * caller decides (with upsert=false, users submitted twice come back as DUPLICATED_USER).
   */
  | 'outcome_unknown';

export class Auth0Error extends ToolError {
  declare readonly code: Auth0ErrorCode;
  readonly status: number | undefined;
  /** Auth0's `errorCode` or OAuth `error` field, when the body had one. */
  readonly auth0Code: string | undefined;
  /** How long to wait before trying again, when the answer said (rate limits). */
  readonly retryAfterMs: number | undefined;
  /** The missing scope, for `missing_scope`. */
  readonly scope: string | undefined;
  readonly retryable: boolean;

  constructor(
    code: Auth0ErrorCode,
    message: string,
    options: {
      status?: number;
      auth0Code?: string;
      retryAfterMs?: number;
      scope?: string;
      cause?: unknown;
    } = {},
  ) {
    const retryable =
      code === 'rate_limited' ||
      code === 'server_error' ||
      code === 'network' ||
      code === 'import_slots_busy';
    // An expired link is renewed by reading the job again, and a lost answer is settled by the
    // next attempt; every other error that waiting does not cure stays as it is.
    super(code, message, {
      cause: options.cause,
      final: !retryable && code !== 'link_expired' && code !== 'outcome_unknown',
    });
    this.status = options.status;
    this.auth0Code = options.auth0Code;
    this.retryAfterMs = options.retryAfterMs;
    this.scope = options.scope;
    this.retryable = retryable;
  }
}

export function isAuth0Error(err: unknown, code?: Auth0ErrorCode): err is Auth0Error {
  return isToolError(err) && err.name === 'Auth0Error' && (code === undefined || err.code === code);
}
