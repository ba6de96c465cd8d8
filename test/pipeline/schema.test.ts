import { readdirSync } from 'node:fs';
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
});
