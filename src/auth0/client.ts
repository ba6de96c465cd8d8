/**
 * {@link TenantClient} on the official SDK's ManagementClient. The SDK always addresses
 * `https://<domain>`; a fetch wrapper sends those requests to the configured base URL (the
 * simulator, a private cloud) instead, for the token as well as the API.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { PassThrough, type Readable } from 'node:stream';
import { ManagementClient } from 'auth0';
import type { TenantConfig } from '../config.js';
import { silentLogger, type Logger } from '../log.js';
import { Auth0Error, isAuth0Error } from './errors.js';
import { DEFAULT_MAX_ANSWER_BYTES, answerTooLarge, guardedFetch } from './guarded-fetch.js';
import {
  fromHttpFailure,
  fromThrown,
  neverReachedServer,
  networkError,
  tenantName,
  TenantName,
  type CallDescription,
  type TenantDescription,
} from './map-error.js';
import { resolveRetryOptions, withRetry, type ResolvedRetryOptions, type RetryOptions } from './retry.js';
import { TokenSource } from './token.js';
import type {
  Auth0Job,
  Connection,
  CreateImportJob,
  ExportField,
  IdentityRef,
  JobErrors,
  JobUserError,
  ListOptions,
  PermissionRef,
  RateGate,
  RequestDescription,
  TenantClient,
} from './types.js';

export interface TenantClientOptions {
  /** Names the tenant in messages; `old` / `new` also name the variables to check (`OLD_AUTH0_…`). @defaultValue `tenant` */
  label?: string;
  /** @defaultValue silent */
  logger?: Logger;
  retry?: RetryOptions;
  /**
   * Longest wait for one answer (for a download: the longest silence between two chunks).
   * @defaultValue 60000
   */
  requestTimeoutMs?: number;
  /** Cancels waits and requests in flight. */
  signal?: AbortSignal;
  /** The largest API answer read; past it the call fails with `answer_too_large`. @defaultValue 16 MiB */
  maxAnswerBytes?: number;
  /** `EXPORT_MAX_BYTES`: the largest export file downloaded. @defaultValue 10 GiB */
  maxDownloadBytes?: number;
  /**
   * Paces {@link Auth0TenantClient.request} and {@link Auth0TenantClient.list} (the relations
   * stage's calls): every attempt, retries included, waits for it. @defaultValue none
   */
  rateGate?: RateGate;
}

const DEFAULT_MAX_DOWNLOAD_BYTES = 10 * 1024 ** 3;
/** Of an error answer to a download, only this much is read: enough for Auth0's or a CDN's words. */
const ERROR_BODY_BYTES = 2000;

interface RequestOptions {
  maxRetries: number;
  timeoutInSeconds: number;
  abortSignal?: AbortSignal;
}

interface CallSpec extends CallDescription {
  /** Job-creating POSTs: see createImportJob. */
  createsJob?: boolean;
}

/** Rewrites `https://<domain>/…` to `<baseUrl>/…`; other URLs pass through. */
export function rewritingFetch(domain: string, baseUrl: string, inner: typeof fetch = fetch): typeof fetch {
  const origin = `https://${domain}`;
  const base = baseUrl.replace(/\/+$/, '');
  const rewrite = (url: string): string =>
    base !== origin && (url === origin || url.startsWith(`${origin}/`) || url.startsWith(`${origin}?`))
      ? base + url.slice(origin.length)
      : url;
  return (input, init) => {
    if (typeof input === 'string') return inner(rewrite(input), init);
    if (input instanceof URL) return inner(rewrite(input.href), init);
    return inner(new Request(rewrite(input.url), input), init);
  };
}

export class Auth0TenantClient implements TenantClient {
  readonly label: string;
  readonly #tenant: TenantDescription;
  readonly #sdk: ManagementClient;
  readonly #tokens: TokenSource;
  readonly #retry: ResolvedRetryOptions;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #signal: AbortSignal | undefined;
  readonly #fetch: typeof fetch;
  readonly #domain: string;
  readonly #clientId: string;
  readonly #maxDownloadBytes: number;
  readonly #rateGate: RateGate | undefined;

