import { existsSync, readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { parse as parseDotenv } from 'dotenv';
import { ConfigError } from './errors.js';

/**
 * A secret value. It prints, logs and serialises as `[redacted]`; only `reveal()` gives the value,
 * so a secret cannot reach a log line or a report by accident.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return '[redacted]';
  }
}

export type TenantName = 'old' | 'new';

export interface TenantConfig {
  /** `OLD_AUTH0_DOMAIN`: the tenant's domain, e.g. `acme.eu.auth0.com`. */
  domain: string;
  /** `OLD_AUTH0_CLIENT_ID`: a machine-to-machine application authorised for the Management API. */
  clientId: string;
  /** `OLD_AUTH0_CLIENT_SECRET`. */
  clientSecret: Secret;
  /** `OLD_AUTH0_CONNECTION`: the database connection's name. */
  connection: string;
  /**
   * `OLD_AUTH0_BASE_URL`: where the tenant answers (the simulator, a private cloud).
   * @defaultValue `https://<domain>`
   */
  baseUrl: string;
}

export interface SmtpConfig {
  /** `SMTP_URL`, e.g. `smtp://user:pass@mail.example.com:587`. */
  url: Secret;
  /** `REPORT_EMAIL_TO`: comma-separated recipients. */
  to: string[];
  /** `REPORT_EMAIL_FROM` @defaultValue `auth0-migrate@localhost` */
  from: string;
}

export interface Config {
  /** Both tenants; a tenant is undefined when none of its variables is set. Use {@link requireTenant}. */
  tenants: Partial<Record<TenantName, TenantConfig>>;
  /** Problems with tenant variables, reported when a command needs that tenant. */
  tenantProblems: Record<TenantName, string[]>;
  /** `REDIS_URL` @defaultValue `redis://127.0.0.1:6379` */
  redisUrl: string;
  /**
   * `REDIS_WAIT_MS`: how long `sweep` and `import` wait for an unreachable Redis before they stop
   * with the resume hint (workers wait for as long as it takes). @defaultValue 180000
   */
  redisWaitMs: number;
  /** `QUEUE_PREFIX`: BullMQ key prefix. @defaultValue `auth0-migrate` */
  queuePrefix: string;
  /** `REPORTS_DIR` @defaultValue `./reports` */
  reportsDir: string;
  /** `SWEEP_CRON`: when set, `worker` keeps a scheduled sweep. */
  sweepCron: string | undefined;
  /** `RELATIONS_CRON`: when set, `worker` keeps a scheduled relations run (roles of users who arrived lazily). */
  relationsCron: string | undefined;
  /**
   * `OLD_AUTH0_MAX_RPS` / `NEW_AUTH0_MAX_RPS`: the Management API requests per second the relations
   * stage sends a tenant, all worker processes together (a Redis-held budget). Below Auth0's
   * production limit (16 rps sustained) so the import stage's polls keep their room.
   * @defaultValue 10
   */
  maxRps: { old: number; new: number };
  /** `RELATIONS_ROLE_USERS_CHUNK`: users per `POST /roles/{id}/users`. @defaultValue 100 */
  roleUsersChunk: number;
  /** `RELATIONS_PERMISSIONS_CHUNK`: permissions per role or user permissions call. @defaultValue 100 */
  permissionsChunk: number;
  /** `RELATIONS_CONCURRENCY`: relation calls one worker process sends at once. @defaultValue 4 */
  relationsConcurrency: number;
  /** `SWEEP_TZ`: time zone of `SWEEP_CRON`. @defaultValue `UTC` */
  sweepTimezone: string;
  /** `IMPORT_CONCURRENCY`: Auth0 import jobs at once on the new tenant (Auth0 allows 2). @defaultValue 2 */
  importConcurrency: number;
  /**
   * `BATCH_BYTES`: target size of one import file, at most 500000 (Auth0 refuses a request over
   * 512000 bytes, the multipart envelope included). @defaultValue 400000
   */
  batchBytes: number;
  /**
   * `MAX_PROFILE_BYTES`: users whose import JSON is larger are skipped (`profile_too_large`)
   * rather than refused by Auth0 (src/pipeline/profile-checks.ts). @defaultValue 102400
   */
  maxProfileBytes: number;
  /**
   * `EXPORT_MAX_BYTES`: the largest export file downloaded; a download that grows past it stops.
   * @defaultValue 10737418240 (10 GiB, about a hundred million users)
   */
  exportMaxBytes: number;
  /** `WORKER_CONCURRENCY`: import-batch jobs one worker process holds at once. @defaultValue 4 */
  workerConcurrency: number;
  /** `PAYLOAD_KEY`: 32-byte key (64 hex or base64) encrypting batch payloads at rest in Redis. */
  payloadKey: Secret | undefined;
  /** `SMTP_URL` + `REPORT_EMAIL_TO` (+ `REPORT_EMAIL_FROM`): mail each finished run's summary. */
  smtp: SmtpConfig | undefined;
  /** `METRICS_PORT`: the worker serves Prometheus metrics here when set. */
  metricsPort: number | undefined;
  /** `METRICS_HOST`: the address the metrics listen on. @defaultValue `127.0.0.1` */
  metricsHost: string;
  /** `DASHBOARD_HOST` @defaultValue `127.0.0.1` */
  dashboardHost: string;
  /** `DASHBOARD_PORT` @defaultValue 3000 */
  dashboardPort: number;
  /** `DASHBOARD_USER` / `DASHBOARD_PASSWORD`: basic auth, required when the dashboard is not on loopback. */
  dashboardAuth: { user: string; password: Secret } | undefined;
  /** `LOG_LEVEL` @defaultValue `info` */
  logLevel: string;
  /** `LOG_FORMAT`: `pretty` or `json`. @defaultValue `pretty` on a terminal, `json` otherwise */
  logFormat: 'pretty' | 'json';
  /** `POLL_INTERVAL_MS`: first wait between polls of an Auth0 job (it grows). @defaultValue 1000 */
  pollIntervalMs: number;
  /** What the operator should know but that does not stop a command (retired variables); the CLI prints them. */
  warnings: string[];
}

