/**
 * A tenant's role-based access control: APIs (resource servers) with their scopes, roles with
 * their permissions, and which user holds which role or direct permission.
 *
 * Seeded assignments stay virtual, a pure function of the generated user's index
 * (generate-rbac.ts); what the API changes is kept beside them: roles and permissions given, and
 * seeded ones taken away. A deleted user loses both (the user store tells this store).
 */
import { newResourceServerId } from '../ids.js';
import { loadDataFile } from '../schemas.js';
import {
  carriedShare,
  newTenantCatalog,
  rbacCatalog,
  seededDirect,
  seededId,
  seededRoles,
} from './generate-rbac.js';
import { generateUser, type GeneratedVariant } from './generate.js';
import type { GeneratedPopulation, UserStore } from './user-store.js';
import type { SimUser } from './users.js';

/** Auth0's entity limits for RBAC (entity-limit policy). */
export const RBAC_LIMITS = {
  rolesPerTenant: 1000,
  rolesPerUser: 50,
  permissionsPerRole: 1000,
  /** Direct permissions only; a user holds more through roles. */
  directPermissionsPerUser: 1000,
  scopesPerApi: 1000,
} as const;

export interface SimScope {
  value: string;
  description?: string;
}

export interface SimResourceServer {
  id: string;
  name: string;
  identifier: string;
  scopes: SimScope[];
  /** Everything else the API answers with (signing_alg, token_lifetime, ...), as created. */
  settings: Record<string, unknown>;
  isSystem: boolean;
}

export interface SimPermission {
  resource_server_identifier: string;
  permission_name: string;
}

export interface SimRole {
  id: string;
  name: string;
  description?: string;
  /** By {@link permissionKey}, in the order added. */
  permissions: Map<string, SimPermission>;
}

export const permissionKey = (p: SimPermission): string =>
  `${p.resource_server_identifier}\u0000${p.permission_name}`;

/** Where a role's member listing stands: a generated user's position, or an API assignment's number. */
export type MemberCursor = { phase: 'seeded'; position: number } | { phase: 'assigned'; seq: number };

interface Seeded {
  seed: number;
  variant: GeneratedVariant;
  population: GeneratedPopulation;
  /** Catalog role → its id here (undefined where this tenant lacks it). */
  roleIds: Array<string | undefined>;
  /** Catalog permission → the permission, where this tenant has its API. */
  permissions: Array<SimPermission | undefined>;
  rolesOf(index: number): number[];
  directOf(index: number): number[];
}

/** Members given a role through the API, in order: a log with tombstones, for checkpoint paging. */
class MemberLog {
  readonly live = new Map<string, number>();
  #log: Array<{ seq: number; userId: string }> = [];

  add(userId: string, seq: number): void {
    if (this.live.has(userId)) return;
    this.live.set(userId, seq);
    this.#log.push({ seq, userId });
  }

  remove(userId: string): void {
    if (!this.live.delete(userId)) return;
    if (this.#log.length > 64 && this.live.size * 2 < this.#log.length) {
      this.#log = this.#log.filter((e) => this.live.get(e.userId) === e.seq);
    }
  }

  /** Live members numbered `seq` or later, in order. */
  *from(seq: number): Generator<{ seq: number; userId: string }> {
    let lo = 0;
    let hi = this.#log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#log[mid]!.seq < seq) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.#log.length; i++) {
      const e = this.#log[i]!;
      if (this.live.get(e.userId) === e.seq) yield e;
    }
  }
}

let managementScopes: SimScope[] | undefined;

/** The Management API's own scopes, as the published description lists them. */
function managementApiScopes(): SimScope[] {
  if (managementScopes === undefined) {
    const oas = loadDataFile('management-api-oas.subset.json') as {
      components: {
        securitySchemes: {
          oAuth2ClientCredentials: { flows: { clientCredentials: { scopes: Record<string, string> } } };
        };
      };
    };
    const scopes = oas.components.securitySchemes.oAuth2ClientCredentials.flows.clientCredentials.scopes;
    managementScopes = Object.entries(scopes).map(([value, description]) => ({ value, description }));
  }
  return managementScopes;
}

