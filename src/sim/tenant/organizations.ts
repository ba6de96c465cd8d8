/**
 * A tenant's organizations: their settings, enabled connections, members and member roles.
 *
 * Seeded memberships stay virtual, like seeded users: an organization keeps the generated-user
 * indices of its seeded members (4 bytes each) and derives their ids and roles on demand; members
 * added through the API are ordinary entries. Every member has a sequence number (seeded ones
 * first, in index order, then added ones in the order they came), which checkpoint paging's
 * cursor carries: a page starts after the last member the previous page showed, whatever was
 * added or removed meanwhile.
 */
import { newOrganizationId } from '../ids.js';
import type { OrganizationLimits } from '../options.js';

export interface RoleRef {
  id: string;
  name: string;
  description?: string;
}

/** Tenant roles, as organization member roles refer to them. */
export interface RoleDirectory {
  role(id: string): RoleRef | undefined;
  /** Every role, in the tenant's order. */
  list(): RoleRef[];
}

export interface OrganizationConnectionSettings {
  assign_membership_on_login: boolean;
  show_as_button: boolean;
  is_signup_enabled: boolean;
}

/** Members seeded from generated users. */
export interface SeededMembers {
  /** Generated-user indices, ascending. */
  indices: Uint32Array;
  /** The user id of generated user `index`. */
  userId(index: number): string;
  /** The generated-user index a user id carries, if it looks generated. */
  indexOf(userId: string): number | undefined;
  /** The seeded roles (role ids) of the member who is generated user `index`. */
  roles(index: number): string[];
}

export interface Member {
  /** Position in the organization's membership order (the checkpoint cursor). */
  seq: number;
  userId: string;
  /** Role ids, as assigned (a role deleted since may still be named here). */
  roles: readonly string[];
}

function binarySearch(sorted: Uint32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v === value) return mid;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** One organization's members, seeded and added. */
export class MemberList {
  readonly #seeded: SeededMembers | undefined;
  /** 1 where a seeded member was removed. */
  #seededGone: Uint8Array | undefined;
  #seededGoneCount = 0;
  /** Roles of seeded members changed since seeding, by position. */
  readonly #seededRoles = new Map<number, string[]>();
  /** Added members' ids by sequence number (less the seeded count); a removed one leaves a hole. */
  readonly #added: string[] = [];
  readonly #addedById = new Map<string, { seq: number; roles: string[] }>();

  constructor(seeded?: SeededMembers) {
    this.#seeded = seeded;
  }

