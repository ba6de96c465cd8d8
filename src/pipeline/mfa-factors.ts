/**
 * MFA enrolments from the secrets file Auth0 support exports on request. It has no public schema,
 * so this reads what the README states: NDJSON, one user per line, keyed by `user_id` (with or
 * without `auth0|`) or, for a line without one, by `email`, carrying the import schema's
 * `mfa_factors`:
 *
 *   {"user_id":"auth0|5dea…","email":"…","mfa_factors":[{"totp":{"secret":"JBSWY3DPEHPK3PXP"}},{"phone":{"value":"+14155550123"}}]}
 *
 * Items may also be written `{"type":"totp","secret":"…"}` / `{"type":"phone"|"email","value":"…"}`
 * (the form other migration tools assume); they are turned into the import schema's shape.
 *
 * Factors are checked here as Auth0's import schema checks them (1 to 10 items, one type each, an
 * un-padded upper-case base32 TOTP secret, an E.164 phone, an email), plus one TOTP per user and
 * no repeated phone or email: a user whose factors fail is skipped (`mfa_factors_invalid`) instead
 * of sent to fail on its own or spoil anything else. A secret never appears in a message: problems
 * name the line, the user and the path.
 */
import { emailKey, idKey } from './keys.js';
import { createReadState, readExportChunks, type ExportInput, type ReadState } from './read.js';
import { isSchemaEmail } from './schema.js';
import type { ImportCandidate, Skipped } from './types.js';

export type MfaFactor =
  { totp: { secret: string } } | { phone: { value: string } } | { email: { value: string } };

export interface MfaFileProblem {
  line: number;
  userId?: string;
  detail: string;
}

export interface MfaFactorStats {
  /** Non-blank lines read. */
  lines: number;
  /** Users with valid factors. */
  users: number;
  /** Users whose factors fail the checks (they will be skipped as `mfa_factors_invalid`). */
  invalid: number;
  /** Lines reported in `problems` (malformed, no key, repeated user). */
  problems: number;
}

/** What the file holds for one user: factors to import, or why they cannot be. */
export type MfaEntry = { factors: MfaFactor[] } | { invalid: string };

/** Marks an email that more than one id-less line carries: such an email matches nobody. */
const AMBIGUOUS: MfaEntry = { invalid: 'ambiguous' };

const TOTP_SECRET = /^[A-Z2-7]+$/;
const E164 = /^\+[0-9]{1,15}$/;
const MAX_FACTORS = 10;

/** The factors by user id, or by lower-cased email for lines without an id. Build with {@link loadMfaFactors}. */
export class MfaFactors {
  readonly #byKey = new Map<string, MfaEntry>();
  readonly #used = new Set<string>();

  get size(): number {
    return this.#byKey.size;
  }

  /** Entries no user asked for so far (after a run: users of the file who were not imported). */
  get unused(): number {
    return this.#byKey.size - this.#used.size;
  }

  /**
   * `duplicate`: the id already has an entry (the earlier line wins); `ambiguous`: another id-less
   * line has the email, which then matches nobody.
   */
  set(key: { userId?: string; email?: string }, entry: MfaEntry): 'ok' | 'duplicate' | 'ambiguous' {
    if (key.userId !== undefined) {
      const k = keyOf('id', key.userId);
      if (this.#byKey.has(k)) return 'duplicate';
      this.#byKey.set(k, entry);
      return 'ok';
    }
    const k = keyOf('email', key.email!);
    if (!this.#byKey.has(k)) {
      this.#byKey.set(k, entry);
      return 'ok';
    }
    this.#byKey.set(k, AMBIGUOUS);
    return 'ambiguous';
  }

  /** By the user's id (without `auth0|`), else by its email among the lines that have no id. */
  lookup(userId: string | undefined, email: string | undefined): MfaEntry | undefined {
    for (const k of [
      userId !== undefined && userId !== '' ? keyOf('id', userId) : undefined,
      email !== undefined && email !== '' ? keyOf('email', email) : undefined,
    ]) {
      if (k === undefined) continue;
      const entry = this.#byKey.get(k);
      if (entry === AMBIGUOUS) return undefined;
      if (entry !== undefined) {
        this.#used.add(k);
        return entry;
      }
    }
    return undefined;
  }
}

// Hashed keys (keys.ts) rather than the ids and emails themselves: the same 96 bits the other tables use.
function keyOf(kind: 'id' | 'email', value: string): string {
  const k = new Uint32Array(3);
  if (kind === 'id') idKey(value.startsWith('auth0|') ? value.slice(6) : value, k);
  else emailKey(value.trim().toLowerCase(), k);
  return `${kind[0]}${k[0]!.toString(36)}.${k[1]!.toString(36)}.${k[2]!.toString(36)}`;
}

/**
 * The factors of one line in the import schema's shape, or where they fail (a path such as
 * `mfa_factors[1].phone.value` and what is wrong: never the value).
 */
export function checkMfaFactors(raw: unknown): { factors: MfaFactor[] } | { invalid: string } {
  if (!Array.isArray(raw)) return { invalid: 'mfa_factors is not an array' };
  if (raw.length === 0) return { invalid: 'mfa_factors is empty' };
  if (raw.length > MAX_FACTORS) return { invalid: `mfa_factors has more than ${MAX_FACTORS} items` };
  const factors: MfaFactor[] = [];
  const seen = new Set<string>();
  for (const [i, item] of raw.entries()) {
    const at = `mfa_factors[${i}]`;
    const f = normalise(item);
    if (typeof f === 'string') return { invalid: `${at} ${f}` };
    let key: string;
    if ('totp' in f) {
      if (typeof f.totp.secret !== 'string' || !TOTP_SECRET.test(f.totp.secret))
        return { invalid: `${at}.totp.secret is not un-padded upper-case base32` };
      key = 'totp';
    } else if ('phone' in f) {
      if (typeof f.phone.value !== 'string' || !E164.test(f.phone.value))
        return { invalid: `${at}.phone.value is not an E.164 number (+ and up to 15 digits)` };
      key = `phone:${f.phone.value}`;
    } else {
      if (typeof f.email.value !== 'string' || !isSchemaEmail(f.email.value))
        return { invalid: `${at}.email.value is not an email address` };
      key = `email:${f.email.value.toLowerCase()}`;
    }
    if (seen.has(key))
      return {
        invalid: `${at} repeats ${key === 'totp' ? 'a TOTP factor (one per user)' : 'an earlier factor'}`,
      };
    seen.add(key);
    factors.push(f);
  }
  return { factors };
}

function normalise(item: unknown): MfaFactor | string {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return 'is not an object';
  const o = item as Record<string, unknown>;
  if (typeof o.type === 'string') {
    const value = o.type === 'totp' ? o.secret : o.value;
    if (o.type === 'totp') return { totp: { secret: value as string } };
    if (o.type === 'phone') return { phone: { value: value as string } };
    if (o.type === 'email') return { email: { value: value as string } };
    return 'has a type other than totp, phone or email';
  }
  const keys = Object.keys(o);
  if (keys.length !== 1) return 'must hold exactly one of totp, phone, email';
  const [type] = keys as [string];
  const spec = o[type];
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) return `.${type} is not an object`;
  const s = spec as Record<string, unknown>;
  const extra = Object.keys(s).filter((k) => k !== (type === 'totp' ? 'secret' : 'value'));
  if (type !== 'totp' && type !== 'phone' && type !== 'email')
    return 'must hold exactly one of totp, phone, email';
  if (extra.length > 0) return `.${type} has a field the import schema does not allow: ${extra[0]}`;
  return type === 'totp'
    ? { totp: { secret: s.secret as string } }
    : type === 'phone'
      ? { phone: { value: s.value as string } }
      : { email: { value: s.value as string } };
}

