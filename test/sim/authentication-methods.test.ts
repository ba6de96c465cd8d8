/**
 * MFA enrolments: an import's `mfa_factors` (stored, or MFA_FACTORS_FAILED with the user's other
 * fields applied), and /users/{id}/authentication-methods answered as real tenants answer (masked,
 * confirmed, never a TOTP secret). Every answer goes through the OAS check in helpers.ts.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { maskEmail, maskPhone } from '../../src/sim/tenant/authenticators.js';
import { Mgmt, managementToken, type Loose } from './helpers.js';

const MFA_EXAMPLES = JSON.parse(
  readFileSync(
    new URL('../fixtures/auth0-docs/bulk-import_mfa-factors-examples.json', import.meta.url),
    'utf8',
  ),
) as Array<{ email: string; mfa_factors: Array<Record<string, { secret?: string; value?: string }>> }>;

let sim: Simulator;
let api: Mgmt;

beforeAll(async () => {
  sim = await startSimulator({});
  api = await Mgmt.connect(sim, 'new');
});

afterAll(async () => {
  await sim.close();
});

async function userId(email: string): Promise<string> {
  const found = await api.call('GET', `/users-by-email?email=${encodeURIComponent(email)}`);
  expect(found.body).toHaveLength(1);
  return found.body[0].user_id as string;
}

const enc = encodeURIComponent;

describe('masking, as recorded from real tenants', () => {
  it('keeps at most four characters of each side of an email and the last four digits of a phone', () => {
    expect(maskEmail('chuck334@example.com')).toBe('chuc****@exam*******');
    expect(maskEmail('foo@example.com')).toBe('****@exam*******');
    expect(maskPhone('+44207183875044')).toBe('XXXXXXXXXXX5044');
  });
});

describe('imported factors', () => {
  it('are listed masked and confirmed, never with a TOTP secret, and show in multifactor and the export', async () => {
    const job = await api.importUsers(MFA_EXAMPLES);
    expect(job.summary).toEqual({ inserted: 4, updated: 0, failed: 0, total: 4 });
    const id = await userId('antoinette@example.com');

    const bare = await api.call('GET', `/users/${enc(id)}/authentication-methods`);
    expect(bare.status).toBe(200);
    expect(bare.body.map((a: Loose) => a.type)).toEqual(['totp', 'phone', 'email']);
    for (const a of bare.body) {
      expect(a.confirmed).toBe(true);
      expect(a.id).toMatch(new RegExp(`^${a.type}\\|dev_[A-Za-z0-9]{16}$`));
    }
    expect(bare.body[1]).toMatchObject({
      phone_number: 'XXXXXXXX2233',
      preferred_authentication_method: 'sms',
      authentication_methods: [{ type: 'sms', id: bare.body[1].id.replace('phone|', 'sms|') }],
    });
    expect(bare.body[2].email).toBe('anto******@exam*******');
    expect(bare.text).not.toContain('2PRXZWZAYYDAWCD');
    expect(bare.text).not.toContain('+15551112233');

    const paged = await api.call(
      'GET',
      `/users/${enc(id)}/authentication-methods?include_totals=true&per_page=2`,
    );
    expect(paged.body).toMatchObject({ total: 3, start: 0, limit: 2 });
    expect(paged.body.authenticators).toHaveLength(2);
    const rest = await api.call(
      'GET',
      `/users/${enc(id)}/authentication-methods?include_totals=true&per_page=2&page=1`,
    );
    expect(rest.body.authenticators.map((a: Loose) => a.id)).toEqual([bare.body[2].id]);

    const one = await api.call('GET', `/users/${enc(id)}/authentication-methods/${enc(bare.body[0].id)}`);
    expect(one.body).toEqual(bare.body[0]);

    expect((await api.call('GET', `/users/${enc(id)}`)).body.multifactor).toEqual(['guardian']);
    const exp = await api.call('POST', '/jobs/users-exports', {
      json: { format: 'json', fields: [{ name: 'email' }, { name: 'multifactor' }] },
    });
    await api.waitForJob(exp.body.id);
    const done = await api.call('GET', `/jobs/${exp.body.id}`);
    const file = gunzipSync(Buffer.from(await (await fetch(done.body.location)).arrayBuffer())).toString();
    const lines = file
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { email: string; multifactor?: string[] });
    expect(
      lines
        .filter((l) => l.multifactor !== undefined)
        .map((l) => l.email)
        .sort(),
    ).toEqual(MFA_EXAMPLES.map((u) => u.email).sort());
    expect(file).not.toContain('JBTWY3DPEHPK3PNP');
  });

  it('that fail are MFA_FACTORS_FAILED for that user alone, its other fields applied, the secret redacted', async () => {
    const job = await api.importUsers([
      { email: 'lower@example.com', name: 'Lower', mfa_factors: [{ totp: { secret: 'jbtwy3dpehpk3pnp' } }] },
      {
        email: 'two-totp@example.com',
        mfa_factors: [{ totp: { secret: 'AAAA' } }, { totp: { secret: 'BBBB' } }],
      },
      { email: 'nothing@example.com', mfa_factors: [{}] },
      { email: 'fine@example.com', mfa_factors: [{ email: { value: 'fine@example.org' } }] },
    ]);
    expect(job.summary).toEqual({ inserted: 1, updated: 0, failed: 3, total: 4 });
    const errors = (await api.call('GET', `/jobs/${job.id}/errors`)).body as Loose[];
    expect(errors.map((e) => e.errors)).toEqual([
      [
        {
          code: 'MFA_FACTORS_FAILED',
          message: 'Unable to import factors',
          path: 'mfa_factors[0].totp.secret',
        },
      ],
      [{ code: 'MFA_FACTORS_FAILED', message: 'Unable to import factors', path: 'mfa_factors[1]' }],
      [{ code: 'MFA_FACTORS_FAILED', message: 'Unable to import factors', path: 'mfa_factors[0]' }],
    ]);
    expect(errors[0].user.mfa_factors).toEqual([{ totp: { secret: '*****' } }]);
    expect(JSON.stringify(errors)).not.toContain('jbtwy3dpehpk3pnp');

    const lower = await userId('lower@example.com');
    expect((await api.call('GET', `/users/${enc(lower)}`)).body).toMatchObject({ name: 'Lower' });
    expect((await api.call('GET', `/users/${enc(lower)}/authentication-methods`)).body).toEqual([]);

    // Under upsert the profile change lands even when the factors fail; a retry with good ones is safe.
    const again = await api.importUsers(
      [{ email: 'lower@example.com', name: 'Renamed', mfa_factors: [{ phone: { value: '12345' } }] }],
      { upsert: 'true' },
    );
    expect(again.summary).toEqual({ inserted: 0, updated: 0, failed: 1, total: 1 });
    expect((await api.call('GET', `/users/${enc(lower)}`)).body.name).toBe('Renamed');
    const retry = await api.importUsers(
      [{ email: 'lower@example.com', mfa_factors: [{ totp: { secret: 'JBTWY3DPEHPK3PNP' } }] }],
      { upsert: 'true' },
    );
    expect(retry.summary).toEqual({ inserted: 0, updated: 1, failed: 0, total: 1 });
    const listed = await api.call('GET', `/users/${enc(lower)}/authentication-methods`);
    expect(listed.body.map((a: Loose) => a.type)).toEqual(['totp']);
  });
});

describe('/users/{id}/authentication-methods', () => {
  it('answers an empty list as a bare array, and without `total` in the include_totals envelope', async () => {
    await api.importUsers([{ email: 'none@example.com' }]);
    const id = await userId('none@example.com');
    expect((await api.call('GET', `/users/${enc(id)}/authentication-methods`)).body).toEqual([]);
    const totals = await api.call('GET', `/users/${enc(id)}/authentication-methods?include_totals=true`);
    expect(totals.body).toEqual({ authenticators: [], start: 0, limit: 50 });
    expect((await api.call('GET', '/users/auth0%7Cnobody/authentication-methods')).body).toMatchObject({
      statusCode: 404,
      errorCode: 'inexistent_user',
    });
    const bad = await api.call('GET', `/users/${enc(id)}/authentication-methods?per_page=101`);
    expect(bad.status).toBe(400);
  });

  it('creates phone, email and TOTP methods (masked, no secret), refuses duplicates, gets and deletes them', async () => {
    await api.importUsers([{ email: 'creator@example.com' }]);
    const id = await userId('creator@example.com');
    const path = `/users/${enc(id)}/authentication-methods`;

    const email = await api.call('POST', path, {
      json: { type: 'email', name: 'Test', email: 'chuck334@example.com' },
    });
    expect(email.status).toBe(201);
    expect(email.body).toMatchObject({ type: 'email', name: 'Test', email: 'chuc****@exam*******' });
    expect(email.body.id).toMatch(/^email\|dev_[A-Za-z0-9]{16}$/);
    const phone = await api.call('POST', path, {
      json: { type: 'phone', phone_number: '+44207183875044', preferred_authentication_method: 'voice' },
    });
    expect(phone.body).toMatchObject({
      phone_number: 'XXXXXXXXXXX5044',
      preferred_authentication_method: 'voice',
      authentication_methods: [{ type: 'voice' }],
    });
    const totp = await api.call('POST', path, {
      json: { type: 'totp', totp_secret: '5HCWXIP2MJNSUBGYVUZFLRB2HWIGXR4SYJQXNBQ' },
    });
    expect(totp.status).toBe(201);
    expect(totp.text).not.toContain('5HCWXIP2');

    const twice = await api.call('POST', path, { json: { type: 'totp', totp_secret: 'AAAABBBB' } });
    expect(twice.status).toBe(409);
    expect(twice.body.message).toBe('Authentication method already exists.');
    expect((await api.call('POST', path, { json: { type: 'phone' } })).body).toMatchObject({
      statusCode: 400,
      message: "Payload validation error: 'Missing required property: phone_number'.",
    });
    expect((await api.call('POST', path, { json: { type: 'totp', totp_secret: 'not base32' } })).status).toBe(
      400,
    );
    expect((await api.call('POST', path, { json: { type: 'sms' } })).status).toBe(400);
    expect(
      (
        await api.call('POST', '/users/auth0%7Cnobody/authentication-methods', {
          json: { type: 'email', email: 'a@b.c' },
        })
      ).status,
    ).toBe(404);

    const listed = await api.call('GET', path);
    expect(listed.body.map((a: Loose) => a.id)).toEqual([email.body.id, phone.body.id, totp.body.id]);
    expect(listed.text).not.toContain('5HCWXIP2');

    const del = await api.call('DELETE', `${path}/${enc(phone.body.id)}`);
    expect(del.status).toBe(204);
    expect(del.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect((await api.call('GET', `${path}/${enc(phone.body.id)}`)).status).toBe(404);
    expect((await api.call('DELETE', `${path}/${enc(phone.body.id)}`)).body.message).toBe(
      'The authentication method could not be found.',
    );
    expect((await api.call('GET', path)).body).toHaveLength(2);
  });

  it('wants the scopes the OAS names, in the words Auth0 uses', async () => {
    const token = await managementToken(sim.tenants.new, 'read:users');
    const path = '/users/auth0%7Cx/authentication-methods';
    const cases: Array<[string, string, string]> = [
      ['GET', path, 'Insufficient scope, expected any of: read:authentication_methods'],
      ['POST', path, 'Insufficient scope, expected: create:authentication_methods'],
      ['GET', `${path}/totp%7Cdev_x`, 'Insufficient scope, expected: read:authentication_methods'],
      [
        'DELETE',
        `${path}/totp%7Cdev_x`,
        'Insufficient scope, expected any of: delete:authentication_methods',
      ],
    ];
    for (const [method, p, message] of cases) {
      const a = await api.call(method, p, {
        token,
        ...(method === 'POST' ? { json: { type: 'email' } } : {}),
      });
      expect(a.status).toBe(403);
      expect(a.body.message).toBe(message);
    }
  });
});
