/** One simulated tenant's in-memory state: connections, clients, users, organizations, jobs, counters. */
import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { newConnectionId, randomAlnum } from '../ids.js';
import type { EndpointRateLimitName, ResolvedOptions } from '../options.js';
import { TokenBucket } from '../rate-limit.js';
import { DB_CONNECTION, SOCIAL_CONNECTION } from './generate.js';
import type { SimJob } from './jobs.js';
import { OrganizationStore } from './organizations.js';
import { RbacStore } from './rbac.js';
import { UserStore } from './user-store.js';
import { toApiUser, type SimUser } from './users.js';

export const PASSWORD_REALM_GRANT = 'http://auth0.com/oauth/grant-type/password-realm';

/** Every Management API scope the tool uses (and a few neighbours a real M2M app would hold). */
export const MANAGEMENT_SCOPES = [
  'read:users',
  'create:users',
  'update:users',
  'delete:users',
  'read:connections',
  'create:connections',
  'update:connections',
  'delete:connections',
  'read:connections_options',
  'update:connections_options',
  'create:user_tickets',
  'read:clients',
  'read:roles',
  'create:roles',
  'update:roles',
  'delete:roles',
  'read:role_members',
  'create:role_members',
  'delete:role_members',
  'read:resource_servers',
  'create:resource_servers',
  'read:authentication_methods',
  'create:authentication_methods',
  'delete:authentication_methods',
  'read:organizations',
  'read:organizations_summary',
  'create:organizations',
  'update:organizations',
  'delete:organizations',
  'read:organization_members',
  'create:organization_members',
  'delete:organization_members',
  'read:organization_member_roles',
  'create:organization_member_roles',
  'delete:organization_member_roles',
  'read:organization_connections',
  'create:organization_connections',
  'update:organization_connections',
  'delete:organization_connections',
] as const;

export interface SimTenantInfo {
  name: string;
  domain: string;
  /** Where the tenant answers: `${baseUrl}/oauth/token`, `${baseUrl}/api/v2/...`. */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** The database connection's name. */
  connection: string;
  connectionId: string;
}

export interface SimConnection {
  id: string;
  name: string;
  display_name: string;
  strategy: string;
  options: Record<string, unknown>;
  realms: string[];
  is_domain_connection: boolean;
  enabled_clients: string[];
}

export interface SimClient {
  clientId: string;
  clientSecret: string;
  name: string;
  /** Grant types enabled on the application. */
  grantTypes: string[];
  /** Management API scopes granted to it (client grant). */
  scopes: string[];
  /** "Trust Token Endpoint IP Header": honour `auth0-forwarded-for`. */
  trustForwardedFor: boolean;
}

export interface TenantStats {
  requests: number;
  managementRequests: number;
  tokenRequests: number;
  /** 429s from the rate limiter. */
  rateLimited: number;
  faultsInjected: number;
  importJobsCreated: number;
  /** Import submissions refused because 2 import jobs were active. */
  importJobsRejected: number;
  activeImportJobs: number;
  maxActiveImportJobs: number;
  exportJobsCreated: number;
  exportDownloads: number;
  /** Every user id an import job inserted or updated, in order (an id twice = imported twice). */
  importedUserIds: string[];
  logins: number;
  failedLogins: number;
  customDbLogins: number;
  ticketsCreated: number;
  /** Change-password emails the tenant would have sent (/dbconnections/change_password). */
  passwordChangeEmails: number;
  /** Verification emails the tenant would have sent (verification_email jobs). */
  verificationEmails: number;
  /** Logins refused in an organization's context (not a member, connection not enabled). */
  organizationLoginsRefused: number;
}

/** An email the simulated tenant would have sent (it sends none). */
export interface SimEmail {
  kind: 'change_password' | 'verification_email';
  to: string;
  user_id: string;
  connection: string;
  client_id: string | undefined;
  sent_at: string;
}

