/**
 * Seeded organizations: the old tenant's, from its generated users (generate-organizations.ts),
 * and the part of them a lazy migration's relations runs have already carried to the new tenant
 * (same names, new ids, some of the migrated members' memberships and member roles). Member roles
 * draw on the tenant's roles, so roles are seeded first; a tenant without roles has none.
 */
import { DB_CONNECTION, SOCIAL_CONNECTION, generateUser, indexFromUserId } from './tenant/generate.js';
import {
  carriedMemberRole,
  carriedMembership,
  carriedOrganization,
  memberRolePicks,
  organizationPlan,
  organizationProfile,
  organizationsOfUser,
  organizationsOfUserInto,
  type OrganizationPlan,
} from './tenant/generate-organizations.js';
import type { SimTenant } from './tenant/tenant.js';

function connectionIds(tenant: SimTenant): Record<'database' | 'social', string | undefined> {
  return {
    database: tenant.connectionByName(DB_CONNECTION)?.id,
    social: tenant.connectionByName(SOCIAL_CONNECTION)?.id,
  };
}

/**
 * Each organization's member indices, ascending, from the users of `indices` (ascending): two
 * passes over the users (count, then place) into one array, so a million users make little garbage.
 */
function membersByOrganization(
  plan: OrganizationPlan,
  indices: ArrayLike<number> | { length: number },
  keep: (position: number, index: number) => boolean,
): Uint32Array[] {
  const at = (i: number) => (ArrayBuffer.isView(indices) ? (indices as Uint32Array)[i]! : i);
  const slots = [0, 0];
  const counts = new Uint32Array(plan.count + 1);
  for (let i = 0; i < indices.length; i++) {
    const index = at(i);
    const n = organizationsOfUserInto(plan, index, slots);
    for (let k = 0; k < n; k++) if (keep(slots[k]!, index)) counts[slots[k]! + 1]!++;
  }
  for (let pos = 0; pos < plan.count; pos++) counts[pos + 1]! += counts[pos]!;
  const all = new Uint32Array(counts[plan.count]!);
  const next = counts.slice(0, plan.count);
  for (let i = 0; i < indices.length; i++) {
    const index = at(i);
    const n = organizationsOfUserInto(plan, index, slots);
    for (let k = 0; k < n; k++) if (keep(slots[k]!, index)) all[next[slots[k]!]!++] = index;
  }
  return Array.from({ length: plan.count }, (_, pos) => all.subarray(counts[pos]!, counts[pos + 1]!));
}

/**
 * Seeds organizations into the old tenant (its first `users` generated users) and, when some of
 * them are in the new tenant (`migrated`, ascending indices), part of them into the new one.
 */
export function seedOrganizations(
  tenants: { old: SimTenant; new: SimTenant },
  seed: number,
  users: number,
  migrated: Uint32Array | undefined,
): void {
  const plan = organizationPlan(seed, users);
  if (plan === undefined) return;
  const oldRoles = tenants.old.organizations.roles.list();
  const oldIds = placeOrganizations(
    tenants.old,
    plan,
    membersByOrganization(plan, { length: users }, () => true),
    {
      seed,
      variant: 'old',
      carried: () => true,
      roles: (pos, index) => memberRolePicks(seed, pos, index, oldRoles.length).map((k) => oldRoles[k]!.id),
    },
  );
  tenants.old.organizations.setSeededCandidates(candidates(plan, oldIds));
  if (migrated === undefined || migrated.length === 0) return;

  const newRoleIds = new Map(tenants.new.organizations.roles.list().map((r) => [r.name, r.id]));
  const keep = (pos: number, index: number) =>
    carriedOrganization(seed, pos) && carriedMembership(seed, pos, index);
  const newIds = placeOrganizations(tenants.new, plan, membersByOrganization(plan, migrated, keep), {
    seed,
    variant: 'migrated',
    carried: (pos) => carriedOrganization(seed, pos),
    roles: (pos, index) =>
      memberRolePicks(seed, pos, index, oldRoles.length).flatMap((k) => {
        const id = newRoleIds.get(oldRoles[k]!.name);
        return id !== undefined && carriedMemberRole(seed, pos, index, k) ? [id] : [];
      }),
  });
  tenants.new.organizations.setSeededCandidates(candidates(plan, newIds));
}

/** Creates the organizations of `plan` that `carried` keeps; returns their ids by position. */
function placeOrganizations(
  tenant: SimTenant,
  plan: OrganizationPlan,
  members: Uint32Array[],
  how: {
    seed: number;
    variant: 'old' | 'migrated';
    carried: (position: number) => boolean;
    roles: (position: number, index: number) => string[];
  },
): Array<string | undefined> {
  const connections = connectionIds(tenant);
  const userId = (index: number) => generateUser(how.seed, index, how.variant).user_id;
  const indexOf = (id: string) => indexFromUserId(id);
  const ids: Array<string | undefined> = [];
  for (let pos = 0; pos < plan.count; pos++) {
    if (!how.carried(pos)) {
      ids.push(undefined);
      continue;
    }
    const profile = organizationProfile(how.seed, pos);
    const org = tenant.organizations.create({
      name: profile.name,
      display_name: profile.display_name,
      ...(profile.branding !== undefined ? { branding: profile.branding } : {}),
      ...(profile.metadata !== undefined ? { metadata: profile.metadata } : {}),
      seeded: {
        indices: members[pos]!,
        userId,
        indexOf,
        roles: (index) => how.roles(pos, index),
      },
    });
    for (const c of profile.connections) {
      const id = connections[c.connection];
      if (id === undefined) continue;
      org.connections.set(id, {
        assign_membership_on_login: c.assign_membership_on_login,
        show_as_button: c.show_as_button,
        is_signup_enabled: c.is_signup_enabled,
      });
    }
    ids.push(org.id);
  }
  return ids;
}

/** The organizations that may hold a user as a seeded member: those of the plan for its index. */
function candidates(plan: OrganizationPlan, ids: Array<string | undefined>): (userId: string) => string[] {
  return (userId) => {
    const index = indexFromUserId(userId);
    if (index === undefined || index >= plan.users) return [];
    return organizationsOfUser(plan, index).flatMap((pos) => (ids[pos] === undefined ? [] : [ids[pos]]));
  };
}
