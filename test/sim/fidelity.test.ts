/**
 * Where the simulator answers as recorded traffic of real tenants shows (go-auth0's recordings):
 * the default `picture`, `last_password_reset`, verification-email jobs and email-verification
 * tickets. The official SDK drives each endpoint; every answer is checked against the OAS.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { ManagementClient } from 'auth0';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_CONNECTION, startSimulator, type Simulator } from '../../src/sim/index.js';
import { avatarInitials } from '../../src/sim/tenant/users.js';
import { Mgmt, managementToken, sdkFor } from './helpers.js';

let sim: Simulator;
let sdk: ManagementClient;
let api: Mgmt;

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 20 });
  sdk = sdkFor(sim.tenants.new);
  api = await Mgmt.connect(sim, 'new');
});

afterAll(async () => {
  await sim.close();
});

/** Auth0's default picture, written out independently of the simulator's code. */
function gravatar(email: string, initials: string): string {
  const md5 = createHash('md5').update(email.toLowerCase()).digest('hex');
  return `https://s.gravatar.com/avatar/${md5}?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2F${initials}.png`;
}

let seq = 0;
async function createUser(extra: Record<string, unknown> = {}): Promise<{ user_id: string; email: string }> {
  const email = `person${++seq}@example.com`;
  const user = await sdk.users.create({
    connection: DB_CONNECTION,
    email,
    password: 'Initial-Passw0rd!',
    ...extra,
  });
  return { user_id: user.user_id!, email };
}

describe('picture', () => {
  it('is the recorded gravatar for a user created without one (go-auth0 TestUserManager_Create)', async () => {
    const created = await sdk.users.create({
      connection: DB_CONNECTION,
      email: 'chuck@example.com',
      username: 'chuck',
      password: 'I have a password and its a secret',
    });
    // The recorded answer's picture, byte for byte.
    expect(created.picture).toBe(
      'https://s.gravatar.com/avatar/0b79e7da7bc7877560620cf8f2cc93ae?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2Fch.png',
    );
    const id = created.user_id!;
    expect((await sdk.users.get(id)).picture).toBe(created.picture);
    expect((await sdk.users.listUsersByEmail({ email: 'Chuck@Example.com' }))[0]!.picture).toBe(
      created.picture,
    );
    const listed = await api.call('GET', `/users?q=${encodeURIComponent('email:"chuck@example.com"')}`);
    expect(listed.body[0].picture).toBe(created.picture);
  });

  it('keeps a supplied picture, and names the fallback by the initials of a two-word name', async () => {
    const own = await sdk.users.create({
      connection: DB_CONNECTION,
      email: 'own@example.com',
      password: 'Passw0rd!x',
      picture: 'https://example.com/me.png',
    });
    expect(own.picture).toBe('https://example.com/me.png');
    const named = await sdk.users.create({
      connection: DB_CONNECTION,
      email: 'Daniel.G@example.com',
      name: 'Daniel Geslin',
      password: 'Passw0rd!x',
    });
    expect(named.picture).toBe(gravatar('daniel.g@example.com', 'dg'));
    expect(avatarInitials('sashachambers10.12@gmail.com')).toBe('sa');
  });

  it('is given to users created by an import, and exported', async () => {
    const job = await api.importUsers([
      { email: 'imported@example.com', email_verified: true },
      { email: 'pictured@example.com', picture: 'https://example.com/p.png' },
    ]);
    expect(job.status).toBe('completed');
    const [imported] = (await api.call('GET', '/users-by-email?email=imported@example.com')).body;
    expect(imported.picture).toBe(gravatar('imported@example.com', 'im'));
    const [pictured] = (await api.call('GET', '/users-by-email?email=pictured@example.com')).body;
    expect(pictured.picture).toBe('https://example.com/p.png');

    const exp = await sdk.jobs.usersExports.create({
      connection_id: sim.tenants.new.connectionId,
      format: 'json',
      fields: [{ name: 'email' }, { name: 'picture' }],
    });
    await sim.tenant('new').jobEnded(exp.id);
    const done = await sdk.jobs.get(exp.id);
    const lines = gunzipSync(Buffer.from(await (await fetch(done.location!)).arrayBuffer()))
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { email: string; picture?: string });
    expect(lines.find((l) => l.email === 'imported@example.com')?.picture).toBe(
      gravatar('imported@example.com', 'im'),
    );
    expect(lines.every((l) => typeof l.picture === 'string')).toBe(true);
  });

  it('generated users carry the gravatar of their own email', async () => {
    const [u] = (await Mgmt.connect(sim, 'old').then((old) => old.call('GET', '/users?per_page=1'))).body;
    const md5 = createHash('md5').update(u.email).digest('hex');
    expect(u.picture).toMatch(new RegExp(`^https://s\\.gravatar\\.com/avatar/${md5}\\?s=480&r=pg&d=`));
  });
});