export interface SimTicket {
  /** A password-change ticket unless said otherwise. */
  kind?: 'password_change' | 'email_verification';
  ticket: string;
  user_id: string;
  email: string | undefined;
  ttl_sec: number;
  result_url: string | undefined;
  client_id: string | undefined;
  mark_email_as_verified: boolean;
  created_at: string;
  /** When the user followed it (a ticket works once). */
  used_at?: string;
}

export class SimTenant {
  readonly domain: string;
  baseUrl = '';
  readonly connections: SimConnection[];
  readonly clients = new Map<string, SimClient>();
  readonly mainClient: SimClient;
  readonly users = new UserStore();
  /** APIs, roles, permissions and who holds them. */
  readonly rbac: RbacStore;
  readonly organizations: OrganizationStore;
  readonly jobs = new Map<string, SimJob>();
  readonly tickets: SimTicket[] = [];
  /** Emails the tenant would have sent, oldest first. */
  readonly outbox: SimEmail[] = [];
  readonly stats: TenantStats = {
    requests: 0,
    managementRequests: 0,
    tokenRequests: 0,
    rateLimited: 0,
    faultsInjected: 0,
    importJobsCreated: 0,
    importJobsRejected: 0,
    activeImportJobs: 0,
    maxActiveImportJobs: 0,
    exportJobsCreated: 0,
    exportDownloads: 0,
    importedUserIds: [],
    logins: 0,
    failedLogins: 0,
    customDbLogins: 0,
    ticketsCreated: 0,
    passwordChangeEmails: 0,
    verificationEmails: 0,
    organizationLoginsRefused: 0,
  };
  /** Signs this tenant's access tokens. */
  readonly signingKey = randomBytes(32);
  /** The tenant's "Default Directory", used by the plain password grant. */
  defaultDirectory: string | undefined = DB_CONNECTION;
  readonly managementBucket: TokenBucket | undefined;
  readonly authBucket: TokenBucket | undefined;
  /** Buckets of the endpoints Auth0 limits on their own (organizations). */
  readonly endpointBuckets = new Map<EndpointRateLimitName, TokenBucket>();
  /** Failed logins per connection+user+IP, for brute-force protection. */
  readonly failedAttempts = new Map<string, { count: number; blockedUntil: number }>();
  /** Emits `job-started` and `job-ended` (with the job id) as jobs start processing and end. */
  readonly events = new EventEmitter();
  /** Live export links: signature → where it leads and until when. */
  readonly exportLinks = new Map<string, { jobId: string; expiresAtMs: number }>();

  constructor(
    readonly name: string,
    readonly options: ResolvedOptions,
  ) {
    this.domain = `${name}.sim.auth0-migrate.local`;
    this.rbac = new RbacStore(this.users, this.domain);
    this.users.onDelete((user) => this.rbac.forgetUser(user));
    this.mainClient = this.addClient({
      name: 'auth0-migrate',
      grantTypes: ['client_credentials', 'password', PASSWORD_REALM_GRANT],
      scopes: [...MANAGEMENT_SCOPES],
      trustForwardedFor: true,
    });
    this.connections = [
      {
        id: newConnectionId(),
        name: DB_CONNECTION,
        display_name: DB_CONNECTION,
        strategy: 'auth0',
        options: {
          mfa: { active: true, return_enroll_settings: true },
          passwordPolicy: 'good',
          brute_force_protection: true,
          strategy_version: 2,
          requires_username: false,
          import_mode: false,
          enabledDatabaseCustomization: false,
          disable_signup: false,
        },
        realms: [DB_CONNECTION],
        is_domain_connection: false,
        enabled_clients: [this.mainClient.clientId],
      },
      {
        id: newConnectionId(),
        name: SOCIAL_CONNECTION,
        display_name: SOCIAL_CONNECTION,
        strategy: 'google-oauth2',
        options: { email: true, profile: true, scope: ['email', 'profile'] },
        realms: [SOCIAL_CONNECTION],
        is_domain_connection: false,
        enabled_clients: [this.mainClient.clientId],
      },
    ];
    this.managementBucket = options.rateLimit === false ? undefined : new TokenBucket(options.rateLimit);
    this.authBucket = options.authRateLimit === false ? undefined : new TokenBucket(options.authRateLimit);
    for (const [name, limit] of Object.entries(options.endpointRateLimits)) {
      this.endpointBuckets.set(name as EndpointRateLimitName, new TokenBucket(limit));
    }
    this.#dbConnectionId = this.connections[0]!.id;
    this.organizations = new OrganizationStore(options.organizationLimits, {
      role: (id) => this.rbac.role(id),
      list: () => this.rbac.roles(),
    });
    // Deleted or linked into another user: either way the user's memberships go.
    this.users.onDelete((user) => this.organizations.removeUser(user.user_id));
  }