  get #seededCount(): number {
    return this.#seeded?.indices.length ?? 0;
  }

  get size(): number {
    return this.#seededCount - this.#seededGoneCount + this.#addedById.size;
  }

  /** The position of a live seeded member, or -1. */
  #seededPosition(userId: string): number {
    const s = this.#seeded;
    if (s === undefined) return -1;
    const index = s.indexOf(userId);
    if (index === undefined) return -1;
    const pos = binarySearch(s.indices, index);
    if (pos < 0 || this.#seededGone?.[pos] === 1) return -1;
    return s.userId(index) === userId ? pos : -1;
  }

  has(userId: string): boolean {
    return this.#addedById.has(userId) || this.#seededPosition(userId) >= 0;
  }

  /** Adds a member; false when they already are one. */
  add(userId: string): boolean {
    if (this.has(userId)) return false;
    this.#addedById.set(userId, { seq: this.#seededCount + this.#added.length, roles: [] });
    this.#added.push(userId);
    return true;
  }

  /** Removes a member and their roles; false when they were none. */
  remove(userId: string): boolean {
    if (this.#addedById.delete(userId)) return true;
    const pos = this.#seededPosition(userId);
    if (pos < 0) return false;
    this.#seededGone ??= new Uint8Array(this.#seededCount);
    this.#seededGone[pos] = 1;
    this.#seededGoneCount++;
    this.#seededRoles.delete(pos);
    return true;
  }

  /** A member's role ids, or undefined for a non-member. */
  roles(userId: string): readonly string[] | undefined {
    const added = this.#addedById.get(userId);
    if (added !== undefined) return added.roles;
    const pos = this.#seededPosition(userId);
    if (pos < 0) return undefined;
    return this.#seededRoles.get(pos) ?? this.#seeded!.roles(this.#seeded!.indices[pos]!);
  }

  /** Replaces a member's role ids; false for a non-member. */
  setRoles(userId: string, roles: string[]): boolean {
    const added = this.#addedById.get(userId);
    if (added !== undefined) {
      added.roles = roles;
      return true;
    }
    const pos = this.#seededPosition(userId);
    if (pos < 0) return false;
    this.#seededRoles.set(pos, roles);
    return true;
  }

  /** Members whose sequence number is above `after`, in order. */
  *after(after = -1): Generator<Member> {
    const s = this.#seeded;
    const n = this.#seededCount;
    for (let pos = Math.max(0, after + 1); pos < n; pos++) {
      if (this.#seededGone?.[pos] === 1) continue;
      const index = s!.indices[pos]!;
      yield { seq: pos, userId: s!.userId(index), roles: this.#seededRoles.get(pos) ?? s!.roles(index) };
    }
    for (let i = Math.max(0, after + 1 - n); i < this.#added.length; i++) {
      const userId = this.#added[i]!;
      const entry = this.#addedById.get(userId);
      if (entry === undefined || entry.seq !== n + i) continue;
      yield { seq: n + i, userId, roles: entry.roles };
    }
  }
}

export interface SimOrganization {
  readonly id: string;
  name: string;
  display_name?: string;
  branding?: Record<string, unknown>;
  metadata?: Record<string, string>;
  readonly createdAtMs: number;
  /** Position in the tenant's organization order (the checkpoint cursor). */
  readonly seq: number;
  /** Enabled connections by connection id, in the order they were enabled. */
  readonly connections: Map<string, OrganizationConnectionSettings>;
  readonly members: MemberList;
}

export interface NewOrganization {
  name: string;
  display_name?: string;
  branding?: Record<string, unknown>;
  metadata?: Record<string, string>;
  seeded?: SeededMembers;
}

export class OrganizationStore {
  /** Every organization ever created, by sequence number; deleted ones are skipped on reading. */
  readonly #ordered: SimOrganization[] = [];
  readonly #byId = new Map<string, SimOrganization>();
  readonly #byName = new Map<string, SimOrganization>();
  /** user id → ids of organizations the user was added to through the API. */
  readonly #addedTo = new Map<string, Set<string>>();
  /** The organizations that may hold a generated user as a seeded member. */
  #seededCandidates: (userId: string) => readonly string[] = () => [];

  constructor(
    readonly limits: OrganizationLimits,
    readonly roles: RoleDirectory,
  ) {}

  get size(): number {
    return this.#byId.size;
  }

  get(id: string): SimOrganization | undefined {
    return this.#byId.get(id);
  }

  byName(name: string): SimOrganization | undefined {
    return this.#byName.get(name);
  }

  create(spec: NewOrganization): SimOrganization {
    const org: SimOrganization = {
      id: newOrganizationId(),
      name: spec.name,
      createdAtMs: Date.now(),
      seq: this.#ordered.length,
      connections: new Map(),
      members: new MemberList(spec.seeded),
    };
    if (spec.display_name !== undefined) org.display_name = spec.display_name;
    if (spec.branding !== undefined) org.branding = spec.branding;
    if (spec.metadata !== undefined) org.metadata = spec.metadata;
    this.#ordered.push(org);
    this.#byId.set(org.id, org);
    this.#byName.set(org.name, org);
    return org;
  }

  rename(org: SimOrganization, name: string): void {
    this.#byName.delete(org.name);
    org.name = name;
    this.#byName.set(name, org);
  }

  /** Deletes an organization with its memberships (the users stay). */
  delete(id: string): boolean {
    const org = this.#byId.get(id);
    if (org === undefined) return false;
    this.#byId.delete(id);
    this.#byName.delete(org.name);
    return true;
  }

  /** Live organizations in creation order. */
  list(): SimOrganization[] {
    return this.#ordered.filter((o) => this.#byId.get(o.id) === o);
  }

  /** Live organizations whose sequence number is above `after`, in order. */
  *after(after = -1): Generator<SimOrganization> {
    for (let seq = Math.max(0, after + 1); seq < this.#ordered.length; seq++) {
      const org = this.#ordered[seq]!;
      if (this.#byId.get(org.id) === org) yield org;
    }
  }

  /** Tells the store which organizations may hold a generated user as a seeded member. */
  setSeededCandidates(candidates: (userId: string) => readonly string[]): void {
    this.#seededCandidates = candidates;
  }

  addMember(org: SimOrganization, userId: string): boolean {
    if (!org.members.add(userId)) return false;
    let ids = this.#addedTo.get(userId);
    if (ids === undefined) this.#addedTo.set(userId, (ids = new Set()));
    ids.add(org.id);
    return true;
  }

  removeMember(org: SimOrganization, userId: string): boolean {
    this.#addedTo.get(userId)?.delete(org.id);
    return org.members.remove(userId);
  }

  /** The organizations a user is a member of, in creation order. */
  organizationsOf(userId: string): SimOrganization[] {
    const ids = new Set([...(this.#addedTo.get(userId) ?? []), ...this.#seededCandidates(userId)]);
    const out: SimOrganization[] = [];
    for (const id of ids) {
      const org = this.#byId.get(id);
      if (org !== undefined && org.members.has(userId)) out.push(org);
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** A deleted user's memberships go with them. */
  removeUser(userId: string): void {
    for (const org of this.organizationsOf(userId)) org.members.remove(userId);
    this.#addedTo.delete(userId);
  }

  /** A member's roles that still exist in the tenant; undefined for a non-member. */
  memberRoles(org: SimOrganization, userId: string): RoleRef[] | undefined {
    const ids = org.members.roles(userId);
    if (ids === undefined) return undefined;
    return this.existingRoles(ids);
  }

  existingRoles(ids: readonly string[]): RoleRef[] {
    const out: RoleRef[] = [];
    for (const id of ids) {
      const role = this.roles.role(id);
      if (role !== undefined) out.push(role);
    }
    return out;
  }

  /** A connection deleted from the tenant is no longer enabled anywhere. */
  removeConnection(connectionId: string): void {
    for (const org of this.#byId.values()) org.connections.delete(connectionId);
  }
}
