import type { Secret } from '../config.js';

/** Keys whose values never go into a report, at any depth. */
const SECRET_KEYS = new Set([
  'password',
  'password_hash',
  'custom_password_hash',
  'passwordhash',
  'client_secret',
  'clientsecret',
  'access_token',
  'refresh_token',
  'authorization',
  'mfa_factors',
  'totp_secret',
]);

/**
 * Password hashes as they appear in hash files and import payloads: bcrypt (`$2b$10$…`), argon2, and
 * the other PHC-style strings Auth0's `custom_password_hash` accepts. Matched anywhere in a string,
 * because an error message can quote the value it rejected.
 */
const HASH_PATTERNS: readonly RegExp[] = [
  /\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}/g,
  /\$argon2(?:id|i|d)\$[^\s"',]+/g,
  /\$(?:pbkdf2(?:-sha\d+)?|scrypt|sha256|sha512|ldap|md5|apr1|[156])\$[^\s"',]{8,}/g,
];

export const REDACTED = '[redacted]';

/**
 * Strips what must never reach a report: keys named like secrets or password hashes are dropped,
 * hash-looking substrings and the given secret values are replaced by `[redacted]`. Counts every
 * change in `counter.redacted` so the writer can say that something was removed.
 */
export class Sanitizer {
  redacted = 0;
  readonly #secrets: string[];

  constructor(secrets: ReadonlyArray<Secret | string> = []) {
    this.#secrets = secrets.map((s) => (typeof s === 'string' ? s : s.reveal())).filter((s) => s.length >= 4);
  }

  /** A deep copy of `value` without secret keys, hashes or secret values. */
  clean<T>(value: T): T {
    return this.#clean(value) as T;
  }

  text(value: string): string {
    let out = value;
    for (const pattern of HASH_PATTERNS) {
      out = out.replace(pattern, () => {
        this.redacted++;
        return REDACTED;
      });
    }
    for (const secret of this.#secrets) {
      if (out.includes(secret)) {
        this.redacted++;
        out = out.split(secret).join(REDACTED);
      }
    }
    return out;
  }

  #clean(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((v) => this.#clean(v));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        if (SECRET_KEYS.has(key.toLowerCase())) {
          this.redacted++;
          continue;
        }
        out[key] = this.#clean(v);
      }
      return out;
    }
    return value;
  }
}
