/**
 * POST /oauth/token of a simulated tenant: client_credentials for the Management API, and the
 * password / password-realm grants checking the user store (or a custom database's login script
 * for connections in import mode, storing the user as Auth0 does), in an organization's context
 * when the request names one (organization-login.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { JSON_UTF8, sendAuthError } from '../http.js';
import { checkPassword, hashPassword } from '../tenant/passwords.js';
import {
  PASSWORD_REALM_GRANT,
  type SimClient,
  type SimConnection,
  type SimTenant,
} from '../tenant/tenant.js';
import type { SimUser } from '../tenant/users.js';
import { signJwt } from '../tokens.js';
import { runLoginScript } from './custom-db.js';
import { limitAuthRequest } from './guard.js';
import { admitToOrganization, requestedOrganization } from './organization-login.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function secretMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Client id and secret from the body or an HTTP Basic header (client_secret_basic). */
function clientCredentials(
  req: FastifyRequest,
  body: Record<string, unknown>,
): { id?: string; secret?: string } {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i > 0) {
      return {
        id: decodeURIComponent(decoded.slice(0, i)),
        secret: decodeURIComponent(decoded.slice(i + 1)),
      };
    }
  }
  return { id: str(body.client_id), secret: str(body.client_secret) };
}

export async function oauthRoutes(app: FastifyInstance, { tenant }: { tenant: SimTenant }): Promise<void> {
  app.post('/oauth/token', async (req, reply) => {
    tenant.stats.tokenRequests++;
    const limited = limitAuthRequest(tenant, reply);
    if (limited !== undefined) return limited;
    const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
    const grant = str(body.grant_type);
    if (grant === undefined)
      return sendAuthError(reply, 400, 'invalid_request', 'Missing required parameter: grant_type');
    const creds = clientCredentials(req, body);
    const client = creds.id === undefined ? undefined : tenant.clients.get(creds.id);
    if (client === undefined) return sendAuthError(reply, 401, 'access_denied', 'Unauthorized');
    const authenticated = creds.secret !== undefined && secretMatches(creds.secret, client.clientSecret);
    if (creds.secret !== undefined && !authenticated)
      return sendAuthError(reply, 401, 'access_denied', 'Unauthorized');

    if (grant === 'client_credentials')
      return clientCredentialsGrant(tenant, client, authenticated, body, reply);
    if (grant === 'password' || grant === PASSWORD_REALM_GRANT) {
      return passwordGrant(tenant, client, authenticated, grant, body, req, reply);
    }
    return sendAuthError(reply, 403, 'unsupported_grant_type', `Unsupported grant type: ${grant}`);
  });
}

function notAllowed(reply: FastifyReply, grant: string): FastifyReply {
  return sendAuthError(
    reply,
    403,
    'unauthorized_client',
    `Grant type '${grant}' not allowed for the client.`,
  );
}

function clientCredentialsGrant(
  tenant: SimTenant,
  client: SimClient,
  authenticated: boolean,
  body: Record<string, unknown>,
  reply: FastifyReply,
): FastifyReply {
  if (!authenticated) return sendAuthError(reply, 401, 'access_denied', 'Unauthorized');
  if (!client.grantTypes.includes('client_credentials')) return notAllowed(reply, 'client_credentials');
  const audience = str(body.audience);
  const managementAudience = `https://${tenant.domain}/api/v2/`;
  if (audience === undefined) {
    return sendAuthError(
      reply,
      403,
      'access_denied',
      'No audience parameter was provided, and no default audience has been configured',
    );
  }
  if (audience !== managementAudience)
    return sendAuthError(reply, 403, 'access_denied', `Service not found: ${audience}`);
  if (client.scopes.length === 0) {
    return sendAuthError(
      reply,
      403,
      'access_denied',
      `Client is not authorized to access "${managementAudience}". You need to create a "client-grant" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants`,
    );
  }
  let scopes = client.scopes;
  const requested = str(body.scope)?.split(/\s+/).filter(Boolean);
  if (requested !== undefined) {
    const missing = requested.filter((s) => !client.scopes.includes(s));
    if (missing.length > 0) {
      return sendAuthError(
        reply,
        403,
        'access_denied',
        `Client has not been granted scopes: ${missing.join(', ')}`,
      );
    }
    scopes = requested;
  }
  const now = Math.floor(Date.now() / 1000);
  const ttl = tenant.options.tokenTtlSeconds;
  const scope = scopes.join(' ');
  const accessToken = signJwt(
    {
      iss: `https://${tenant.domain}/`,
      sub: `${client.clientId}@clients`,
      aud: managementAudience,
      iat: now,
      exp: now + ttl,
      scope,
      gty: 'client-credentials',
      azp: client.clientId,
    },
    tenant.signingKey,
  );
  return reply
    .type(JSON_UTF8)
    .send({ access_token: accessToken, scope, expires_in: ttl, token_type: 'Bearer' });
}

