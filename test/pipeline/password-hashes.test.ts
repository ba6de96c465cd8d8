import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  loadPasswordHashes,
  mergePasswordHash,
  mergePasswordHashes,
} from '../../src/pipeline/password-hashes.js';
import { readExport } from '../../src/pipeline/read.js';
import { checkImportUser } from '../../src/pipeline/schema.js';
import { createTransformer, transformRecords } from '../../src/pipeline/transform.js';
import type { ImportCandidate } from '../../src/pipeline/types.js';
import { CONNECTION, FIXTURES, collect } from './helpers.js';

const HASH_FILE = `${FIXTURES}password-hashes.ndjson`;
const hashesInFile = [...readFileSync(HASH_FILE, 'utf8').matchAll(/"passwordHash":"([^"]+)"/g)].map(
  (m) => m[1]!,
);

describe('password hashes', () => {
  it('reads the support file and reports unusable lines by number, never with the hash', async () => {
    const { hashes, stats, problems } = await loadPasswordHashes(HASH_FILE, { connection: CONNECTION });
    expect(stats).toMatchObject({ lines: 9, hashes: 4, otherConnection: 1, problems: 4 });
    expect(hashes.size).toBe(4);
    expect(problems.map((p) => p.line)).toEqual([5, 6, 8, 9]);
    expect(problems[0]!.detail).toMatch(/^line 5: not valid JSON/);
    expect(problems[1]).toMatchObject({ userId: '6512a0c1f3b4d5e6a7b8c907' });
    expect(problems[1]!.detail).toContain('no format Auth0 can import');
    expect(problems[2]!.detail).toContain('earlier line');
    expect(problems[3]!.detail).toContain('no user id');
    const text = JSON.stringify(problems);
    for (const h of hashesInFile) expect(text).not.toContain(h);
    expect(text).not.toContain('$2');
  });

  it('merges hashes by id: bcrypt $2a$/$2b$ cost 10 as password_hash, the others as custom_password_hash', async () => {
    const { hashes } = await loadPasswordHashes(HASH_FILE, { connection: CONNECTION });
    const out = (await collect(
      mergePasswordHashes(
        transformRecords(readExport(`${FIXTURES}export-users.ndjson`), { connection: CONNECTION }),
        hashes,
      ),
    )) as ImportCandidate[];
    const [ada, grace, edsger, barbara, alan] = out;
    expect(ada!.user.password_hash).toBe(hashesInFile[0]);
    expect(grace!.user.password_hash).toMatch(/^\$2a\$10\$/);
    // alt_id names the user; cost 12 is not what password_hash takes.
    expect(edsger!.user.custom_password_hash).toEqual({
      algorithm: 'bcrypt',
      hash: { value: hashesInFile[2] },
    });
    expect(barbara!.user.custom_password_hash).toEqual({
      algorithm: 'bcrypt',
      hash: { value: hashesInFile[3] },
    });
    expect(out.map((c) => c.hasPassword)).toEqual([true, true, true, true, false]);
    expect(alan!.user).not.toHaveProperty('password_hash');
    for (const c of out) expect(checkImportUser(c.user)).toBeUndefined();
    expect(hashes.unused).toBe(0);
  });

  it('matches by email only users that have no id, and only when one line has that email', async () => {
    const { hashes } = await loadPasswordHashes(HASH_FILE, { connection: CONNECTION });
    const t = createTransformer({ connection: CONNECTION });
    const noId = t.transform({ email: 'Edsger@example.org' }, 1) as ImportCandidate;
    expect(mergePasswordHash(noId, hashes).hasPassword).toBe(true);
    const otherId = t.transform(
      { user_id: 'auth0|someone-else', email: 'edsger@example.org' },
      2,
    ) as ImportCandidate;
    expect(mergePasswordHash(otherId, hashes).hasPassword).toBe(false);
  });

  it('takes argon2, PBKDF2 and LDAP hashes as custom_password_hash and refuses unknown formats', async () => {
    const lines = [
      {
        alt_id: 'u1',
        passwordHash:
          '$argon2id$v=19$m=65536,t=2,p=1$J6Q/82PCyaNpYKRELJyTZg$m04qUAB8rexWDR4+/0f+SFB+4XMFxt7YAvAq2UycYos',
      },
      {
        alt_id: 'u2',
        passwordHash:
          '$pbkdf2-sha512$i=100000,l=64$KNyFsA2rWoE$I2CQGI9H0JxdDf3kERRI97kPCGxh0KWBIV3MxyaS191gDGfzVBGyS4BibhgqWQ0/ails8mHuU9ckASxHOOq58w',
      },
      { alt_id: 'u3', passwordHash: '{SSHA}dGVzdHRlc3R0ZXN0dGVzdHRlc3Q=' },
      { alt_id: 'u4', passwordHash: '$2x$10$R/oOpVegnRmV94TGTtTspOu7IyOJPtDu6m2FatpC.YVkrJJUGqVzu' },
      { alt_id: 'u5', passwordHash: 'plain-text-password' },
    ];
    const { hashes, problems } = await loadPasswordHashes(
      (async function* () {
        yield Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n'));
      })(),
    );
    const t = createTransformer({ connection: CONNECTION });
    const user = (id: string) =>
      mergePasswordHash(
        t.transform({ user_id: `auth0|${id}`, email: `${id}@example.com` }, 1) as ImportCandidate,
        hashes,
      );
    expect(user('u1').user.custom_password_hash).toMatchObject({ algorithm: 'argon2' });
    expect(user('u2').user.custom_password_hash).toMatchObject({
      algorithm: 'pbkdf2',
      hash: { encoding: 'utf8' },
    });
    expect(user('u3').user.custom_password_hash).toMatchObject({ algorithm: 'ldap' });
    for (const id of ['u1', 'u2', 'u3']) expect(checkImportUser(user(id).user)).toBeUndefined();
    expect(user('u4').hasPassword).toBe(false);
    expect(problems.map((p) => p.userId)).toEqual(['u4', 'u5']);
    expect(JSON.stringify(problems)).not.toContain('plain-text-password');
  });
});
