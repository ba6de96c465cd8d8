/**
 * Auth0's documentation examples (test/fixtures/auth0-docs/): the example import files import
 * cleanly, invalid users fail with documented codes, and the simulator's answers have the shapes
 * the docs and recorded errors show.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PASSWORD_REALM_GRANT,
  generatedPassword,
  startSimulator,
  type Simulator,
} from '../../src/sim/index.js';
import { Mgmt, tokenRequest } from './helpers.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/auth0-docs/${name}`, import.meta.url), 'utf8'));

const DOCUMENTED_CODES = (fixture('import-error-codes.docs.json') as { codes: string[] }).codes;

let sim: Simulator;
let api: Mgmt;

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 30 });
  api = await Mgmt.connect(sim, 'new');
});

afterAll(async () => {
  await sim.close();
});

describe('the docs example import files', () => {
  for (const name of [
    'bulk-import_basic-example.json',
    'bulk-import_custom-password-hash-examples.json',
    'bulk-import_mfa-factors-examples.json',
  ]) {
    it(`${name} imports cleanly`, async () => {
      const users = fixture(name) as Array<{ email: string }>;
      const job = await api.importUsers(users, { upsert: 'true' });
      expect(job.status).toBe('completed');
      expect(job.summary.failed).toBe(0);
      expect(job.summary.inserted + job.summary.updated).toBe(users.length);
      expect((await api.call('GET', `/jobs/${job.id}/errors`)).status).toBe(204);
      for (const u of users) expect(sim.tenant('new').users.findByEmail(u.email)).toHaveLength(1);
    });
  }

  it('invalid variants fail with documented codes, each user alone', async () => {
    const basic = (fixture('bulk-import_basic-example.json') as Array<Record<string, unknown>>)[0]!;
    const hashes = fixture('bulk-import_custom-password-hash-examples.json') as Array<
      Record<string, unknown>
    >;
    const mfa = (fixture('bulk-import_mfa-factors-examples.json') as Array<Record<string, unknown>>)[1]!;
    const variants: Array<[string, Record<string, unknown>]> = [
      ['FORMAT', { ...basic, email: 'john.doe.example.com' }],
      ['INVALID_TYPE', { ...basic, email: 'v1@example.com', email_verified: 'false' }],
      ['OBJECT_REQUIRED', { app_metadata: basic.app_metadata }],
      [
        'ENUM_MISMATCH',
        {
          ...hashes[0],
          email: 'v2@example.com',
          custom_password_hash: { algorithm: 'md6', hash: { value: 'x' } },
        },
      ],
      // Factors are imported after the user: bad ones fail as MFA_FACTORS_FAILED, not schema codes.
      [
        'MFA_FACTORS_FAILED',
        { ...mfa, email: 'v3@example.com', mfa_factors: [{ totp: { secret: 'not base32!' } }] },
      ],
      ['MFA_FACTORS_FAILED', { ...mfa, email: 'v4@example.com', mfa_factors: [] }],
      [
        'MFA_FACTORS_FAILED',
        {
          ...mfa,
          email: 'v5@example.com',
          mfa_factors: Array.from({ length: 11 }, () => ({ email: { value: 'x@example.com' } })),
        },
      ],
      ['NOT_PASSED', { ...basic, email: 'v6@example.com', identities: [] }],
      [
        'OBJECT_REQUIRED',
        { ...hashes[0], email: 'v7@example.com', custom_password_hash: { algorithm: 'md4' } },
      ],
    ];
    const job = await api.importUsers(variants.map(([, u]) => u));
    expect(job.summary).toMatchObject({ failed: variants.length, inserted: 0, total: variants.length });
    const errors = (await api.call('GET', `/jobs/${job.id}/errors`)).body as Array<{
      errors: Array<{ code: string }>;
    }>;
    expect(errors.map((e) => e.errors[0]!.code)).toEqual(variants.map(([code]) => code));
    for (const e of errors) for (const err of e.errors) expect(DOCUMENTED_CODES).toContain(err.code);
  });

  it('/errors shows hash values as "*****", like the redacted docs sample', async () => {
    const sample = (
      fixture('import-job-errors.redacted.docs.json') as Array<{ user: Record<string, unknown> }>
    )[0]!;
    const job = await api.importUsers([
      {
        ...sample.user,
        custom_password_hash: { algorithm: 'ldap', hash: { value: '{SSHA}secret' } },
        email: 'not valid',
      },
    ]);
    const errors = (await api.call('GET', `/jobs/${job.id}/errors`)).body;
    expect(errors[0].user).toEqual({ ...sample.user, email: 'not valid' });
  });
});

describe('answers shaped like the docs samples', () => {
  it('import job states carry the documented fields', async () => {
    const states = fixture('import-job-status.docs.json') as Record<string, Record<string, unknown>>;
    const job = await api.importUsers([{ email: 'state@example.com' }], { external_id: 'EXTERNAL_ID' });
    const keys = Object.keys(states.completed!).filter((k) => k !== 'location');
    expect(Object.keys(job).sort()).toEqual([...keys, 'connection'].sort());
  });

  it('the second concurrent import beyond 2 gets the documented 429 body', async () => {
    const slow = await startSimulator({ timing: { pendingMs: 60_000 } });
    try {
      const a = await Mgmt.connect(slow, 'new');
      for (let i = 0; i < 2; i++)
        await a.call('POST', '/jobs/users-imports', { form: a.importForm([{ email: `${i}@example.com` }]) });
      const third = await a.call('POST', '/jobs/users-imports', {
        form: a.importForm([{ email: 'x@example.com' }]),
      });
      expect(third.body).toEqual(fixture('import-concurrency-429.docs.json'));
    } finally {
      await slow.close();
    }
  });

  it('an export job has the keys of the docs sample when created and when completed', async () => {
    const created = fixture('export-job-created.docs.json') as Record<string, unknown>;
    const completed = fixture('export-job-completed.docs.json') as Record<string, unknown>;
    const old = await Mgmt.connect(sim, 'old');
    const a = await old.call('POST', '/jobs/users-exports', {
      json: { connection_id: old.tenant.connectionId, format: 'csv', limit: 5, fields: created.fields },
    });
    expect(Object.keys(a.body).sort()).toEqual(Object.keys(created).sort());
    const done = await old.waitForJob(a.body.id);
    expect(Object.keys(done).sort()).toEqual(Object.keys(completed).sort());
  });

  it('authentication errors have the observed bodies', async () => {
    const observed = fixture('authentication-api-errors.observed.json') as Record<
      string,
      { status: number; body: Record<string, unknown> }
    >;
    const t = sim.tenants.old;
    const old = sim.tenant('old');
    const user = [...old.users.iterate(t.connection)].find(
      (u) => u.email !== undefined && u.blocked !== true,
    )!;
    const login = (password: string, client = { clientId: t.clientId, clientSecret: t.clientSecret }) =>
      tokenRequest(t, {
        grant_type: PASSWORD_REALM_GRANT,
        realm: t.connection,
        client_id: client.clientId,
        client_secret: client.clientSecret,
        username: user.email!,
        password,
      });
    const wrong = await login('nope');
    expect({ status: wrong.status, body: wrong.body }).toEqual({
      status: observed.password_or_password_realm_wrong_credentials!.status,
      body: observed.password_or_password_realm_wrong_credentials!.body,
    });
    const m2m = old.addClient({ name: 'no-password-grant' });
    const grant = await login(generatedPassword(user.generatedIndex!), m2m);
    expect({ status: grant.status, body: grant.body }).toEqual({
      status: observed.grant_not_enabled_for_client!.status,
      body: observed.grant_not_enabled_for_client!.body,
    });
    for (let i = 0; i < 9; i++) await login('nope');
    const attempts = await login(generatedPassword(user.generatedIndex!));
    expect({ status: attempts.status, body: attempts.body }).toEqual({
      status: observed.too_many_attempts!.status,
      body: observed.too_many_attempts!.body,
    });
  });
});
