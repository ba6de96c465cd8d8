/**
 * How the fault registry (faults.ts) reaches the wire: every request a tenant answers (not the
 * control endpoints) is matched against the rules, then answered, slowed, dropped or cut short.
 */
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FaultRule, Faults } from './faults.js';
import { AUTH_RATE_LIMIT_MESSAGE, RATE_LIMIT_MESSAGE, sendAuthError, sendManagementError } from './http.js';
import type { SimTenant } from './tenant/tenant.js';

/** Adds the hooks to `app`; `signal` ends pending `delay` faults when the simulator closes. */
export function faultHooks(
  app: FastifyInstance,
  tenants: Record<string, SimTenant>,
  faults: Faults,
  signal: AbortSignal,
): void {
  // Requests a `drop-after` fault hit: handled in full, then their answer is never sent; and
  // those a `cut` fault hit, with the bytes of their answer sent before the connection goes.
  const dropAfter = new WeakSet<FastifyRequest>();
  const cutAfter = new WeakMap<FastifyRequest, number>();
  app.addHook('onRequest', async (req, reply) =>
    faultHook(req, reply, tenants, faults, signal, { dropAfter, cutAfter }),
  );
  app.addHook('onSend', async (req, _reply, payload) => {
    const cut = cutAfter.get(req);
    if (cut !== undefined && payload !== null && payload !== undefined) {
      const body = payload instanceof Readable ? payload : Readable.from([Buffer.from(payload as string)]);
      return Readable.from(cutShort(body, cut, req.raw.socket));
    }
    if (!dropAfter.has(req)) return payload;
    req.raw.socket.destroy();
    if (payload instanceof Readable) payload.destroy();
    return null;
  });
}

/**
 * The first `bytes` bytes of `body`, then the connection destroyed (the body ends only by that,
 * so the client sees a transfer broken off, never a short but complete answer).
 */
async function* cutShort(body: Readable, bytes: number, socket: Socket): AsyncGenerator<Buffer> {
  let left = bytes;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (chunk.length < left) {
        left -= chunk.length;
        yield chunk;
        continue;
      }
      if (left > 0) yield chunk.subarray(0, left);
      break;
    }
  } finally {
    body.destroy();
  }
  // Let the bytes sent so far leave, then cut.
  await sleep(50);
  socket.destroy();
}

/** Faults apply to everything a tenant answers (not to the control endpoints). */
async function faultHook(
  req: FastifyRequest,
  reply: FastifyReply,
  tenants: Record<string, SimTenant>,
  faults: Faults,
  signal: AbortSignal,
  broken: { dropAfter: WeakSet<FastifyRequest>; cutAfter: WeakMap<FastifyRequest, number> },
): Promise<FastifyReply | undefined> {
  const m = /^\/([^/?]+)([^?]*)/.exec(req.url);
  const tenant = m ? tenants[m[1]!] : undefined;
  if (tenant === undefined || !Object.hasOwn(tenants, m![1]!)) return undefined;
  tenant.stats.requests++;
  const path = m![2] === '' ? '/' : m![2]!;
  const rule: FaultRule | undefined = faults.match(tenant.name, req.method, path);
  if (rule === undefined) return undefined;
  tenant.stats.faultsInjected++;
  // Authentication API endpoints answer errors in their own shape.
  const isAuth = path.startsWith('/oauth/') || path.startsWith('/dbconnections/');
  switch (rule.kind) {
    case 'delay':
      await sleep(rule.delayMs ?? 1000, undefined, { signal }).catch(() => undefined);
      return undefined;
    case 'drop':
      reply.hijack();
      req.raw.socket.destroy();
      return reply;
    case 'drop-after':
      broken.dropAfter.add(req);
      return undefined;
    case 'cut':
      broken.cutAfter.set(req, rule.afterBytes ?? 1024);
      return undefined;
    case 'error': {
      const status = rule.status ?? 500;
      if (isAuth)
        return sendAuthError(
          reply,
          status,
          status >= 500 ? 'server_error' : 'invalid_request',
          'Internal error',
        );
      return sendManagementError(reply, status, status >= 500 ? 'Internal error' : 'Injected fault');
    }
    case 'rate-limit': {
      const limit = tenant.options.rateLimit === false ? 50 : tenant.options.rateLimit.capacity;
      void reply.headers({
        'x-ratelimit-limit': String(limit),
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + (rule.resetSeconds ?? 1)),
      });
      if (isAuth) return sendAuthError(reply, 429, 'too_many_requests', AUTH_RATE_LIMIT_MESSAGE);
      return sendManagementError(reply, 429, RATE_LIMIT_MESSAGE, 'too_many_requests');
    }
  }
  return undefined;
}
