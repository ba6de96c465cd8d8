/**
 * Linked accounts: a user of the old tenant whose `identities` hold more than one identity was
 * linked there (by the user, or an approved flow); each identity beyond the first is a link from
 * the primary user to a secondary account. The new tenant gets the same links through
 * `POST /users/{primary}/identities` with the secondary's `provider` and `user_id`, once both
 * accounts exist there:
 *
 * - database identities exist once imported (a database identity whose primary is a social user
 *   is imported as a user of its own, see src/pipeline/transform.ts), so they link at once;
 * - social and enterprise accounts cannot be created by API: they appear on the user's first login
 *   to the new tenant, under the provider's subject (the same `user_id` when the connection uses
 *   the same identity-provider application). Until then the link is `pending_user`, and a later
 *   run links it.
 *
 * Not linking by email: the link existed in the old tenant, and a social `user_id` is the
 * provider's subject. Additive: a link the new tenant has is `already_present`; one the new tenant
 * made to another user is reported, never undone.
 *
 * Memory: the old tenant's links (users with more than one identity) and what the new tenant shows
 * of the users they name; other users are read past.
 */
import type { CallSuccess, DiffInput, RelationFamily } from './family.js';
import { recordBase } from './entries.js';
import { stableHash, type AddedRecord, type PlanEntry, type PlannedCall } from './types.js';

/**
 * Each user of a tenant with its identities, supplied by the stage from the run's users export
 * (the old tenant's export; the new tenant's snapshot): items `{ user_id, identities: [{ provider,
 * user_id, connection, isSocial }] }`, as the export writes them.
 */
export const IDENTITIES_SOURCE = '@identities';

export interface Link {
  /** The old tenant's primary user, e.g. `auth0|abc` (the same id in the new tenant). */
  primary: string;
  provider: string;
  /** The secondary identity's `user_id`, without the `provider|` prefix, as the API takes it. */
  userId: string;
  connection?: string;
  /** The secondary appears in the new tenant only on its first login there (social, enterprise). */
  onLogin: boolean;
}

const enc = encodeURIComponent;
const fullId = (l: Pick<Link, 'provider' | 'userId'>): string => `${l.provider}|${l.userId}`;
const identityKey = (provider: string, userId: string): string => `${provider}|${userId}`;

interface Identity {
  provider: string;
  user_id: string;
  connection?: string;
  isSocial?: boolean;
}

function identitiesOf(item: Record<string, unknown>): Identity[] {
  const list = item.identities;
  if (!Array.isArray(list)) return [];
  const out: Identity[] = [];
  for (const i of list as unknown[]) {
    if (i === null || typeof i !== 'object') continue;
    const r = i as Record<string, unknown>;
    if (typeof r.provider !== 'string' || r.provider === '') continue;
    if (typeof r.user_id !== 'string' && typeof r.user_id !== 'number') continue;
    out.push({
      provider: r.provider,
      user_id: String(r.user_id),
      ...(typeof r.connection === 'string' && { connection: r.connection }),
      ...(typeof r.isSocial === 'boolean' && { isSocial: r.isSocial }),
    });
  }
  return out;
}

/** The links of one exported user: its identities beyond the first. */
export function linksOf(item: Record<string, unknown>): Link[] {
  const primary = item.user_id;
  if (typeof primary !== 'string' || primary === '') return [];
  return identitiesOf(item)
    .slice(1)
    .map((i) => ({
      primary,
      provider: i.provider,
      userId: i.user_id,
      ...(i.connection !== undefined && { connection: i.connection }),
      // Only database accounts (provider auth0) can be imported; enterprise ones are isSocial: false too.
      onLogin: i.provider !== 'auth0',
    }));
}

/** What the new tenant shows of the users the old tenant's links name. */
interface NewSide {
  /** Users present (by user id). */
  present: Set<string>;
  /** Identity key (`provider|user_id`) → the user holding it as a linked identity. */
  linkedTo: Map<string, string>;
}

