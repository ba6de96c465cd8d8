/**
 * What every request to a tenant goes through: the SDK's calls, the token request and the
 * Authentication API. Each carries the client secret, a token or users, so a redirect is refused,
 * never followed (Node's fetch re-sends the body of a 307 or 308 to any host); and an answer is
 * cut off past a size, so a broken or hostile server cannot grow the process.
 */
import { Auth0Error } from './errors.js';
import { TenantName, tenantName, type TenantDescription } from './map-error.js';

/** The largest answer read from the Management or Authentication API. */
export const DEFAULT_MAX_ANSWER_BYTES = 16 * 1024 * 1024;

export interface GuardOptions {
  /** The largest answer read. */
  maxBytes: number;
  /**
   * How long an answer's body may take once its headers came (the SDK's own time limit ends
   * with the headers, so a body trickling on would otherwise never end).
   */
  bodyTimeoutMs: number;
}

/** `inner` with redirects refused, answers capped at `maxBytes` and bodies bounded in time. */
export function guardedFetch(t: TenantDescription, guard: GuardOptions, inner: typeof fetch): typeof fetch {
  const { maxBytes, bodyTimeoutMs } = guard;
  return async (input, init) => {
    const res = await inner(input, { ...init, redirect: 'manual' });
    const operation = describeRequest(input, init);
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel().catch(() => undefined);
      throw redirected(t, operation, res.status, res.headers.get('location'));
    }
    const declared = Number(res.headers.get('content-length'));
    if (declared > maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw answerTooLarge(t, operation, maxBytes, res.status);
    }
    if (res.body === null) return res;
    const body = capped(res.body, {
      maxBytes,
      tooLarge: () => answerTooLarge(t, operation, maxBytes, res.status),
      timeoutMs: bodyTimeoutMs,
      tooSlow: () => bodyTooSlow(t, operation, bodyTimeoutMs),
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

/**
 * `body` until it passes `maxBytes` (then it fails with `tooLarge()`) or `timeoutMs` from now (then
 * with `tooSlow()`); either way the source is cancelled, which closes the connection.
 */
export function capped(
  body: ReadableStream<Uint8Array>,
  limits: { maxBytes: number; tooLarge: () => Error; timeoutMs: number; tooSlow: () => Error },
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let size = 0;
  let timer: NodeJS.Timeout | undefined;
  let failed = false;
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, err: Error): void => {
    failed = true;
    clearTimeout(timer);
    reader.cancel().catch(() => undefined);
    controller.error(err);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setTimeout(() => fail(controller, limits.tooSlow()), limits.timeoutMs);
      timer.unref();
    },
    async pull(controller) {
      let part: Awaited<ReturnType<typeof reader.read>>;
      try {
        part = await reader.read();
      } catch (err) {
        if (!failed) throw err;
        return;
      }
      if (failed) return;
      if (part.done) {
        clearTimeout(timer);
        controller.close();
        return;
      }
      size += part.value.byteLength;
      if (size > limits.maxBytes) {
        fail(controller, limits.tooLarge());
        return;
      }
      controller.enqueue(part.value);
    },
    cancel: (reason) => {
      clearTimeout(timer);
      return reader.cancel(reason);
    },
  });
}

function bodyTooSlow(t: TenantDescription, operation: string, ms: number): Auth0Error {
  return new Auth0Error(
    'network',
    t.scrub(
      `${operation} on ${tenantName(t)}: the answer did not end within ${ms} ms; it may be tried again.`,
    ),
    { cause: Object.assign(new Error('body timeout'), { code: 'ETIMEDOUT' }) },
  );
}

/** `POST /oauth/token`: the method and path, never the query (it may name a user). */
function describeRequest(input: Parameters<typeof fetch>[0], init: RequestInit | undefined): string {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const method = init?.method ?? (typeof input === 'object' && 'method' in input ? input.method : 'GET');
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    // Not a URL: shown as it is.
  }
  return `${method.toUpperCase()} ${path}`;
}

export function redirected(
  t: TenantDescription,
  operation: string,
  status: number,
  location: string | null,
): Auth0Error {
  let to = '';
  try {
    if (location !== null) to = ` to ${new URL(location, t.baseUrl).host}`;
  } catch {
    // An unreadable location: the status says enough.
  }
  const vars =
    t.envPrefix === undefined ? 'the base URL' : `${t.envPrefix}BASE_URL (or ${t.envPrefix}DOMAIN)`;
  return new Auth0Error(
    'redirected',
    t.scrub(
      `${TenantName(t)} answered ${operation} with a redirect (HTTP ${status}${to}). Requests to a tenant carry the client secret, a token or users, so they never follow one: set ${vars} to the address that answers itself.`,
    ),
    { status },
  );
}

export function answerTooLarge(
  t: TenantDescription,
  operation: string,
  maxBytes: number,
  status: number,
): Auth0Error {
  return new Auth0Error(
    'answer_too_large',
    t.scrub(
      `${TenantName(t)} answered ${operation} with more than ${maxBytes} bytes, more than any answer of Auth0's APIs: check ${t.envPrefix ?? ''}BASE_URL.`,
    ),
    { status },
  );
}