/**
 * Variables earlier versions read, with why they no longer matter. A deployment that still sets
 * one gets a warning, not an error, so an old .env or compose file keeps working.
 */
export const RETIRED_VARIABLES: Readonly<Record<string, string>> = {
  PIPELINE_THREADS: 'the plan stage runs on one thread',
};

type Env = Record<string, string | undefined>;

const TENANT_FIELDS = ['DOMAIN', 'CLIENT_ID', 'CLIENT_SECRET', 'CONNECTION'] as const;

export interface LoadConfigOptions {
  /** @defaultValue `process.env` */
  env?: Env;
  /** `false` reads no file. @defaultValue `.env` in the working directory */
  dotenvPath?: string | false;
  /**
   * The tenants the command about to run needs, given the rest of the configuration: their
   * problems join the others in the one error. @defaultValue none
   */
  needs?: (config: Config) => readonly TenantName[];
}

const CONFIG_HINT = 'Set these in the environment or in a .env file (see README, Configuration).';
const TENANT_HINT =
  "Each tenant needs a machine-to-machine application authorised for the Management API (README, 'What the Management API applications need').";

/**
 * Reads the environment (and `.env` in the working directory when present; real environment
 * variables win) once, validates it, and throws one {@link ConfigError} naming every bad
 * variable, those of the tenants the command needs included.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env: Env = { ...readDotenv(options.dotenvPath), ...(options.env ?? process.env) };
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return def;
    }
    return n;
  };
  const rate = (name: string, def: number): number => {
    const raw = get(name);
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0.05 || n > 1000) {
      problems.push(`${name} must be a number of requests per second from 0.05 to 1000 (got "${raw}")`);
      return def;
    }
    return n;
  };
  const optionalPort = (name: string): number | undefined =>
    get(name) === undefined ? undefined : int(name, 0, 1, 65535);

  const tenants: Config['tenants'] = {};
  const tenantProblems: Config['tenantProblems'] = { old: [], new: [] };
  for (const tenant of ['old', 'new'] as const) {
    const p = `${tenant.toUpperCase()}_AUTH0_`;
    const values = Object.fromEntries(TENANT_FIELDS.map((f) => [f, get(p + f)]));
    const missing = TENANT_FIELDS.filter((f) => values[f] === undefined).map((f) => p + f);
    const domain = values.DOMAIN;
    if (domain !== undefined && /[/?#\s]/.test(domain)) {
      tenantProblems[tenant].push(
        `${p}DOMAIN must be a bare host name such as acme.eu.auth0.com (got "${domain}")`,
      );
    }
    let baseUrl = get(`${p}BASE_URL`);
    if (baseUrl !== undefined) {
      try {
        const u = new URL(baseUrl);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
        baseUrl = baseUrl.replace(/\/+$/, '');
      } catch {
        tenantProblems[tenant].push(`${p}BASE_URL must be an http(s) URL (got "${baseUrl}")`);
      }
    }
    if (missing.length === TENANT_FIELDS.length) {
      tenantProblems[tenant].push(`set ${missing.join(', ')}`);
      continue;
    }
    if (missing.length > 0) tenantProblems[tenant].push(`missing ${missing.join(', ')}`);
    if (tenantProblems[tenant].length > 0) continue;
    tenants[tenant] = {
      domain: domain!,
      clientId: values.CLIENT_ID!,
      clientSecret: new Secret(values.CLIENT_SECRET!),
      connection: values.CONNECTION!,
      baseUrl: baseUrl ?? `https://${domain}`,
    };
  }

  const redisUrl = get('REDIS_URL') ?? 'redis://127.0.0.1:6379';
  if (!/^rediss?:\/\//.test(redisUrl))
    problems.push(`REDIS_URL must start with redis:// or rediss:// (got a different scheme)`);

  // 500000 is MAX_IMPORT_FILE_BYTES (src/pipeline/batcher.ts): the file, with the multipart
  // envelope around it, stays under the 512000 bytes Auth0 accepts in one request.
  const batchBytes = int('BATCH_BYTES', 400_000, 1_000, 500_000);
  // The default is DEFAULT_MAX_PROFILE_BYTES (src/pipeline/profile-checks.ts); no larger user fits a file.
  const maxProfileBytes = int('MAX_PROFILE_BYTES', 102_400, 1_024, 500_000);
  const exportMaxBytes = int('EXPORT_MAX_BYTES', 10 * 1024 ** 3, 1024 * 1024, Number.MAX_SAFE_INTEGER);
  const importConcurrency = int('IMPORT_CONCURRENCY', 2, 1, 10);

  let payloadKey: Secret | undefined;
  const rawKey = get('PAYLOAD_KEY');
  if (rawKey !== undefined) {
    const bytes = /^[0-9a-fA-F]{64}$/.test(rawKey)
      ? Buffer.from(rawKey, 'hex')
      : Buffer.from(rawKey, 'base64');
    if (bytes.length !== 32)
      problems.push('PAYLOAD_KEY must be 32 bytes, written as 64 hex digits or base64');
    else payloadKey = new Secret(bytes.toString('hex'));
  }

  let smtp: SmtpConfig | undefined;
  const smtpUrl = get('SMTP_URL');
  const to = get('REPORT_EMAIL_TO');
  if (smtpUrl !== undefined || to !== undefined) {
    if (smtpUrl === undefined) problems.push('REPORT_EMAIL_TO is set but SMTP_URL is not');
    else if (to === undefined) problems.push('SMTP_URL is set but REPORT_EMAIL_TO is not');
    else if (!/^smtps?:\/\//.test(smtpUrl)) problems.push('SMTP_URL must start with smtp:// or smtps://');
    else {
      smtp = {
        url: new Secret(smtpUrl),
        to: to
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        from: get('REPORT_EMAIL_FROM') ?? 'auth0-migrate@localhost',
      };
    }
  }

  const dashboardHost = get('DASHBOARD_HOST') ?? '127.0.0.1';
  const dashUser = get('DASHBOARD_USER');
  const dashPassword = get('DASHBOARD_PASSWORD');
  if ((dashUser === undefined) !== (dashPassword === undefined)) {
    problems.push('DASHBOARD_USER and DASHBOARD_PASSWORD go together');
  }

  const logFormat = get('LOG_FORMAT') ?? (process.stderr.isTTY ? 'pretty' : 'json');
  if (logFormat !== 'pretty' && logFormat !== 'json')
    problems.push(`LOG_FORMAT must be pretty or json (got "${logFormat}")`);
  const logLevel = get('LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    problems.push(
      `LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "${logLevel}")`,
    );
  }

  const config: Config = {
    tenants,
    tenantProblems,
    redisUrl,
    redisWaitMs: int('REDIS_WAIT_MS', 180_000, 1_000, 86_400_000),
    queuePrefix: get('QUEUE_PREFIX') ?? 'auth0-migrate',
    reportsDir: get('REPORTS_DIR') ?? './reports',
    sweepCron: get('SWEEP_CRON'),
    sweepTimezone: get('SWEEP_TZ') ?? 'UTC',
    relationsCron: get('RELATIONS_CRON'),
    maxRps: { old: rate('OLD_AUTH0_MAX_RPS', 10), new: rate('NEW_AUTH0_MAX_RPS', 10) },
    roleUsersChunk: int('RELATIONS_ROLE_USERS_CHUNK', 100, 1, 1000),
    permissionsChunk: int('RELATIONS_PERMISSIONS_CHUNK', 100, 1, 1000),
    relationsConcurrency: int('RELATIONS_CONCURRENCY', 4, 1, 64),
    importConcurrency,
    batchBytes,
    maxProfileBytes,
    exportMaxBytes,
    workerConcurrency: int('WORKER_CONCURRENCY', 4, 1, 64),
    payloadKey,
    smtp,
    metricsPort: optionalPort('METRICS_PORT'),
    metricsHost: get('METRICS_HOST') ?? '127.0.0.1',
    dashboardHost,
    dashboardPort: int('DASHBOARD_PORT', 3000, 1, 65535),
    dashboardAuth:
      dashUser !== undefined && dashPassword !== undefined
        ? { user: dashUser, password: new Secret(dashPassword) }
        : undefined,
    logLevel,
    logFormat: logFormat as Config['logFormat'],
    pollIntervalMs: int('POLL_INTERVAL_MS', 1000, 10, 600_000),
    warnings: Object.entries(RETIRED_VARIABLES)
      .filter(([name]) => get(name) !== undefined)
      .map(([name, why]) => `${name} is no longer used: ${why}`),
  };

  let tenantsMissing = false;
  for (const tenant of new Set(options.needs?.(config) ?? [])) {
    if (config.tenants[tenant] !== undefined) continue;
    tenantsMissing = true;
    for (const p of tenantProblems[tenant]) problems.push(`the ${tenant} tenant: ${p}`);
  }
  if (problems.length > 0) {
    throw new ConfigError(`Configuration problems:\n  - ${problems.join('\n  - ')}`, {
      hint: tenantsMissing ? `${CONFIG_HINT} ${TENANT_HINT}` : CONFIG_HINT,
    });
  }
  return config;
}

/** The tenant's settings, or a {@link ConfigError} naming each variable to set. */
export function requireTenant(config: Config, tenant: TenantName): TenantConfig {
  const t = config.tenants[tenant];
  if (t !== undefined) return t;
  throw new ConfigError(
    `The ${tenant} tenant is not configured:\n  - ${config.tenantProblems[tenant].join('\n  - ')}`,
    { hint: `${CONFIG_HINT} ${TENANT_HINT}` },
  );
}

