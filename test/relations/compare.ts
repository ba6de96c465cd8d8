/**
 * The two tenants' RBAC compared through the Management API, user by user: for every role of the
 * old tenant, each member who is in the new tenant holds the role of the same name there.
 */
import type { TenantClient } from '../../src/auth0/types.js';

async function all(
  pages: AsyncIterable<Array<Record<string, unknown>>>,
): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for await (const page of pages) out.push(...page);
  return out;
}

/** Role name → member ids, through the API. */
export async function roleMembers(client: TenantClient): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const role of await all(client.listRoles())) {
    const members = await all(client.listRoleUsers(String(role.id)));
    out.set(String(role.name), new Set(members.map((u) => String(u.user_id))));
  }
  return out;
}

/** Role name → permission keys, through the API. */
export async function rolePermissions(client: TenantClient): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const role of await all(client.listRoles())) {
    const perms = await all(client.listRolePermissions(String(role.id)));
    out.set(
      String(role.name),
      new Set(perms.map((p) => `${String(p.resource_server_identifier)} ${String(p.permission_name)}`)),
    );
  }
  return out;
}

/**
 * What the old tenant's users hold that the new tenant's (present) users lack: `role → user ids`.
 * Empty when every present user has every role they had.
 */
export function missingAssignments(
  old: Map<string, Set<string>>,
  neu: Map<string, Set<string>>,
  present: (userId: string) => boolean,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, members] of old) {
    const there = neu.get(name) ?? new Set<string>();
    const lacking = [...members].filter((id) => present(id) && !there.has(id));
    if (lacking.length > 0) out[name] = lacking;
  }
  return out;
}