async function readNew(input: DiffInput, wanted: Set<string>): Promise<NewSide | undefined> {
  if (input.unavailable('new', IDENTITIES_SOURCE)) return undefined;
  const side: NewSide = { present: new Set(), linkedTo: new Map() };
  for await (const { item } of input.read('new', IDENTITIES_SOURCE)) {
    const id = item.user_id;
    if (typeof id !== 'string') continue;
    if (wanted.has(id)) side.present.add(id);
    for (const i of identitiesOf(item).slice(1)) {
      const key = identityKey(i.provider, i.user_id);
      if (wanted.has(key)) side.linkedTo.set(key, id);
    }
  }
  return side;
}

const notThere = (id: string, onLogin: boolean): string =>
  onLogin ? `${id} has not logged in to the new tenant yet` : `${id} is not in the new tenant yet`;

function linkCall(link: Link): PlannedCall {
  const item = { provider: link.provider, user_id: link.userId };
  return {
    id: `links-${stableHash(`${link.primary}\n${link.provider}\n${link.userId}`)}`,
    kind: 'links',
    tenant: 'new',
    method: 'POST',
    path: `/users/${enc(link.primary)}/identities`,
    body: item,
    phase: 0,
    count: 1,
    userIds: [link.primary],
    items: [item],
  };
}

async function* diff(input: DiffInput): AsyncGenerator<PlanEntry> {
  const links: Link[] = [];
  const wanted = new Set<string>();
  for await (const { item } of input.read('old', IDENTITIES_SOURCE)) {
    for (const link of linksOf(item)) {
      links.push(link);
      wanted.add(link.primary);
      wanted.add(fullId(link));
    }
  }
  if (links.length === 0) return;
  const now = await readNew(input, wanted);
  const inNew = async (id: string): Promise<boolean> =>
    now?.present.has(id) === true || (await input.userInNew(id));
  const entity = (link: Link) => ({ type: 'user', name: link.primary, id: link.primary });

  for (const link of links) {
    const secondary = fullId(link);
    const holder = now?.linkedTo.get(secondary);
    if (holder === link.primary) {
      yield { type: 'settled', settled: { kind: 'links', outcome: 'already_present', userId: link.primary } };
      continue;
    }
    if (holder !== undefined) {
      yield {
        type: 'settled',
        settled: {
          kind: 'links',
          outcome: 'failed',
          userId: link.primary,
          entity: entity(link),
          code: 'linked_to_other_user',
          detail: `${secondary} is linked to ${holder} in the new tenant, not to ${link.primary}; unlink it there first if it belongs here`,
        },
      };
      continue;
    }
    const missing: string[] = [];
    if (!(await inNew(link.primary)))
      missing.push(notThere(link.primary, !link.primary.startsWith('auth0|')));
    if (!(await inNew(secondary))) missing.push(notThere(secondary, link.onLogin));
    if (missing.length > 0) {
      yield {
        type: 'settled',
        settled: {
          kind: 'links',
          outcome: 'pending_user',
          userId: link.primary,
          entity: entity(link),
          detail: `link of ${secondary}: ${missing.join('; ')}`,
        },
      };
      continue;
    }
    yield { type: 'call', call: linkCall(link) };
  }
}

function added(call: PlannedCall, success: CallSuccess): AddedRecord[] {
  const primary = call.userIds[0] ?? '';
  return (call.items ?? []).map((item) => ({
    ...recordBase(call, success),
    action: 'assigned' as const,
    entity: { type: 'user', name: primary, id: primary },
    userId: primary,
    item,
    // Unlinking makes the secondary a standalone user again, as it was before the run.
    undo: {
      method: 'DELETE' as const,
      path: `/users/${enc(primary)}/identities/${enc(item.provider ?? '')}/${enc(item.user_id ?? '')}`,
    },
  }));
}

export const linksFamily: RelationFamily = {
  name: 'links',
  kinds: ['links'],
  // Both lists are the stage's own (the users exports), not Management API reads.
  sources: [],
  diff: (input) => diff(input),
  added,
};
