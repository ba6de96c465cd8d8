import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MigratedIndex,
  MigratedIndexBuilder,
  buildMigratedIndex,
  skipMigrated,
} from '../../src/pipeline/migrated-index.js';
import { readExport } from '../../src/pipeline/read.js';
import { transformRecords } from '../../src/pipeline/transform.js';
import type { Skipped } from '../../src/pipeline/types.js';
import { CONNECTION, FIXTURES, collect, dbUser, gzip, ndjson, tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

describe('migrated index', () => {
  it('matches by id without auth0| and by lower-cased email', async () => {
    const index = await buildMigratedIndex(`${FIXTURES}export-new-tenant.ndjson`, { connection: CONNECTION });
    expect(index.match('64f0c0ffee0000000000a011', 'x@example.com')).toBe('user_id');
    expect(index.match('no-such-id', 'migrated-by-email@example.com')).toBe('email');
    expect(index.match(undefined, 'migrated-by-email@example.com')).toBe('email');
    expect(index.match('64f0c0ffee0000000000a099', 'nobody@example.com')).toBeUndefined();
    // The social user of the new tenant is left out: its email is not a database user's.
    expect(index.match(undefined, 'mixed.case@example.com')).toBeUndefined();
    expect(index.stats).toMatchObject({ records: 3, users: 2, otherConnection: 1, keys: 4 });
  });

  it('counts every user of the export when no connection is given', async () => {
    const index = await buildMigratedIndex(`${FIXTURES}export-new-tenant.ndjson`);
    expect(index.match(undefined, 'mixed.case@example.com')).toBe('email');
    expect(index.stats.users).toBe(3);
  });

  it('reads a gzipped export, lists malformed lines and never matches what it could not read', async () => {
    const text =
      ndjson([dbUser('aaaaaaaaaaaaaaaaaaaaaaaa', 'A@Example.com')]) + '{"user_id":"auth0|bbb", "email":\n';
    const index = await buildMigratedIndex(tmp.file('new.ndjson.gz', gzip(text)), { connection: CONNECTION });
    expect(index.match('aaaaaaaaaaaaaaaaaaaaaaaa', undefined)).toBe('user_id');
    expect(index.match(undefined, 'a@example.com')).toBe('email');
    expect(index.match('bbb', undefined)).toBeUndefined();
    expect(index.stats.malformed).toEqual([
      { line: 2, detail: expect.stringMatching(/^line 2: /) as unknown },
    ]);
  });

  it('holds many users at 16 bytes per key or less and finds every one of them', () => {
    const builder = new MigratedIndexBuilder();
    const n = 30_000;
    for (let i = 0; i < n; i++)
      builder.add(`auth0|${i.toString(16).padStart(24, '0')}`, `User${i}@Example.com`);
    const index = builder.build();
    expect(index.stats.keys).toBe(2 * n);
    expect(index.stats.bytesPerKey).toBeLessThanOrEqual(16);
    for (let i = 0; i < n; i += 97) {
      expect(index.match(i.toString(16).padStart(24, '0'), undefined)).toBe('user_id');
      expect(index.match(undefined, `user${i}@example.com`)).toBe('email');
    }
    let falseMatches = 0;
    for (let i = n; i < 2 * n; i++) {
      if (index.match(i.toString(16).padStart(24, '0'), `user${i}@example.com`) !== undefined) falseMatches++;
    }
    expect(falseMatches).toBe(0);
  });

  it('the skip stage turns matched candidates into already_migrated', async () => {
    const index = await buildMigratedIndex(`${FIXTURES}export-new-tenant.ndjson`, { connection: CONNECTION });
    const out = await collect(
      skipMigrated(
        transformRecords(readExport(`${FIXTURES}export-full.ndjson`), { connection: CONNECTION }),
        index,
      ),
    );
    const already = out.filter((o) => o.kind === 'already_migrated');
    expect(already.map((a) => [a.source.line, a.matchedBy])).toEqual([
      [11, 'user_id'],
      [12, 'email'],
    ]);
    expect(MigratedIndex.empty().match('64f0c0ffee0000000000a011', 'a@example.com')).toBeUndefined();
  });

  it('the skip stage also turns users skipped for their email or the schema into already_migrated when they match', async () => {
    const builder = new MigratedIndexBuilder();
    builder.add('auth0|aaaaaaaaaaaaaaaaaaaaaaa1', 'a@example.com');
    builder.add('auth0|bbbbbbbbbbbbbbbbbbbbbbb2', undefined);
    const skip = (line: number, reason: Skipped['reason'], userId?: string): Skipped => ({
      kind: 'skipped',
      source: { line, ...(userId !== undefined && { userId }) },
      reason,
      detail: 'x',
    });
    const items = async function* () {
      yield skip(1, 'no_email', 'auth0|aaaaaaaaaaaaaaaaaaaaaaa1');
      yield { ...skip(2, 'invalid_email'), source: { line: 2, email: 'a@example.com' } };
      yield skip(3, 'schema_invalid', 'auth0|bbbbbbbbbbbbbbbbbbbbbbb2');
      yield skip(4, 'not_database_user', 'auth0|bbbbbbbbbbbbbbbbbbbbbbb2');
      yield skip(5, 'no_email', 'auth0|ccccccccccccccccccccccc3');
    };
    const out = await collect(skipMigrated(items(), builder.build()));
    expect(
      out.map((o) =>
        o.kind === 'skipped' ? o.reason : o.kind === 'already_migrated' ? o.matchedBy : o.kind,
      ),
    ).toEqual(['user_id', 'email', 'user_id', 'not_database_user', 'no_email']);
  });
});
