/**
 * Test helpers: raw HTTP calls to a simulated tenant whose every answer is checked against the
 * published OpenAPI descriptions in data/auth0/ (Management API subset and /oauth/token excerpt)
 * by a JSON Schema validator. A status the OAS does not list for the operation fails the test.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';
import { ManagementClient } from 'auth0';
import { expect } from 'vitest';
import type { SimTenant, SimTenantInfo, Simulator } from '../../src/sim/index.js';

const addFormats = ((formatsModule as unknown as { default?: unknown }).default ?? formatsModule) as (
  ajv: Ajv2020,
) => void;

const load = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../data/auth0/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;

export const MGMT_OAS = load('management-api-oas.subset.json') as {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>
  >;
};
export const AUTH_OAS = load('authentication-api-oas.token.json') as typeof MGMT_OAS;

const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
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
  ajv.addFormat(f, true);
ajv.addSchema(MGMT_OAS, 'mgmt');
ajv.addSchema(AUTH_OAS, 'auth');

/** Management API error envelope, as the checklist gives it: `{statusCode, error, message, errorCode?}`. */
const validateManagementError = ajv.compile({
  type: 'object',
  required: ['statusCode', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string', minLength: 1 },
    message: { type: 'string', minLength: 1 },
    errorCode: { type: 'string' },
  },
  additionalProperties: false,
});

