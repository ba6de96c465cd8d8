/**
 * DELETE /api/v2/users/{id} as Auth0 answers it: 204 with the JSON content type whether or not the
 * user existed, the user gone from every read (by id, by email, listings, exports) with its linked
 * identities and enrolments, removal listeners told, the tenant's rate limit and faults applied.
 */
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { DB_CONNECTION, SOCIAL_CONNECTION, startSimulator, type Simulator } from '../../src/sim/index.js';
import type { UserRemovalReason } from '../../src/sim/tenant/user-store.js';
import { Mgmt, managementToken, type Loose } from './helpers.js';

let sim: Simulator | undefined;
const enc = encodeURIComponent;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function exportedIds(api: Mgmt): Promise<string[]> {
  const created = await api.call('POST', '/jobs/users-exports', {
    json: { format: 'json', fields: [{ name: 'user_id' }] },
  });
  const done = await api.waitForJob(created.body.id);
  const file = gunzipSync(Buffer.from(await (await fetch(done.location)).arrayBuffer())).toString();
  return file
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { user_id: string }).user_id);
}

describe('DELETE /users/{id}', () => {
  it('answers 204 twice; the user is gone from reads, listings, users-by-email and the export', async () => {
    sim = await startSimulator({});
    const api = await Mgmt.connect(sim, 'new');
    await api.importUsers([
      { email: 'gone@example.com', user_id: 'gone', mfa_factors: [{ totp: { secret: 'JBTWY3DPEHPK3PNP' } }] },
      { email: 'stays@example.com', user_id: 'stays' },
    ]);
    const removed: Array<[string, UserRemovalReason]> = [];
    sim.tenant('new').users.onDelete((u, reason) => removed.push([u.user_id, reason]));

    const first = await api.call('DELETE', '/users/auth0%7Cgone');
    expect(first.status).toBe(204);
    expect(first.text).toBe('');
    expect(first.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(removed).toEqual([['auth0|gone', 'deleted']]);

    const read = await api.call('GET', '/users/auth0%7Cgone');
    expect(read.body).toMatchObject({ statusCode: 404, errorCode: 'inexistent_user' });
    expect((await api.call('GET', '/users/auth0%7Cgone/authentication-methods')).status).toBe(404);
    expect((await api.call('GET', '/users-by-email?email=gone@example.com')).body).toEqual([]);
    const listed = (await api.call('GET', '/users?per_page=100')).body.map((u: Loose) => u.user_id);
    expect(listed).toEqual(['auth0|stays']);
    expect(await exportedIds(api)).toEqual(['auth0|stays']);

    // Auth0 answers 204 for a user that is not there (node-auth0 issues 451 and 645).
    const again = await api.call('DELETE', '/users/auth0%7Cgone');
    expect(again.status).toBe(204);
    expect(removed).toHaveLength(1);

    // The id is free again: the same user can be imported anew.
    const back = await api.importUsers([{ email: 'gone@example.com', user_id: 'gone' }]);
    expect(back.summary).toMatchObject({ inserted: 1, failed: 0 });
  });

  it('deletes a primary with the identities linked to it', async () => {
    sim = await startSimulator({});
    const api = await Mgmt.connect(sim, 'new');
    await api.importUsers([
      { email: 'p@example.com', user_id: 'p' },
      { email: 's@example.com', user_id: 's' },
    ]);
    const social = await fetch(`${sim.url}/__sim/idp-login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'new', user_id: 'google-oauth2|42', profile: { email: 'p@gmail.com' } }),
    });
    expect(social.status).toBe(201);
    for (const [provider, user_id] of [
      ['auth0', 's'],
      ['google-oauth2', '42'],
    ]) {
      const linked = await api.call('POST', '/users/auth0%7Cp/identities', { json: { provider, user_id } });
      expect(linked.status).toBe(201);
    }
    const removed: Array<[string, UserRemovalReason]> = [];
    sim.tenant('new').users.onDelete((u, reason) => removed.push([u.user_id, reason]));
    expect((await api.call('DELETE', '/users/auth0%7Cp')).status).toBe(204);
    expect(removed).toEqual([['auth0|p', 'deleted']]);
    for (const id of ['auth0|p', 'auth0|s', 'google-oauth2|42']) {
      expect((await api.call('GET', `/users/${enc(id)}`)).status).toBe(404);
    }
    expect(sim.tenant('new').users.findLinked('google-oauth2|42')).toBeUndefined();
    expect(sim.tenant('new').userCount()).toBe(0);
    expect(await exportedIds(api)).toEqual([]);
    // Both identities are free: the database one can be imported, the social one logs in anew.
    expect((await api.importUsers([{ email: 's@example.com', user_id: 's' }])).summary.inserted).toBe(1);
  });

  it('deletes generated users, linked ones from every connection they were counted in', async () => {
    sim = await startSimulator({ seedOld: 300, seedLinked: 1 });
    const api = await Mgmt.connect(sim, 'old');
    const state = sim.tenant('old');
    const counts = () => [
      state.userCount(DB_CONNECTION),
      state.userCount(SOCIAL_CONNECTION),
      state.userCount(),
    ];
    const before = counts();
    // With every user linked, every user but those without an email has an identity in both.
    expect(before[0]).toBe(300);
    expect(before[2]).toBe(300);
    expect(before[1]).toBeGreaterThan(250);
    const victim = [...state.listUsers(SOCIAL_CONNECTION)][0]!;
    expect((await api.call('DELETE', `/users/${enc(String(victim.user_id))}`)).status).toBe(204);
    expect(counts()).toEqual(before.map((n) => n - 1));
    expect([...state.listUsers(DB_CONNECTION)].some((u) => u.user_id === victim.user_id)).toBe(false);
    const secondary = (victim.identities as Loose[])[1];
    expect(state.users.findLinked(`${secondary.provider}|${secondary.user_id}`)).toBeUndefined();
  });

  it('wants delete:users (or delete:current_user), draws on the tenant bucket, and meets injected faults', async () => {
    sim = await startSimulator({ rateLimit: { capacity: 4, refillPerSecond: 0.001 } });
    const api = await Mgmt.connect(sim, 'new');
    await api.importUsers([{ email: 'x@example.com', user_id: 'x' }]);
    const token = await managementToken(sim.tenants.new, 'read:users');
    const denied = await api.call('DELETE', '/users/auth0%7Cx', { token });
    expect(denied.status).toBe(403);
    expect(denied.body.message).toBe('Insufficient scope, expected any of: delete:users,delete:current_user');

    sim.faults.add({ kind: 'error', status: 503, method: 'DELETE', path: '/api/v2/users/' });
    expect((await api.call('DELETE', '/users/auth0%7Cx')).status).toBe(503);
    expect(sim.tenant('new').rawUser('auth0|x')).toBeDefined();
    // The import took two requests and the refusal one; the fault answered before the bucket: one left.
    expect((await api.call('DELETE', '/users/auth0%7Cx')).status).toBe(204);
    const limited = await api.call('DELETE', '/users/auth0%7Cx');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
  });
});
