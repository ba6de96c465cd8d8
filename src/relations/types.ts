/**
 * The relations stage's vocabulary: what a family reads from each tenant, the calls its pure diff
 * plans, the outcomes counted per kind, and the record of what a run added (which `rollback`
 * reads to undo exactly that). Pure: types and small pure helpers, no I/O.
 */

/**
 * A kind of relation, counted on its own line of the report. Families add their own; the known
 * ones are listed so a typo in ours is a type error.
 */
export type RelationKind =
  | 'roles_created'
  | 'role_permissions'
  | 'role_assignments'
  | 'direct_permissions'
  | 'organizations_created'
  | 'memberships'
  | 'member_roles'
  | 'organization_connections'
  | 'links'
  | (string & {});

/**
 * Where a relation ended. Every relation read from the old tenant ends in exactly one:
 * `added` (sent and accepted), `already_present` (the new tenant had it; nothing sent),
 * `pending_user` (its user is not in the new tenant yet: a later run adds it), `failed`.
 */
export type RelationOutcome = 'added' | 'already_present' | 'pending_user' | 'failed';

export const RELATION_OUTCOMES: readonly RelationOutcome[] = [
  'added',
  'already_present',
  'pending_user',
  'failed',
];

export type TenantSide = 'old' | 'new';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** An entity matched by name between tenants (roles, organizations); ids differ per tenant. */
export interface EntityRef {
  type: 'role' | 'organization' | (string & {});
  name: string;
  /** The id in the tenant the call goes to, when known at plan time. */
  id?: string;
}

/** One Management API call the diff asks for, carried by one job. */
export interface PlannedCall {
  /**
   * Deterministic: the same relations planned twice give the same id (a job id, and the key the
   * run store counts the call's outcome under once).
   */
  id: string;
  kind: RelationKind;
  tenant: TenantSide;
  method: HttpMethod;
  /**
   * Path under `/api/v2`, e.g. `/roles/{ref}/users`. `{ref}` stands for the id of {@link ref} in
   * the target tenant, resolved when the call runs (a role this run creates has no id at plan time).
   */
  path: string;
  body?: unknown;
  /** The entity `{ref}` names. */
  ref?: EntityRef;
  /** The entity this call creates; its id is taken from the answer's `id`. */
  creates?: EntityRef;
  /**
   * Calls run phase by phase: every call of phase n ends before phase n + 1 starts (creations are
   * phase 0, so later calls find their ids). @defaultValue 0
   */
  phase: number;
  /** How many relations the call carries (users assigned to a role, permissions given). */
  count: number;
  /** The users the call concerns (in the same order as the body lists them), for reports and rollback. */
  userIds: string[];
  /** What the call adds, one item per relation, for the added-records (see {@link AddedRecord.item}). */
  items?: Array<Record<string, string>>;
}

/** A relation settled without a call: already present, pending its user, or refused before sending. */
export interface SettledRelation {
  kind: RelationKind;
  outcome: Exclude<RelationOutcome, 'added'>;
  /** The user, when the relation is a user's. */
  userId?: string;
  /** The entity the relation hangs from (the role, the organization). */
  entity?: EntityRef;
  /** For `failed`: a stable code (`limit_roles_per_user`, `missing_api`, or Auth0's error code). */
  code?: string;
  /** Words for the report. */
  detail?: string;
  /** How many relations this line stands for. @defaultValue 1 */
  count?: number;
}

/**
 * What the report says beyond the counts: catalog differences, missing APIs and what waits on
 * them, entity-limit breaches found before anything was sent.
 */
export interface Finding {
  type: 'catalog_difference' | 'missing_api' | 'limit_breach' | 'role_updated' | (string & {});
  /** The role, organization or API concerned. */
  subject: string;
  detail: string;
  /** What waits on it (roles, permissions, users), for missing APIs. */
  waiting?: string[];
}

/** One line a family's diff yields. */
export type PlanEntry =
  | { type: 'call'; call: PlannedCall }
  | { type: 'settled'; settled: SettledRelation }
  | { type: 'finding'; finding: Finding };

/** Counts of one kind: `total = added + already_present + pending_user + failed`. */
export interface KindCounts {
  total: number;
  added: number;
  already_present: number;
  pending_user: number;
  failed: number;
  /** Failures by code (Auth0's error code, or ours such as `limit_roles_per_user`). */
  failures: Record<string, number>;
}

