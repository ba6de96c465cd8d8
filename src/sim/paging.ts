/**
 * Paging of the Management API's lists, as Auth0 answers it: offset (`page`, `per_page` 1..100,
 * 50 when absent, `include_totals` → `{start, limit, total, <key>}`), capped at 1,000 records
 * where Auth0 caps it, and checkpoint (`from`, `take` 1..100 → `{<key>, next?}`, no totals even
 * with `include_totals`). Query parameters are checked against the OAS bounds first.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { JSON_UTF8, one, q, sendManagementError } from './http.js';

export interface OffsetPaging {
  kind: 'offset';
  page: number;
  perPage: number;
  includeTotals: boolean;
}

export type Paging = OffsetPaging | { kind: 'checkpoint'; after: number; take: number };

export interface PagingRules {
  /** The endpoint takes `from`/`take`. */
  checkpoint: boolean;
  /** The OAS maximum of `page` (1,000 on organization lists), if any. */
  maxPage?: number;
  /** Offset paging stops at 1,000 records (Auth0's `invalid_paging`). */
  capped: boolean;
}

/** Auth0's answer to an offset page beyond the first 1,000 records (MIGRATION-FACTS.md B.5). */
export const PAGING_CAP_MESSAGE = 'Requesting page exceeds the allowed maximum of 1000 records';

const QUERY_ERROR = 'invalid_query_string';

function queryError(reply: FastifyReply, detail: string, name: string): FastifyReply {
  return sendManagementError(
    reply,
    400,
    `Query validation error: '${detail}' on property ${name}.`,
    QUERY_ERROR,
  );
}

/** An integer query parameter within bounds; the 400 is sent when it is not. */
function integer(
  reply: FastifyReply,
  name: string,
  raw: string | undefined,
  min: number,
  max: number | undefined,
): number | undefined | FastifyReply {
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw)) return queryError(reply, 'Expected type integer but found type string', name);
  const n = Number(raw);
  if (n < min) return queryError(reply, `Value ${n} is less than minimum ${min}`, name);
  if (max !== undefined && n > max)
    return queryError(reply, `Value ${n} is greater than maximum ${max}`, name);
  return n;
}

/** The cursor of a checkpoint page: opaque to clients, a sequence number to the simulator. */
export function encodeCursor(seq: number): string {
  return Buffer.from(`${Date.now()}_${seq}`).toString('base64url');
}

function decodeCursor(from: string): number | undefined {
  const m = /^\d+_(\d+)$/.exec(Buffer.from(from, 'base64url').toString('utf8'));
  return m ? Number(m[1]) : undefined;
}

/** The paging a request asks for, or the 400 answer already sent. */
export function readPaging(
  req: FastifyRequest,
  reply: FastifyReply,
  rules: PagingRules,
): Paging | FastifyReply {
  const query = q(req);
  const takeRaw = one(query.take);
  const from = one(query.from);
  if (rules.checkpoint && (takeRaw !== undefined || from !== undefined)) {
    const take = integer(reply, 'take', takeRaw, 1, 100);
    if (typeof take === 'object') return take;
    let after = -1;
    if (from !== undefined && from !== '') {
      const seq = decodeCursor(from);
      if (seq === undefined) return queryError(reply, 'Invalid checkpoint', 'from');
      after = seq;
    }
    return { kind: 'checkpoint', after, take: take ?? 50 };
  }
  const perPage = integer(reply, 'per_page', one(query.per_page), 1, 100);
  if (typeof perPage === 'object') return perPage;
  const page = integer(reply, 'page', one(query.page), 0, rules.maxPage);
  if (typeof page === 'object') return page;
  const totals = one(query.include_totals);
  if (totals !== undefined && totals !== 'true' && totals !== 'false') {
    return queryError(reply, 'Expected type boolean but found type string', 'include_totals');
  }
  const p: Paging = {
    kind: 'offset',
    page: page ?? 0,
    perPage: perPage ?? 50,
    includeTotals: totals === 'true',
  };
  if (rules.capped && (p.page + 1) * p.perPage > 1000) {
    return sendManagementError(reply, 400, PAGING_CAP_MESSAGE, 'invalid_paging');
  }
  return p;
}

/** The offset paging of an endpoint without checkpoint paging, or the 400 answer already sent. */
export function readOffsetPaging(
  req: FastifyRequest,
  reply: FastifyReply,
  rules: Omit<PagingRules, 'checkpoint'>,
): OffsetPaging | FastifyReply {
  return readPaging(req, reply, { ...rules, checkpoint: false }) as OffsetPaging | FastifyReply;
}

/** An offset page of `items` in Auth0's shape: a bare array, or the envelope with totals. */
export function sendOffsetPage<T>(
  reply: FastifyReply,
  paging: OffsetPaging,
  key: string,
  items: readonly T[],
  render: (item: T) => unknown,
): FastifyReply {
  const start = paging.page * paging.perPage;
  const page = items.slice(start, start + paging.perPage).map(render);
  if (!paging.includeTotals) return reply.type(JSON_UTF8).send(page);
  return reply.type(JSON_UTF8).send({ start, limit: paging.perPage, total: items.length, [key]: page });
}

/**
 * A checkpoint page from `items` (ordered by sequence number, starting after the cursor).
 * `lookAhead`: `next` only when more items follow (organizations); without it `next` comes with
 * every full page, so the last one may be followed by an empty page (organization members, as
 * recorded from real tenants).
 */
export function sendCheckpointPage<T>(
  reply: FastifyReply,
  take: number,
  key: string,
  items: Iterable<T>,
  seqOf: (item: T) => number,
  render: (item: T) => unknown,
  lookAhead: boolean,
): FastifyReply {
  const page: T[] = [];
  let more = false;
  for (const item of items) {
    if (page.length === take) {
      more = true;
      break;
    }
    page.push(item);
  }
  const body: Record<string, unknown> = { [key]: page.map(render) };
  const last = page[page.length - 1];
  if (last !== undefined && (lookAhead ? more : page.length === take)) body.next = encodeCursor(seqOf(last));
  return reply.type(JSON_UTF8).send(body);
}