/** The end user's address: the socket's, or `auth0-forwarded-for` from a client trusted to send it. */
function clientIp(req: FastifyRequest, client: SimClient, authenticated: boolean): string {
  const forwarded = req.headers['auth0-forwarded-for'];
  if (authenticated && client.trustForwardedFor && typeof forwarded === 'string' && forwarded.trim() !== '') {
    return forwarded.split(',')[0]!.trim();
  }
  return req.ip;
}

async function passwordGrant(
  tenant: SimTenant,
  client: SimClient,
  authenticated: boolean,
  grant: string,
  body: Record<string, unknown>,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  // Every simulated application is confidential, so it must authenticate.
  if (!authenticated) return sendAuthError(reply, 401, 'access_denied', 'Unauthorized');
  if (!client.grantTypes.includes(grant)) return notAllowed(reply, grant);
  const username = str(body.username);
  const password = typeof body.password === 'string' ? body.password : undefined;
  if (username === undefined)
    return sendAuthError(reply, 400, 'invalid_request', 'Missing required parameter: username');
  if (password === undefined)
    return sendAuthError(reply, 400, 'invalid_request', 'Missing required parameter: password');
  let realm: string | undefined;
  if (grant === PASSWORD_REALM_GRANT) {
    realm = str(body.realm);
    if (realm === undefined)
      return sendAuthError(reply, 400, 'invalid_request', 'Missing required parameter: realm');
  } else {
    realm = tenant.defaultDirectory;
    if (realm === undefined) {
      return sendAuthError(
        reply,
        500,
        'server_error',
        'Authorization server not configured with default connection.',
      );
    }
  }
  const connection = tenant.connectionByName(realm);
  if (connection === undefined || connection.strategy !== 'auth0') {
    return sendAuthError(reply, 400, 'invalid_request', 'connection not found');
  }
  const orgParam = str(body.organization);
  const org = orgParam === undefined ? undefined : requestedOrganization(tenant, orgParam);
  if (org !== undefined && 'status' in org)
    return sendAuthError(reply, org.status, org.error, org.description);

  const ip = clientIp(req, client, authenticated);
  const attemptKey = `${connection.name}\0${username.toLowerCase()}\0${ip}`;
  const attempts = tenant.failedAttempts.get(attemptKey);
  if (attempts !== undefined && attempts.blockedUntil > Date.now()) {
    return sendAuthError(
      reply,
      429,
      'too_many_attempts',
      "Your account has been blocked after multiple consecutive login attempts. We've sent you an email with instructions on how to unblock it.",
    );
  }
  const fail = (): FastifyReply => {
    tenant.stats.failedLogins++;
    const a = tenant.failedAttempts.get(attemptKey) ?? { count: 0, blockedUntil: 0 };
    a.count++;
    if (a.count >= tenant.options.bruteForceThreshold) {
      a.blockedUntil = Date.now() + tenant.options.bruteForceBlockMs;
      a.count = 0;
    }
    tenant.failedAttempts.set(attemptKey, a);
    return sendAuthError(reply, 403, 'invalid_grant', 'Wrong email or password.');
  };

  let user = findLoginUser(tenant, connection, username);
  if (user === undefined) {
    const scripts = connection.options.customScripts as Record<string, unknown> | undefined;
    const loginScript = typeof scripts?.login === 'string' ? scripts.login : undefined;
    if (connection.options.import_mode !== true || loginScript === undefined) return fail();
    const outcome = await runLoginScript({
      script: loginScript,
      configuration: stringMap(connection.options.configuration),
      username,
      password,
      // Auth0 passes `context` only to connections with `enable_script_context` on.
      ...(connection.options.enable_script_context === true ? { context: { request: { ip } } } : {}),
    });
    if (!outcome.ok) {
      if (outcome.error.name === 'WrongUsernameOrPasswordError') return fail();
      if (outcome.error.name === 'UnauthorizedError') {
        return sendAuthError(reply, 401, 'unauthorized', outcome.error.message);
      }
      // A script's other errors refuse the login (the token endpoint documents no 5xx).
      return sendAuthError(reply, 403, 'access_denied', outcome.error.message);
    }
    if (outcome.profile === null) return fail();
    const created = await storeScriptProfile(tenant, connection, outcome.profile, password);
    if (typeof created === 'string') return sendAuthError(reply, 403, 'access_denied', created);
    tenant.stats.customDbLogins++;
    user = created;
  } else {
    if (user.blocked === true) return sendAuthError(reply, 401, 'unauthorized', 'user is blocked');
    // The credentials of a database identity linked to another user log that user in.
    const linked =
      user.connection === connection.name
        ? undefined
        : user.identities?.find((i) => i.connection === connection.name && !i.isSocial);
    const check = await checkPassword(linked ?? user, password, tenant.options.timing.bcryptCost);
    if (check.newHash !== undefined) {
      const newHash = check.newHash;
      tenant.users.update(user.user_id, (u) => {
        const holder = linked === undefined ? u : u.identities!.find((i) => i.user_id === linked.user_id)!;
        holder.passwordHash = newHash;
        delete holder.customPasswordHash;
      });
    }
    if (!check.ok) return fail();
  }

  tenant.failedAttempts.delete(attemptKey);
  if (org !== undefined) {
    const refused = admitToOrganization(tenant, org, connection, user);
    if (refused !== undefined) {
      tenant.stats.organizationLoginsRefused++;
      return sendAuthError(reply, refused.status, refused.error, refused.description);
    }
  }
  tenant.stats.logins++;
  const now = new Date();
  const stored =
    tenant.users.update(user.user_id, (u) => {
      u.last_login = now.toISOString();
      u.last_ip = ip;
      u.logins_count = (u.logins_count ?? 0) + 1;
    }) ?? user;
  return reply.type(JSON_UTF8).send(userTokens(tenant, client, stored, body, org?.id));
}