/** A config with tenants replaced (the simulator's, in `demo` and tests); everything else kept. */
export function withTenants(config: Config, tenants: Partial<Record<TenantName, TenantConfig>>): Config {
  return { ...config, tenants: { ...config.tenants, ...tenants }, tenantProblems: { old: [], new: [] } };
}

/**
 * The settings of a tenant given as plain values, e.g. a simulated tenant's `SimTenantInfo` (the
 * simulator imports nothing of the tool, so the conversion lives here).
 */
export function toTenantConfig(t: {
  domain: string;
  clientId: string;
  clientSecret: string;
  connection: string;
  baseUrl: string;
}): TenantConfig {
  return {
    domain: t.domain,
    clientId: t.clientId,
    clientSecret: new Secret(t.clientSecret),
    connection: t.connection,
    baseUrl: t.baseUrl,
  };
}

/**
 * The environment that configures `config`'s tenants (`OLD_AUTH0_DOMAIN`, …), for a process this
 * one starts (the worker of a benchmark or a test). It holds the client secrets: pass it to the
 * child's environment only, never to a log.
 */
export function tenantEnvironment(config: Config): Record<string, string> {
  const env: Record<string, string> = {};
  for (const tenant of ['old', 'new'] as const) {
    const t = config.tenants[tenant];
    if (t === undefined) continue;
    const p = `${tenant.toUpperCase()}_AUTH0_`;
    env[`${p}DOMAIN`] = t.domain;
    env[`${p}CLIENT_ID`] = t.clientId;
    env[`${p}CLIENT_SECRET`] = t.clientSecret.reveal();
    env[`${p}CONNECTION`] = t.connection;
    env[`${p}BASE_URL`] = t.baseUrl;
  }
  return env;
}

function readDotenv(path: string | false | undefined): Env {
  if (path === false) return {};
  const file = path ?? '.env';
  if (!existsSync(file)) return {};
  try {
    return parseDotenv(readFileSync(file));
  } catch (err) {
    throw new ConfigError(`Cannot read ${file}: ${(err as Error).message}`);
  }
}