  /** The database connection the tenant started with (it stays in `info` if deleted). */
  readonly #dbConnectionId: string;

  get info(): SimTenantInfo {
    return {
      name: this.name,
      domain: this.domain,
      baseUrl: this.baseUrl,
      clientId: this.mainClient.clientId,
      clientSecret: this.mainClient.clientSecret,
      connection: DB_CONNECTION,
      connectionId: this.#dbConnectionId,
    };
  }

  /**
   * Deletes a connection as Auth0 does: its users go (and their relations with them), and no
   * organization enables it any more.
   */
  deleteConnection(id: string): boolean {
    const at = this.connections.findIndex((c) => c.id === id);
    if (at < 0) return false;
    const [connection] = this.connections.splice(at, 1);
    const ids = [...this.users.iterate(connection!.name)]
      .filter((u) => u.connection === connection!.name)
      .map((u) => u.user_id);
    for (const userId of ids) this.users.delete(userId);
    this.organizations.removeConnection(id);
    return true;
  }

  /** Registers another application (e.g. one without the password grant, or not trusting IP headers). */
  addClient(spec: Partial<Omit<SimClient, 'clientId' | 'clientSecret'>> & { name: string }): SimClient {
    const client: SimClient = {
      clientId: randomAlnum(32),
      clientSecret: randomBytes(48).toString('base64url'),
      grantTypes: spec.grantTypes ?? ['client_credentials'],
      scopes: spec.scopes ?? [],
      trustForwardedFor: spec.trustForwardedFor ?? false,
      name: spec.name,
    };
    this.clients.set(client.clientId, client);
    return client;
  }

  connectionByName(name: string): SimConnection | undefined {
    return this.connections.find((c) => c.name === name);
  }

  connectionById(id: string): SimConnection | undefined {
    return this.connections.find((c) => c.id === id);
  }

  /** A user as the Management API shows it. */
  user(userId: string): Record<string, unknown> | undefined {
    const u = this.users.get(userId);
    return u === undefined ? undefined : toApiUser(u);
  }

  /** Users (of a connection), as the Management API shows them. */
  *listUsers(connection?: string): Generator<Record<string, unknown>> {
    for (const u of this.users.iterate(connection)) yield toApiUser(u);
  }

  userCount(connection?: string): number {
    return this.users.count(connection);
  }

  /** The stored record, password hash included (tests of imports and logins). */
  rawUser(userId: string): Readonly<SimUser> | undefined {
    return this.users.get(userId);
  }

  /** Resolves once the job has completed or failed (at once if it already has). */
  async jobEnded(jobId: string): Promise<void> {
    const ended = () => {
      const j = this.jobs.get(jobId);
      return j === undefined || j.status === 'completed' || j.status === 'failed';
    };
    while (!ended()) {
      const [id] = (await once(this.events, 'job-ended')) as [string];
      if (id === jobId) return;
    }
  }

  noteImportActivity(): void {
    let active = 0;
    for (const j of this.jobs.values()) {
      if (j.type === 'users_import' && (j.status === 'pending' || j.status === 'processing')) active++;
    }
    this.stats.activeImportJobs = active;
    if (active > this.stats.maxActiveImportJobs) this.stats.maxActiveImportJobs = active;
  }
}
