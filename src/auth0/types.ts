/**
 * What the rest of the tool needs from a tenant. `src/auth0/` implements it on the official SDK;
 * nothing outside `src/auth0/` speaks HTTP to a tenant.
 */
import type { Readable } from 'node:stream';

export type JobStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'expired' | (string & {});

export interface JobSummary {
  failed: number;
  updated: number;
  inserted: number;
  total: number;
}

/** GET /api/v2/jobs/{id}, as Auth0 answers it (extra fields kept). */
export interface Auth0Job {
  id: string;
  type: string;
  status: JobStatus;
  created_at?: string;
  connection_id?: string;
  connection?: string;
  external_id?: string;
  location?: string;
  percentage_done?: number;
  time_left_seconds?: number;
  format?: string;
  status_details?: string;
  summary?: JobSummary;
  [key: string]: unknown;
}

/** One entry of GET /api/v2/jobs/{id}/errors: the user as supplied (hashes as "*****") and its errors. */
export interface JobUserError {
  user: Record<string, unknown>;
  errors: Array<{ code: string; message: string; path?: string }>;
}

/**
 * The three shapes /errors answers with: per-user errors, the job itself for a job that failed as a
 * whole, or nothing (204).
 */
export type JobErrors =
  { kind: 'users'; errors: JobUserError[] } | { kind: 'job'; job: Auth0Job } | { kind: 'none' };