/** Counts by kind (a kind appears once something of it was counted). */
export type RelationsCounts = Record<string, KindCounts>;

/**
 * One line of `<run>/relations-added.ndjson`: a relation or entity this run added, written when
 * the call that added it succeeded. `rollback` sends {@link undo} for each line, newest first.
 */
export interface AddedRecord {
  /** Format version. */
  v: 1;
  runId: string;
  /** The {@link PlannedCall.id} that added it. */
  callId: string;
  kind: RelationKind;
  tenant: TenantSide;
  /** ISO time the call succeeded. */
  at: string;
  /** `created`: a new entity; `assigned`: a relation between existing ones. */
  action: 'created' | 'assigned';
  /** The entity created, or the one the relation hangs from, with its id in {@link tenant}. */
  entity: EntityRef & { id: string };
  /** The user the relation concerns. */
  userId?: string;
  /** The permission, connection or identity added, e.g. `{resource_server_identifier, permission_name}`. */
  item?: Record<string, string>;
  /** The call that takes it back. */
  undo: { method: HttpMethod; path: string; body?: unknown };
}

/** Options every family's diff receives (the command's flags, chunk sizes from config). */
export interface RelationOptions {
  /** `--update-roles`: give a role that exists in both tenants the permissions it lacks. @defaultValue false */
  updateRoles: boolean;
  /** `--direct-permissions`: also the users' own permissions (one read per user). @defaultValue false */
  directPermissions: boolean;
  /** Users per `POST /roles/{id}/users`. @defaultValue 100 */
  roleUsersChunk: number;
  /** Permissions per `POST /roles/{id}/permissions` or `/users/{id}/permissions`. @defaultValue 100 */
  permissionsChunk: number;
}

export const DEFAULT_RELATION_OPTIONS: RelationOptions = {
  updateRoles: false,
  directPermissions: false,
  roleUsersChunk: 100,
  permissionsChunk: 100,
};

export function emptyCounts(): KindCounts {
  return { total: 0, added: 0, already_present: 0, pending_user: 0, failed: 0, failures: {} };
}

/** Adds `count` relations ending in `outcome` to `counts` (in place), a failure under `code`. */
export function countOutcome(
  counts: RelationsCounts,
  kind: RelationKind,
  outcome: RelationOutcome,
  count = 1,
  code?: string,
): RelationsCounts {
  const c = (counts[kind] ??= emptyCounts());
  c.total += count;
  c[outcome] += count;
  if (outcome === 'failed') {
    const key = code ?? 'unknown';
    c.failures[key] = (c.failures[key] ?? 0) + count;
  }
  return counts;
}

/** The sum of two tallies (a new object). */
export function mergeCounts(a: RelationsCounts, b: RelationsCounts): RelationsCounts {
  const out: RelationsCounts = {};
  for (const src of [a, b]) {
    for (const [kind, c] of Object.entries(src)) {
      const o = (out[kind] ??= emptyCounts());
      o.total += c.total;
      for (const k of RELATION_OUTCOMES) o[k] += c[k];
      for (const [code, n] of Object.entries(c.failures)) o.failures[code] = (o.failures[code] ?? 0) + n;
    }
  }
  return out;
}

/** Kinds whose counts do not add up, with why; empty when every kind balances. */
export function unbalanced(counts: RelationsCounts): string[] {
  const out: string[] = [];
  for (const [kind, c] of Object.entries(counts)) {
    const sum = c.added + c.already_present + c.pending_user + c.failed;
    if (sum !== c.total) out.push(`${kind}: total ${c.total} but outcomes add up to ${sum}`);
    const failures = Object.values(c.failures).reduce((s, n) => s + n, 0);
    if (failures !== c.failed)
      out.push(`${kind}: ${c.failed} failed but failures by code add up to ${failures}`);
  }
  return out;
}

/**
 * A stable 53-bit hash (cyrb53, hex) for deterministic call ids: wide enough that the names of a
 * tenant's roles or users do not collide. Not for secrets.
 */
export function stableHash(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
}

/** `a`, `b`, … in chunks of at most `size` (the last one shorter). */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const n = Math.max(1, Math.floor(size));
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}
