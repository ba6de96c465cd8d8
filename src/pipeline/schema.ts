/**
 * Auth0's bulk-import user schema (data/auth0/import-user-schema.json), compiled once per process.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { ImportUser } from './types.js';

// ajv-formats is CommonJS; under NodeNext its default export arrives as the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as typeof addFormatsModule.default;

const SCHEMA_URL = new URL('../../data/auth0/import-user-schema.json', import.meta.url);

let compiled: ValidateFunction<ImportUser> | undefined;

/** The compiled validator (compiled on first use, then shared). */
export function importUserValidator(): ValidateFunction<ImportUser> {
  if (compiled === undefined) {
    const schema = JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as object;
    // strict off: the published schema carries `default` and `description` keywords only for people.
    const ajv = new Ajv({ strict: false, allErrors: false });
    addFormats(ajv);
    // The same test as ajv-formats' full `email`, remembering the last address it accepted: the
    // transform has just checked the user's email with it, so the schema check is a comparison.
    ajv.addFormat('email', { type: 'string', validate: isSchemaEmail });
    compiled = ajv.compile<ImportUser>(schema);
  }
  return compiled;
}

export interface SchemaProblem {
  /** JSON pointer into the user, e.g. `/app_metadata` (empty for the user itself). */
  path: string;
  /** Where in the schema, e.g. `#/properties/email/format`. */
  schemaPath: string;
  message: string;
}

/** Undefined when Auth0's schema accepts the user; otherwise the first problem. */
export function checkImportUser(user: unknown): SchemaProblem | undefined {
  const validate = importUserValidator();
  if (validate(user)) return undefined;
  return describe(validate.errors?.[0]);
}

function describe(e: ErrorObject | undefined): SchemaProblem {
  if (e === undefined) return { path: '', schemaPath: '#', message: 'rejected by the import schema' };
  let message = e.message ?? e.keyword;
  if (e.keyword === 'additionalProperties') {
    message = `has a field the import schema does not allow: ${String((e.params as { additionalProperty?: unknown }).additionalProperty)}`;
  }
  return { path: e.instancePath, schemaPath: e.schemaPath, message };
}

/** `schema_invalid` detail: where, in the user and in the schema, and what. Never the value. */
export function describeSchemaProblem(p: SchemaProblem): string {
  return `${p.path === '' ? 'user' : p.path} ${p.message} (schema ${p.schemaPath})`;
}

/** The email check the schema applies (ajv-formats' `email`, full mode), for the transform's own use. */
export function isSchemaEmail(value: string): boolean {
  if (value === lastAccepted) return true;
  if (!emailFormat.test(value)) return false;
  lastAccepted = value;
  return true;
}

let lastAccepted: string | undefined;

const emailFormat: RegExp = (() => {
  const f = addFormats.get('email', 'full') as unknown;
  // A stateless test (no g or y flag) is what makes remembering its last answer exact.
  if (f instanceof RegExp && !f.global && !f.sticky) return f;
  throw new Error('ajv-formats no longer exposes its email format as a regular expression');
})();