export interface Connection {
  id: string;
  name: string;
  strategy: string;
  options?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface ExportField {
  name: string;
  export_as?: string;
}

export interface CreateImportJob {
  connectionId: string;
  /** The JSON array to upload, at most 512000 bytes. */
  users: Buffer;
  /** @defaultValue false */
  upsert?: boolean;
  /** Our batch id; lets a lost answer be reconciled. */
  externalId?: string;
  /** @defaultValue false (Auth0's own default is true: one email to every tenant owner per job) */
  sendCompletionEmail?: boolean;
}

export interface TenantClient extends RelationsClient {
  /** The tenant's label (`old`, `new`), for messages. */
  readonly label: string;
  /** The connection by exact name; `unknown_connection` error listing the existing names otherwise. */
  getConnectionByName(name: string): Promise<Connection>;
  getConnection(id: string): Promise<Connection>;
  updateConnection(id: string, patch: Record<string, unknown>): Promise<Connection>;
  createExportJob(request: {
    connectionId?: string;
    fields: ExportField[];
    limit?: number;
  }): Promise<Auth0Job>;
  /** Never retried blindly: see the note at its implementation. */
  createImportJob(request: CreateImportJob): Promise<Auth0Job>;
  getJob(id: string): Promise<Auth0Job>;
  getJobErrors(id: string): Promise<JobErrors>;
  /** Streams a completed export's file (gzipped NDJSON). `link_expired` when the location no longer works. */
  download(location: string): Promise<Readable>;
  /** GET /users-by-email: exact (case-sensitive) match, immediately consistent. */
  usersByEmail(email: string): Promise<Array<Record<string, unknown>>>;
  /** GET /users/{id}; undefined when the tenant has no such user. Immediately consistent. */
  getUser(id: string): Promise<Record<string, unknown> | undefined>;
  /**
   * DELETE /users/{id}: the user, its linked identities and its relations go. Auth0 answers 204
   * also when there is no such user (a second delete included).
   */
  deleteUser(id: string): Promise<void>;
  /**
   * GET /users with a search query (search engine v3): eventually consistent, so a user created
   * seconds ago may not be found yet.
   */
  searchUsers(q: string, perPage?: number): Promise<Array<Record<string, unknown>>>;
  createPasswordChangeTicket(request: {
    userId: string;
    ttlSec?: number;
    resultUrl?: string;
    clientId?: string;
    markEmailAsVerified?: boolean;
  }): Promise<{ ticket: string }>;
  /**
   * Asks Auth0 to send the user its change-password email (Authentication API
   * `POST /dbconnections/change_password`; database connections only).
   */
  sendPasswordChangeEmail(request: { email: string; connection: string; clientId?: string }): Promise<void>;
  /**
   * POST /jobs/verification-email: Auth0 sends the user an email with a link that verifies its
   * address; the answer is the job (type `verification_email`, usually `pending`).
   */
  sendVerificationEmail(request: { userId: string; clientId?: string }): Promise<Auth0Job>;
}

/** How {@link TenantClient.list} pages through a Management API list. */
export interface ListOptions {
  /** The key of the list in a paged answer: `roles`, `users`, `permissions`. */
  key: string;
  /**
   * `offset`: `page`/`per_page`/`include_totals` (Auth0 refuses past 1,000 records);
   * `checkpoint`: `from`/`take`, following `next` (lists that may pass 1,000).
   */
  paging: 'offset' | 'checkpoint';
  /** Extra query parameters. */
  query?: Record<string, string>;
  /** Items per page, 1..100. @defaultValue 100 */
  pageSize?: number;
}

/** What a call is about, for error messages. */
export interface RequestDescription {
  /** The scope the call needs, named when Auth0's answer does not. */
  scope?: string;
  /** `role rol_abc`. */
  subject?: string;
}

/** A permission as the RBAC endpoints take it. */
export interface PermissionRef {
  resource_server_identifier: string;
  permission_name: string;
}

/**
 * Paces requests to a tenant: {@link take} resolves when one more request may go. Shared by
 * every worker process when it is Redis-held (src/jobs/rate-budget.ts).
 */
export interface RateGate {
  take(signal?: AbortSignal): Promise<void>;
}

/** The Management API calls of the relations stage (RBAC, organizations, links). */
export interface RelationsClient {
  /**
   * Every page of a list, under the retry policy, as arrays of items (one page in memory at a time).
   * `path` is under `/api/v2` and may carry its own query string.
   */
  list(
    path: string,
    options: ListOptions,
    about?: RequestDescription,
  ): AsyncIterable<Array<Record<string, unknown>>>;
  /**
   * One Management API call under the retry policy (429 waits, 5xx/network backoff, one token
   * renewal); the parsed answer (undefined for an empty body). Failures are {@link Auth0Error}s.
   */
  request(method: string, path: string, body?: unknown, about?: RequestDescription): Promise<unknown>;
  listRoles(): AsyncIterable<Array<Record<string, unknown>>>;
  listRolePermissions(roleId: string): AsyncIterable<Array<Record<string, unknown>>>;
  /** Checkpoint paging: every member, past 1,000. */
  listRoleUsers(roleId: string): AsyncIterable<Array<Record<string, unknown>>>;
  listResourceServers(): AsyncIterable<Array<Record<string, unknown>>>;
  /** Direct and role-given permissions, each with its `sources`. */
  listUserPermissions(userId: string): AsyncIterable<Array<Record<string, unknown>>>;
  listUserRoles(userId: string): AsyncIterable<Array<Record<string, unknown>>>;
  createRole(role: { name: string; description?: string }): Promise<{ id: string; name: string }>;
  deleteRole(roleId: string): Promise<void>;
  /** POST /roles/{id}/users: many users in one call. */
  assignRoleUsers(roleId: string, userIds: string[]): Promise<void>;
  addRolePermissions(roleId: string, permissions: PermissionRef[]): Promise<void>;
  removeRolePermissions(roleId: string, permissions: PermissionRef[]): Promise<void>;
  assignUserPermissions(userId: string, permissions: PermissionRef[]): Promise<void>;
  removeUserPermissions(userId: string, permissions: PermissionRef[]): Promise<void>;
  removeUserRoles(userId: string, roleIds: string[]): Promise<void>;
  /** A user's identities (GET /users/{id} with only `identities`): the first is the user's own. */
  getUserIdentities(userId: string): Promise<Array<Record<string, unknown>>>;
  /** Links account `provider|userId` into `primaryId`; the primary's identities after it. */
  linkIdentity(primaryId: string, secondary: IdentityRef): Promise<Array<Record<string, unknown>>>;
  /** Unlinks identity `provider|userId` from `primaryId` (a standalone user again); the identities left. */
  unlinkIdentity(
    primaryId: string,
    provider: string,
    userId: string,
  ): Promise<Array<Record<string, unknown>>>;
  /** A user's MFA enrolments as the tenant lists them (email and phone masked, never a secret). */
  listAuthenticationMethods(userId: string): AsyncIterable<Array<Record<string, unknown>>>;
}

/** The secondary account of a link: its provider and `user_id` without the `provider|` prefix. */
export interface IdentityRef {
  provider: string;
  user_id: string;
  /** The secondary's connection, when more than one database connection could hold the id. */
  connection_id?: string;
}
