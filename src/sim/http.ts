/** Answer shapes and request parsing shared by the simulated APIs. */
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

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

/** 204 as real tenants send it: no body, still Auth0's JSON content type. */
export function sendNoContent(reply: FastifyReply): FastifyReply {
  return reply.code(204).type(JSON_UTF8).send();
}

/** What the Authentication API says with a 429. */
export const AUTH_RATE_LIMIT_MESSAGE = 'Rate limit exceeded. Please retry after some time.';

/** The Authentication API's `{error, error_description}`. */
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

type Query = Record<string, string | string[] | undefined>;

/** A request's query parameters, each one string or, repeated, several. */
export const q = (req: FastifyRequest): Query => (req.query ?? {}) as Query;

/** The first value of a query parameter. */
export const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** Auth0's `fields` / `include_fields` query parameters applied to an answer. */
export function pickFields(
  obj: Record<string, unknown>,
  fields: string | undefined,
  includeFields: boolean,
): Record<string, unknown> {
  if (fields === undefined || fields.trim() === '') return obj;
  const names = new Set(
    fields
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean),
  );
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (names.has(k) === includeFields) out[k] = v;
  return out;
}