export interface LoadMfaFactorsOptions {
  /** Name for messages. @defaultValue the path */
  name?: string;
  /** Problems listed at most (all are counted). @defaultValue 1000 */
  maxProblemsListed?: number;
  state?: ReadState;
}

export interface LoadedMfaFactors {
  factors: MfaFactors;
  stats: MfaFactorStats;
  /** Lines that could not be used, by line number; never with a secret. */
  problems: MfaFileProblem[];
}

/** Reads the MFA secrets file (NDJSON, optionally gzipped). */
export async function loadMfaFactors(
  input: ExportInput,
  options: LoadMfaFactorsOptions = {},
): Promise<LoadedMfaFactors> {
  const factors = new MfaFactors();
  const problems: MfaFileProblem[] = [];
  const maxListed = options.maxProblemsListed ?? 1000;
  const stats: MfaFactorStats = { lines: 0, users: 0, invalid: 0, problems: 0 };
  const report = (p: MfaFileProblem): void => {
    stats.problems++;
    if (problems.length < maxListed) problems.push(p);
  };
  for await (const chunk of readExportChunks(input, {
    ...(options.name !== undefined && { name: options.name }),
    redactParserMessages: true,
    state: options.state ?? createReadState(),
  })) {
    for (const item of chunk) {
      stats.lines++;
      const line = item.source.line;
      if (item.kind !== 'record') {
        report({ line, detail: item.detail });
        continue;
      }
      const r = item.record;
      const userId = typeof r.user_id === 'string' && r.user_id !== '' ? r.user_id : undefined;
      const email = typeof r.email === 'string' && r.email !== '' ? r.email : undefined;
      if (userId === undefined && email === undefined) {
        report({ line, detail: `line ${line}: neither user_id nor email` });
        continue;
      }
      const who = userId ?? email!;
      const entry = checkMfaFactors(r.mfa_factors);
      if ('invalid' in entry) stats.invalid++;
      else stats.users++;
      const key = userId !== undefined ? { userId } : { email: email! };
      const set = factors.set(key, entry);
      if (set === 'duplicate') {
        report({
          line,
          userId: who,
          detail: `line ${line}: ${who} already has factors on an earlier line; this one is ignored`,
        });
      } else if (set === 'ambiguous') {
        report({
          line,
          detail: `line ${line}: an earlier line without user_id has the same email; neither is used`,
        });
      }
    }
  }
  return { factors, stats, problems };
}

/**
 * Merge step for one candidate: its factors go into `mfa_factors` (`hasMfaFactors: true`); factors
 * that fail the checks make the user `mfa_factors_invalid`, skipped with the path at fault.
 */
export function mergeMfaFactors(
  candidate: ImportCandidate,
  factors: MfaFactors | undefined,
): ImportCandidate | Skipped {
  if (factors === undefined) return candidate;
  const found = factors.lookup(candidate.user.user_id, candidate.user.email);
  if (found === undefined) return candidate;
  if ('invalid' in found) {
    return {
      kind: 'skipped',
      source: candidate.source,
      reason: 'mfa_factors_invalid',
      detail: `MFA file: ${found.invalid}; fix the line and import the user again`,
      original: candidate.original,
    };
  }
  candidate.user.mfa_factors = found.factors as Array<Record<string, unknown>>;
  candidate.hasMfaFactors = true;
  return candidate;
}