describe('last_password_reset', () => {
  it('is absent until a PATCH changes the password, then returned from then on', async () => {
    const { user_id } = await createUser();
    expect((await sdk.users.get(user_id)).last_password_reset).toBeUndefined();
    const before = Date.now();
    const patched = await sdk.users.update(user_id, { password: 'Another-Passw0rd!' });
    expect(Date.parse(patched.last_password_reset as string)).toBeGreaterThanOrEqual(before - 1000);
    expect((await sdk.users.get(user_id)).last_password_reset).toBe(patched.last_password_reset);
    const renamed = await sdk.users.update(user_id, { name: 'Just a name' });
    expect(renamed.last_password_reset).toBe(patched.last_password_reset);
  });

  it('is set when a password-change ticket is followed, which works once', async () => {
    const { user_id } = await createUser({ email_verified: false });
    const { ticket } = await sdk.tickets.changePassword({ user_id, mark_email_as_verified: true });
    const url = new URL(ticket!.replace(`https://${sim.tenants.new.domain}`, sim.tenants.new.baseUrl));
    const post = () =>
      fetch(`${sim.tenants.new.baseUrl}/u/reset-password`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          ticket: url.searchParams.get('ticket')!,
          newPassword: 'Set-By-Ticket1!',
        }),
      });
    expect((await post()).status).toBe(200);
    const after = await sdk.users.get(user_id);
    expect(after.last_password_reset).toEqual(expect.any(String));
    expect(after.email_verified).toBe(true);
    const again = await post();
    expect(again.status).toBe(400);
    expect(await again.text()).toBe('This ticket was already used.');
  });
});

describe('POST /jobs/verification-email', () => {
  it('is a verification_email job, pending then completed, that sends to the outbox', async () => {
    const { user_id, email } = await createUser();
    const tenant = sim.tenant('new');
    const sentBefore = tenant.outbox.length;
    const job = await sdk.jobs.verificationEmail.create({ user_id });
    expect(Object.keys(job).sort()).toEqual(['created_at', 'id', 'status', 'type']);
    expect(job).toMatchObject({ type: 'verification_email', status: 'pending' });
    expect(job.id).toMatch(/^job_[A-Za-z0-9]{16}$/);
    await tenant.jobEnded(job.id);
    const done = await sdk.jobs.get(job.id);
    expect(done).toEqual({
      type: 'verification_email',
      status: 'completed',
      created_at: job.created_at,
      id: job.id,
    });
    expect(tenant.outbox.slice(sentBefore)).toEqual([
      expect.objectContaining({ kind: 'verification_email', to: email, user_id, connection: DB_CONNECTION }),
    ]);
    expect(tenant.stats.verificationEmails).toBeGreaterThanOrEqual(1);
  });

  it('refuses unknown users, users without an email, identities they lack, and tokens without update:users', async () => {
    const noUser = await api.call('POST', '/jobs/verification-email', { json: { user_id: 'auth0|nobody' } });
    expect(noUser.status).toBe(400);
    expect(noUser.body.message).toBe('The user does not exist.');
    const named = await sdk.users.create({
      connection: DB_CONNECTION,
      username: 'noemail1',
      password: 'Passw0rd!x',
    });
    const noEmail = await api.call('POST', '/jobs/verification-email', { json: { user_id: named.user_id } });
    expect(noEmail.status).toBe(400);
    expect(noEmail.body.message).toBe('User does not have an email address.');
    const { user_id } = await createUser();
    const wrongIdentity = await api.call('POST', '/jobs/verification-email', {
      json: { user_id, identity: { user_id: '123', provider: 'google-oauth2' } },
    });
    expect(wrongIdentity.status).toBe(400);
    expect(wrongIdentity.body.message).toBe('The user exists, but does not contain the given identity.');
    const extra = await api.call('POST', '/jobs/verification-email', { json: { user_id, send: true } });
    expect(extra.status).toBe(400);
    const token = await managementToken(sim.tenants.new, 'read:users');
    const forbidden = await api.call('POST', '/jobs/verification-email', { json: { user_id }, token });
    expect(forbidden.status).toBe(403);
  });
});

describe('POST /tickets/email-verification', () => {
  it('answers 201 with a ticket URL (as recorded); following it verifies the email once', async () => {
    const { user_id } = await createUser({ email_verified: false });
    const { ticket } = await sdk.tickets.verifyEmail({
      user_id,
      result_url: 'https://example.com/verify-email',
      ttl_sec: 3600,
    });
    expect(ticket).toMatch(
      new RegExp(
        `^https://${sim.tenants.new.domain.replace(/\./g, '\\.')}/u/email-verification\\?ticket=[A-Za-z0-9_-]+#$`,
      ),
    );
    expect((await sdk.users.get(user_id)).email_verified).toBe(false);
    const follow = () =>
      fetch(ticket!.replace(`https://${sim.tenants.new.domain}`, sim.tenants.new.baseUrl), {
        redirect: 'manual',
      });
    const first = await follow();
    expect(first.status).toBe(302);
    expect(first.headers.get('location')).toBe('https://example.com/verify-email');
    expect((await sdk.users.get(user_id)).email_verified).toBe(true);
    expect((await follow()).status).toBe(400);
  });

  it('refuses users it does not know (404) and result_url with client_id (400)', async () => {
    const missing = await api.call('POST', '/tickets/email-verification', {
      json: { user_id: 'auth0|nobody' },
    });
    expect(missing.status).toBe(404);
    const { user_id } = await createUser();
    const both = await api.call('POST', '/tickets/email-verification', {
      json: { user_id, result_url: 'https://example.com/x', client_id: sim.tenants.new.clientId },
    });
    expect(both.status).toBe(400);
  });
});
