/** Seeding: deterministic generated users of realistic shape, migrated subsets, export files. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DB_CONNECTION,
  SOCIAL_CONNECTION,
  generateUser,
  generatedPassword,
  startSimulator,
  type Simulator,
} from '../../src/sim/index.js';
import { UserStore } from '../../src/sim/tenant/user-store.js';
import { importUserErrors, mfaFactorsErrors } from '../../src/sim/schemas.js';
import { asImportFactor } from '../../src/sim/tenant/authenticators.js';
import { Mgmt } from './helpers.js';

let sim: Simulator | undefined;
let dir: string | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('generated users', () => {
  it('are the same for the same seed and differ for another', () => {
    expect(generateUser(7, 42)).toEqual(generateUser(7, 42));
    expect(generateUser(7, 42)).not.toEqual(generateUser(8, 42));
  });

  it('have realistic variety: unicode names, metadata, blocked, social, no email, reserved app_metadata keys', () => {
    const users = Array.from({ length: 5000 }, (_, i) => generateUser(1, i));
    const share = (f: (u: (typeof users)[number]) => boolean) => users.filter(f).length / users.length;
    expect(share((u) => /[^\u0020-\u007e]/.test(u.name ?? ''))).toBeGreaterThan(0.2);
    expect(share((u) => u.connection === SOCIAL_CONNECTION)).toBeGreaterThan(0.03);
    expect(share((u) => u.connection === DB_CONNECTION && u.email === undefined)).toBeGreaterThan(0.005);
    expect(share((u) => u.blocked === true)).toBeGreaterThan(0.003);
    expect(share((u) => u.user_metadata !== undefined && u.app_metadata !== undefined)).toBeGreaterThan(0.9);
    expect(
      users.some((u) => u.app_metadata && ('clientID' in u.app_metadata || 'lastLogin' in u.app_metadata)),
    ).toBe(true);
    expect(users.every((u) => /^(auth0\|[0-9a-f]{24}|google-oauth2\|\d{21})$/.test(u.user_id))).toBe(true);
    expect(new Set(users.map((u) => u.user_id)).size).toBe(users.length);
    const emails = users.flatMap((u) => (u.email === undefined ? [] : [u.email]));
    expect(new Set(emails).size).toBe(emails.length);
    // A database user with an email and ordinary metadata is a valid import user once export-only fields go.
    const db = users.find(
      (u) =>
        u.connection === DB_CONNECTION && u.email !== undefined && !('clientID' in (u.app_metadata ?? {})),
    )!;
    const {
      email,
      email_verified,
      given_name,
      family_name,
      name,
      nickname,
      picture,
      user_metadata,
      app_metadata,
    } = db;
    expect(
      importUserErrors({
        email,
        email_verified,
        given_name,
        family_name,
        name,
        nickname,
        picture,
        user_metadata,
        app_metadata,
      }),
    ).toEqual([]);
  });

  it('are found by id, email, username and phone, and stay consistent when changed or deleted', () => {
    const store = new UserStore();
    store.setGenerated({ seed: 3, variant: 'old', indices: { count: 1000 } });
    const u = [...store.iterate(DB_CONNECTION)].find(
      (x) => x.username !== undefined && x.email !== undefined,
    )!;
    expect(store.get(u.user_id)).toEqual(u);
    expect(store.findByEmail(u.email!.toUpperCase())).toEqual([u]);
    expect(store.findByUsername(u.username!, DB_CONNECTION)).toEqual(u);
    const before = store.count(DB_CONNECTION);
    store.update(u.user_id, (x) => {
      x.email = 'changed@example.com';
    });
    expect(store.findByEmail(u.email!)).toEqual([]);
    expect(store.findByEmail('changed@example.com')[0]!.user_id).toBe(u.user_id);
    expect(store.count(DB_CONNECTION)).toBe(before);
    expect([...store.iterate(DB_CONNECTION)].filter((x) => x.user_id === u.user_id)).toHaveLength(1);
    expect(store.delete(u.user_id)).toBe(true);
    expect(store.get(u.user_id)).toBeUndefined();
    expect(store.count(DB_CONNECTION)).toBe(before - 1);
    expect(store.get('auth0|000000000000000000000000')).toBeUndefined();
    expect(store.findByEmail('someone.else.5@example.com')).toEqual([]);
  });
});

describe('generated linked accounts and MFA enrolments', () => {
  const extras = { linked: 0.05, mfa: 0.1 };

  it('come in the shares asked for, deterministic, and change nothing else about a user', () => {
    const users = Array.from({ length: 5000 }, (_, i) => generateUser(1, i, 'old', extras));
    expect(users.every((u, i) => generateUser(1, i).identities === undefined)).toBe(true);
    expect(users.every((u, i) => generateUser(1, i).authenticators === undefined)).toBe(true);
    for (const [i, u] of users.entries()) {
      const { identities: _i, authenticators: _a, ...rest } = u;
      expect(rest).toEqual(generateUser(1, i));
    }
    expect(generateUser(1, 77, 'old', extras)).toEqual(generateUser(1, 77, 'old', extras));

    const linked = users.filter((u) => u.identities !== undefined);
    expect(linked.length / users.length).toBeGreaterThan(0.03);
    expect(linked.length / users.length).toBeLessThan(0.07);
    const dbWithSocial = linked.filter((u) => u.connection === DB_CONNECTION);
    const socialWithDb = linked.filter((u) => u.connection === SOCIAL_CONNECTION);
    expect(dbWithSocial.length).toBeGreaterThan(0);
    expect(socialWithDb.length).toBeGreaterThan(0);
    expect(dbWithSocial[0]!.identities![0]).toMatchObject({ connection: SOCIAL_CONNECTION, isSocial: true });
    expect(socialWithDb[0]!.identities![0]).toMatchObject({ connection: DB_CONNECTION, provider: 'auth0' });
    const ids = users.flatMap((u) => [
      u.user_id,
      ...(u.identities ?? []).map((i) => `${i.provider}|${i.user_id}`),
    ]);
    expect(new Set(ids).size).toBe(ids.length);

    const db = users.filter((u) => u.connection === DB_CONNECTION);
    const enrolled = db.filter((u) => u.authenticators !== undefined);
    expect(enrolled.length / db.length).toBeGreaterThan(0.07);
    expect(enrolled.length / db.length).toBeLessThan(0.13);
    expect(users.some((u) => u.connection === SOCIAL_CONNECTION && u.authenticators !== undefined)).toBe(
      false,
    );
    const types = new Set(enrolled.map((u) => u.authenticators!.map((a) => a.type).join('+')));
    expect([...types].sort()).toEqual(['email', 'phone', 'totp', 'totp+phone']);
    for (const u of enrolled) expect(mfaFactorsErrors(u.authenticators!.map(asImportFactor))).toEqual([]);
  });

  it('are found in the store: linked identities by id and, in their connection, by email', () => {
    const store = new UserStore();
    store.setGenerated({ seed: 3, variant: 'old', indices: { count: 2000 }, extras });
    for (const connection of [DB_CONNECTION, SOCIAL_CONNECTION]) {
      expect([...store.iterate(connection)]).toHaveLength(store.count(connection));
    }
    expect(store.count(DB_CONNECTION) + store.count(SOCIAL_CONNECTION)).toBeGreaterThan(store.count());
    const primary = [...store.iterate(SOCIAL_CONNECTION)].find(
      (u) => u.connection === SOCIAL_CONNECTION && u.identities !== undefined,
    )!;
    const secondary = primary.identities![0]!;
    expect([...store.iterate(DB_CONNECTION)].map((u) => u.user_id)).toContain(primary.user_id);
    expect(store.get(`auth0|${secondary.user_id}`)).toBeUndefined();
    expect(store.findLinked(`auth0|${secondary.user_id}`)?.primary.user_id).toBe(primary.user_id);
    const email = String(secondary.profileData.email);
    expect(store.findByEmail(email, DB_CONNECTION).map((u) => u.user_id)).toEqual([primary.user_id]);
    expect(store.findByEmail(email)).toEqual([]);
  });
});

describe('seeding a simulator', () => {
  it("serves the old tenant's MFA secrets at /__sim/mfa-secrets, and they import into the new tenant", async () => {
    sim = await startSimulator({ seedOld: 400, seedMfa: 0.3 });
    const res = await fetch(`${sim.url}/__sim/mfa-secrets`);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { user_id: string; email?: string; mfa_factors: unknown[] });
    const enrolled = [...sim.tenant('old').users.iterate()].filter((u) => u.authenticators !== undefined);
    expect(lines.map((l) => l.user_id)).toEqual(enrolled.map((u) => u.user_id));

    const api = await Mgmt.connect(sim, 'new');
    const withEmail = lines.filter((l) => l.email !== undefined);
    const job = await api.importUsers(withEmail.map((l) => ({ email: l.email, mfa_factors: l.mfa_factors })));
    expect(job.summary).toMatchObject({ inserted: withEmail.length, failed: 0 });
    const someone = withEmail[0]!;
    const [inNew] = sim.tenant('new').users.findByEmail(someone.email!);
    const oldMethods = await (
      await Mgmt.connect(sim, 'old')
    ).call('GET', `/users/${encodeURIComponent(someone.user_id)}/authentication-methods`);
    const newMethods = await api.call(
      'GET',
      `/users/${encodeURIComponent(inNew!.user_id)}/authentication-methods`,
    );
    const shape = (list: Array<Record<string, unknown>>) =>
      list.map(({ id: _id, created_at: _at, authentication_methods: _m, ...rest }) => rest);
    expect(shape(newMethods.body)).toEqual(shape(oldMethods.body));
  });

  it('puts a share of the old database users in the new tenant with the same ids and passwords', async () => {
    sim = await startSimulator({ seedOld: 2000, seedNewMigrated: 0.25 });
    const oldDb = sim.tenant('old').userCount(DB_CONNECTION);
    const migrated = [...sim.tenant('new').users.iterate(DB_CONNECTION)];
    expect(migrated.length / oldDb).toBeGreaterThan(0.2);
    expect(migrated.length / oldDb).toBeLessThan(0.3);
    expect(sim.tenant('new').userCount(SOCIAL_CONNECTION)).toBe(0);
    for (const u of migrated.slice(0, 50)) {
      const before = sim.tenant('old').rawUser(u.user_id)!;
      expect(before.email).toBe(u.email);
      expect(u.created_at > before.created_at).toBe(true);
    }
    const u = migrated.find((x) => x.email !== undefined && x.blocked !== true)!;
    const t = sim.tenants.new;
    const res = await fetch(`${t.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'password',
        client_id: t.clientId,
        client_secret: t.clientSecret,
        username: u.email,
        password: generatedPassword(u.generatedIndex!),
      }),
    });
    expect(res.status).toBe(200);
  });

  it('seeds the old tenant from an export file, plain or gzipped', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sim-seed-'));
    const lines = [
      {
        user_id: 'auth0|abc',
        email: 'A@Example.com',
        identities: [{ connection: DB_CONNECTION, provider: 'auth0', user_id: 'abc', isSocial: false }],
        app_metadata: { plan: 'pro' },
      },
      {
        user_id: 'google-oauth2|123',
        email: 'g@example.com',
        identities: [
          { connection: 'google-oauth2', provider: 'google-oauth2', user_id: '123', isSocial: true },
          {
            connection: DB_CONNECTION,
            provider: 'auth0',
            user_id: 'linked',
            isSocial: false,
            profileData: { email: 'linked@example.com' },
          },
        ],
      },
    ]
      .map((l) => JSON.stringify(l))
      .join('\n');
    for (const [name, data] of [
      ['users.ndjson', Buffer.from(lines)],
      ['users.ndjson.gz', gzipSync(lines)],
    ] as const) {
      const path = join(dir, name);
      await writeFile(path, data);
      sim = await startSimulator({ seedFile: path });
      expect(sim.tenant('old').user('auth0|abc')).toMatchObject({
        email: 'a@example.com',
        app_metadata: { plan: 'pro' },
      });
      // The Google user has a linked database identity: it is in both connections.
      expect(sim.tenant('old').userCount(DB_CONNECTION)).toBe(2);
      expect(sim.tenant('old').userCount(SOCIAL_CONNECTION)).toBe(1);
      expect(sim.tenant('old').user('google-oauth2|123')?.identities).toHaveLength(2);
      expect(sim.tenant('new').userCount()).toBe(0);
      await sim.close();
      sim = undefined;
    }
  });

  it('names the line of an export file that is not JSON', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sim-seed-'));
    const path = join(dir, 'bad.ndjson');
    await writeFile(path, '{"user_id":"auth0|a"}\nnot json\n');
    await expect(startSimulator({ seedFile: path })).rejects.toThrow(/bad\.ndjson:2/);
  });
});
