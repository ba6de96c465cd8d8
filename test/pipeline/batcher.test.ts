import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AUTH0_MAX_IMPORT_BYTES, Batcher, batchUsers } from '../../src/pipeline/batcher.js';
import { DuplicateFilter } from '../../src/pipeline/duplicates.js';
import { PipelineInputError } from '../../src/pipeline/errors.js';
import { checkImportUser } from '../../src/pipeline/schema.js';
import type { Batch, ImportCandidate, ImportUser, Skipped } from '../../src/pipeline/types.js';
import { collect } from './helpers.js';

function candidate(line: number, user: ImportUser): ImportCandidate {
  return { kind: 'import', source: { line }, user, original: { ...user }, hasPassword: false };
}

const userArb = fc.record(
  {
    email: fc.constantFrom('a@example.com', 'b.c@example.org', 'x@y.io'),
    given_name: fc.string({ maxLength: 40 }),
    name: fc.string({ unit: 'grapheme', maxLength: 30 }),
    user_metadata: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 300 }), {
      maxKeys: 6,
    }),
  },
  { requiredKeys: ['email'] },
);

async function drain(
  users: ImportUser[],
  batchBytes: number,
  maxBatchBytes?: number,
  maxProfileBytes?: number,
) {
  const items = (async function* () {
    for (const [i, u] of users.entries()) yield candidate(i + 1, u);
  })();
  return collect(
    batchUsers(items, {
      batchBytes,
      ...(maxBatchBytes !== undefined && { maxBatchBytes }),
      ...(maxProfileBytes !== undefined && { maxProfileBytes }),
    }),
  );
}

describe('batches', () => {
  it('serialises each batch exactly as sent and keeps it under the target', async () => {
    const users = Array.from({ length: 50 }, (_, i) => ({
      email: `user${i}@example.com`,
      email_verified: true,
      name: 'N'.repeat(100),
    }));
    const out = (await drain(users, 1000)) as Batch[];
    expect(out.length).toBeGreaterThan(5);
    expect(out.map((b) => b.index)).toEqual(out.map((_, i) => i));
    const all: unknown[] = [];
    for (const b of out) {
      expect(b.kind).toBe('batch');
      expect(b.payload.length).toBeLessThanOrEqual(1000);
      const parsed = JSON.parse(b.payload.toString('utf8')) as unknown[];
      expect(parsed).toEqual(b.users.map((u) => u.user));
      all.push(...parsed);
    }
    expect(all).toEqual(users);
  });

  it('gives a user larger than the target a batch of its own, within the hard limit', async () => {
    const big = { email: 'big@example.com', user_metadata: { blob: 'x'.repeat(5000) } };
    const out = (await drain(
      [{ email: 'a@example.com' }, big, { email: 'b@example.com' }],
      1000,
      6000,
    )) as Batch[];
    expect(out.map((b) => b.users.length)).toEqual([1, 1, 1]);
    expect(out[1]!.payload.length).toBeGreaterThan(1000);
    expect(out[1]!.payload.length).toBeLessThanOrEqual(6000);
  });

  it('skips a user too large for any import file as schema_invalid, and one the schema refuses', async () => {
    const huge = { email: 'huge@example.com', user_metadata: { blob: 'x'.repeat(AUTH0_MAX_IMPORT_BYTES) } };
    // A profile limit above the file size, as on a tenant with uncapped profiles.
    const out = await drain(
      [huge, { email: 'not an email' }, { email: 'ok@example.com' }],
      400_000,
      undefined,
      16 * 1024 * 1024,
    );
    expect(out[0]).toMatchObject({ kind: 'skipped', reason: 'schema_invalid', source: { line: 1 } });
    expect((out[0] as Skipped).detail).toMatch(
      /too large: \d+ bytes as JSON, and an import file holds at most 500000 bytes/,
    );
    expect(out[1]).toMatchObject({
      kind: 'skipped',
      reason: 'schema_invalid',
      detail: '/email must match format "email" (schema #/properties/email/format)',
    });
    expect((out[2] as Batch).users).toHaveLength(1);
  });

  it('refuses limits Auth0 would not take', () => {
    expect(() => new Batcher({ maxBatchBytes: 600_000 })).toThrow(PipelineInputError);
    expect(() => new Batcher({ batchBytes: 520_000 })).toThrow(/BATCH_BYTES/);
    expect(new Batcher().batchBytes).toBe(400_000);
  });

  it('flags users whose id or email an earlier placed user has', async () => {
    const items = (async function* () {
      yield candidate(1, { email: 'a@example.com', user_id: '1' });
      yield candidate(2, { email: 'b@example.com', user_id: '1' });
      yield candidate(3, { email: 'a@example.com', user_id: '3' });
      yield candidate(4, { email: 'bad', user_id: '4' });
      yield candidate(5, { email: 'd@example.com', user_id: '4' });
    })();
    const out = await collect(batchUsers(items, { duplicates: new DuplicateFilter() }));
    const skips = out.filter((o): o is Skipped => o.kind === 'skipped');
    expect(skips.map((s) => [s.source.line, s.reason])).toEqual([
      [2, 'duplicate_in_export'],
      [3, 'duplicate_in_export'],
      [4, 'schema_invalid'],
    ]);
    expect(skips[0]!.detail).toContain('user_id');
    expect(skips[1]!.detail).toContain('email');
    // Line 5 shares its id only with a user that was not placed.
    expect((out.at(-1) as Batch).users.map((u) => u.source.line)).toEqual([1, 5]);
  });

  it('property: batches never exceed the limit, hold every accepted user once, in order, and are deterministic', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(userArb, { maxLength: 40 }),
        fc.integer({ min: 200, max: 3000 }),
        async (users, target) => {
          const max = Math.max(target, 2500);
          const first = await drain(users, target, max);
          const second = await drain(users, target, max);
          expect(second.map((o) => (o.kind === 'batch' ? o.payload.toString('hex') : o.kind))).toEqual(
            first.map((o) => (o.kind === 'batch' ? o.payload.toString('hex') : o.kind)),
          );
          const placed: number[] = [];
          let skippedCount = 0;
          for (const o of first) {
            if (o.kind === 'skipped') {
              skippedCount++;
              expect(['schema_invalid', 'invalid_metadata_key']).toContain(o.reason);
              continue;
            }
            const b = o as Batch;
            expect(b.payload.length).toBeLessThanOrEqual(max);
            if (b.users.length > 1) expect(b.payload.length).toBeLessThanOrEqual(target);
            expect(JSON.parse(b.payload.toString('utf8'))).toEqual(b.users.map((u) => u.user));
            for (const u of b.users) {
              expect(checkImportUser(u.user)).toBeUndefined();
              placed.push(u.source.line);
            }
          }
          expect(placed).toEqual([...placed].sort((a, b) => a - b));
          expect(placed.length + skippedCount).toBe(users.length);
        },
      ),
      { numRuns: 60 },
    );
  });
});
