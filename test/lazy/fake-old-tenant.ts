/**
 * A tiny stand-in for the old tenant's /oauth/token and users endpoints, to test the scripts'
 * handling of every answer without the simulator. Each answer can be overridden per endpoint.
 */
import Fastify, { type FastifyInstance } from 'fastify';

export interface FakeUser {
  user_id: string;
  email: string;
  password: string;
  connection?: string;
  blocked?: boolean;
  mfa?: boolean;
  [key: string]: unknown;
}

type Endpoint = 'login' | 'token' | 'users-by-email' | 'user';

export interface Override {
  status: number;
  body: unknown;
  /** How many requests it applies to. @defaultValue every request */
  times?: number;
}

export interface FakeOldTenant {
  url: string;
  domain: string;
  clientId: string;
  clientSecret: string;
  connection: string;
  users: FakeUser[];
  /** Seconds a management token lives. */
  tokenLifetime: number;
  /** Whether the password-realm answer carries an id_token. */
  sendIdToken: boolean;
  requests: Array<{ endpoint: Endpoint; headers: Record<string, unknown>; body: unknown; url: string }>;
  overrides: Partial<Record<Endpoint, Override>>;
  /** Answers on this endpoint wait this long first. */
  delays: Partial<Record<Endpoint, number>>;
  count(endpoint: Endpoint): number;
  /** Forgets every issued management token (the next API call gets 401). */
  revokeTokens(): void;
  configuration(extra?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

function idToken(sub: string): string {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub })}.sig`;
}

function publicUser(u: FakeUser, connection: string): Record<string, unknown> {
  const { password: _password, mfa: _mfa, connection: own, ...rest } = u;
  return {
    ...rest,
    identities: [
      { connection: own ?? connection, provider: 'auth0', user_id: u.user_id.replace(/^auth0\|/, '') },
    ],
  };
}

export async function startFakeOldTenant(users: FakeUser[] = []): Promise<FakeOldTenant> {
  const app: FastifyInstance = Fastify();
  const tokens = new Set<string>();
  let issued = 0;
  const tenant: FakeOldTenant = {
    url: '',
    domain: 'old.example.com',
    clientId: 'old-client-id',
    clientSecret: 'old-client-secret-VERY-SECRET',
    connection: 'Username-Password-Authentication',
    users,
    tokenLifetime: 86400,
    sendIdToken: true,
    requests: [],
    overrides: {},
    delays: {},
    count: (endpoint) => tenant.requests.filter((r) => r.endpoint === endpoint).length,
    revokeTokens: () => tokens.clear(),
    configuration: (extra = {}) => ({
      OLD_AUTH0_DOMAIN: tenant.domain,
      OLD_AUTH0_CLIENT_ID: tenant.clientId,
      OLD_AUTH0_CLIENT_SECRET: tenant.clientSecret,
      OLD_AUTH0_CONNECTION: tenant.connection,
      OLD_AUTH0_BASE_URL: tenant.url,
      ...extra,
    }),
    close: () => app.close(),
  };

  const answer = async (
    endpoint: Endpoint,
    req: { headers: Record<string, unknown>; body: unknown; url: string },
  ): Promise<Override | undefined> => {
    tenant.requests.push({ endpoint, headers: req.headers, body: req.body, url: req.url });
    const delay = tenant.delays[endpoint];
    if (delay !== undefined) await new Promise((r) => setTimeout(r, delay));
    const o = tenant.overrides[endpoint];
    if (o === undefined) return undefined;
    if (o.times !== undefined) {
      o.times -= 1;
      if (o.times <= 0) delete tenant.overrides[endpoint];
    }
    return o;
  };
  const authorised = (headers: Record<string, unknown>): boolean => {
    const h = String(headers.authorization ?? '');
    return h.startsWith('Bearer ') && tokens.has(h.slice(7));
  };

  app.post('/oauth/token', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, string>;
    const endpoint: Endpoint = body.grant_type === 'client_credentials' ? 'token' : 'login';
    const o = await answer(endpoint, req);
    if (o) return reply.code(o.status).send(o.body);
    if (body.client_id !== tenant.clientId || body.client_secret !== tenant.clientSecret) {
      return reply.code(401).send({ error: 'access_denied', error_description: 'Unauthorized' });
    }
    if (endpoint === 'token') {
      if (body.audience !== `https://${tenant.domain}/api/v2/`) {
        return reply.code(403).send({ error: 'access_denied', error_description: 'Service not found' });
      }
      issued += 1;
      const token = `mgmt-${issued}`;
      tokens.add(token);
      return { access_token: token, token_type: 'Bearer', expires_in: tenant.tokenLifetime };
    }
    if (
      body.grant_type !== 'http://auth0.com/oauth/grant-type/password-realm' ||
      body.realm !== tenant.connection
    ) {
      return reply.code(400).send({ error: 'invalid_request', error_description: 'bad grant or realm' });
    }
    const user = tenant.users.find(
      (u) =>
        (u.connection ?? tenant.connection) === tenant.connection &&
        (u.email === body.username?.toLowerCase() ||
          (u.username !== undefined && u.username === body.username)),
    );
    if (!user || user.password !== body.password) {
      return reply.code(403).send({ error: 'invalid_grant', error_description: 'Wrong email or password.' });
    }
    if (user.blocked)
      return reply.code(401).send({ error: 'unauthorized', error_description: 'user is blocked' });
    if (user.mfa) {
      return reply.code(403).send({
        error: 'mfa_required',
        error_description: 'Multifactor authentication required',
        mfa_token: 'x',
      });
    }
    return {
      access_token: 'user-token',
      token_type: 'Bearer',
      expires_in: 86400,
      ...(tenant.sendIdToken ? { id_token: idToken(user.user_id) } : {}),
    };
  });

  app.get('/api/v2/users-by-email', async (req, reply) => {
    const o = await answer('users-by-email', req);
    if (o) return reply.code(o.status).send(o.body);
    if (!authorised(req.headers))
      return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'Expired token' });
    const email = (req.query as { email?: string }).email;
    return tenant.users.filter((u) => u.email === email).map((u) => publicUser(u, tenant.connection));
  });

  app.get('/api/v2/users/:id', async (req, reply) => {
    const o = await answer('user', req);
    if (o) return reply.code(o.status).send(o.body);
    if (!authorised(req.headers))
      return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'Expired token' });
    const id = (req.params as { id: string }).id;
    const user = tenant.users.find((u) => u.user_id === id);
    if (!user)
      return reply
        .code(404)
        .send({ statusCode: 404, error: 'Not Found', message: 'The user does not exist.' });
    return publicUser(user, tenant.connection);
  });

  tenant.url = await app.listen({ port: 0, host: '127.0.0.1' });
  return tenant;
}
