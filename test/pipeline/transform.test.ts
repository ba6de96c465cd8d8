import { describe, expect, it } from 'vitest';
import { PipelineInputError } from '../../src/pipeline/errors.js';
import { readExport } from '../../src/pipeline/read.js';
import { checkImportUser } from '../../src/pipeline/schema.js';
import { createTransformer, transformRecords } from '../../src/pipeline/transform.js';
import type { ImportCandidate, Skipped } from '../../src/pipeline/types.js';
import { CONNECTION, FIXTURES, collect, dbUser } from './helpers.js';

const transformer = () => createTransformer({ connection: CONNECTION });

function imported(out: ImportCandidate | Skipped): ImportCandidate {
  expect(out.kind, out.kind === 'skipped' ? out.detail : '').toBe('import');
  return out as ImportCandidate;
}

function skipped(out: ImportCandidate | Skipped): Skipped {
  expect(out.kind).toBe('skipped');
  return out as Skipped;
}

describe('transform', () => {
  it('turns an export in the Auth0 field subset shape into import users the schema accepts', async () => {
    const out = await collect(
      transformRecords(readExport(`${FIXTURES}export-users.ndjson`), { connection: CONNECTION }),
    );
    expect(out).toHaveLength(5);
    const users = out.map(imported);
    for (const c of users) expect(checkImportUser(c.user)).toBeUndefined();
    expect(users[0]!.user).toEqual({
      email: 'ada.lovelace@example.org',
      email_verified: true,
      user_id: '6512a0c1f3b4d5e6a7b8c901',
      username: 'ada',
      given_name: 'Ada',
      family_name: 'Lovelace',
      name: 'Ada Lovelace',
      nickname: 'ada',
      phone_number: '+441234567890',
      phone_verified: true,
    });
    expect(users[0]!.source).toEqual({
      line: 1,
      userId: 'auth0|6512a0c1f3b4d5e6a7b8c901',
      email: 'ada.lovelace@example.org',
    });
    expect(users[0]!.notes).toEqual(['not imported (no such field in the import schema): locale']);
    expect(users[0]!.original.email).toBe('Ada.Lovelace@Example.org');
    // email_verified is written even when the export has none: Auth0 would otherwise reset it.
    expect(users[2]!.user).toEqual({
      email: 'edsger@example.org',
      email_verified: false,
      user_id: '6512a0c1f3b4d5e6a7b8c903',
    });
    expect(users.every((c) => c.hasPassword === false)).toBe(true);
  });

  it('drops export-only fields and reserved app_metadata keys, and says which keys went', () => {
    const t = transformer();
    const record = dbUser('64f0c0ffee0000000000a004', 'r@example.com', {
      app_metadata: { roles: ['user'], blocked: true, user_id: 'x', loginsCount: 3 },
      user_metadata: { theme: 'dark' },
      updated_at: '2024-01-01T00:00:00.000Z',
      last_login: '2024-01-01T00:00:00.000Z',
      logins_count: 4,
      last_ip: '192.0.2.1',
      multifactor: ['guardian'],
    });
    const c = imported(t.transform(record, 7));
    expect(c.user).toEqual({
      email: 'r@example.com',
      email_verified: true,
      user_id: '64f0c0ffee0000000000a004',
      app_metadata: { roles: ['user'] },
      user_metadata: { theme: 'dark' },
    });
    expect(c.notes).toEqual(['app_metadata: dropped keys Auth0 reserves: blocked, user_id, loginsCount']);
    expect(checkImportUser(c.user)).toBeUndefined();
    expect(record.app_metadata).toEqual({ roles: ['user'], blocked: true, user_id: 'x', loginsCount: 3 });
  });

  it('keeps only users with an identity in the database connection', () => {
    const t = transformer();
    const social = skipped(
      t.transform(
        {
          user_id: 'google-oauth2|1',
          email: 'S@example.com',
          identities: [
            { connection: 'google-oauth2', provider: 'google-oauth2', user_id: '1', isSocial: true },
          ],
        },
        3,
      ),
    );
    expect(social).toMatchObject({
      reason: 'not_database_user',
      source: { line: 3, userId: 'google-oauth2|1', email: 's@example.com' },
    });
    expect(social.detail).toContain('google-oauth2');
    expect(social.detail).toContain(CONNECTION);
    const otherDb = skipped(
      t.transform(dbUser('a', 'a@example.com', { identities: [{ connection: 'Legacy', user_id: 'a' }] }), 4),
    );
    expect(otherDb.reason).toBe('not_database_user');
    // Without identities the provider prefix of user_id decides.
    expect(skipped(t.transform({ user_id: 'samlp|acme|x', email: 'x@example.com' }, 5)).detail).toContain(
      '"samlp"',
    );
    expect(imported(t.transform({ user_id: 'auth0|abc', email: 'x@example.com' }, 6)).user.user_id).toBe(
      'abc',
    );
  });

  it('imports a linked account under its database identity id', () => {
    const c = imported(
      transformer().transform(
        {
          user_id: 'google-oauth2|42',
          email: 'primary@example.com',
          identities: [
            { connection: 'google-oauth2', provider: 'google-oauth2', user_id: '42' },
            {
              connection: CONNECTION,
              provider: 'auth0',
              user_id: 'dbid',
              profileData: { email: 'db@example.com' },
            },
          ],
        },
        1,
      ),
    );
    expect(c.user.user_id).toBe('dbid');
    expect(c.user.email).toBe('db@example.com');
    expect(c.notes?.[0]).toContain('linked account');
  });

  it('gives a reason for users without a usable email', () => {
    const t = transformer();
    expect(skipped(t.transform(dbUser('1', ''), 1)).reason).toBe('no_email');
    expect(skipped(t.transform({ user_id: 'auth0|2', username: 'u' }, 2)).reason).toBe('no_email');
    expect(skipped(t.transform(dbUser('3', 'not-an-email'), 3))).toMatchObject({
      reason: 'invalid_email',
      source: { email: 'not-an-email' },
    });
    expect(skipped(t.transform(dbUser('4', 42 as unknown as string), 4)).detail).toBe(
      'email is a number, not a string',
    );
    expect(imported(t.transform(dbUser('5', '  Padded@Example.COM '), 5)).user.email).toBe(
      'padded@example.com',
    );
  });

  it('passes wrongly typed fields on, for the schema check to name them', () => {
    const c = imported(
      transformer().transform(dbUser('1', 'a@example.com', { nickname: 12345, email_verified: 'yes' }), 1),
    );
    expect(checkImportUser(c.user)).toMatchObject({ path: '/email_verified' });
    const n = imported(transformer().transform(dbUser('1', 'a@example.com', { nickname: 12345 }), 1));
    expect(checkImportUser(n.user)).toMatchObject({
      path: '/nickname',
      schemaPath: '#/properties/nickname/type',
    });
  });

  it('reads the Import/Export extension labels', async () => {
    const out = await collect(
      transformRecords(readExport(`${FIXTURES}export-extension-labels.ndjson`), { connection: CONNECTION }),
    );
    const [kj, dv, mj] = out;
    expect(imported(kj!).user).toEqual({
      email: 'katherine@example.org',
      email_verified: true,
      user_id: '6512a0c1f3b4d5e6a7b8ca01',
      given_name: 'Katherine',
      family_name: 'Johnson',
      name: 'Katherine Johnson',
      nickname: 'kj',
      picture: 'https://example.org/kj.png',
    });
    expect(imported(kj!).notes).toBeUndefined();
    expect(skipped(dv!)).toMatchObject({
      reason: 'not_database_user',
      detail: `connection is "github", not "${CONNECTION}"`,
    });
    expect(imported(mj!).user.email_verified).toBe(false);
  });

  it('ends with an error listing the keys when no record maps to an id or an email', async () => {
    const records = Array.from({ length: 12 }, (_, i) => ({
      kind: 'record' as const,
      source: { line: i + 1 },
      record: { UserIdentifier: `u${i}`, 'E-Mail': `u${i}@example.com` },
    }));
    const err = await collect(
      transformRecords(
        (async function* () {
          yield* records;
        })(),
        { connection: CONNECTION, name: 'odd.ndjson' },
      ),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineInputError);
    expect((err as PipelineInputError).code).toBe('unmapped_fields');
    expect((err as PipelineInputError).message).toContain('odd.ndjson');
    expect((err as PipelineInputError).message).toContain('UserIdentifier, E-Mail');
    // A short file is refused at its end.
    const t = createTransformer({ connection: CONNECTION });
    expect(skipped(t.transform({ Mail: 'a@example.com' }, 1)).reason).toBe('no_email');
    expect(() => t.finish()).toThrow(/keys found: Mail/);
  });

  it('never carries password or MFA fields from the input, and removes them from the kept original', () => {
    const c = imported(
      transformer().transform(
        dbUser('1', 'a@example.com', {
          password_hash: '$2b$10$abcdefghijklmnopqrstuuDEFGHIJKLMNOPQRSTUVWXYZ0123456',
          mfa_factors: [{ totp: { secret: 'JBTWY3DPEHPK3PNP' } }],
        }),
        1,
      ),
    );
    expect(c.user).not.toHaveProperty('password_hash');
    expect(c.user).not.toHaveProperty('mfa_factors');
    expect(c.original).not.toHaveProperty('password_hash');
    expect(c.original).not.toHaveProperty('mfa_factors');
    expect(JSON.stringify(c)).not.toContain('JBTWY3DPEHPK3PNP');
    expect(c.hasPassword).toBe(false);
  });

  it('skips blocked users only when asked', () => {
    const blocked = dbUser('1', 'b@example.com', { blocked: true });
    expect(imported(transformer().transform(blocked, 1)).user.blocked).toBe(true);
    const t = createTransformer({ connection: CONNECTION, skipBlocked: true });
    expect(skipped(t.transform(blocked, 1)).reason).toBe('blocked_excluded');
    expect(imported(t.transform(dbUser('2', 'c@example.com', { blocked: false }), 2)).user.blocked).toBe(
      false,
    );
  });

  it('needs the connection name', () => {
    expect(() => createTransformer({ connection: '' })).toThrow(PipelineInputError);
  });
});
