/**
 * checkCollisions reads the new tenant for users Auth0 refused as duplicates: the same user (by
 * id, or by lower-cased email in the connection) or another user holding an attribute of theirs.
 */
import { describe, expect, it } from 'vitest';
import type { TenantClient } from '../../src/auth0/types.js';
import { checkCollisions } from '../../src/jobs/collisions.js';
import { HandBack } from '../../src/jobs/job-control.js';
import type { BatchUser } from '../../src/jobs/types.js';

const CONNECTION = 'Username-Password-Authentication';
type ApiUser = Record<string, unknown>;

const apiUser = (id: string, over: ApiUser = {}, connection = CONNECTION): ApiUser => ({
  user_id: id,
  identities: [{ connection, provider: 'auth0', user_id: id.replace(/^auth0\|/, '') }],
  ...over,
});

/** A new tenant of `users`, answering the three reads and counting them. */
function tenant(users: ApiUser[]) {
  const calls: string[] = [];
  const client = {
    label: 'new',
    async getUser(id: string) {
      calls.push(`GET /users/${id}`);
      return users.find((u) => u.user_id === id);
    },
    async usersByEmail(email: string) {
      calls.push(`GET /users-by-email ${email}`);
      return users.filter((u) => u.email === email);
    },
    async searchUsers(q: string) {
      calls.push(`GET /users?q=${q}`);
      const m = /^(\w+):"(.*)"$/.exec(q)!;
      return users.filter((u) => String(u[m[1]!]).toLowerCase() === m[2]!.toLowerCase());
    },
  } as unknown as TenantClient;
  return { client, calls };
}

const user = (id: string, over: Partial<BatchUser> = {}): BatchUser => ({
  line: 1,
  userId: `auth0|${id}`,
  sentId: id,
  email: `${id}@Example.com`,
  hasPassword: false,
  original: { user_id: `auth0|${id}` },
  ...over,
});

const DUP = [{ code: 'DUPLICATED_USER', message: 'The user already exist and upsert parameter is false' }];

describe('checkCollisions', () => {
  it('finds the same user by id with one read, and by lower-cased email in the connection with two', async () => {
    const t = tenant([
      apiUser('auth0|a1'),
      apiUser('auth0|signup9', { email: 'b2@example.com' }),
      apiUser('google-oauth2|1', { email: 'c3@example.com' }, 'google-oauth2'),
    ]);
    const users = [user('a1'), user('b2'), user('c3', { username: 'cy' })];
    const checks = await checkCollisions(
      t.client,
      users,
      new Map([
        [0, DUP],
        [1, DUP],
        [2, DUP],
      ]),
      { connection: CONNECTION, concurrency: 1 },
    );
    expect(checks.get(0)).toEqual({ kind: 'same_user', matchedBy: 'user_id', newUserId: 'auth0|a1' });
    expect(checks.get(1)).toEqual({ kind: 'same_user', matchedBy: 'email', newUserId: 'auth0|signup9' });
    // The same email in another connection is not this user; its username is all that is left.
    expect(checks.get(2)).toEqual({ kind: 'other_user', attribute: 'username', value: 'cy' });
    expect(t.calls).toEqual([
      'GET /users/auth0|a1',
      'GET /users/auth0|b2',
      'GET /users-by-email b2@example.com',
      'GET /users/auth0|c3',
      'GET /users-by-email c3@example.com',
      'GET /users?q=username:"cy"',
    ]);
  });

  it('names the other user holding the username or phone number, or its own id in another connection', async () => {
    const t = tenant([
      apiUser('auth0|jd', { username: 'jdoe' }),
      apiUser('auth0|ph', { phone_number: '+447000000002' }),
      apiUser('auth0|x3', {}, 'Other-Database'),
    ]);
    const users = [
      user('u1', { username: 'JDoe', phone: '+447000000001' }),
      user('u2', { username: 'free', phone: '+447000000002' }),
      user('x3'),
      user('u4', { username: 'nobody', phone: '+447000000004' }),
    ];
    const checks = await checkCollisions(
      t.client,
      users,
      new Map([
        [0, DUP],
        [1, DUP],
        [2, [{ code: 'CONFLICT', message: 'user_id used in another connection' }]],
        [3, DUP],
      ]),
      { connection: CONNECTION },
    );
    expect(checks.get(0)).toEqual({
      kind: 'other_user',
      attribute: 'username',
      value: 'JDoe',
      other_user_id: 'auth0|jd',
    });
    expect(checks.get(1)).toEqual({
      kind: 'other_user',
      attribute: 'phone_number',
      value: '+447000000002',
      other_user_id: 'auth0|ph',
    });
    expect(checks.get(2)).toEqual({
      kind: 'other_user',
      attribute: 'user_id',
      value: 'auth0|x3',
      other_user_id: 'auth0|x3',
    });
    // Two attributes and neither found: it cannot say which.
    expect(checks.get(3)).toEqual({ kind: 'other_user' });
  });

  it('names the earlier user of the same file when Auth0 says the value was already provided', async () => {
    const t = tenant([]);
    const users = [user('first', { username: 'twin' }), user('second', { username: 'Twin' })];
    const checks = await checkCollisions(
      t.client,
      users,
      new Map([
        [1, [{ code: 'DUPLICATED_USER', message: 'A user with this username was already provided.' }]],
      ]),
      { connection: CONNECTION },
    );
    expect(checks.get(1)).toEqual({
      kind: 'other_user',
      attribute: 'username',
      value: 'Twin',
      inBatch: true,
      other_user_id: 'auth0|first',
    });
    expect(t.calls.some((c) => c.startsWith('GET /users?'))).toBe(false);
  });

  it('hands the batch back when stopped, before reading the next user', async () => {
    const t = tenant([]);
    const stop = new AbortController();
    stop.abort();
    await expect(
      checkCollisions(t.client, [user('a')], new Map([[0, DUP]]), {
        connection: CONNECTION,
        signal: stop.signal,
      }),
    ).rejects.toBeInstanceOf(HandBack);
    expect(t.calls).toEqual([]);
  });
});
