import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  buildMigratedIndex,
  checkImportUser,
  isBatch,
  loadPasswordHashes,
  MigratedIndexBuilder,
  OutcomeCounter,
  PipelineInputError,
  runPipeline,
  type PipelineOutput,
  type Skipped,
} from '../../src/pipeline/index.js';
import { CONNECTION, FIXTURES, collect, dbUser, gzip, ndjson, tempDir } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

const batches = (out: PipelineOutput[]) => out.filter(isBatch);

describe('runPipeline', () => {
  it('takes an export to batches, with one outcome per record and a reason for every skip', async () => {
    const migrated = await buildMigratedIndex(`${FIXTURES}export-new-tenant.ndjson`, {
      connection: CONNECTION,
    });
    const run = runPipeline({ input: `${FIXTURES}export-full.ndjson`, connection: CONNECTION, migrated });
    const out = await collect(run);
    const byLine = new Map<number, string>();
    for (const o of out) {
      if (isBatch(o)) for (const u of o.users) byLine.set(u.source.line, 'import');
      else byLine.set(o.source.line, o.kind === 'skipped' ? o.reason : `already:${o.matchedBy}`);
    }
    expect([...byLine.entries()].sort((a, b) => a[0] - b[0])).toEqual([
      [1, 'import'],
      [2, 'not_database_user'],
      [3, 'not_database_user'],
      [4, 'import'],
      [5, 'no_email'],
      [6, 'invalid_email'],
      [7, 'duplicate_in_export'],
      [8, 'malformed_line'],
      [9, 'import'],
      [10, 'not_database_user'],
      [11, 'already:user_id'],
      [12, 'already:email'],
      [13, 'schema_invalid'],
    ]);
    expect(run.check()).toEqual([]);
    expect(run.counts).toMatchObject({
      total: 13,
      imported: 3,
      alreadyMigrated: 2,
      skipped: 8,
      skippedBy: {
        not_database_user: 3,
        no_email: 1,
        invalid_email: 1,
        duplicate_in_export: 1,
        malformed_line: 1,
        schema_invalid: 1,
      },
      withoutPassword: 3,
    });
    const nick = out.find((o): o is Skipped => o.kind === 'skipped' && o.reason === 'schema_invalid')!;
    expect(nick.detail).toContain('/nickname');
    expect(nick.detail).toContain('#/properties/nickname/type');
    const [batch] = batches(out);
    expect(JSON.parse(batch!.payload.toString('utf8'))).toEqual(batch!.users.map((u) => u.user));
    expect(run.read).toMatchObject({ lines: 13, records: 12, malformed: 1, format: 'ndjson' });
  });

  it('with `select`, leaves every other user out before any stage and counts only the selected', async () => {
    const select = new Set([
      'auth0|64f0c0ffee0000000000a001',
      'samlp|acme|jdoe',
      'auth0|64f0c0ffee0000000000a005',
      'auth0|not-in-the-export',
    ]);
    const run = runPipeline({ input: `${FIXTURES}export-full.ndjson`, connection: CONNECTION, select });
    const out = await collect(run);
    const lines = out
      .flatMap((o) =>
        isBatch(o)
          ? o.users.map((u) => [u.source.line, 'import'])
          : [[o.source.line, o.kind === 'skipped' ? o.reason : o.kind]],
      )
      .sort((a, b) => Number(a[0]) - Number(b[0]));
    // The malformed line (8) cannot be told apart, so it stays, as in every run.
    expect(lines).toEqual([
      [1, 'import'],
      [3, 'not_database_user'],
      [5, 'no_email'],
      [8, 'malformed_line'],
    ]);
    expect(run.counts).toMatchObject({ total: 4, imported: 1, skipped: 3 });
    expect(run.check()).toEqual([]);
  });

  it('merges password hashes and lists who has none', async () => {
    const { hashes } = await loadPasswordHashes(`${FIXTURES}password-hashes.ndjson`, {
      connection: CONNECTION,
    });
    const run = runPipeline({ input: `${FIXTURES}export-users.ndjson`, connection: CONNECTION, hashes });
    const users = batches(await collect(run)).flatMap((b) => b.users);
    expect(users.filter((u) => !u.hasPassword).map((u) => u.user.email)).toEqual(['alan@example.org']);
    expect(run.counts.withoutPassword).toBe(1);
    for (const u of users) expect(checkImportUser(u.user)).toBeUndefined();
  });

  it('gives the same batches for the same input (gzip or not), so a resumed run can skip the first N', async () => {
    const records = Array.from({ length: 300 }, (_, i) =>
      dbUser(i.toString(16).padStart(24, '0'), `user${i}@example.com`, {
        name: `User ${i}`,
        user_metadata: { n: i },
      }),
    );
    const plain = tmp.file('a.ndjson', ndjson(records));
    const zipped = tmp.file('a.ndjson.gz', gzip(ndjson(records)));
    const a = batches(await collect(runPipeline({ input: plain, connection: CONNECTION, batchBytes: 5000 })));
    const b = batches(
      await collect(runPipeline({ input: zipped, connection: CONNECTION, batchBytes: 5000 })),
    );
    expect(a.length).toBeGreaterThan(3);
    expect(b.map((x) => x.payload.toString('hex'))).toEqual(a.map((x) => x.payload.toString('hex')));
    expect(a.every((x) => x.payload.length <= 5000)).toBe(true);
  });

  it('ends with the reader error when the input breaks off, after what it could yield', async () => {
    const records = Array.from({ length: 3000 }, (_, i) =>
      dbUser(`${i}`.padStart(24, '0'), `u${i}@example.com`),
    );
    const full = gzip(ndjson(records));
    const run = runPipeline({
      input: tmp.file('cut.ndjson.gz', full.subarray(0, full.length - 200)),
      connection: CONNECTION,
      batchBytes: 2000,
    });
    const err = await collect(run).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineInputError);
    expect((err as PipelineInputError).code).toBe('truncated_gzip');
    expect(run.counts.skipped + run.counts.imported).toBeGreaterThan(0);
  });

  it('counts a user already in the new tenant as already migrated even when its email or schema would skip it', async () => {
    const builder = new MigratedIndexBuilder();
    builder.add('auth0|aaaaaaaaaaaaaaaaaaaaaaa1', undefined);
    builder.add('auth0|bbbbbbbbbbbbbbbbbbbbbbb2', 'other@example.com');
    builder.add(undefined, 'not-an-address@@example.com');
    builder.add('auth0|ddddddddddddddddddddddd4', 'd@example.com');
    builder.add('auth0|fffffffffffffffffffffff6', 'f@example.com');
    const migrated = builder.build();
    const noEmail = (id: string) => {
      const u = dbUser(id, '', { username: `user-${id.slice(0, 4)}` });
      delete u.email;
      return u;
    };
    const input = tmp.file(
      'precedence.ndjson',
      ndjson([
        noEmail('aaaaaaaaaaaaaaaaaaaaaaa1'),
        dbUser('bbbbbbbbbbbbbbbbbbbbbbb2', 'not an address'),
        dbUser('ccccccccccccccccccccccc3', ' Not-An-Address@@Example.com'),
        dbUser('ddddddddddddddddddddddd4', 'd@example.com', { given_name: 42 }),
        noEmail('eeeeeeeeeeeeeeeeeeeeeee5'),
        { user_id: 'google-oauth2|fffffffffffffffffffffff6', email: 'f@example.com' },
        dbUser('ggggggggggggggggggggggg7', 'not an address'),
      ]) + 'not json\n',
    );
    const run = runPipeline({ input, connection: CONNECTION, migrated });
    const out = await collect(run);
    const outcome = (o: PipelineOutput) =>
      isBatch(o) ? 'batch' : o.kind === 'skipped' ? o.reason : `already:${o.matchedBy}`;
    expect(out.map(outcome)).toEqual([
      'already:user_id',
      'already:user_id',
      'already:email',
      'already:user_id',
      'no_email',
      'not_database_user',
      'invalid_email',
      'malformed_line',
    ]);
    expect(run.check()).toEqual([]);
    // Without the index the same records are skipped for their emails and schema.
    const plain = await collect(runPipeline({ input, connection: CONNECTION }));
    expect(plain.map(outcome)).toEqual([
      'no_email',
      'invalid_email',
      'invalid_email',
      'schema_invalid',
      'no_email',
      'not_database_user',
      'invalid_email',
      'malformed_line',
    ]);
  });

  it('iterates once', async () => {
    const run = runPipeline({ input: `${FIXTURES}export-users.ndjson`, connection: CONNECTION });
    await collect(run);
    expect(() => run[Symbol.asyncIterator]()).toThrow(/once/);
  });

  it('property: every record leaves in exactly one outcome, placed users pass the schema, batches stay under the limit', async () => {
    const value = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null));
    const record = fc.record(
      {
        user_id: fc.oneof(
          fc
            .string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 24, maxLength: 24 })
            .map((h) => `auth0|${h}`),
          fc.constantFrom('google-oauth2|1', 'auth0|dup', 'auth0|', 'plain-id'),
          value,
        ),
        email: fc.oneof(
          fc.constantFrom('a@example.com', 'A@Example.com', 'b@example.org', 'x@y', '', 'NEW@example.com'),
          fc.emailAddress(),
          value,
        ),
        email_verified: fc.oneof(fc.boolean(), value),
        name: value,
        nickname: value,
        blocked: fc.oneof(fc.boolean(), value),
        app_metadata: fc.oneof(
          fc.dictionary(fc.constantFrom('plan', 'blocked', '_id', 'roles', 'email'), value),
          value,
        ),
        user_metadata: fc.oneof(fc.dictionary(fc.string({ maxLength: 5 }), value), value),
        identities: fc.oneof(
          fc.constant([{ connection: CONNECTION, user_id: 'same' }]),
          fc.constant([{ connection: 'google-oauth2', user_id: '1' }]),
          fc.constant([]),
          value,
        ),
        locale: value,
        created_at: fc.constant('2020-01-01T00:00:00.000Z'),
      },
      { requiredKeys: [] },
    );
    const line = fc.oneof(
      { weight: 9, arbitrary: record.map((r) => JSON.stringify(r)) },
      { weight: 1, arbitrary: fc.constantFrom('{broken', '[]', '42', '') },
    );
    const migrated = await buildMigratedIndex(
      tmp.file('new.ndjson', ndjson([dbUser('0123456789abcdef01234567', 'new@example.com')])),
      { connection: CONNECTION },
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 300, max: 4000 }),
        async (lines, batchBytes) => {
          // A first line the reader accepts, so the input counts as an export.
          const text = [
            JSON.stringify(dbUser('fedcba9876543210fedcba98', 'first@example.com')),
            ...lines,
          ].join('\n');
          const run = runPipeline({
            input: tmp.file(`p${n++}.ndjson`, text),
            connection: CONNECTION,
            migrated,
            batchBytes,
          });
          const out = await collect(run);
          const seen = new Map<number, number>();
          const counter = new OutcomeCounter();
          for (const o of out) {
            counter.add(o);
            const lines = isBatch(o) ? o.users.map((u) => u.source.line) : [o.source.line];
            for (const l of lines) seen.set(l, (seen.get(l) ?? 0) + 1);
            if (o.kind === 'skipped') expect(o.detail.length).toBeGreaterThan(0);
            if (isBatch(o)) {
              expect(o.payload.length).toBeLessThanOrEqual(o.users.length > 1 ? batchBytes : 512_000);
              for (const u of o.users) expect(checkImportUser(u.user)).toBeUndefined();
            }
          }
          expect([...seen.values()].every((c) => c === 1)).toBe(true);
          expect(seen.size).toBe(run.read.records + run.read.malformed);
          counter.setTotal(run.counts.total);
          expect(counter.check()).toEqual([]);
          expect(run.check()).toEqual([]);
        },
      ),
      { numRuns: 80 },
    );
  });
});
