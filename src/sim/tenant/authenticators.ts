/**
 * A user's MFA enrolments, which the Management API calls authentication methods: made by an
 * import's `mfa_factors`, by POST /users/{id}/authentication-methods or by the seed, and listed
 * the way real tenants list them (email and phone masked, `confirmed: true`). A TOTP secret is
 * kept for the enrolment and never leaves through the API.
 */
import { randomAlnum } from '../ids.js';
import { mfaFactorsErrors } from '../schemas.js';

export type AuthenticatorType = 'totp' | 'phone' | 'email';

export interface SimAuthenticator {
  /** `<type>|dev_` and 16 alphanumerics, as Auth0 names them. */
  id: string;
  type: AuthenticatorType;
  name?: string;
  created_at: string;
  /** TOTP: the un-padded base32 secret. Never in an answer. */
  secret?: string;
  /** Phone: the E.164 number. */
  phone_number?: string;
  preferred_authentication_method?: 'sms' | 'voice';
  /** Email: the address codes go to. */
  email?: string;
}

export const newAuthenticatorId = (type: AuthenticatorType, body = randomAlnum(16)): string =>
  `${type}|dev_${body}`;

// Recorded answers mask `chuck334@example.com` as `chuc****@exam*******` and `foo@example.com` as
// `****@exam*******`: at most four characters of each side kept, never the last four.
function maskPart(s: string): string {
  const keep = Math.min(4, Math.max(0, s.length - 4));
  return s.slice(0, keep) + '*'.repeat(Math.max(4, s.length - keep));
}

export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 0) return maskPart(email);
  return `${maskPart(email.slice(0, at))}@${maskPart(email.slice(at + 1))}`;
}

/** `+44207183875044` → `XXXXXXXXXXX5044`, as recorded. */
export function maskPhone(phone: string): string {
  return 'X'.repeat(Math.max(0, phone.length - 4)) + phone.slice(-4);
}

function phoneMethods(a: SimAuthenticator): Record<string, unknown> {
  if (a.type !== 'phone') return {};
  const via = a.preferred_authentication_method ?? 'sms';
  return {
    preferred_authentication_method: via,
    authentication_methods: [{ id: `${via}|${a.id.slice(a.id.indexOf('|') + 1)}`, type: via }],
  };
}

/** An enrolment as GET /users/{id}/authentication-methods[/{id}] shows it. */
export function listedAuthenticator(a: SimAuthenticator): Record<string, unknown> {
  const out: Record<string, unknown> = { id: a.id, type: a.type, confirmed: true };
  if (a.name !== undefined) out.name = a.name;
  if (a.email !== undefined) out.email = maskEmail(a.email);
  if (a.phone_number !== undefined) out.phone_number = maskPhone(a.phone_number);
  out.created_at = a.created_at;
  return { ...out, ...phoneMethods(a) };
}

/** The 201 answer of POST /users/{id}/authentication-methods (recorded: masked, no `confirmed`). */
export function createdAuthenticator(a: SimAuthenticator): Record<string, unknown> {
  const out: Record<string, unknown> = { type: a.type };
  if (a.name !== undefined) out.name = a.name;
  out.created_at = a.created_at;
  if (a.email !== undefined) out.email = maskEmail(a.email);
  if (a.phone_number !== undefined) out.phone_number = maskPhone(a.phone_number);
  return { ...out, ...phoneMethods(a), id: a.id };
}

/** What an enrolment is the same as, for duplicates: one TOTP per user, one of each phone or email. */
export function enrolmentKey(a: Pick<SimAuthenticator, 'type' | 'phone_number' | 'email'>): string {
  if (a.type === 'totp') return 'totp';
  return a.type === 'phone' ? `phone:${a.phone_number}` : `email:${a.email?.toLowerCase()}`;
}

export interface FactorsFailure {
  /** Where the factors went wrong, e.g. `mfa_factors[0].totp.secret`. */
  path: string;
}

/**
 * An import's `mfa_factors` as enrolments, or where they fail (Auth0 answers MFA_FACTORS_FAILED
 * "Unable to import factors" and still applies the user's other fields). Beyond the schema, each
 * factor must name one type, and a user enrols one TOTP and each phone or email once.
 */
export function authenticatorsFromFactors(
  factors: unknown,
  now: string,
): SimAuthenticator[] | FactorsFailure {
  const errors = mfaFactorsErrors(factors);
  if (errors.length > 0) return { path: errors[0]!.path };
  const out: SimAuthenticator[] = [];
  const seen = new Set<string>();
  for (const [i, factor] of (
    factors as Array<Record<string, { secret?: string; value?: string }>>
  ).entries()) {
    const [type] = Object.keys(factor) as AuthenticatorType[];
    if (type === undefined) return { path: `mfa_factors[${i}]` };
    const spec = factor[type]!;
    const a: SimAuthenticator = { id: newAuthenticatorId(type), type, created_at: now };
    if (type === 'totp') a.secret = spec.secret;
    else if (type === 'phone') {
      a.phone_number = spec.value;
      a.preferred_authentication_method = 'sms';
    } else a.email = spec.value;
    const key = enrolmentKey(a);
    if (seen.has(key)) return { path: `mfa_factors[${i}]` };
    seen.add(key);
    out.push(a);
  }
  return out;
}

/** Auth0's `multifactor` profile field: the MFA providers a user is enrolled with. */
export function multifactorOf(authenticators: readonly SimAuthenticator[] | undefined): string[] | undefined {
  return authenticators !== undefined && authenticators.length > 0 ? ['guardian'] : undefined;
}

/** An enrolment as the import schema's `mfa_factors` item (the secrets export of Auth0 support). */
export function asImportFactor(a: SimAuthenticator): Record<string, unknown> {
  if (a.type === 'totp') return { totp: { secret: a.secret } };
  return a.type === 'phone' ? { phone: { value: a.phone_number } } : { email: { value: a.email } };
}
