/**
 * The client-credentials token of one tenant. The SDK's TokenProvider fetches it, caches it until
 * 10 s before `expires_in` and shares one request between concurrent callers; this wrapper adds
 * what it lacks: dropping a token the API refused (one renewal per 401), and turning token
 * failures into our errors with messages naming the variables to check.
 */
import { TokenProvider } from 'auth0';
import type { Secret } from '../config.js';
import type { Auth0Error } from './errors.js';
import { fromThrown, fromTokenFailure, networkError, type TenantDescription } from './map-error.js';

export interface TokenSourceOptions {
  domain: string;
  clientId: string;
  clientSecret: Secret;
  audience: string;
  fetch: typeof fetch;
  tenant: TenantDescription;
}

export class TokenSource {
  #provider: TokenProvider;
  #generation = 0;
  #current: string | undefined;
  readonly #options: TokenSourceOptions;
  /** What the provider threw, for each error {@link get} made of it. */
  readonly #failures = new WeakMap<Auth0Error, unknown>();

  constructor(options: TokenSourceOptions) {
    this.#options = options;
    this.#provider = this.#newProvider();
  }

  /** Bumped each time a token is dropped; a caller passes the value it saw to {@link invalidate}. */
  get generation(): number {
    return this.#generation;
  }

  /** The token in use, for scrubbing it out of messages. */
  get current(): string | undefined {
    return this.#current;
  }

  async get(): Promise<string> {
    try {
      this.#current = await this.#provider.getAccessToken();
      return this.#current;
    } catch (thrown) {
      const err = this.#mapFailure(thrown, 'POST /oauth/token');
      this.#failures.set(err, thrown);
      throw err;
    }
  }

  /**
   * A failure of {@link get} reported as `operation`'s, the API call that needed the token: a
   * tenant out of reach is then named by the same call its retries name. Other errors as they are.
   */
  asFailureOf(err: Auth0Error, operation: string): Auth0Error {
    const thrown = this.#failures.get(err);
    return thrown === undefined ? err : this.#mapFailure(thrown, operation);
  }

  /**
   * Drops the cached token so the next call fetches a new one. Several calls refused with the same
   * token renew it once: only the first caller of a generation replaces the provider.
   */
  invalidate(seenGeneration: number): void {
    if (seenGeneration !== this.#generation) return;
    this.#generation++;
    this.#current = undefined;
    this.#provider = this.#newProvider();
  }

  #newProvider(): TokenProvider {
    const o = this.#options;
    return new TokenProvider({
      domain: o.domain,
      clientId: o.clientId,
      clientSecret: o.clientSecret.reveal(),
      audience: o.audience,
      fetch: o.fetch,
    });
  }

  #mapFailure(thrown: unknown, operation: string): Auth0Error {
    const t = this.#options.tenant;
    const err = thrown as { name?: unknown; statusCode?: unknown; body?: unknown };
    if (
      err !== null &&
      typeof err === 'object' &&
      err.name === 'ManagementError' &&
      typeof err.statusCode === 'number'
    ) {
      // The provider reports its own 10 s timeout as a 408.
      if (err.statusCode === 408) return networkError(t, operation, thrown);
      return fromTokenFailure(t, { status: err.statusCode, body: err.body }, thrown, operation);
    }
    return fromThrown(t, { operation }, thrown);
  }
}
