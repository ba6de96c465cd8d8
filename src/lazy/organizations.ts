/**
 * Organization logins during lazy migration. Auth0 checks organization membership before a login
 * completes, and a custom-database login script cannot grant it: a user whose first login to the
 * new tenant goes through an organization's prompt is refused, because they are not a member yet.
 * `lazy deploy` lists the new tenant's organizations that enable the lazy connection and how many
 * of their old members are not members there yet, so the operator sees who would be refused.
 */
import { isAuth0Error } from '../auth0/errors.js';
import type { Organization, TenantClient } from '../auth0/types.js';

export interface OrganizationAtRisk {
  id: string;
  name: string;
  /** The connection assigns membership on login: nobody is refused. */
  assignsMembership: boolean;
  /** Members of the same-named organization in the old tenant; undefined when it has none by that name. */
  oldMembers?: number;
  /** Of those, not (yet) members of the new tenant's organization: their organization logins are refused. */
  notYetMembers?: number;
}

export interface OrganizationLoginCheck {
  connectionName: string;
  /** Organizations of the new tenant read. */
  organizationsRead: number;
  /** Those that enable the lazy connection, by name. */
  organizations: OrganizationAtRisk[];
  /** Why the check could not be made (a missing scope, say); nothing else is set then. */
  error?: string;
}

async function* allOrganizations(client: TenantClient): AsyncGenerator<Organization> {
  let from: string | undefined;
  do {
    const page = await client.listOrganizationsPage(from);
    yield* page.items;
    from = page.next;
  } while (from !== undefined);
}

async function memberIds(client: TenantClient, orgId: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let from: string | undefined;
  do {
    const page = await client.listOrganizationMembersPage(orgId, from === undefined ? {} : { from });
    for (const m of page.items) ids.add(m.user_id);
    from = page.next;
  } while (from !== undefined);
  return ids;
}

/**
 * Reads the new tenant's organizations, keeps those enabling `connectionId`, and compares their
 * members with the same-named organizations of the old tenant (users keep their id, so the member
 * ids compare directly). Read-only; a tenant's refusal is reported in `error`, not thrown, since
 * the connection itself may already be deployed.
 */
export async function checkOrganizationLogins(
  clients: { old: TenantClient; new: TenantClient },
  connection: { id: string; name: string },
): Promise<OrganizationLoginCheck> {
  const check: OrganizationLoginCheck = {
    connectionName: connection.name,
    organizationsRead: 0,
    organizations: [],
  };
  try {
    for await (const org of allOrganizations(clients.new)) {
      check.organizationsRead++;
      const links = await clients.new.listOrganizationConnections(org.id);
      const link = links.find((l) => l.connection_id === connection.id);
      if (link === undefined) continue;
      const entry: OrganizationAtRisk = {
        id: org.id,
        name: org.name,
        assignsMembership: link.assign_membership_on_login === true,
      };
      check.organizations.push(entry);
      if (entry.assignsMembership) continue;
      const old = await clients.old.getOrganizationByName(org.name);
      if (old === undefined) continue;
      const [before, now] = await Promise.all([
        memberIds(clients.old, old.id),
        memberIds(clients.new, org.id),
      ]);
      entry.oldMembers = before.size;
      entry.notYetMembers = [...before].filter((id) => !now.has(id)).length;
    }
  } catch (thrown) {
    // A tenant's refusal (a missing scope, a rate limit past the retries) is reported; our own bugs are not hidden.
    if (!isAuth0Error(thrown)) throw thrown;
    return { ...check, error: thrown.message };
  }
  check.organizations.sort((a, b) => a.name.localeCompare(b.name));
  return check;
}

/** The check as lines for people, ending with what follows. */
export function formatOrganizationLogins(check: OrganizationLoginCheck): string[] {
  const title = `organization logins through connection "${check.connectionName}"`;
  if (check.error !== undefined) {
    return [
      `${title}: not checked (${check.error})`,
      "  Give the new and old tenants' applications read:organizations, read:organization_members and " +
        'read:organization_connections to see which organizations would refuse users not migrated yet.',
    ];
  }
  if (check.organizations.length === 0) {
    return [
      `${title}: none of the new tenant's ${check.organizationsRead} organizations enables it; nothing to do`,
    ];
  }
  const lines = [
    `${title}: ${check.organizations.length} of the new tenant's ${check.organizationsRead} organizations enable it`,
  ];
  const waiting: string[] = [];
  for (const o of check.organizations) {
    let state: string;
    if (o.assignsMembership) state = 'assigns membership on login: nobody is refused';
    else if (o.oldMembers === undefined) state = 'no organization of that name in the old tenant';
    else if (o.notYetMembers === 0) state = `all ${o.oldMembers} old members are members`;
    else {
      state = `${o.notYetMembers} of ${o.oldMembers} old members are not members yet: their organization logins are refused`;
      waiting.push(o.name);
    }
    lines.push(`  ${o.name} (${o.id}): ${state}`);
  }
  if (waiting.length === 0) return lines;
  lines.push(
    'What follows: Auth0 checks membership before the login script runs, so a user who is not a member ' +
      "is refused at the organization's login prompt even though lazy migration would import them. Either " +
      'run `auth0-migrate relations` often (RELATIONS_CRON, e.g. hourly) and let users log in once without ' +
      "organization, or import those organizations' members first (passwords are kept only where hashes " +
      `are supplied): auth0-migrate sweep --members-of ${waiting.map(shellWord).join(' ')}`,
  );
  return lines;
}

function shellWord(s: string): string {
  return /^[\w.@-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