const HEX = '0123456789abcdef';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export class RbacStore {
  readonly #servers = new Map<string, SimResourceServer>();
  readonly #system: SimResourceServer;
  readonly #roles = new Map<string, SimRole>();
  #seeded: Seeded | undefined;
  /** Seeded roles and direct permissions taken away, by generated index; `all` once the user is deleted. */
  readonly #revoked = new Map<number, { roles: Set<number>; direct: Set<number> } | 'all'>();
  readonly #userRoles = new Map<string, Set<string>>();
  readonly #userDirect = new Map<string, Map<string, SimPermission>>();
  readonly #members = new Map<string, MemberLog>();
  /** Seeded members per catalog role, counted when first asked. */
  #seededCounts: number[] | undefined;
  #seq = 0;

  constructor(
    private readonly users: UserStore,
    domain: string,
  ) {
    this.#system = {
      id: newResourceServerId(),
      name: 'Auth0 Management API',
      identifier: `https://${domain}/api/v2/`,
      scopes: [],
      settings: {
        allow_offline_access: false,
        skip_consent_for_verifiable_first_party_clients: false,
        token_lifetime: 86400,
        token_lifetime_for_web: 7200,
        signing_alg: 'RS256',
      },
      isSystem: true,
    };
    this.#servers.set(this.#system.id, this.#system);
  }

  // APIs

  resourceServers(): SimResourceServer[] {
    this.#systemScopes();
    return [...this.#servers.values()];
  }

  /** By id or by identifier (audience), as GET /resource-servers/{id} accepts either. */
  resourceServer(idOrIdentifier: string): SimResourceServer | undefined {
    this.#systemScopes();
    return this.#servers.get(idOrIdentifier) ?? this.resourceServerByIdentifier(idOrIdentifier);
  }

  resourceServerByIdentifier(identifier: string): SimResourceServer | undefined {
    this.#systemScopes();
    for (const s of this.#servers.values()) if (s.identifier === identifier) return s;
    return undefined;
  }

  /** The Management API's scopes are read from its description the first time they are needed. */
  #systemScopes(): void {
    if (this.#system.scopes.length === 0) this.#system.scopes = managementApiScopes();
  }

  addResourceServer(server: SimResourceServer): void {
    this.#servers.set(server.id, server);
  }

  // Roles

  roles(): SimRole[] {
    return [...this.#roles.values()];
  }

  role(id: string): SimRole | undefined {
    return this.#roles.get(id);
  }

  roleByName(name: string): SimRole | undefined {
    for (const r of this.#roles.values()) if (r.name === name) return r;
    return undefined;
  }

  addRole(role: SimRole): void {
    this.#roles.set(role.id, role);
  }

  deleteRole(id: string): boolean {
    if (!this.#roles.delete(id)) return false;
    for (const userId of this.#members.get(id)?.live.keys() ?? []) this.#userRoles.get(userId)?.delete(id);
    this.#members.delete(id);
    return true;
  }

  // Who holds what

  /** The user's roles: seeded ones still held, then those given through the API. */
  rolesOf(userId: string): SimRole[] {
    const out: SimRole[] = [];
    const seeded = this.#seededIndex(userId);
    if (seeded !== undefined) {
      for (const k of this.#seededRolesOf(seeded)) {
        const r = this.#roles.get(this.#seeded!.roleIds[k]!);
        if (r !== undefined) out.push(r);
      }
    }
    for (const id of this.#userRoles.get(userId) ?? []) {
      const r = this.#roles.get(id);
      if (r !== undefined && !out.includes(r)) out.push(r);
    }
    return out;
  }

  /** Gives `userId` these roles (the ones held already stay as they are). */
  assignRoles(userId: string, roles: SimRole[]): void {
    const held = new Set(this.rolesOf(userId));
    for (const r of roles) {
      if (held.has(r)) continue;
      held.add(r);
      let mine = this.#userRoles.get(userId);
      if (mine === undefined) this.#userRoles.set(userId, (mine = new Set()));
      mine.add(r.id);
      let log = this.#members.get(r.id);
      if (log === undefined) this.#members.set(r.id, (log = new MemberLog()));
      log.add(userId, ++this.#seq);
    }
  }

  unassignRoles(userId: string, roles: SimRole[]): void {
    const seeded = this.#seededIndex(userId);
    for (const r of roles) {
      if (this.#userRoles.get(userId)?.delete(r.id) === true) this.#members.get(r.id)?.remove(userId);
      if (seeded === undefined) continue;
      const k = this.#seeded!.roleIds.indexOf(r.id);
      if (k >= 0 && this.#seededRolesOf(seeded).includes(k)) this.#revoke(seeded).roles.add(k);
    }
  }

  /** The user's direct permissions: seeded ones still held, then those given through the API. */
  directPermissionsOf(userId: string): SimPermission[] {
    const out = new Map<string, SimPermission>();
    const seeded = this.#seededIndex(userId);
    if (seeded !== undefined) {
      for (const p of this.#seededDirectOf(seeded)) {
        const perm = this.#seeded!.permissions[p]!;
        out.set(permissionKey(perm), perm);
      }
    }
    for (const [key, perm] of this.#userDirect.get(userId) ?? []) out.set(key, perm);
    return [...out.values()];
  }

  addDirectPermissions(userId: string, permissions: SimPermission[]): void {
    const held = new Set(this.directPermissionsOf(userId).map(permissionKey));
    for (const p of permissions) {
      const key = permissionKey(p);
      if (held.has(key)) continue;
      held.add(key);
      let mine = this.#userDirect.get(userId);
      if (mine === undefined) this.#userDirect.set(userId, (mine = new Map()));
      mine.set(key, {
        resource_server_identifier: p.resource_server_identifier,
        permission_name: p.permission_name,
      });
    }
  }

  removeDirectPermissions(userId: string, permissions: SimPermission[]): void {
    const seeded = this.#seededIndex(userId);
    for (const p of permissions) {
      const key = permissionKey(p);
      this.#userDirect.get(userId)?.delete(key);
      if (seeded === undefined) continue;
      for (const i of this.#seededDirectOf(seeded)) {
        if (permissionKey(this.#seeded!.permissions[i]!) === key) this.#revoke(seeded).direct.add(i);
      }
    }
  }

  /** A deleted user keeps no role and no permission (a user created again with the id starts empty). */
  forgetUser(user: SimUser): void {
    for (const roleId of this.#userRoles.get(user.user_id) ?? [])
      this.#members.get(roleId)?.remove(user.user_id);
    this.#userRoles.delete(user.user_id);
    this.#userDirect.delete(user.user_id);
    if (this.#seeded !== undefined && user.generatedIndex !== undefined) {
      this.#revoked.set(user.generatedIndex, 'all');
      this.#seededCounts = undefined;
    }
  }

  /** How many users hold the role. */
  memberCount(roleId: string): number {
    let n = this.#members.get(roleId)?.live.size ?? 0;
    const k = this.#seeded?.roleIds.indexOf(roleId) ?? -1;
    if (k >= 0) n += this.#countSeeded()[k] ?? 0;
    return n;
  }

  /**
   * The role's members from `start` on: seeded holders in generated order, then those given the
   * role through the API in the order it was given; each with where it stands.
   */
  *members(roleId: string, start?: MemberCursor): Generator<{ at: MemberCursor; user: SimUser }> {
    const s = this.#seeded;
    const k = s?.roleIds.indexOf(roleId) ?? -1;
    if (s !== undefined && k >= 0 && start?.phase !== 'assigned') {
      const ix = s.population.indices;
      const n = ix instanceof Uint32Array ? ix.length : ix.count;
      for (let pos = start?.position ?? 0; pos < n; pos++) {
        const index = ix instanceof Uint32Array ? ix[pos]! : pos;
        if (!this.#seededRolesOf(index).includes(k)) continue;
        const user = this.users.get(generateUser(s.seed, index, s.variant).user_id);
        if (user !== undefined) yield { at: { phase: 'seeded', position: pos }, user };
      }
    }
    const log = this.#members.get(roleId);
    if (log === undefined) return;
    for (const e of log.from(start?.phase === 'assigned' ? start.seq : 0)) {
      const user = this.users.get(e.userId);
      if (user !== undefined) yield { at: { phase: 'assigned', seq: e.seq }, user };
    }
  }

  // Seeding

  /**
   * Seeded RBAC for a generated population: an `old` one gets the whole catalog of its seed and
   * its assignments; a `migrated` one (the new tenant) the share a lazy migration would have left.
   */
  seed(population: GeneratedPopulation): void {
    const { seed, variant } = population;
    const catalog = rbacCatalog(seed);
    const share = variant === 'old' ? undefined : newTenantCatalog(seed, catalog);
    const salt = variant === 'old' ? 1 : 2;
    const apis = share?.apis ?? catalog.apis.map((_, i) => i);
    for (const a of apis) {
      const api = catalog.apis[a]!;
      this.addResourceServer({
        id: seededId(seed, salt * 100 + 1, a, HEX, 24),
        name: api.name,
        identifier: api.identifier,
        scopes: api.scopes.map((sc) => ({ ...sc })),
        settings: {
          allow_offline_access: false,
          skip_consent_for_verifiable_first_party_clients: true,
          token_lifetime: 86400,
          token_lifetime_for_web: 7200,
          signing_alg: 'RS256',
          enforce_policies: true,
          token_dialect: 'access_token_authz',
        },
        isSystem: false,
      });
    }
    const permissions = catalog.permissions.map((p) =>
      apis.includes(p.api)
        ? { resource_server_identifier: p.resource_server_identifier, permission_name: p.permission_name }
        : undefined,
    );
    const roleIds = catalog.roles.map((r, k) => {
      const perms = share === undefined ? r.permissions : share.roles[k];
      if (perms === undefined) return undefined;
      const role: SimRole = {
        id: `rol_${seededId(seed, salt * 100 + 2, k, ALNUM, 16)}`,
        name: r.name,
        ...(r.description === undefined ? {} : { description: r.description }),
        permissions: new Map(perms.map((p) => [permissionKey(permissions[p]!), permissions[p]!])),
      };
      this.addRole(role);
      return role.id;
    });
    const roleCount = catalog.roles.length;
    const permissionCount = catalog.permissions.length;
    const oldRoles = (index: number) => seededRoles(seed, index, roleCount);
    const oldDirect = (index: number) => seededDirect(seed, index, permissionCount);
    this.#seeded = {
      seed,
      variant,
      population,
      roleIds,
      permissions,
      rolesOf:
        variant === 'old'
          ? oldRoles
          : (index) => {
              const carried = carriedShare(seed, index).roles;
              const roles = oldRoles(index).filter((k) => roleIds[k] !== undefined);
              return carried === 'all' ? roles : carried === 'first' ? roles.slice(0, 1) : [];
            },
      directOf:
        variant === 'old'
          ? oldDirect
          : (index) =>
              carriedShare(seed, index).direct ? oldDirect(index).filter((p) => permissions[p]) : [],
    };
    this.#seededCounts = undefined;
  }

  #seededIndex(userId: string): number | undefined {
    if (this.#seeded === undefined) return undefined;
    const index = this.users.get(userId)?.generatedIndex;
    return index === undefined || this.#revoked.get(index) === 'all' ? undefined : index;
  }

  #seededRolesOf(index: number): number[] {
    const revoked = this.#revoked.get(index);
    if (revoked === 'all') return [];
    const roles = this.#seeded!.rolesOf(index);
    return revoked === undefined ? roles : roles.filter((k) => !revoked.roles.has(k));
  }

  #seededDirectOf(index: number): number[] {
    const revoked = this.#revoked.get(index);
    if (revoked === 'all') return [];
    const direct = this.#seeded!.directOf(index);
    return revoked === undefined ? direct : direct.filter((p) => !revoked.direct.has(p));
  }

  #revoke(index: number): { roles: Set<number>; direct: Set<number> } {
    this.#seededCounts = undefined;
    const r = this.#revoked.get(index);
    if (r === 'all') return { roles: new Set(), direct: new Set() };
    if (r !== undefined) return r;
    const fresh = { roles: new Set<number>(), direct: new Set<number>() };
    this.#revoked.set(index, fresh);
    return fresh;
  }

  #countSeeded(): number[] {
    const s = this.#seeded!;
    if (this.#seededCounts !== undefined) return this.#seededCounts;
    const counts = s.roleIds.map(() => 0);
    const ix = s.population.indices;
    const n = ix instanceof Uint32Array ? ix.length : ix.count;
    for (let pos = 0; pos < n; pos++) {
      for (const k of this.#seededRolesOf(ix instanceof Uint32Array ? ix[pos]! : pos)) counts[k]!++;
    }
    this.#seededCounts = counts;
    return counts;
  }
}
