/**
 * Reads of the new tenant that settle what a DUPLICATED_USER or CONFLICT* answer means for a user:
 * the same user is there (same id, or same lower-cased email in the connection), or another user
 * holds one of its attributes, and whose it is when a read can tell.
 *
 * GET /users/{id} and /users-by-email are immediately consistent and decide; the search naming
 * the holder of a username or phone number is not, so a user created moments ago may go unnamed.
 * Only users Auth0 refused as duplicates are read, and the snapshot already left out most of those.
 */
import type { JobUserError, TenantClient } from '../auth0/types.js';
import { HandBack } from './job-control.js';
import type { BatchUser, CollisionCheck } from './types.js';

export interface CheckCollisionsOptions {
  /** The new tenant's database connection. */
  connection: string;
  /** Users read at once. @defaultValue 4 */
  concurrency?: number;
  /** Stops between users with {@link HandBack}. */
  signal?: AbortSignal;
}

/** Reads the new tenant for each user of `toCheck` (indices into `users`, with Auth0's errors). */
export async function checkCollisions(
  client: TenantClient,
  users: BatchUser[],
  toCheck: ReadonlyMap<number, JobUserError['errors']>,
  options: CheckCollisionsOptions,
): Promise<Map<number, CollisionCheck>> {
  const out = new Map<number, CollisionCheck>();
  const queue = [...toCheck.entries()];
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < queue.length) {
      if (options.signal?.aborted) throw new HandBack();
      const [i, errors] = queue[next++]!;
      try {
        out.set(i, await checkOne(client, users, i, errors, options.connection));
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? 4, queue.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return out;
}

function inConnection(user: Record<string, unknown>, connection: string): boolean {
  const identities = user.identities;
  return (
    Array.isArray(identities) &&
    identities.some(
      (i) => i !== null && typeof i === 'object' && (i as Record<string, unknown>).connection === connection,
    )
  );
}

async function checkOne(
  client: TenantClient,
  users: BatchUser[],
  i: number,
  errors: JobUserError['errors'],
  connection: string,
): Promise<CollisionCheck> {
  const u = users[i]!;
  const ownId = u.sentId !== undefined ? `auth0|${u.sentId}` : u.userId;
  let idElsewhere = false;
  if (ownId !== undefined) {
    const found = await client.getUser(ownId);
    if (found !== undefined && inConnection(found, connection)) {
      return { kind: 'same_user', matchedBy: 'user_id', newUserId: ownId };
    }
    idElsewhere = found !== undefined;
  }
  // Auth0 keeps database emails lower-cased, and users-by-email matches exactly.
  const byEmail = (await client.usersByEmail(u.email.toLowerCase())).find((x) => inConnection(x, connection));
  if (byEmail !== undefined && typeof byEmail.user_id === 'string') {
    return { kind: 'same_user', matchedBy: 'email', newUserId: byEmail.user_id };
  }
  if (idElsewhere) return { kind: 'other_user', attribute: 'user_id', value: ownId, other_user_id: ownId };
  return whoHolds(client, users, i, errors, ownId, connection);
}

type Held = 'username' | 'phone_number';

function valueOf(u: BatchUser, attribute: Held): string | undefined {
  return attribute === 'username' ? u.username : u.phone;
}

function same(attribute: Held, a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return attribute === 'username' ? a.toLowerCase() === b.toLowerCase() : a === b;
}

/** Names the attribute another user holds, and that user, as far as the batch and a search tell. */
async function whoHolds(
  client: TenantClient,
  users: BatchUser[],
  i: number,
  errors: JobUserError['errors'],
  ownId: string | undefined,
  connection: string,
): Promise<CollisionCheck> {
  const u = users[i]!;
  // Auth0: "A user with this username was already provided." when the file repeats it.
  const provided = errors
    .map((e) => /this (username|phone_number|phone) was already provided/i.exec(e.message)?.[1])
    .find((m) => m !== undefined);
  if (provided !== undefined) {
    const attribute: Held = provided.toLowerCase() === 'username' ? 'username' : 'phone_number';
    const value = valueOf(u, attribute);
    const earlier = users.slice(0, i).find((o) => same(attribute, valueOf(o, attribute), value));
    const earlierId = earlier?.sentId !== undefined ? `auth0|${earlier.sentId}` : earlier?.userId;
    return {
      kind: 'other_user',
      attribute,
      inBatch: true,
      ...(value !== undefined && { value }),
      ...(earlierId !== undefined && { other_user_id: earlierId }),
    };
  }
  const held = (['username', 'phone_number'] as const).filter((a) => valueOf(u, a) !== undefined);
  for (const attribute of held) {
    const value = valueOf(u, attribute)!;
    const found = (await client.searchUsers(`${attribute}:"${value.replace(/["\\]/g, '\\$&')}"`)).find(
      (x) =>
        inConnection(x, connection) &&
        x.user_id !== ownId &&
        same(attribute, typeof x[attribute] === 'string' ? x[attribute] : undefined, value),
    );
    if (found !== undefined && typeof found.user_id === 'string') {
      return { kind: 'other_user', attribute, value, other_user_id: found.user_id };
    }
  }
  // With its id and email free, only its username or phone number can have collided.
  if (held.length === 1) return { kind: 'other_user', attribute: held[0]!, value: valueOf(u, held[0]!)! };
  return { kind: 'other_user' };
}
