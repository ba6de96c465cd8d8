import type { OldTenant, OldUser, ScriptEnv, ScriptProfile } from './types.js';

interface TokenSlot {
  token?: string;
  expiresAt?: number;
  pending?: Promise<string>;
}

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: unknown; error_description?: unknown; message?: unknown };
  list: unknown[] | undefined;
}

interface Request {
  method: 'GET' | 'POST';
  path: string;
  body?: Record<string, unknown>;
  token?: string;
  headers?: Record<string, string>;
}

interface Impl extends OldTenant {
  request(req: Request): Promise<Answer>;
  tokenSlot(): TokenSlot;
  managementToken(rejected: string | undefined): Promise<string>;
  requestToken(): Promise<{ token: string; lifetimeMs: number }>;
  api(path: string): Promise<Answer>;
  unavailable(path: string, detail: string): Error;
  misconfigured(detail: string): Error;
  describe(answer: Answer): string;
}

/**
 * The old tenant, as seen from inside a custom-database script. This function's text is shipped
 * to Auth0 (build.ts): it must stay self-contained (no imports, nothing from module scope) and
 * declare nested functions only as object methods or inline callbacks, because tsx/esbuild wraps
 * other nested functions in a `__name` helper that does not exist in Auth0's sandbox.
 */
export function createOldTenant(env: ScriptEnv): OldTenant {
  const cfg = env.configuration ?? {};
  const settings: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(cfg)) {
    if (typeof v === 'string' && v.trim() !== '') settings[k] = v.trim();
  }
  const required = [
    'OLD_AUTH0_DOMAIN',
    'OLD_AUTH0_CLIENT_ID',
    'OLD_AUTH0_CLIENT_SECRET',
    'OLD_AUTH0_CONNECTION',
  ];
  const missing = required.filter((k) => settings[k] === undefined);
  if (missing.length > 0) {
    throw new Error(
      `Lazy migration is not configured: set ${missing.join(', ')} in this connection's configuration ` +
        '(auth0-migrate lazy deploy does it).',
    );
  }
  const domain = settings.OLD_AUTH0_DOMAIN as string;
  const clientId = settings.OLD_AUTH0_CLIENT_ID as string;
  const clientSecret = settings.OLD_AUTH0_CLIENT_SECRET as string;
  const connection = settings.OLD_AUTH0_CONNECTION as string;
  const baseUrl = (settings.OLD_AUTH0_BASE_URL ?? `https://${domain}`).replace(/\/+$/, '');
  const rawTimeout = Number(settings.OLD_AUTH0_TIMEOUT_MS ?? 5000);
  // Auth0 stops a script after 20 s; every call, and all of them together, must end well before.
  const timeoutMs = Number.isFinite(rawTimeout) ? Math.min(Math.max(rawTimeout, 50), 5000) : 5000;
  const deadline = Date.now() + Math.min(3 * timeoutMs, 15000);
  const host = baseUrl.replace(/^https?:\/\//, '');
  // The largest answer read: a few profiles, each within Auth0's profile limit (about 100 KB).
  const maxAnswerBytes = 1024 * 1024;

  const t: Impl = {
    connection,

    unavailable(path, detail) {
      const err = new Error(`The old tenant (${host}) ${detail} on ${path}; please try again in a moment.`);
      (err as Error & { code?: string }).code = 'old_tenant_unavailable';
      return err;
    },

    misconfigured(detail) {
      const err = new Error(`Lazy migration is misconfigured: ${detail}`);
      (err as Error & { code?: string }).code = 'lazy_migration_misconfigured';
      return err;
    },

    describe(answer) {
      const code = typeof answer.body.error === 'string' ? answer.body.error : '';
      const text =
        typeof answer.body.error_description === 'string'
          ? answer.body.error_description
          : typeof answer.body.message === 'string'
            ? answer.body.message
            : '';
      return [String(answer.status), code, text ? `"${text.slice(0, 200)}"` : ''].filter(Boolean).join(' ');
    },

    async request(req) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw t.unavailable(req.path, 'took too long overall');
      const wait = Math.min(timeoutMs, remaining);
      const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
      if (req.body !== undefined) headers['content-type'] = 'application/json';
      if (req.token !== undefined) headers.authorization = `Bearer ${req.token}`;
      let res: Response;
      let text: string;
      try {
        res = await env.fetch(baseUrl + req.path, {
          method: req.method,
          headers,
          body: req.body === undefined ? undefined : JSON.stringify(req.body),
          signal: AbortSignal.timeout(wait),
          // A redirect would carry the client secret and the user's password to wherever it points.
          redirect: 'manual',
        });
        if (res.status >= 300 && res.status < 400) {
          await res.body?.cancel().catch(() => undefined);
          const location = res.headers.get('location') ?? '';
          const to = /^https?:\/\/([^/?#]+)/i.exec(location);
          throw t.misconfigured(
            `the old tenant answered ${req.path} with a redirect (HTTP ${res.status}${to ? ` to ${to[1]}` : ''}), ` +
              'which the scripts never follow: set OLD_AUTH0_BASE_URL (or OLD_AUTH0_DOMAIN) to the address that ' +
              'answers itself.',
          );
        }
        const declared = Number(res.headers.get('content-length'));
        if (declared > maxAnswerBytes) {
          await res.body?.cancel().catch(() => undefined);
          throw t.unavailable(req.path, `sent an answer of more than ${maxAnswerBytes} bytes`);
        }
        const chunks: Uint8Array[] = [];
        let size = 0;
        if (res.body) {
          const reader = res.body.getReader();
          for (;;) {
            const part = await reader.read();
            if (part.done) break;
            size += part.value.byteLength;
            if (size > maxAnswerBytes) {
              await reader.cancel().catch(() => undefined);
              throw t.unavailable(req.path, `sent an answer of more than ${maxAnswerBytes} bytes`);
            }
            chunks.push(part.value);
          }
        }
        text = Buffer.concat(chunks).toString('utf8');
      } catch (err) {
        const e = err as { name?: string; code?: string; cause?: { code?: string } };
        if (e.code === 'old_tenant_unavailable' || e.code === 'lazy_migration_misconfigured') throw err;
        if (e.name === 'TimeoutError' || e.name === 'AbortError') {
          throw t.unavailable(req.path, `did not answer within ${wait} ms`);
        }
        const why =
          e.cause && typeof e.cause.code === 'string'
            ? e.cause.code
            : e.cause && typeof (e.cause as { message?: unknown }).message === 'string'
              ? String((e.cause as { message: string }).message).slice(0, 100)
              : 'network error';
        throw t.unavailable(req.path, `could not be reached (${why})`);
      }
      let parsed: unknown;
      try {
        parsed = text === '' ? {} : JSON.parse(text);
      } catch {
        parsed = {};
      }
      const list = Array.isArray(parsed) ? parsed : undefined;
      const body = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {};
      return { status: res.status, body: body as Answer['body'], list };
    },

    async verifyPassword(username, password, ip) {
      const path = '/oauth/token';
      const answer = await t.request({
        method: 'POST',
        path,
        headers: ip ? { 'auth0-forwarded-for': ip } : {},
        body: {
          grant_type: 'http://auth0.com/oauth/grant-type/password-realm',
          realm: connection,
          client_id: clientId,
          client_secret: clientSecret,
          username,
          password,
          scope: 'openid',
        },
      });
      const { status, body } = answer;
      if (status >= 200 && status < 300) {
        let sub: string | undefined;
        const idToken = body.id_token;
        if (typeof idToken === 'string' && idToken.split('.').length === 3) {
          try {
            const claims = JSON.parse(
              Buffer.from(idToken.split('.')[1] as string, 'base64url').toString('utf8'),
            );
            if (claims && typeof claims.sub === 'string') sub = claims.sub;
          } catch {
            sub = undefined;
          }
        }
        return { sub };
      }
      const code = typeof body.error === 'string' ? body.error : '';
      const text = typeof body.error_description === 'string' ? body.error_description : '';
      if (code === 'mfa_required') {
        throw new env.UnauthorizedError(
          'This account uses multi-factor authentication in the old tenant, which a migration login cannot ' +
            'complete (mfa_required). Exempt the migration application from MFA in the old tenant, or let the ' +
            'bulk sweep move this user.',
        );
      }
      if (code === 'too_many_attempts') {
        throw new env.UnauthorizedError(
          'The old tenant has blocked this account after too many failed logins (too_many_attempts); unblock ' +
            'it there or follow the email it sent, then try again.',
        );
      }
      if (/blocked/i.test(text)) throw t.blocked();
      if (status === 429) throw t.unavailable(path, `is rate-limiting logins (${t.describe(answer)})`);
      if (status >= 500) throw t.unavailable(path, `failed (${t.describe(answer)})`);
      if (code === 'unauthorized_client') {
        throw t.misconfigured(
          `the old tenant does not allow the password-realm grant for OLD_AUTH0_CLIENT_ID (${t.describe(answer)}). ` +
            "Enable the Password grant in that application's Advanced Settings > Grant Types.",
        );
      }
      if (status === 403 && (code === 'invalid_grant' || code === 'invalid_user_password' || code === '')) {
        if (text === '' || /wrong|invalid (username|email|password|credentials)/i.test(text)) {
          throw new env.WrongUsernameOrPasswordError(username, 'Wrong email or password.');
        }
        throw new env.UnauthorizedError(`The old tenant refused this login: ${text.slice(0, 200)}`);
      }
      // A rule or action of the old tenant refusing this user (403 access_denied) is about the user.
      if (status === 403 && code === 'access_denied') {
        throw new env.UnauthorizedError(`The old tenant refused this login: ${(text || code).slice(0, 200)}`);
      }
      if (status === 401 || code === 'invalid_client' || code === 'access_denied') {
        throw t.misconfigured(
          `the old tenant rejected the application OLD_AUTH0_CLIENT_ID (${t.describe(answer)}). Check ` +
            'OLD_AUTH0_CLIENT_ID and OLD_AUTH0_CLIENT_SECRET, and that the application is enabled for ' +
            'OLD_AUTH0_CONNECTION.',
        );
      }
      throw t.misconfigured(
        `the old tenant answered ${t.describe(answer)} to the password-realm login on connection ` +
          `"${connection}" (OLD_AUTH0_CONNECTION).`,
      );
    },

    tokenSlot() {
      const key = 'auth0MigrateManagementTokens';
      const store = (env.global[key] ??= {}) as Record<string, TokenSlot>;
      return (store[`${baseUrl} ${clientId}`] ??= {});
    },

    async requestToken() {
      const path = '/oauth/token';
      const answer = await t.request({
        method: 'POST',
        path,
        body: {
          grant_type: 'client_credentials',
          client_id: clientId,
          client_secret: clientSecret,
          audience: `https://${domain}/api/v2/`,
        },
      });
      const token = answer.body.access_token;
      if (answer.status === 200 && typeof token === 'string' && token !== '') {
        const seconds = Number(answer.body.expires_in);
        return { token, lifetimeMs: (Number.isFinite(seconds) && seconds > 0 ? seconds : 86400) * 1000 };
      }
      if (answer.status === 429)
        throw t.unavailable(path, `is rate-limiting token requests (${t.describe(answer)})`);
      if (answer.status >= 500) throw t.unavailable(path, `failed (${t.describe(answer)})`);
      throw t.misconfigured(
        `the old tenant refused a Management API token to OLD_AUTH0_CLIENT_ID (${t.describe(answer)}). ` +
          'Authorise that application for the Management API with the read:users scope.',
      );
    },

    managementToken(rejected) {
      const slot = t.tokenSlot();
      if (slot.pending) return slot.pending;
      // Renew a little before expiry; after a 401, only if nobody has renewed it meanwhile.
      const fresh =
        slot.token !== undefined &&
        slot.expiresAt !== undefined &&
        Date.now() < slot.expiresAt &&
        slot.token !== rejected;
      if (fresh) return Promise.resolve(slot.token as string);
      const pending = t
        .requestToken()
        .then((got) => {
          slot.token = got.token;
          slot.expiresAt = Date.now() + got.lifetimeMs - Math.min(60000, got.lifetimeMs / 2);
          return got.token;
        })
        .finally(() => {
          if (slot.pending === pending) slot.pending = undefined;
        });
      slot.pending = pending;
      return pending;
    },

    async api(path) {
      let token = await t.managementToken(undefined);
      let answer = await t.request({ method: 'GET', path, token });
      if (answer.status === 401) {
        token = await t.managementToken(token);
        answer = await t.request({ method: 'GET', path, token });
      }
      const shown = path.split('?')[0] as string;
      if (answer.status === 429)
        throw t.unavailable(shown, `is rate-limiting the Management API (${t.describe(answer)})`);
      if (answer.status >= 500) throw t.unavailable(shown, `failed (${t.describe(answer)})`);
      if (answer.status === 401 || answer.status === 403) {
        throw t.misconfigured(
          `the old tenant refused ${shown} to OLD_AUTH0_CLIENT_ID (${t.describe(answer)}). Grant that ` +
            'application the read:users scope on the Management API.',
        );
      }
      return answer;
    },

    async usersByEmail(email) {
      const path = `/api/v2/users-by-email?email=${encodeURIComponent(email.trim().toLowerCase())}`;
      const answer = await t.api(path);
      if (answer.status !== 200 || answer.list === undefined) {
        throw t.unavailable('/api/v2/users-by-email', `answered unexpectedly (${t.describe(answer)})`);
      }
      return (answer.list as OldUser[]).filter((u) => {
        if (u === null || typeof u !== 'object' || typeof u.user_id !== 'string') return false;
        if (!Array.isArray(u.identities)) return true;
        return u.identities.some((i) => i && i.connection === connection);
      });
    },

    async userById(userId) {
      const answer = await t.api(`/api/v2/users/${encodeURIComponent(userId)}`);
      if (answer.status === 404) return null;
      if (answer.status !== 200 || typeof answer.body.user_id !== 'string') {
        throw t.unavailable('/api/v2/users/{id}', `answered unexpectedly (${t.describe(answer)})`);
      }
      return answer.body as OldUser;
    },

    toProfile(user) {
      const id = String(user.user_id);
      const profile: ScriptProfile = {
        user_id: id.startsWith('auth0|') ? id.slice('auth0|'.length) : id,
        email_verified: user.email_verified === true,
      };
      const texts = [
        'email',
        'username',
        'name',
        'nickname',
        'given_name',
        'family_name',
        'picture',
      ] as const;
      for (const k of texts) {
        const v = user[k];
        if (typeof v === 'string' && v !== '') profile[k] = v;
      }
      for (const k of ['user_metadata', 'app_metadata'] as const) {
        const v = user[k];
        if (v !== null && typeof v === 'object' && !Array.isArray(v))
          profile[k] = v as Record<string, unknown>;
      }
      return profile;
    },

    blocked() {
      return new env.UnauthorizedError('This account is blocked in the old tenant, so it is not migrated.');
    },
  };
  return t;
}