const pointer = (segments: string[]): string =>
  segments.map((s) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');

const compiled = new Map<string, ValidateFunction>();
function responseValidator(doc: 'mgmt' | 'auth', segments: string[]): ValidateFunction {
  const ref = `${doc}#/${pointer(segments)}`;
  let v = compiled.get(ref);
  if (v === undefined) {
    v = ajv.compile({ $ref: ref });
    compiled.set(ref, v);
  }
  return v;
}

/** The OAS path template matching a concrete path, e.g. `/jobs/job_x/errors` → `/jobs/{id}/errors`. */
export function templateFor(oas: typeof MGMT_OAS, path: string): string {
  const bare = path.split('?')[0]!;
  // A literal path wins over a template it also fits (/jobs/verification-email, not /jobs/{id}).
  if (oas.paths[bare] !== undefined) return bare;
  for (const template of Object.keys(oas.paths)) {
    const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (re.test(bare)) return template;
  }
  throw new Error(`no OAS path matches ${bare}`);
}

/** Answers are read loosely in assertions: their shape has been checked against the OAS already. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

export interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/**
 * Statuses an operation answers beyond those its OAS entry lists: real tenants answer 204 to a
 * role-permission removal (RELATIONS-API.md); a role or an organization that does not exist is a
 * 404 on every path of theirs ("The role does not exist.", "No organization found by that id or
 * name"), a name taken a 409, as on the paths the OAS lists them for; offset paging past 1,000
 * records is a 400 `invalid_paging` wherever the cap applies.
 */
const UNLISTED_STATUSES: Record<string, string[]> = {
  'DELETE /roles/{id}/permissions': ['204', '404'],
  'PATCH /roles/{id}': ['404', '409'],
  'PATCH /organizations/{id}': ['404', '409'],
  'POST /organizations/{id}/members': ['404'],
  'DELETE /organizations/{id}/members': ['404'],
  'POST /organizations/{id}/members/{user_id}/roles': ['404'],
  'DELETE /organizations/{id}/members/{user_id}/roles': ['404'],
  'GET /users/{id}/organizations': ['400'],
};

/**
 * List answers are oneOf(array, offset page, checkpoint page), and some page shapes fit two
 * branches: a last checkpoint page is `{<key>}` without `next` (Auth0: "when next is no longer
 * included, no pages are remaining"); a members offset page fits the members checkpoint schema,
 * which allows extra keys. The request says which one it asked for: take/from the checkpoint page,
 * include_totals the offset one.
 */
const PAGE_SHAPES: Record<string, { offset?: string; checkpoint: string }> = {
  '/connections': { checkpoint: 'ListConnectionsCheckpointPaginatedResponseContent' },
  '/roles/{id}/users': { checkpoint: 'ListRoleUsersPaginatedResponseContent' },
  '/organizations': {
    offset: 'ListOrganizationsOffsetPaginatedResponseContent',
    checkpoint: 'ListOrganizationsPaginatedResponseContent',
  },
  '/organizations/{id}/members': {
    offset: 'ListOrganizationMembersOffsetPaginatedResponseContent',
    checkpoint: 'ListOrganizationMembersPaginatedResponseContent',
  },
};

function pageShape(template: string, path: string, answer: Answer): string | undefined {
  const shapes = PAGE_SHAPES[template];
  if (shapes === undefined || answer.status !== 200) return undefined;
  if (/[?&](take|from)=/.test(path)) return shapes.checkpoint;
  return /[?&]include_totals=true/.test(path) ? shapes.offset : undefined;
}

/** Checks an answer against the OAS operation. */
export function checkAgainstOas(doc: 'mgmt' | 'auth', method: string, path: string, answer: Answer): void {
  const oas = doc === 'mgmt' ? MGMT_OAS : AUTH_OAS;
  const template = templateFor(oas, path);
  const op = oas.paths[template]?.[method.toLowerCase()];
  expect(op, `${method} ${template} is in the OAS`).toBeDefined();
  const status = String(answer.status);
  if (answer.status >= 500 && op!.responses[status] === undefined) {
    // Injected infrastructure failures: any endpoint can answer them; the body keeps Auth0's shape.
    if (doc === 'mgmt') expect(validateManagementError(answer.body), answer.text).toBe(true);
    return;
  }
  const listed = [...Object.keys(op!.responses), ...(UNLISTED_STATUSES[`${method} ${template}`] ?? [])];
  expect(listed, `${method} ${template} documents status ${status}`).toContain(status);
  if (answer.status === 204) {
    expect(answer.text).toBe('');
    // Recorded traffic: Auth0's 204s still name the JSON content type.
    if (doc === 'mgmt') {
      expect(answer.headers.get('content-type'), `${method} ${path} 204 content-type`).toBe(
        'application/json; charset=utf-8',
      );
    }
    return;
  }
  const schema = op!.responses[status]?.content?.['application/json']?.schema;
  const shape = doc === 'mgmt' ? pageShape(template, path, answer) : undefined;
  if (shape !== undefined) {
    const v = responseValidator('mgmt', ['components', 'schemas', shape]);
    expect(v(answer.body), `${method} ${path}: ${ajv.errorsText(v.errors)}`).toBe(true);
  } else if (schema !== undefined) {
    const v = responseValidator(doc, [
      'paths',
      template,
      method.toLowerCase(),
      'responses',
      status,
      'content',
      'application/json',
      'schema',
    ]);
    const ok = v(answer.body);
    expect(ok, `${method} ${path} ${status}: ${ajv.errorsText(v.errors)}\n${answer.text.slice(0, 500)}`).toBe(
      true,
    );
  } else if (doc === 'mgmt' && answer.status >= 400) {
    const ok = validateManagementError(answer.body);
    expect(
      ok,
      `${method} ${path} ${status} error envelope: ${ajv.errorsText(validateManagementError.errors)}`,
    ).toBe(true);
    expect((answer.body as { statusCode: number }).statusCode).toBe(answer.status);
  }
}

async function read(res: Response): Promise<Answer> {
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  const body: unknown = type.includes('json') && text !== '' ? JSON.parse(text) : text;
  return { status: res.status, headers: res.headers, body, text };
}

/**
 * A fetch for an SDK pointed at a simulated tenant: its calls to https://<domain> go to the
 * simulator, and every answer is checked against the OAS like the test client's.
 */
export function simulatorFetch(tenant: SimTenantInfo): typeof fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const target = new URL(url.replace(`https://${tenant.domain}`, tenant.baseUrl));
    const res = await fetch(target, init);
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    const path = target.pathname.slice(new URL(tenant.baseUrl).pathname.length) + target.search;
    const api = path.startsWith('/api/v2/') ? 'mgmt' : 'auth';
    checkAgainstOas(
      api,
      method,
      api === 'mgmt' ? path.slice('/api/v2'.length) : path,
      await read(res.clone()),
    );
    return res;
  };
}

