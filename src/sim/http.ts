/** Answer shapes shared by the simulated APIs. */
import { STATUS_CODES } from 'node:http';
import type { FastifyReply } from 'fastify';

export const JSON_UTF8 = 'application/json; charset=utf-8';

/** Auth0's Management API answers with Hapi/Boom reason phrases. */
const REASONS: Record<number, string> = { 413: 'Request Entity Too Large' };

export interface ManagementErrorBody {
  statusCode: number;
  error: string;
  message: string;
  errorCode?: string;
}

export function managementErrorBody(
  status: number,
  message: string,
  errorCode?: string,
): ManagementErrorBody {
  return {
    statusCode: status,
    error: REASONS[status] ?? STATUS_CODES[status] ?? 'Error',
    message,
    ...(errorCode === undefined ? {} : { errorCode }),
  };
}

/** `{statusCode, error, message, errorCode?}` with Auth0's content type. */
export function sendManagementError(
  reply: FastifyReply,
  status: number,
  message: string,
  errorCode?: string,
): FastifyReply {
  return reply
    .code(status)
    .type(JSON_UTF8)
    .send(managementErrorBody(status, message, errorCode));
}

/** The Authentication API's `{error, error_description}`. */
/** What the Authentication API says with a 429. */
export const AUTH_RATE_LIMIT_MESSAGE = 'Rate limit exceeded. Please retry after some time.';

export function sendAuthError(
  reply: FastifyReply,
  status: number,
  error: string,
  description: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  return reply
    .code(status)
    .type(JSON_UTF8)
    .send({ error, error_description: description, ...extra });
}

export const RATE_LIMIT_MESSAGE =
  'Too many requests. Check the X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset headers.';

/** Query and form booleans arrive as strings. */
export function parseBool(v: unknown): boolean | undefined {
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  return undefined;
}
