/**
 * The interface every relation family implements (RBAC, organizations, links): what to read from
 * each tenant, a pure diff of what was read into planned calls and settled relations, and the
 * added-records of a call that succeeded. The stage (src/jobs/relations*.ts) does the reading,
 * the sending and the counting; a family only decides.
 */
import type {
  AddedRecord,
  PlanEntry,
  PlannedCall,
  RelationKind,
  RelationOptions,
  TenantSide,
} from './types.js';

/**
 * The source of the old tenant's user ids, for sources read once per user: the stage supplies
 * them (from an export of the old tenant), not a family.
 */
export const OLD_USERS_SOURCE = '@users';

/** A list the stage reads from a tenant, page by page, into a work file of the run. */
export interface SourceSpec {
  /** Unique within the family; names the work file (`relations/<tenant>/<family>.<name>.ndjson`). */
  name: string;
  /** The tenants it is read from. */
  tenants: readonly TenantSide[];
  /** Path under `/api/v2`; `{parent}` is replaced by each parent's id (see {@link each}). */
  path: string;
  /** The key of the list in a paged answer (`roles`, `users`, `permissions`). */
  key: string;
  /**
   * `offset`: `page`/`per_page` (Auth0 stops at 1,000 records); `checkpoint`: `from`/`take`/`next`,
   * for lists that may pass 1,000 (role users, organization members).
   */
  paging: 'offset' | 'checkpoint';
  /** Extra query parameters, e.g. `{ fields: 'user_id' }`. */
  query?: Record<string, string>;
  /** Fields kept of each item (the rest is dropped before writing). @defaultValue all */
  fields?: readonly string[];
  /**
   * Read once per parent: each item's `id` of another source of the same tenant (`source`), or
   * each distinct parent of a source of the other tenant (`{ tenant, source, distinct: true }`).
   * The records then carry their `parent`.
   */
  each?: {
    source: string;
    tenant?: TenantSide;
    /** Each distinct `parent` of that source's records instead of each record's `id`. */
    distinct?: boolean;
    /** Only parents (user ids) present in the new tenant. */
    usersInNew?: boolean;
    /** Only parents having at least one record this accepts. */
    where?: (record: SourceRecord) => boolean;
  };
  /**
   * A 404 (or a 403 naming a scope) means the tenant lacks the feature: the reader records the
   * source as unavailable for the report instead of failing. @defaultValue false
   */
  optional?: boolean;
  /** Read only when this says so (e.g. `--direct-permissions`). @defaultValue always */
  when?: (options: RelationOptions) => boolean;
}

/** One line of a work file. */
export interface SourceRecord {
  /** The parent's id, for an {@link SourceSpec.each} source. */
  parent?: string;
  item: Record<string, unknown>;
}

/** What the stage gives a family's diff. Only reads: the diff itself does no I/O. */
export interface DiffInput {
  /**
   * The records of a source as read, in order. With `parent`, only that parent's (one role's
   * users), so a diff holds one parent at a time, not the whole tenant.
   */
  read(tenant: TenantSide, source: string, parent?: string): AsyncIterable<SourceRecord>;
  /** The parents read for an `each` source, in order. */
  parents(tenant: TenantSide, source: string): AsyncIterable<string>;
  /** Whether a source could not be read from a tenant (an `optional` one the tenant lacks). */
  unavailable(tenant: TenantSide, source: string): boolean;
  /** Whether the user is in the new tenant (user ids are the same in both: DESIGN.md). */
  userInNew(userId: string): Promise<boolean>;
}

/** What a call's success brings for its added-records. */
export interface CallSuccess {
  runId: string;
  /** ISO time. */
  at: string;
  /** The id `{ref}` was resolved to, for a call with a `ref`. */
  refId?: string;
  /** The created entity's id, for a call with `creates`. */
  createdId?: string;
}

export interface RelationFamily {
  /** `rbac`, `organizations`, `links`. */
  readonly name: string;
  /** The kinds it counts, in report order. */
  readonly kinds: readonly RelationKind[];
  /** What to read from each tenant, in an order where a parent source comes before its children. */
  readonly sources: readonly SourceSpec[];
  /** Pure: what was read into calls, settled relations and findings. */
  diff(input: DiffInput, options: RelationOptions): AsyncIterable<PlanEntry>;
  /** The added-records of a call that succeeded, one per relation or created entity. */
  added(call: PlannedCall, success: CallSuccess): AddedRecord[];
  /**
   * A call carrying several relations as one call per relation, for when the tenant refuses the
   * batch (one user gone, one at a limit): only the refused ones then fail. Same path and kind;
   * undefined when the call cannot be split.
   */
  split?(call: PlannedCall): PlannedCall[] | undefined;
  /**
   * The GET that finds an entity of this family by name in a tenant, for a `{ref}` whose id is
   * not known (a role created by an earlier run, or by a call whose answer was lost). Its answer
   * may be a list (bare, or under `key`) or the entity itself; names are compared whole.
   */
  lookup?(ref: { type: string; name: string }): { path: string; key?: string } | undefined;
}
