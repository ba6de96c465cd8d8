/**
 * The two tenants' organizations compared through the Management API: for every organization of
 * the old tenant, the same-named one in the new tenant with its display name, metadata, connection
 * links (by connection name, with their flags), and every member present in the new tenant with
 * each of their organization roles (by name).
 */
import type { TenantClient } from '../../src/auth0/types.js';

export interface OrganizationView {
  display_name?: string;
  metadata?: unknown;
  /** Connection name → its flags. */
  connections: Map<string, Record<string, unknown>>;
  /** Member id → role names, sorted. */
  members: Map<string, string[]>;
}

/** A tenant's organizations through the API, by name. */
export async function organizationsView(client: TenantClient): Promise<Map<string, OrganizationView>> {
  const out = new Map<string, OrganizationView>();
  let from: string | undefined;
  do {
    const page = await client.listOrganizationsPage(from);
    for (const org of page.items) {
      const connections = new Map<string, Record<string, unknown>>();
      for (const l of await client.listOrganizationConnections(org.id)) {
        connections.set(l.connection?.name ?? '', {
          assign_membership_on_login: l.assign_membership_on_login,
          is_signup_enabled: l.is_signup_enabled,
          show_as_button: l.show_as_button,
        });
      }
      const members = new Map<string, string[]>();
      let next: string | undefined;
      do {
        const p = await client.listOrganizationMembersPage(org.id, {
          roles: true,
          ...(next && { from: next }),
        });
        for (const m of p.items) members.set(m.user_id, (m.roles ?? []).map((r) => r.name).sort());
        next = p.next;
      } while (next !== undefined);
      out.set(org.name, {
        ...(org.display_name !== undefined && { display_name: org.display_name }),
        ...(org.metadata !== undefined && { metadata: org.metadata }),
        connections,
        members,
      });
    }
    from = page.next;
  } while (from !== undefined);
  return out;
}

/**
 * What the new tenant lacks of the old one's organizations, one line each; `[]` when it holds
 * everything for the users in `inNew`. Connections named in `skipConnections` (missing in the new
 * tenant by design) are not compared.
 */
export function organizationDifferences(
  before: Map<string, OrganizationView>,
  after: Map<string, OrganizationView>,
  inNew: Set<string>,
  skipConnections: string[] = [],
): string[] {
  const problems: string[] = [];
  for (const [name, org] of before) {
    const there = after.get(name);
    if (there === undefined) {
      problems.push(`organization ${name} missing`);
      continue;
    }
    if (there.display_name !== org.display_name) problems.push(`${name}: display_name`);
    if (JSON.stringify(there.metadata) !== JSON.stringify(org.metadata)) problems.push(`${name}: metadata`);
    for (const [conn, flags] of org.connections) {
      if (skipConnections.includes(conn)) continue;
      const link = there.connections.get(conn);
      if (link === undefined) problems.push(`${name}: connection ${conn} missing`);
      else if (JSON.stringify(link) !== JSON.stringify(flags)) problems.push(`${name}: ${conn} flags differ`);
    }
    for (const [userId, roles] of org.members) {
      if (!inNew.has(userId)) continue;
      const held = there.members.get(userId);
      if (held === undefined) problems.push(`${name}: member ${userId} missing`);
      else for (const r of roles) if (!held.includes(r)) problems.push(`${name}: ${userId} lacks role ${r}`);
    }
  }
  return problems;
}
