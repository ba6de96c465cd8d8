/**
 * JSON Schema checks the simulated Auth0 applies: request bodies against the Management API's
 * published OpenAPI schemas, import users against the bulk-import user schema. Messages follow
 * the wording Auth0's validator uses (`Missing required property: email`, ...).
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';

const addFormats = ((formatsModule as unknown as { default?: unknown }).default ?? formatsModule) as (
  ajv: Ajv2020,
) => void;

export function loadDataFile(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../../data/auth0/${name}`, import.meta.url), 'utf8'));
}

let ajvInstance: Ajv2020 | undefined;
function ajv(): Ajv2020 {
  if (ajvInstance !== undefined) return ajvInstance;
  const a = new Ajv2020({ allErrors: true, strict: false, validateFormats: true });
  addFormats(a);
  // Auth0's own formats in the OAS: opaque identifiers, accepted as strings here.
  for (const f of [
    'user-id',
    'client-id',
    'organization-id',
    'connection-realm',
    'url',
    'user-id-with-max-length',
    'authenticator-id',
    'connection-id',
    'role-id',
  ])
    a.addFormat(f, true);
  // Organization names as Auth0's own schema for them spells the rule (its event-stream schema).
  a.addFormat('organization-name', /^(?!org_)[a-z0-9]([a-z0-9_-]*[a-z0-9])?$/);
  a.addFormat('html-color', /^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/);
  a.addFormat('strict-https-uri-or-null', /^https:\/\/[^\s]+$/);
  a.addSchema(loadDataFile('management-api-oas.subset.json') as object, 'mgmt');
  ajvInstance = a;
  return a;
}

const validators = new Map<string, ValidateFunction>();

function componentValidator(name: string): ValidateFunction {
  let v = validators.get(name);
  if (v === undefined) {
    v = ajv().compile({ $ref: `mgmt#/components/schemas/${name}` });
    validators.set(name, v);
  }
  return v;
}

export interface SchemaError {
  code: string;
  message: string;
  path: string;
}

/** Auth0's import error codes for JSON Schema keywords. */
const CODES: Record<string, string> = {
  format: 'FORMAT',
  type: 'INVALID_TYPE',
  required: 'OBJECT_REQUIRED',
  enum: 'ENUM_MISMATCH',
  pattern: 'PATTERN',
  minLength: 'MIN_LENGTH',
  maxLength: 'MAX_LENGTH',
  minItems: 'ARRAY_LENGTH_SHORT',
  maxItems: 'ARRAY_LENGTH_LONG',
  minimum: 'MINIMUM',
  maximum: 'MAXIMUM',
  anyOf: 'ANY_OF_MISSING',
  additionalProperties: 'NOT_PASSED',
  not: 'NOT_PASSED',
  oneOf: 'NOT_PASSED',
  maxProperties: 'NOT_PASSED',
  minProperties: 'NOT_PASSED',
};

/** `/a/0/b` → `a[0].b` */
function toPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  }
  return out;
}