function findLoginUser(tenant: SimTenant, connection: SimConnection, username: string): SimUser | undefined {
  if (username.includes('@')) return tenant.users.findByEmail(username, connection.name)[0];
  return tenant.users.findByUsername(username, connection.name);
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object') {
    for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  }
  return out;
}

/**
 * Auth0 stores a user returned by a login script in import mode as `auth0|<profile.user_id>`,
 * keeping the password it was given.
 */
async function storeScriptProfile(
  tenant: SimTenant,
  connection: SimConnection,
  profile: Record<string, unknown>,
  password: string,
): Promise<SimUser | string> {
  const rawId = profile.user_id ?? profile.id;
  if (typeof rawId !== 'string' && typeof rawId !== 'number') {
    return 'The login script returned a profile without user_id.';
  }
  const userId = `auth0|${String(rawId)}`;
  const s = (k: string): string | undefined =>
    typeof profile[k] === 'string' ? (profile[k] as string) : undefined;
  const obj = (k: string): Record<string, unknown> | undefined =>
    profile[k] && typeof profile[k] === 'object' && !Array.isArray(profile[k])
      ? (profile[k] as Record<string, unknown>)
      : undefined;
  const now = new Date().toISOString();
  const email = s('email')?.toLowerCase();
  const user: SimUser = {
    user_id: userId,
    connection: connection.name,
    provider: 'auth0',
    isSocial: false,
    created_at: now,
    updated_at: now,
    logins_count: 0,
    passwordHash: await hashPassword(password, tenant.options.timing.bcryptCost),
  };
  if (email !== undefined) {
    user.email = email;
    user.email_verified = profile.email_verified === true;
  }
  for (const k of [
    'username',
    'name',
    'nickname',
    'given_name',
    'family_name',
    'picture',
    'phone_number',
  ] as const) {
    const v = s(k);
    if (v !== undefined) user[k] = v;
  }
  user.nickname ??= email?.split('@')[0] ?? user.username;
  user.name ??= email ?? user.username;
  const um = obj('user_metadata');
  const am = obj('app_metadata');
  if (um) user.user_metadata = um;
  if (am) user.app_metadata = am;
  if (tenant.users.get(userId) !== undefined) return `A user with id ${userId} already exists.`;
  tenant.users.insert(user);
  return user;
}

/** Tokens of a login; one in an organization's context carries its `org_id` claim. */
function userTokens(
  tenant: SimTenant,
  client: SimClient,
  user: SimUser,
  body: Record<string, unknown>,
  orgId: string | undefined,
): Record<string, unknown> {
  const org = orgId === undefined ? {} : { org_id: orgId };
  const now = Math.floor(Date.now() / 1000);
  const scope = str(body.scope);
  const scopes = new Set(scope?.split(/\s+/) ?? []);
  const audience = str(body.audience) ?? `https://${tenant.domain}/userinfo`;
  const ttl = tenant.options.tokenTtlSeconds;
  const out: Record<string, unknown> = {
    access_token: signJwt(
      {
        iss: `https://${tenant.domain}/`,
        sub: user.user_id,
        aud: audience,
        iat: now,
        exp: now + ttl,
        scope: scope ?? '',
        azp: client.clientId,
        ...org,
      },
      tenant.signingKey,
    ),
  };
  if (scopes.has('openid')) {
    const claims: Record<string, unknown> = {};
    if (scopes.has('profile')) {
      for (const k of ['given_name', 'family_name', 'nickname', 'name', 'picture'] as const) {
        if (user[k] !== undefined) claims[k] = user[k];
      }
      claims.updated_at = user.updated_at;
    }
    if (scopes.has('email') && user.email !== undefined) {
      claims.email = user.email;
      claims.email_verified = user.email_verified ?? false;
    }
    out.id_token = signJwt(
      {
        ...claims,
        ...org,
        iss: `https://${tenant.domain}/`,
        aud: client.clientId,
        sub: user.user_id,
        iat: now,
        exp: now + 36_000,
      },
      client.clientSecret,
    );
  }
  if (scope !== undefined) out.scope = scope;
  out.expires_in = ttl;
  out.token_type = 'Bearer';
  return out;
}
