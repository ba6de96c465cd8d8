/**
 * Auth0's list paging as the Management API answers it: offset paging (`page`, `per_page` 1..100,
 * 50 when not set, `include_totals` → `{<key>, start, limit, total}`) and, where an endpoint offers
 * it, checkpoint paging (`from`, `take` 1..100 → `{<key>, next?}`, never totals).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { JSON_UTF8, one, q, sendManagementError } from '../http.js';

/** Auth0's page size when `per_page` (or `take`) is not given. */
export const DEFAULT_PAGE_SIZE = 50;

export interface OffsetPaging {
  kind: 'offset';
  page: number;
  perPage: number;
  includeTotals: boolean;
}

export interface CheckpointPaging {
  kind: 'checkpoint';
  /** The `next` of the previous page; absent on the first. */
  from: string | undefined;
  take: number;
}

export interface PagingOptions {
  /** The endpoint takes `from`/`take`. @defaultValue false */
  checkpoint?: boolean;
  /** The OAS maximum of `page` (1,000 on organization lists). @defaultValue none */
  maxPage?: number;
  /** Offset paging stops at 1,000 records with this `invalid_paging` message. @defaultValue no cap */
  capMessage?: string;
}

/** Auth0's answer to an organization list's offset page past 1,000 records (MIGRATION-FACTS.md B.5). */
export const ORGANIZATION_PAGING_CAP = 'Requesting page exceeds the allowed maximum of 1000 records';

/**
 * The request's paging, or undefined once a 400 naming the bad parameter is sent. With
 * `checkpoint`, a request carrying `from` or `take` pages by checkpoint.
 */
export function readPaging(
  req: FastifyRequest,
  reply: FastifyReply,
  options: PagingOptions = {},
): OffsetPaging | CheckpointPaging | undefined {
  const query = q(req);
  const includeTotals = boolean(one(query.include_totals), 'include_totals');
  if (typeof includeTotals === 'string') return badQuery(reply, includeTotals);
  const take = one(query.take);
  const from = one(query.from);
  if (options.checkpoint && (take !== undefined || from !== undefined)) {
    const size = integer(take, 'take', 1, 100);
    if (typeof size === 'string') return badQuery(reply, size);
    return { kind: 'checkpoint', from: from === '' ? undefined : from, take: size ?? DEFAULT_PAGE_SIZE };
  }
  const perPage = integer(one(query.per_page), 'per_page', 1, 100);
  if (typeof perPage === 'string') return badQuery(reply, perPage);
  const page = integer(one(query.page), 'page', 0, options.maxPage ?? Number.MAX_SAFE_INTEGER);
  if (typeof page === 'string') return badQuery(reply, page);
  const paging: OffsetPaging = {
    kind: 'offset',
    page: page ?? 0,
    perPage: perPage ?? DEFAULT_PAGE_SIZE,
    includeTotals: includeTotals === true,
  };
  // Refused as soon as the page would reach past record 1,000, even when fewer exist.
  if (options.capMessage !== undefined && (paging.page + 1) * paging.perPage > 1000) {
    void sendManagementError(reply, 400, options.capMessage, 'invalid_paging');
    return undefined;
  }
  return paging;
}

/** The offset paging of an endpoint without checkpoint paging, or undefined once the 400 is sent. */
export function readOffsetPaging(
  req: FastifyRequest,
  reply: FastifyReply,
  options: Omit<PagingOptions, 'checkpoint'> = {},
): OffsetPaging | undefined {
  return readPaging(req, reply, { ...options, checkpoint: false }) as OffsetPaging | undefined;
}

/** A checkpoint cursor over items numbered in order: opaque to clients, a number to the simulator. */
export function encodeSeqCursor(seq: number): string {
  return Buffer.from(`${Date.now()}_${seq}`).toString('base64url');
}

/** The number a cursor of {@link encodeSeqCursor} carries, or undefined for anything else. */
export function decodeSeqCursor(from: string): number | undefined {
  const m = /^\d+_(\d+)$/.exec(Buffer.from(from, 'base64url').toString('utf8'));
  return m ? Number(m[1]) : undefined;
}

/**
 * The number a checkpoint page over numbered items starts after (-1 on the first page), or
 * undefined once the 400 for a cursor this endpoint never issued is sent.
 */
export function seqAfter(reply: FastifyReply, paging: CheckpointPaging): number | undefined {
  if (paging.from === undefined) return -1;
  const seq = decodeSeqCursor(paging.from);
  if (seq === undefined) badQuery(reply, `'Invalid checkpoint' on property from`);
  return seq;
}

/**
 * A checkpoint page from `items` (numbered in order, starting after the cursor). `lookAhead`:
 * `next` only when more items follow (organizations); without it `next` comes with every full
 * page, so the last one may be followed by an empty page (organization members, as recorded from
 * real tenants).
 */
export function sendCheckpointPage<T>(
  reply: FastifyReply,
  key: string,
  items: Iterable<T>,
  paging: CheckpointPaging,
  seqOf: (item: T) => number,
  render: (item: T) => unknown,
  lookAhead: boolean,
): FastifyReply {
  const page: T[] = [];
  let more = false;
  for (const item of items) {
    if (page.length === paging.take) {
      more = true;
      break;
    }
    page.push(item);
  }
  const body: Record<string, unknown> = { [key]: page.map(render) };
  const last = page[page.length - 1];
  if (last !== undefined && (lookAhead ? more : page.length === paging.take)) {
    body.next = encodeSeqCursor(seqOf(last));
  }
  return reply.type(JSON_UTF8).send(body);
}

/** One offset page of `all`, bare or (with `include_totals`) in Auth0's envelope under `key`. */
export function sendOffsetPage<T>(
  reply: FastifyReply,
  key: string,
  all: readonly T[],
  paging: OffsetPaging,
  render: (item: T) => unknown,
): FastifyReply {
  const start = paging.page * paging.perPage;
  return sendPage(reply, key, all.slice(start, start + paging.perPage).map(render), paging, all.length);
}

/** An offset page already cut: `items` starting at `page * per_page` of `total`. */
export function sendPage(
  reply: FastifyReply,
  key: string,
  items: unknown[],
  paging: OffsetPaging,
  total: number,
): FastifyReply {
  if (!paging.includeTotals) return reply.type(JSON_UTF8).send(items);
  return reply
    .type(JSON_UTF8)
    .send({ [key]: items, start: paging.page * paging.perPage, limit: paging.perPage, total });
}

/** A 400 for a bad query parameter, as Auth0's query validation words it. */
export function badQuery(reply: FastifyReply, detail: string): undefined {
  void sendManagementError(reply, 400, `Query validation error: ${detail}.`, 'invalid_query_string');
  return undefined;
}

function integer(
  raw: string | undefined,
  name: string,
  min: number,
  max: number,
): number | undefined | string {
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw)) return `'Expected type integer but found type string' on property ${name}`;
  const n = Number(raw);
  if (n < min) return `'Value ${raw} is less than minimum ${min}' on property ${name}`;
  if (n > max) return `'Value ${raw} is greater than maximum ${max}' on property ${name}`;
  return n;
}

function boolean(raw: string | undefined, name: string): boolean | undefined | string {
  if (raw === undefined || raw === 'false') return raw === undefined ? undefined : false;
  if (raw === 'true') return true;
  return `'Expected type boolean but found type string' on property ${name}`;
}
