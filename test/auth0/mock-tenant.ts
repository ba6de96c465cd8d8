/**
 * A scripted stand-in for one tenant, for client behaviour the simulator does not script
 * (answers in a given order, a 401 on a good token, a lost answer). Each route handler gets the
 * 0-based number of the call it answers.
 */
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import formbody from '@fastify/formbody';
import { Secret, type TenantConfig } from '../../src/config.js';

export type Handler = (req: FastifyRequest, reply: FastifyReply, n: number) => unknown;

export interface MockTenant {
  config: TenantConfig;
  url: string;
  /** `METHOD /path` of every API call, in order (token requests excluded). */
  calls: string[];
  tokenRequests: number;
  /** Authorization headers seen by API routes. */
  tokensSeen: string[];
  close(): Promise<void>;
}

export const CLIENT_SECRET = 'mock-client-secret-VALUE-123';

export async function startMockTenant(
  routes: Record<string, Handler>,
  options: { expiresIn?: number; token?: Handler } = {},
): Promise<MockTenant> {
  const app = Fastify();
  await app.register(formbody);
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );
  const state = { calls: [] as string[], tokenRequests: 0, tokensSeen: [] as string[] };
  const counts = new Map<string, number>();

  app.post('/oauth/token', async (req, reply) => {
    const n = state.tokenRequests++;
    if (options.token !== undefined) return options.token(req, reply, n);
    const body = req.body as Record<string, string>;
    if (body.client_id !== 'mock-client' || body.client_secret !== CLIENT_SECRET) {
      return reply.code(401).send({ error: 'access_denied', error_description: 'Unauthorized' });
    }
    return { access_token: `token-${n + 1}`, token_type: 'Bearer', expires_in: options.expiresIn ?? 86400 };
  });

  for (const [key, handler] of Object.entries(routes)) {
    const [method, path] = key.split(' ') as [string, string];
    app.route({
      method: method as 'GET',
      url: path.startsWith('/api/v2') || path.startsWith('/files') ? path : `/api/v2${path}`,
      handler: async (req, reply) => {
        const n = counts.get(key) ?? 0;
        counts.set(key, n + 1);
        state.calls.push(key);
        state.tokensSeen.push(String(req.headers.authorization ?? ''));
        return handler(req, reply, n);
      },
    });
  }

  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    config: {
      domain: 'mock.auth0.test',
      clientId: 'mock-client',
      clientSecret: new Secret(CLIENT_SECRET),
      connection: 'Username-Password-Authentication',
      baseUrl: url,
    },
    url,
    get calls() {
      return state.calls;
    },
    get tokenRequests() {
      return state.tokenRequests;
    },
    get tokensSeen() {
      return state.tokensSeen;
    },
    close: () => app.close(),
  };
}

/** Ends the request without an answer, as a dropped connection does. */
export function drop(reply: FastifyReply): void {
  reply.hijack();
  reply.raw.socket?.destroy();
}

export const JOB = (over: Record<string, unknown> = {}) => ({
  id: 'job_abcdefghijklmnop',
  type: 'users_import',
  status: 'pending',
  connection_id: 'con_abcdefghijklmnop',
  created_at: new Date().toISOString(),
  ...over,
});
