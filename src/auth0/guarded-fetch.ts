/**
 * What every request to a tenant goes through: the SDK's calls, the token request and the
 * Authentication API. Each carries the client secret, a token or users, so a redirect is refused,
 * never followed (Node's fetch re-sends the body of a 307 or 308 to any host); and an answer is
 * cut off past a size, so a broken or hostile server cannot grow the process.
 */
import { Auth0Error } from './errors.js';
import { TenantName, type TenantDescription } from './map-error.js';

/** The largest answer read from the Management or Authentication API. */
export const DEFAULT_MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/** `inner` with redirects refused and answers capped at `maxBytes`. */
export function guardedFetch(t: TenantDescription, maxBytes: number, inner: typeof fetch): typeof fetch {
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
    return new Response(
      capped(res.body, maxBytes, () => answerTooLarge(t, operation, maxBytes, res.status)),
      {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
      },
    );
  };
}

/** `body` until it passes `maxBytes`; then it fails with `tooLarge()` and the source is cancelled. */
export function capped(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  tooLarge: () => Error,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let size = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        controller.error(tooLarge());
        return;
      }
      controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
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