export async function tokenRequest(
  tenant: SimTenantInfo,
  body: Record<string, string>,
  options: { json?: boolean; headers?: Record<string, string> } = {},
): Promise<Answer<Record<string, unknown>>> {
  const res = await fetch(`${tenant.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': options.json ? 'application/json' : 'application/x-www-form-urlencoded',
      ...options.headers,
    },
    body: options.json ? JSON.stringify(body) : new URLSearchParams(body).toString(),
  });
  const answer = await read(res);
  checkAgainstOas('auth', 'POST', '/oauth/token', answer);
  return answer as Answer<Record<string, unknown>>;
}

export async function managementToken(tenant: SimTenantInfo, scope?: string): Promise<string> {
  const answer = await tokenRequest(tenant, {
    grant_type: 'client_credentials',
    client_id: tenant.clientId,
    client_secret: tenant.clientSecret,
    audience: `https://${tenant.domain}/api/v2/`,
    ...(scope === undefined ? {} : { scope }),
  });
  expect(answer.status).toBe(200);
  return answer.body.access_token as string;
}

export interface CallOptions {
  json?: unknown;
  form?: FormData;
  token?: string | null;
}

/** A Management API client for tests: every answer is checked against the OAS. */
export class Mgmt {
  constructor(
    readonly tenant: SimTenantInfo,
    readonly state: SimTenant,
    private readonly token: string,
  ) {}

  static async connect(sim: Simulator, name: 'old' | 'new'): Promise<Mgmt> {
    return new Mgmt(sim.tenants[name], sim.tenant(name), await managementToken(sim.tenants[name]));
  }

  async call<T = Loose>(method: string, path: string, options: CallOptions = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = {};
    const token = options.token === undefined ? this.token : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | FormData | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.form !== undefined) {
      body = options.form;
    }
    const res = await fetch(`${this.tenant.baseUrl}/api/v2${path}`, { method, headers, body });
    const answer = await read(res);
    checkAgainstOas('mgmt', method, path, answer);
    return answer as Answer<T>;
  }

  /** Waits for the simulator to end a job, then reads it through the API. */
  async waitForJob<T = Loose>(id: string): Promise<T> {
    await this.state.jobEnded(id);
    const a = await this.call<{ status: string }>('GET', `/jobs/${id}`);
    expect(a.status).toBe(200);
    return a.body as T;
  }

  importForm(users: unknown, fields: Record<string, string> = {}): FormData {
    const fd = new FormData();
    const data = typeof users === 'string' ? users : JSON.stringify(users);
    fd.append('users', new Blob([data], { type: 'application/json' }), 'users.json');
    fd.append('connection_id', fields.connection_id ?? this.tenant.connectionId);
    for (const [k, v] of Object.entries(fields)) if (k !== 'connection_id') fd.append(k, v);
    return fd;
  }

  /** Submits an import and waits for it to end. */
  async importUsers(users: unknown, fields: Record<string, string> = {}): Promise<Loose> {
    const created = await this.call<{ id: string }>('POST', '/jobs/users-imports', {
      form: this.importForm(users, fields),
    });
    expect(created.status).toBe(202);
    return this.waitForJob(created.body.id);
  }
}

/**
 * The official auth0 v7 SDK pointed at a simulated tenant through {@link simulatorFetch} (its
 * ManagementClient always calls https://<domain>), without retries.
 */
export function sdkFor(info: SimTenantInfo): ManagementClient {
  return new ManagementClient({
    domain: info.domain,
    clientId: info.clientId,
    clientSecret: info.clientSecret,
    fetch: simulatorFetch(info),
    maxRetries: 0,
  });
}
