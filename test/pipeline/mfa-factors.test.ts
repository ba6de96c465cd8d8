import { afterEach, describe, expect, it } from 'vitest';
import { buildMigratedIndex } from '../../src/pipeline/migrated-index.js';
import { checkMfaFactors, loadMfaFactors } from '../../src/pipeline/mfa-factors.js';
import { runPipeline } from '../../src/pipeline/index.js';
import { checkImportUser } from '../../src/pipeline/schema.js';
import type { AlreadyMigrated, Batch, PipelineOutput, Skipped } from '../../src/pipeline/types.js';
import { CONNECTION, collect, tempDir } from './helpers.js';

const SECRET = 'JBSWY3DPEHPK3PXPQ7ZLMN5A';
const users = [
  { user_id: 'auth0|aa01', email: 'ada@example.org', multifactor: ['guardian'] },
  { user_id: 'auth0|aa02', email: 'grace@example.org', multifactor: ['guardian'] },
  { user_id: 'auth0|aa03', email: 'edsger@example.org' },
  { user_id: 'auth0|aa04', email: 'barbara@example.org', multifactor: ['guardian'] },
  { user_id: 'auth0|aa05', email: 'alan@example.org', multifactor: ['guardian'] },
  { user_id: 'auth0|aa06', email: 'kathy@example.org', multifactor: ['guardian'] },
];
const mfaLines = [
  // by id, import-schema shape
  {
    user_id: 'auth0|aa01',
    mfa_factors: [{ totp: { secret: SECRET } }, { phone: { value: '+14155550123' } }],
  },
  // by email only, the `type` shape other tools assume
  { email: 'Grace@Example.org', mfa_factors: [{ type: 'email', value: 'grace@example.org' }] },
  // padded base32: Auth0's schema refuses it
  { user_id: 'aa04', mfa_factors: [{ totp: { secret: `${SECRET}====` } }] },
  // repeated id: the earlier line wins
  { user_id: 'auth0|aa01', mfa_factors: [{ totp: { secret: 'AAAAAAAA' } }] },
  // the same email on two lines without an id: it matches nobody
  { email: 'alan@example.org', mfa_factors: [{ totp: { secret: 'BBBBBBBB' } }] },
  { email: 'Alan@example.org', mfa_factors: [{ totp: { secret: 'CCCCCCCC' } }] },
];

const ndjson = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe('MFA factors', () => {
  let tmp: ReturnType<typeof tempDir> | undefined;
  afterEach(() => tmp?.cleanup());

  it('checks factors as the import schema does, and names the path, never the value', () => {
    expect(checkMfaFactors([{ totp: { secret: SECRET } }])).toEqual({
      factors: [{ totp: { secret: SECRET } }],
    });
    const bad: Array<[unknown, RegExp]> = [
      [[], /empty/],
      [Array.from({ length: 11 }, (_, i) => ({ phone: { value: `+1415555${i}` } })), /more than 10/],
      [[{ totp: { secret: 'jbswy3dp' } }], /mfa_factors\[0\]\.totp\.secret/],
      [[{ phone: { value: '0044 20 7183 8750' } }], /phone\.value is not an E\.164/],
      [[{ email: { value: 'not-an-email' } }], /email\.value/],
      [[{ totp: { secret: SECRET }, phone: { value: '+1' } }], /exactly one/],
      [[{ totp: { secret: SECRET } }, { totp: { secret: 'ABCDEFGH' } }], /mfa_factors\[1\] repeats a TOTP/],
      [[{ sms: { value: '+1415' } }], /exactly one of totp, phone, email/],
    ];
    for (const [factors, why] of bad) {
      const r = checkMfaFactors(factors);
      expect(r).toHaveProperty('invalid');
      expect((r as { invalid: string }).invalid).toMatch(why);
      expect(JSON.stringify(r)).not.toContain(SECRET);
    }
    // What the checks accept, Auth0's schema accepts.
    const ok = checkMfaFactors([
      { totp: { secret: SECRET } },
      { phone: { value: '+14155550123' } },
      { email: { value: 'a@example.org' } },
    ]);
    expect(
      checkImportUser({ email: 'a@example.org', mfa_factors: (ok as { factors: unknown }).factors }),
    ).toBeUndefined();
  });

  it('merges factors by id or email; a bad line skips its user alone; enrolled users without factors are flagged', async () => {
    tmp = tempDir();
    const input = tmp.file('old.ndjson', ndjson(users));
    const mfaFile = tmp.file('mfa.ndjson', ndjson(mfaLines) + 'not json\n');
    // The new tenant already holds Alan (enrolled there) and Kathy (lazily arrived, not enrolled).
    const snapshot = tmp.file(
      'new.ndjson',
      ndjson([
        { user_id: 'auth0|aa05', email: 'alan@example.org', multifactor: ['guardian'] },
        { user_id: 'auth0|aa06', email: 'kathy@example.org' },
      ]),
    );
    const { factors, stats, problems } = await loadMfaFactors(mfaFile);
    expect(stats).toMatchObject({ lines: 7, users: 5, invalid: 1, problems: 3 });
    expect(problems.map((p) => p.line)).toEqual([4, 6, 7]);
    expect(problems[1]!.detail).toMatch(/same email; neither is used/);
    expect(factors.lookup(undefined, 'alan@example.org')).toBeUndefined();
    expect(JSON.stringify(problems)).not.toContain('AAAAAAAA');
    const migrated = await buildMigratedIndex(snapshot, { connection: CONNECTION });
    const out: PipelineOutput[] = await collect(
      runPipeline({ input, connection: CONNECTION, migrated, mfa: factors }),
    );
    const batch = out.find((o): o is Batch => 'payload' in o)!;
    const byId = new Map(batch.users.map((c) => [c.user.user_id, c]));
    expect(byId.get('aa01')!.user.mfa_factors).toEqual(mfaLines[0]!.mfa_factors);
    expect(byId.get('aa01')!.hasMfaFactors).toBe(true);
    expect(byId.get('aa02')!.user.mfa_factors).toEqual([{ email: { value: 'grace@example.org' } }]);
    expect(byId.get('aa03')!.user).not.toHaveProperty('mfa_factors');
    expect(byId.get('aa03')!.source.mfaEnrolled).toBeUndefined();
    expect([...byId.keys()].sort()).toEqual(['aa01', 'aa02', 'aa03']);
    for (const c of batch.users) expect(checkImportUser(c.user)).toBeUndefined();
    expect(JSON.parse(batch.payload.toString('utf8'))[0].mfa_factors[0].totp.secret).toBe(SECRET);

    const skipped = out.filter((o): o is Skipped => o.kind === 'skipped');
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ reason: 'mfa_factors_invalid', source: { userId: 'auth0|aa04' } });
    expect(skipped[0]!.detail).toContain('mfa_factors[0].totp.secret');
    expect(skipped[0]!.detail).not.toContain(SECRET);

    const already = out.filter((o): o is AlreadyMigrated => o.kind === 'already_migrated');
    expect(already.map((a) => [a.source.userId, a.mfaReenrolment])).toEqual([
      ['auth0|aa05', undefined],
      ['auth0|aa06', true],
    ]);
  });
});