  constructor(config: TenantConfig, options: TenantClientOptions = {}) {
    this.label = options.label ?? 'tenant';
    this.#logger = options.logger ?? silentLogger;
    this.#retry = resolveRetryOptions(options.retry);
    this.#timeoutMs = options.requestTimeoutMs ?? 60_000;
    this.#signal = options.signal;
    const secret = config.clientSecret.reveal();
    this.#tenant = {
      label: this.label,
      domain: config.domain,
      baseUrl: config.baseUrl,
      envPrefix: /^(old|new)$/i.test(this.label) ? `${this.label.toUpperCase()}_AUTH0_` : undefined,
      scrub: (text) => {
        let out = secret === '' ? text : text.split(secret).join('[redacted]');
        const token = this.#tokens?.current;
        if (token !== undefined && token !== '') out = out.split(token).join('[redacted]');
        return out;
      },
    };
    this.#fetch = guardedFetch(
      this.#tenant,
      { maxBytes: options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES, bodyTimeoutMs: this.#timeoutMs },
      rewritingFetch(config.domain, config.baseUrl),
    );
    this.#maxDownloadBytes = options.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES;
    this.#rateGate = options.rateGate;
    this.#domain = config.domain;
    this.#clientId = config.clientId;
    this.#tokens = new TokenSource({
      domain: config.domain,
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      audience: `https://${config.domain}/api/v2/`,
      fetch: this.#fetch,
      tenant: this.#tenant,
    });
    this.#sdk = new ManagementClient({
      domain: config.domain,
      token: () => this.#tokens.get(),
      fetch: this.#fetch,
      // One retry policy, ours (retry.ts): the SDK's would stack on top of it.
      maxRetries: 0,
      timeoutInSeconds: Math.max(1, Math.ceil(this.#timeoutMs / 1000)),
    });
  }

  async #call<T>(spec: CallSpec, fn: (sdk: ManagementClient, ro: RequestOptions) => Promise<T>): Promise<T> {
    const ro: RequestOptions = {
      maxRetries: 0,
      timeoutInSeconds: Math.max(1, Math.ceil(this.#timeoutMs / 1000)),
      ...(this.#signal === undefined ? {} : { abortSignal: this.#signal }),
    };
    return withRetry(
      {
        operation: spec.operation,
        options: this.#retry,
        logger: this.#logger,
        ...(this.#signal === undefined ? {} : { signal: this.#signal }),
        ...(spec.createsJob ? { canRetry: creationMayBeRepeated } : {}),
      },
      async () => {
        let renewed = false;
        for (;;) {
          const generation = this.#tokens.generation;
          try {
            return await fn(this.#sdk, ro);
          } catch (thrown) {
            this.#signal?.throwIfAborted();
            // Token failures arrive already mapped (token.ts) and are final here; named as this
            // call's, the one the retries name.
            if (isAuth0Error(thrown)) throw this.#tokens.asFailureOf(thrown, spec.operation);
            const err = fromThrown(this.#tenant, spec, thrown);
            if (err.code === 'bad_credentials' && err.status === 401 && !renewed) {
              // The token may have been revoked or rotated early: one fresh token, then give up.
              this.#logger.info({ operation: spec.operation }, 'token refused, fetching a new one');
              this.#tokens.invalidate(generation);
              renewed = true;
              continue;
            }
            if (spec.createsJob) throw asCreationFailure(this.#tenant, spec, err);
            throw err;
          }
        }
      },
    );
  }

  async getConnectionByName(name: string): Promise<Connection> {
    const spec = {
      operation: 'GET /connections',
      scope: 'read:connections',
      subject: `connection "${name}"`,
    };
    const found = await this.#call(spec, async (sdk, ro) => {
      const page = await sdk.connections.list({ name }, ro);
      for (const c of pageItems(page)) if (c.name === name) return c;
      return undefined;
    });
    if (found !== undefined) return toConnection(found);
    const all = await this.#call({ ...spec, subject: 'connections' }, async (sdk, ro) => {
      const names: string[] = [];
      let page = await sdk.connections.list({ take: 100 }, ro);
      for (;;) {
        for (const c of pageItems(page)) names.push(`${c.name} (${c.strategy ?? '?'})`);
        if (!page.hasNextPage() || names.length >= 1000) break;
        page = await page.getNextPage();
      }
      return names;
    });
    const t = this.#tenant;
    throw new Auth0Error(
      'unknown_connection',
      `${TenantName(t)} has no connection named "${name}": set ${t.envPrefix ?? ''}CONNECTION to one of ${
        all.length === 0 ? '(none: the tenant has no connections)' : all.join(', ')
      }.`,
      { status: 404 },
    );
  }

  async getConnection(id: string): Promise<Connection> {
    const spec = {
      operation: 'GET /connections/{id}',
      scope: 'read:connections',
      subject: `connection ${id}`,
    };
    return toConnection(await this.#call(spec, (sdk, ro) => sdk.connections.get(id, {}, ro)));
  }

  async updateConnection(id: string, patch: Record<string, unknown>): Promise<Connection> {
    const spec = {
      operation: 'PATCH /connections/{id}',
      scope: 'update:connections',
      subject: `connection ${id}`,
    };
    // A PATCH sets fields to given values, so repeating it after a lost answer is harmless.
    return toConnection(await this.#call(spec, (sdk, ro) => sdk.connections.update(id, patch, ro)));
  }

  /**
   * POST /jobs/users-exports. Like an import, a lost answer leaves an orphan job behind, but an
   * export only reads: the caller may simply create another one. Only failures that left the tenant
   * untouched (429 rate limit, a refused connection, a refused token) are repeated here.
   */
  async createExportJob(request: {
    connectionId?: string;
    fields: ExportField[];
    limit?: number;
  }): Promise<Auth0Job> {
    const spec: CallSpec = {
      operation: 'POST /jobs/users-exports',
      scope: 'read:users',
      subject: request.connectionId === undefined ? 'the tenant' : `connection ${request.connectionId}`,
      createsJob: true,
    };
    try {
      const job = await this.#call(spec, (sdk, ro) =>
        sdk.jobs.usersExports.create(
          {
            ...(request.connectionId === undefined ? {} : { connection_id: request.connectionId }),
            format: 'json',
            fields: request.fields.map((f) => ({ ...f })),
            ...(request.limit === undefined ? {} : { limit: request.limit }),
          },
          ro,
        ),
      );
      return job as Auth0Job;
    } catch (err) {
      if (
        isAuth0Error(err, 'not_available') ||
        (isAuth0Error(err, 'bad_request') &&
          /plan|feature|not (enabled|available|allowed)|upgrade/i.test(err.message))
      ) {
        throw new Auth0Error(
          'not_available',
          `${TenantName(this.#tenant)} does not offer bulk user export on its plan or settings: ${err.message} Enable user exports for the tenant (its subscription or Auth0 support), or export it from the Dashboard's User Import / Export extension and pass that file to import.`,
          { ...(err.status === undefined ? {} : { status: err.status }), cause: err },
        );
      }
      throw err;
    }
  }

  /**
   * POST /jobs/users-imports, never repeated blindly.
   *
   * When the answer is lost (5xx, a dropped connection, a timeout), Auth0 may or may not have
   * created the job, and it offers no way to look a job up by `external_id`. Repeating the POST
   * here would hide that, so it fails with `outcome_unknown` and the runner decides. Submitting
   * the batch again is safe with upsert=false: users the lost job already inserted come back as
   * DUPLICATED_USER, which the runner counts as that job's once a read finds them under their
   * own id, and the batch's `external_id` ties both jobs to the same batch in Auth0's logs. With
   * upsert=true the same users are updated twice with the same values.
   *
   * Repeated here, because nothing was created: a 429 rate limit, a refused connection (the
   * request never left), a 401 (one token renewal). Not repeated: 429 "There are 2 active import
   * users jobs" (`import_slots_busy`: the runner waits for a slot).
   */
  async createImportJob(request: CreateImportJob): Promise<Auth0Job> {
    const spec: CallSpec = {
      operation: 'POST /jobs/users-imports',
      scope: 'create:users',
      subject: `connection ${request.connectionId}`,
      createsJob: true,
    };
    const job = await this.#call(spec, (sdk, ro) =>
      sdk.jobs.usersImports.create(
        {
          users: { data: request.users, filename: 'users.json', contentType: 'application/json' },
          connection_id: request.connectionId,
          upsert: request.upsert ?? false,
          send_completion_email: request.sendCompletionEmail ?? false,
          ...(request.externalId === undefined ? {} : { external_id: request.externalId }),
        },
        ro,
      ),
    );
    return job as Auth0Job;
  }

  async getJob(id: string): Promise<Auth0Job> {
    const spec = { operation: 'GET /jobs/{id}', scope: 'read:users', subject: `job ${id}` };
    return (await this.#call(spec, (sdk, ro) => sdk.jobs.get(id, ro))) as Auth0Job;
  }

  async getJobErrors(id: string): Promise<JobErrors> {
    const spec = { operation: 'GET /jobs/{id}/errors', scope: 'create:users', subject: `job ${id}` };
    const body: unknown = await this.#call(spec, (sdk, ro) => sdk.jobs.errors.get(id, ro));
    if (body === undefined || body === null || body === '') return { kind: 'none' };
    if (Array.isArray(body)) return { kind: 'users', errors: body as JobUserError[] };
    if (typeof body === 'object' && 'id' in body) return { kind: 'job', job: body as Auth0Job };
    return { kind: 'none' };
  }

  async usersByEmail(email: string): Promise<Array<Record<string, unknown>>> {
    const spec = { operation: 'GET /users-by-email', scope: 'read:users', subject: 'user' };
    const users = await this.#call(spec, (sdk, ro) => sdk.users.listUsersByEmail({ email }, ro));
    return users as Array<Record<string, unknown>>;
  }

  async getUser(id: string): Promise<Record<string, unknown> | undefined> {
    const spec = { operation: 'GET /users/{id}', scope: 'read:users', subject: 'user' };
    try {
      return (await this.#call(spec, (sdk, ro) => sdk.users.get(id, {}, ro))) as Record<string, unknown>;
    } catch (err) {
      if (isAuth0Error(err, 'not_found')) return undefined;
      throw err;
    }
  }

  async deleteUser(id: string): Promise<void> {
    // Auth0 answers 204 whether or not the user exists, so a retried delete is harmless.
    const spec = { operation: 'DELETE /users/{id}', scope: 'delete:users', subject: 'user' };
    await this.#call(spec, (sdk, ro) => sdk.users.delete(id, ro));
  }

  async searchUsers(q: string, perPage = 10): Promise<Array<Record<string, unknown>>> {
    const spec = { operation: 'GET /users', scope: 'read:users', subject: 'users' };
    const page = await this.#call(spec, (sdk, ro) =>
      // The SDK reads the users out of the envelope include_totals=true answers with.
      sdk.users.list({ q, search_engine: 'v3', per_page: perPage, include_totals: true }, ro),
    );
    return page.data as Array<Record<string, unknown>>;
  }

  async createPasswordChangeTicket(request: {
    userId: string;
    ttlSec?: number;
    resultUrl?: string;
    clientId?: string;
    markEmailAsVerified?: boolean;
  }): Promise<{ ticket: string }> {
    const spec = {
      operation: 'POST /tickets/password-change',
      scope: 'create:user_tickets',
      subject: `user ${request.userId}`,
    };
    // A second ticket for the same user is harmless (each is a link; the last one sent is used).
    const answer = await this.#call(spec, (sdk, ro) =>
      sdk.tickets.changePassword(
        {
          user_id: request.userId,
          ...(request.ttlSec === undefined ? {} : { ttl_sec: request.ttlSec }),
          ...(request.resultUrl === undefined ? {} : { result_url: request.resultUrl }),
          ...(request.clientId === undefined ? {} : { client_id: request.clientId }),
          ...(request.markEmailAsVerified === undefined
            ? {}
            : { mark_email_as_verified: request.markEmailAsVerified }),
        },
        ro,
      ),
    );
    return { ticket: String((answer as { ticket?: unknown }).ticket ?? '') };
  }

  async sendVerificationEmail(request: { userId: string; clientId?: string }): Promise<Auth0Job> {
    const spec = {
      operation: 'POST /jobs/verification-email',
      scope: 'update:users',
      subject: `user ${request.userId}`,
    };
    // A second email for the same user is harmless: each link verifies the same address.
    const job = await this.#call(spec, (sdk, ro) =>
      sdk.jobs.verificationEmail.create(
        {
          user_id: request.userId,
          ...(request.clientId === undefined ? {} : { client_id: request.clientId }),
        },
        ro,
      ),
    );
    return job as Auth0Job;
  }

  async sendPasswordChangeEmail(request: {
    email: string;
    connection: string;
    clientId?: string;
  }): Promise<void> {
    // The Authentication API, which the SDK (Management API only) does not cover: a plain
    // request, with the same retry policy and error mapping as the SDK calls.
    const spec = {
      operation: 'POST /dbconnections/change_password',
      subject: `the user with email ${request.email}`,
    };
    await withRetry(
      {
        operation: spec.operation,
        options: this.#retry,
        logger: this.#logger,
        ...(this.#signal === undefined ? {} : { signal: this.#signal }),
      },
      async () => {
        const timeout = AbortSignal.timeout(this.#timeoutMs);
        let answer: Response;
        try {
          answer = await this.#fetch(`https://${this.#domain}/dbconnections/change_password`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              client_id: request.clientId ?? this.#clientId,
              email: request.email,
              connection: request.connection,
            }),
            signal: this.#signal === undefined ? timeout : AbortSignal.any([this.#signal, timeout]),
          });
        } catch (err) {
          this.#signal?.throwIfAborted();
          if (isAuth0Error(err)) throw err;
          throw networkError(this.#tenant, spec.operation, err);
        }
        const text = await answer.text();
        if (answer.ok) return;
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // Not JSON: Auth0's words as they are.
        }
        throw fromHttpFailure(this.#tenant, spec, { status: answer.status, body, headers: answer.headers });
      },
    );
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    about: RequestDescription = {},
  ): Promise<unknown> {
    const operation = `${method} ${operationPath(path)}`;
    const spec: CallDescription = { operation, ...about };
    return withRetry(
      {
        operation,
        options: this.#retry,
        logger: this.#logger,
        ...(this.#signal === undefined ? {} : { signal: this.#signal }),
      },
      async () => {
        let renewed = false;
        for (;;) {
          await this.#rateGate?.take(this.#signal);
          const generation = this.#tokens.generation;
          const token = await this.#tokens.get().catch((err: unknown) => {
            throw isAuth0Error(err) ? this.#tokens.asFailureOf(err, operation) : err;
          });
          const timeout = AbortSignal.timeout(this.#timeoutMs);
          let answer: Response;
          try {
            answer = await this.#fetch(`https://${this.#domain}/api/v2${path}`, {
              method,
              headers: {
                authorization: `Bearer ${token}`,
                accept: 'application/json',
                ...(body === undefined ? {} : { 'content-type': 'application/json' }),
              },
              ...(body === undefined ? {} : { body: JSON.stringify(body) }),
              signal: this.#signal === undefined ? timeout : AbortSignal.any([this.#signal, timeout]),
            });
          } catch (err) {
            this.#signal?.throwIfAborted();
            if (isAuth0Error(err)) throw err;
            throw networkError(this.#tenant, operation, err);
          }
          const text = await answer.text().catch((err: unknown) => {
            if (isAuth0Error(err)) throw err;
            throw networkError(this.#tenant, operation, err);
          });
          let parsed: unknown = text === '' ? undefined : text;
          try {
            if (text !== '') parsed = JSON.parse(text);
          } catch {
            // Not JSON: Auth0's (or a proxy's) words as they are.
          }
          if (answer.ok) return parsed;
          const err = fromHttpFailure(this.#tenant, spec, {
            status: answer.status,
            body: parsed,
            headers: answer.headers,
          });
          if (err.code === 'bad_credentials' && !renewed) {
            // The token may have been revoked or rotated early: one fresh token, then give up.
            this.#tokens.invalidate(generation);
            renewed = true;
            continue;
          }
          throw err;
        }
      },
    );
  }

  async *list(
    path: string,
    options: ListOptions,
    about: RequestDescription = {},
  ): AsyncIterable<Array<Record<string, unknown>>> {
    const size = Math.min(100, Math.max(1, options.pageSize ?? 100));
    const sep = path.includes('?') ? '&' : '?';
    const extra = new URLSearchParams(options.query ?? {});
    if (options.paging === 'checkpoint') {
      let from: string | undefined;
      for (;;) {
        const query = new URLSearchParams(extra);
        query.set('take', String(size));
        if (from !== undefined) query.set('from', from);
        const answer = await this.request('GET', `${path}${sep}${query.toString()}`, undefined, about);
        const items = listItems(answer, options.key);
        if (items.length > 0) yield items;
        const next = (answer as { next?: unknown } | undefined)?.next;
        // A members listing may end with an empty page that still carries `next`.
        if (typeof next !== 'string' || next === '' || items.length === 0 || Array.isArray(answer)) return;
        from = next;
      }
    }
    for (let page = 0; ; page++) {
      const query = new URLSearchParams(extra);
      query.set('page', String(page));
      query.set('per_page', String(size));
      query.set('include_totals', 'true');
      const answer = await this.request('GET', `${path}${sep}${query.toString()}`, undefined, about);
      const items = listItems(answer, options.key);
      if (items.length > 0) yield items;
      const total = (answer as { total?: unknown } | undefined)?.total;
      const seen = page * size + items.length;
      if (items.length < size || (typeof total === 'number' && seen >= total)) return;
    }
  }

  listRoles(): AsyncIterable<Array<Record<string, unknown>>> {
    return this.list('/roles', { key: 'roles', paging: 'offset' }, { scope: 'read:roles', subject: 'roles' });
  }

  listRolePermissions(roleId: string): AsyncIterable<Array<Record<string, unknown>>> {
    return this.list(
      `/roles/${enc(roleId)}/permissions`,
      { key: 'permissions', paging: 'offset' },
      { scope: 'read:roles', subject: `role ${roleId}` },
    );
  }

  listRoleUsers(roleId: string): AsyncIterable<Array<Record<string, unknown>>> {
    return this.list(
      `/roles/${enc(roleId)}/users`,
      { key: 'users', paging: 'checkpoint' },
      { scope: 'read:users', subject: `role ${roleId}` },
    );
  }

  listResourceServers(): AsyncIterable<Array<Record<string, unknown>>> {
    return this.list(
      '/resource-servers',
      { key: 'resource_servers', paging: 'offset' },
      { scope: 'read:resource_servers', subject: 'APIs' },
    );
  }

  listUserPermissions(userId: string): AsyncIterable<Array<Record<string, unknown>>> {
    return this.list(
      `/users/${enc(userId)}/permissions`,
      { key: 'permissions', paging: 'offset' },
      { scope: 'read:users', subject: 'user' },
    );
  }

  listUserRoles(userId: string): AsyncIterable<Array<Record<string, unknown>>> {
    return this.list(
      `/users/${enc(userId)}/roles`,
      { key: 'roles', paging: 'offset' },
      { scope: 'read:roles', subject: 'user' },
    );
  }

  async createRole(role: { name: string; description?: string }): Promise<{ id: string; name: string }> {
    const answer = (await this.request('POST', '/roles', role, {
      scope: 'create:roles',
      subject: `role "${role.name}"`,
    })) as { id?: unknown; name?: unknown } | undefined;
    return { id: String(answer?.id ?? ''), name: String(answer?.name ?? role.name) };
  }

  async deleteRole(roleId: string): Promise<void> {
    await this.request('DELETE', `/roles/${enc(roleId)}`, undefined, {
      scope: 'delete:roles',
      subject: `role ${roleId}`,
    });
  }

  async assignRoleUsers(roleId: string, userIds: string[]): Promise<void> {
    await this.request(
      'POST',
      `/roles/${enc(roleId)}/users`,
      { users: userIds },
      { scope: 'update:roles', subject: `role ${roleId}` },
    );
  }

  async addRolePermissions(roleId: string, permissions: PermissionRef[]): Promise<void> {
    await this.request(
      'POST',
      `/roles/${enc(roleId)}/permissions`,
      { permissions },
      { scope: 'update:roles', subject: `role ${roleId}` },
    );
  }

  async removeRolePermissions(roleId: string, permissions: PermissionRef[]): Promise<void> {
    await this.request(
      'DELETE',
      `/roles/${enc(roleId)}/permissions`,
      { permissions },
      { scope: 'update:roles', subject: `role ${roleId}` },
    );
  }

  async assignUserPermissions(userId: string, permissions: PermissionRef[]): Promise<void> {
    await this.request(
      'POST',
      `/users/${enc(userId)}/permissions`,
      { permissions },
      { scope: 'update:users', subject: 'user' },
    );
  }

  async removeUserPermissions(userId: string, permissions: PermissionRef[]): Promise<void> {
    await this.request(
      'DELETE',
      `/users/${enc(userId)}/permissions`,
      { permissions },
      { scope: 'update:users', subject: 'user' },
    );
  }

  async removeUserRoles(userId: string, roleIds: string[]): Promise<void> {
    await this.request(
      'DELETE',
      `/users/${enc(userId)}/roles`,
      { roles: roleIds },
      { scope: 'update:users', subject: 'user' },
    );
  }

  // ---- linked accounts and MFA enrolments ----

  async getUserIdentities(userId: string): Promise<Array<Record<string, unknown>>> {
    const answer = (await this.request(
      'GET',
      `/users/${enc(userId)}?fields=identities&include_fields=true`,
      undefined,
      { scope: 'read:users', subject: 'user' },
    )) as { identities?: unknown } | undefined;
    return Array.isArray(answer?.identities) ? (answer.identities as Array<Record<string, unknown>>) : [];
  }

  async linkIdentity(primaryId: string, secondary: IdentityRef): Promise<Array<Record<string, unknown>>> {
    const answer = await this.request('POST', `/users/${enc(primaryId)}/identities`, secondary, {
      scope: 'update:users',
      subject: 'user',
    });
    return Array.isArray(answer) ? (answer as Array<Record<string, unknown>>) : [];
  }

  async unlinkIdentity(
    primaryId: string,
    provider: string,
    userId: string,
  ): Promise<Array<Record<string, unknown>>> {
    const answer = await this.request(
      'DELETE',
      `/users/${enc(primaryId)}/identities/${enc(provider)}/${enc(userId)}`,
      undefined,
      { scope: 'update:users', subject: 'user' },
    );
    return Array.isArray(answer) ? (answer as Array<Record<string, unknown>>) : [];
  }

  listAuthenticationMethods(userId: string): AsyncIterable<Array<Record<string, unknown>>> {
    return this.list(
      `/users/${enc(userId)}/authentication-methods`,
      { key: 'authenticators', paging: 'offset' },
      { scope: 'read:authentication_methods', subject: 'user' },
    );
  }

  /**
   * GET of an export's signed location, without our token (it is a presigned CDN link). Raw bytes
   * over node:http(s), because fetch would undo a `Content-Encoding: gzip` and the file must be
   * kept exactly as Auth0 wrote it. 401/403/404/410 mean the signature expired (60 s): `link_expired`.
   */
  async download(location: string): Promise<Readable> {
    const operation = 'GET <export location>';
    return withRetry(
      {
        operation,
        options: this.#retry,
        logger: this.#logger,
        ...(this.#signal === undefined ? {} : { signal: this.#signal }),
      },
      async () => {
        const res = await this.#get(rewriteUrl(location, this.#tenant), 0);
        const status = res.statusCode ?? 0;
        if (status === 200) {
          if (Number(res.headers['content-length']) > this.#maxDownloadBytes) {
            res.destroy();
            throw this.#fileTooLarge(operation);
          }
          return this.#body(res, operation);
        }
        const body = await readSmall(res).catch(() => '');
        if ([401, 403, 404, 410].includes(status) || (status === 400 && /expired/i.test(body))) {
          throw new Auth0Error(
            'link_expired',
            `The download link of an export on ${tenantName(this.#tenant)} no longer works (HTTP ${status}); get the job again for a fresh link.`,
            { status },
          );
        }
        const headers = Object.fromEntries(
          Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]),
        );
        throw fromHttpFailure(
          this.#tenant,
          { operation, subject: 'the export file' },
          { status, body, headers },
        );
      },
    );
  }

  #get(url: string, redirects: number): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch (err) {
        reject(new Auth0Error('bad_request', `The export location is not a URL.`, { cause: err }));
        return;
      }
      const send = target.protocol === 'http:' ? httpRequest : httpsRequest;
      const req = send(
        target,
        { method: 'GET', ...(this.#signal === undefined ? {} : { signal: this.#signal }) },
        (res) => {
          const status = res.statusCode ?? 0;
          const next = res.headers.location;
          if (status >= 300 && status < 400 && next !== undefined && redirects < 5) {
            res.resume();
            this.#get(new URL(next, target).href, redirects + 1).then(resolve, reject);
            return;
          }
          resolve(res);
        },
      );
      req.setTimeout(this.#timeoutMs, () =>
        req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
      );
      req.on('error', (err) => {
        if (this.#signal?.aborted) reject(this.#signal.reason);
        else reject(networkError(this.#tenant, 'GET <export location>', err));
      });
      req.end();
    });
  }

  #fileTooLarge(operation: string): Auth0Error {
    const max = this.#maxDownloadBytes;
    const err = answerTooLarge(this.#tenant, operation, max, 200);
    return new Auth0Error(
      'answer_too_large',
      `${err.message} An export larger than ${max} bytes needs a larger EXPORT_MAX_BYTES.`,
      { status: 200 },
    );
  }

  /**
   * The body as a stream whose failures (a dropped connection, silence) are `network` errors, and
   * which fails with `answer_too_large` past the largest file allowed.
   */
  #body(res: IncomingMessage, operation: string): Readable {
    let size = 0;
    const max = this.#maxDownloadBytes;
    // Set when the file outgrows `max`: the hang-up that follows is ours, not a network failure.
    let tooLarge: Auth0Error | undefined;
    const out = new PassThrough({
      transform: (chunk: Buffer, _enc, done) => {
        size += chunk.length;
        if (size <= max) {
          done(null, chunk);
          return;
        }
        tooLarge = this.#fileTooLarge(operation);
        done(tooLarge);
        res.destroy();
      },
    });
    res.setTimeout(this.#timeoutMs, () =>
      res.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
    );
    res.on('error', (err) => out.destroy(tooLarge ?? networkError(this.#tenant, operation, err)));
    res.on('aborted', () =>
      out.destroy(tooLarge ?? networkError(this.#tenant, operation, new Error('connection closed mid-body'))),
    );
    out.on('close', () => {
      if (!res.complete) res.destroy();
    });
    res.pipe(out);
    return out;
  }
}

const enc = encodeURIComponent;

/** `/roles/rol_1/users?take=100` → `/roles/{id}/users`, so logs and messages name the endpoint, not the ids. */
function operationPath(path: string): string {
  const [bare = ''] = path.split('?');
  return bare
    .split('/')
    .map((part, i, all) => {
      if (all[i - 1] === 'name') return '{name}';
      return i >= 2 && i % 2 === 0 && part !== 'name' ? '{id}' : part;
    })
    .join('/');
}

/** The items of a list answer: a bare array, or the array under `key` of a paged one. */
function listItems(answer: unknown, key: string): Array<Record<string, unknown>> {
  if (Array.isArray(answer)) return answer as Array<Record<string, unknown>>;
  const items = (answer as Record<string, unknown> | undefined)?.[key];
  return Array.isArray(items) ? (items as Array<Record<string, unknown>>) : [];
}

/** Job-creating POSTs: repeat only what certainly created nothing. */
function creationMayBeRepeated(err: Auth0Error): boolean {
  if (err.code === 'rate_limited') return true;
  return err.code === 'network' && neverReachedServer(err.cause);
}

/** A job-creating POST whose answer was lost becomes `outcome_unknown` (see createImportJob). */
function asCreationFailure(t: TenantDescription, spec: CallSpec, err: Auth0Error): Auth0Error {
  if (
    err.code === 'server_error' ||
    (err.code === 'network' && !neverReachedServer(err.cause)) ||
    // An answer cut off may have been the job's creation.
    (err.code === 'answer_too_large' && err.status !== undefined && err.status < 300)
  ) {
    return new Auth0Error(
      'outcome_unknown',
      `${spec.operation} on ${tenantName(t)} got no usable answer: ${err.message} The job may have been created; submitting again is safe with upsert=false (users already inserted come back as DUPLICATED_USER).`,
      { ...(err.status === undefined ? {} : { status: err.status }), cause: err },
    );
  }
  return err;
}

function rewriteUrl(url: string, t: TenantDescription): string {
  const origin = `https://${t.domain}`;
  return url.startsWith(`${origin}/`) && t.baseUrl !== origin
    ? t.baseUrl.replace(/\/+$/, '') + url.slice(origin.length)
    : url;
}

/** A list page's items, also when the server answered with a bare array instead of `{connections, next}`. */
function pageItems(page: {
  data: unknown;
  response: unknown;
}): Array<{ name?: string; strategy?: string; [k: string]: unknown }> {
  if (Array.isArray(page.response)) return page.response as Array<{ name?: string; strategy?: string }>;
  return Array.isArray(page.data) ? (page.data as Array<{ name?: string; strategy?: string }>) : [];
}

function toConnection(c: unknown): Connection {
  const o = c as Record<string, unknown>;
  return {
    ...o,
    id: String(o.id ?? ''),
    name: String(o.name ?? ''),
    strategy: String(o.strategy ?? ''),
  } as Connection;
}

/** The start of an error answer; the rest is not read (it may never end). */
async function readSmall(res: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res) {
    text += String(chunk);
    if (text.length >= ERROR_BODY_BYTES) break;
  }
  if (!res.complete) res.destroy();
  return text.slice(0, ERROR_BODY_BYTES);
}
