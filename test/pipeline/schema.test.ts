import { readFileSync, readdirSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readExport } from '../../src/pipeline/read.js';
import { checkImportUser, importUserValidator, isSchemaEmail } from '../../src/pipeline/schema.js';
import { transformRecords } from '../../src/pipeline/transform.js';
import type { ImportCandidate } from '../../src/pipeline/types.js';
import { AUTH0_DOCS, collect } from './helpers.js';

const examples = readdirSync(AUTH0_DOCS).filter((f) => /^bulk-import_.*\.json$/.test(f));

describe('import schema', () => {
  it('finds the Auth0 docs import examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(3);
  });

  it.each(examples)('accepts every user of the docs example %s, read as a JSON array', async (file) => {
    const items = await collect(readExport(`${AUTH0_DOCS}${file}`));
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) {
      expect(item.kind).toBe('record');
      if (item.kind === 'record')
        expect(checkImportUser(item.record), JSON.stringify(item.record)).toBeUndefined();
    }
  });

  it.each(examples)('transforms %s into users the schema still accepts', async (file) => {
    const out = await collect(transformRecords(readExport(`${AUTH0_DOCS}${file}`), { connection: 'any' }));
    for (const c of out) {
      expect(c.kind).toBe('import');
      expect(checkImportUser((c as ImportCandidate).user)).toBeUndefined();
    }
  });

  it('names the field and the schema path of a rejected user', () => {
    expect(checkImportUser({ email: 'a@example.com', created_at: 'x' })).toEqual({
      path: '',
      schemaPath: '#/additionalProperties',
      message: 'has a field the import schema does not allow: created_at',
    });
    expect(checkImportUser({ email_verified: true })).toMatchObject({ schemaPath: '#/required' });
    expect(checkImportUser({ email: 'a@example.com', mfa_factors: [] })).toMatchObject({
      path: '/mfa_factors',
    });
  });

  it('is compiled once', () => {
    expect(importUserValidator()).toBe(importUserValidator());
  });

  it('checks emails as the schema does', () => {
    expect(isSchemaEmail('a.b+c@example.co.uk')).toBe(true);
    expect(isSchemaEmail('a@b')).toBe(false);
    expect(checkImportUser({ email: 'a@b' })).toMatchObject({ path: '/email' });
  });

  it('property: accepts and rejects exactly what a plain ajv with ajv-formats does, in any order of calls', () => {
    const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
      addFormatsModule) as typeof addFormatsModule.default;
    const schema = JSON.parse(
      readFileSync(new URL('../../data/auth0/import-user-schema.json', import.meta.url), 'utf8'),
    ) as object;
    const ajv = new Ajv({ strict: false, allErrors: false });
    addFormats(ajv);
    const plain = ajv.compile(schema);
    const plainEmail = ajv.compile({ type: 'string', format: 'email' });
    const email = fc.oneof(
      fc.constantFrom(
        'a@example.com',
        'A@example.com',
        'a@b',
        'x.y+z@sub.example.co',
        'no at',
        '',
        'é@example.com',
      ),
      fc.emailAddress(),
      fc.string({ maxLength: 12 }),
      fc.string({ maxLength: 6 }).map((s) => `${s}@example.com`),
    );
    const user = fc.record(
      {
        email: fc.oneof(email, fc.integer()),
        email_verified: fc.oneof(fc.boolean(), fc.constant('true')),
        user_id: fc.string({ maxLength: 8 }),
        given_name: fc.oneof(fc.string({ maxLength: 8 }), fc.constant(null)),
        app_metadata: fc.oneof(fc.dictionary(fc.string({ maxLength: 4 }), fc.integer()), fc.constant([])),
        mfa_factors: fc.array(fc.record({ email: fc.record({ value: email }) }), { maxLength: 2 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(email, user), { maxLength: 8 }), (steps) => {
        for (const [e, u] of steps) {
          // The transform's check first (it primes the remembered address), then the schema's.
          expect(isSchemaEmail(e)).toBe(plainEmail(e));
          expect(checkImportUser(u) === undefined).toBe(plain(u));
          expect(checkImportUser({ ...u, email: e }) === undefined).toBe(plain({ ...u, email: e }));
        }
      }),
      { numRuns: 300 },
    );
  });
});
