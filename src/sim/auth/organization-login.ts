/**
 * Logins in an organization's context. Auth0 takes the `organization` parameter on /authorize;
 * the simulator has no /authorize, so its password grants take it the same way. Auth0 checks
 * membership once the user is authenticated and before any Action runs, and a custom-database
 * login script cannot grant it (community thread 167842): a user migrating lazily through an
 * organization's login is stored in the new tenant, then refused. The texts:
 * - "user … is not part of the … organization", access_denied: the callback Auth0 sent a
 *   non-member (community thread 102611, "More granular error codes");
 * - "authorization request parameter organization must be an organization id", invalid_request:
 *   the callback for an organization name on a tenant without name logins (auth0-react issue 590);
 * - an unknown organization, a connection the organization does not enable, a full organization:
 *   invalid_request / access_denied as auth0-server-python's organization support classifies them
 *   (its PR 114); those texts are ours.
 */
import type { SimOrganization } from '../tenant/organizations.js';
import type { SimConnection, SimTenant } from '../tenant/tenant.js';
import type { SimUser } from '../tenant/users.js';

export interface LoginRefusal {
  status: number;
  error: string;
  description: string;
}

/** The organization a login asks for, or why the request is refused before any credential check. */
export function requestedOrganization(tenant: SimTenant, value: string): SimOrganization | LoginRefusal {
  if (!value.startsWith('org_')) {
    return {
      status: 400,
      error: 'invalid_request',
      description: 'authorization request parameter organization must be an organization id',
    };
  }
  const org = tenant.organizations.get(value);
  if (org === undefined) {
    return {
      status: 400,
      error: 'invalid_request',
      description: `parameter organization is invalid: ${value}`,
    };
  }
  return org;
}

/**
 * Lets an authenticated user into the organization: a member, or anyone logging in through a
 * connection that grants membership on login (who becomes a member). Undefined when admitted.
 */
export function admitToOrganization(
  tenant: SimTenant,
  org: SimOrganization,
  connection: SimConnection,
  user: SimUser,
): LoginRefusal | undefined {
  const settings = org.connections.get(connection.id);
  if (settings === undefined) {
    return {
      status: 403,
      error: 'access_denied',
      description: `the connection ${connection.name} is not enabled for the ${org.id} organization`,
    };
  }
  if (org.members.has(user.user_id)) return undefined;
  const limit = tenant.organizations.limits.membersPerOrganization;
  if (settings.assign_membership_on_login && org.members.size < limit) {
    tenant.organizations.addMember(org, user.user_id);
    return undefined;
  }
  return {
    status: 403,
    error: 'access_denied',
    description: settings.assign_membership_on_login
      ? `organization member limit reached for the ${org.id} organization`
      : `user ${user.user_id} is not part of the ${org.id} organization`,
  };
}