function valueAt(data: unknown, pointer: string): unknown {
  let cur = data;
  for (const raw of pointer.split('/').slice(1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return cur;
}

const typeName = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;

function describe(e: ErrorObject, data: unknown): SchemaError {
  const value = valueAt(data, e.instancePath);
  const p = e.params as Record<string, unknown>;
  let path = toPath(e.instancePath);
  const join = (name: string) => (path === '' ? name : `${path}.${name}`);
  let message: string;
  switch (e.keyword) {
    case 'type':
      message = `Expected type ${String(p.type)} but found type ${typeName(value)}`;
      break;
    case 'format':
      message = `Object didn't pass validation for format ${String(p.format)}: ${String(value)}`;
      break;
    case 'required':
      path = join(String(p.missingProperty));
      message = `Missing required property: ${String(p.missingProperty)}`;
      break;
    case 'additionalProperties':
      path = join(String(p.additionalProperty));
      message = `Additional properties not allowed: ${String(p.additionalProperty)}`;
      break;
    case 'enum':
      message = `No enum match for: ${JSON.stringify(value)}`;
      break;
    case 'pattern':
      message = `String does not match pattern ${String(p.pattern)}: ${String(value)}`;
      break;
    case 'minLength':
      message = `String is too short (${String(value).length} chars), minimum ${String(p.limit)}`;
      break;
    case 'maxLength':
      message = `String is too long (${String(value).length} chars), maximum ${String(p.limit)}`;
      break;
    case 'minItems':
      message = `Array is too short (${(value as unknown[]).length}), minimum ${String(p.limit)}`;
      break;
    case 'maxItems':
      message = `Array is too long (${(value as unknown[]).length}), maximum ${String(p.limit)}`;
      break;
    case 'maxProperties':
      message = `Too many properties defined (${Object.keys(value as object).length}), maximum ${String(p.limit)}`;
      break;
    case 'minProperties':
      message = `Too few properties defined (${Object.keys(value as object).length}), minimum ${String(p.limit)}`;
      break;
    case 'minimum':
      message = `Value ${String(value)} is less than minimum ${String(p.limit)}`;
      break;
    case 'maximum':
      message = `Value ${String(value)} is greater than maximum ${String(p.limit)}`;
      break;
    case 'anyOf':
      message = "Data does not match any schemas from 'anyOf'";
      break;
    case 'oneOf':
      message = "Data does not match any schemas from 'oneOf'";
      break;
    case 'not':
      message = "Data matches schema from 'not'";
      break;
    default:
      message = e.message ?? `failed ${e.keyword}`;
  }
  return { code: CODES[e.keyword] ?? 'NOT_PASSED', message, path };
}

function describeAll(errors: ErrorObject[] | null | undefined, data: unknown): SchemaError[] {
  const out: SchemaError[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    const d = describe(e, data);
    const key = `${d.code}\0${d.path}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(d);
    }
  }
  return out;
}

/**
 * Checks a request body against an OAS component schema. Returns Auth0's 400 message
 * (`Payload validation error: '...' on property x.`) or undefined when valid.
 */
export function payloadError(component: string, body: unknown): string | undefined {
  const v = componentValidator(component);
  if (v(body)) return undefined;
  const first = describeAll(v.errors, body)[0];
  if (first === undefined) return 'Payload validation error.';
  // A missing or extra key is named in the message; the property is then the object holding it.
  const keyed = /^(Additional properties|Missing required property)/.test(first.message);
  const where = keyed ? first.path.replace(/(^|\.)[^.]+$/, '') : first.path;
  const on = where === '' ? '' : ` on property ${where}`;
  return `Payload validation error: '${first.message}'${on}.`;
}

// A deliberate copy of src/pipeline/schema.ts's check: the simulator stays an independent check.
let importValidator: ValidateFunction | undefined;

/** The bulk-import user schema's errors for one user, with Auth0's codes. */
export function importUserErrors(user: unknown): SchemaError[] {
  importValidator ??= ajv().compile(loadDataFile('import-user-schema.json') as object);
  if (importValidator(user)) return [];
  return describeAll(importValidator.errors, user);
}

let mfaValidator: ValidateFunction | undefined;

/** The import schema's errors for a user's `mfa_factors`, with paths from the user (`mfa_factors[0].totp`). */
export function mfaFactorsErrors(factors: unknown): SchemaError[] {
  mfaValidator ??= ajv().compile(
    (loadDataFile('import-user-schema.json') as { properties: { mfa_factors: object } }).properties
      .mfa_factors,
  );
  if (mfaValidator(factors)) return [];
  return describeAll(mfaValidator.errors, factors).map((e) => ({
    ...e,
    path: e.path === '' ? 'mfa_factors' : `mfa_factors${e.path.startsWith('[') ? '' : '.'}${e.path}`,
  }));
}
