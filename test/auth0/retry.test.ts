import { describe, expect, it } from 'vitest';
import { Auth0Error } from '../../src/auth0/errors.js';
import { rateLimitWaitMs, resolveRetryOptions, retryDelayMs, withRetry } from '../../src/auth0/retry.js';

const fast = resolveRetryOptions({ baseDelayMs: 1, maxDelayMs: 20, rateLimitFallbackMs: 1, maxAttempts: 4 });

describe('rateLimitWaitMs', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  it('reads x-ratelimit-reset as an absolute epoch in seconds, not a duration', () => {
    expect(rateLimitWaitMs({ 'x-ratelimit-reset': String(now / 1000 + 7) }, now)).toBe(7000);
    expect(rateLimitWaitMs({ 'X-RateLimit-Reset': String(now / 1000 - 3) }, now)).toBe(0);
  });

  it('prefers Retry-After, in seconds or as an HTTP date', () => {
    const headers = new Headers({ 'retry-after': '3', 'x-ratelimit-reset': String(now / 1000 + 30) });
    expect(rateLimitWaitMs(headers, now)).toBe(3000);
    expect(rateLimitWaitMs({ 'retry-after': new Date(now + 5000).toUTCString() }, now)).toBe(5000);
  });

  it('is undefined when no header gives a time', () => {
    expect(rateLimitWaitMs({}, now)).toBeUndefined();
    expect(rateLimitWaitMs({ 'x-ratelimit-reset': 'soon' }, now)).toBeUndefined();
  });
});

describe('retryDelayMs', () => {
  const opts = resolveRetryOptions({ baseDelayMs: 100, maxDelayMs: 1000, jitter: 0.2 });

  it('waits what the rate limit asks, plus up to 20% jitter, capped', () => {
    const err = new Auth0Error('rate_limited', 'x', { retryAfterMs: 500 });
    expect(retryDelayMs(err, 0, opts, () => 0)).toBe(500);
    expect(retryDelayMs(err, 0, opts, () => 1)).toBe(600);
    const long = new Auth0Error('rate_limited', 'x', { retryAfterMs: 50_000 });
    expect(retryDelayMs(long, 0, opts, () => 0.5)).toBe(1000);
  });

  it('backs off exponentially with jitter for 5xx and network errors, bounded', () => {
    const err = new Auth0Error('server_error', 'x', { status: 503 });
    expect(retryDelayMs(err, 0, opts, () => 1)).toBe(100);
    expect(retryDelayMs(err, 0, opts, () => 0)).toBe(50);
    expect(retryDelayMs(err, 3, opts, () => 1)).toBe(800);
    expect(retryDelayMs(err, 10, opts, () => 1)).toBe(1000);
    expect(retryDelayMs(new Auth0Error('network', 'x'), 1, opts, () => 0)).toBe(100);
  });

  it('does not retry other failures', () => {
    for (const code of ['bad_request', 'missing_scope', 'import_slots_busy', 'outcome_unknown'] as const) {
      expect(retryDelayMs(new Auth0Error(code, 'x'), 0, opts)).toBeUndefined();
    }
  });
});

describe('withRetry', () => {
  it('repeats 5xx until success', async () => {
    let calls = 0;
    const out = await withRetry({ operation: 'GET /x', options: fast }, async () => {
      calls++;
      if (calls < 3) throw new Auth0Error('server_error', 'boom', { status: 502 });
      return 'ok';
    });
    expect(out).toBe('ok');
    expect(calls).toBe(3);
  });

  it('gives up after maxAttempts with the last error', async () => {
    let calls = 0;
    await expect(
      withRetry({ operation: 'GET /x', options: fast }, async () => {
        calls++;
        throw new Auth0Error('network', `drop ${calls}`);
      }),
    ).rejects.toMatchObject({ code: 'network', message: 'drop 4' });
    expect(calls).toBe(4);
  });

  it('does not repeat a 4xx', async () => {
    let calls = 0;
    await expect(
      withRetry({ operation: 'GET /x', options: fast }, async () => {
        calls++;
        throw new Auth0Error('bad_request', 'no');
      }),
    ).rejects.toMatchObject({ code: 'bad_request' });
    expect(calls).toBe(1);
  });

  it('lets rate-limit waits outlast the 5xx budget, up to maxRateLimitWaits', async () => {
    let calls = 0;
    const out = await withRetry(
      { operation: 'GET /x', options: { ...fast, maxRateLimitWaits: 10 } },
      async () => {
        calls++;
        if (calls <= 8) throw new Auth0Error('rate_limited', 'slow down', { retryAfterMs: 1 });
        return calls;
      },
    );
    expect(out).toBe(9);

    calls = 0;
    await expect(
      withRetry({ operation: 'GET /x', options: { ...fast, maxRateLimitWaits: 2 } }, async () => {
        calls++;
        throw new Auth0Error('rate_limited', 'slow down', { retryAfterMs: 1 });
      }),
    ).rejects.toMatchObject({ code: 'rate_limited' });
    expect(calls).toBe(3);
  });

  it('honours the wait the error carries', async () => {
    let calls = 0;
    const started = performance.now();
    await withRetry({ operation: 'GET /x', options: resolveRetryOptions({ jitter: 0 }) }, async () => {
      calls++;
      if (calls === 1) throw new Auth0Error('rate_limited', 'slow down', { retryAfterMs: 150 });
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('asks canRetry before repeating', async () => {
    let calls = 0;
    await expect(
      withRetry(
        { operation: 'POST /x', options: fast, canRetry: (e) => e.code === 'rate_limited' },
        async () => {
          calls++;
          throw new Auth0Error('server_error', 'boom', { status: 500 });
        },
      ),
    ).rejects.toMatchObject({ code: 'server_error' });
    expect(calls).toBe(1);
  });

  it('stops waiting when the signal aborts', async () => {
    const ac = new AbortController();
    const run = withRetry(
      { operation: 'GET /x', options: resolveRetryOptions(), signal: ac.signal },
      async () => {
        throw new Auth0Error('rate_limited', 'slow down', { retryAfterMs: 30_000 });
      },
    );
    setTimeout(() => ac.abort(new Error('stopped')), 20);
    await expect(run).rejects.toThrow('stopped');
  });
});
