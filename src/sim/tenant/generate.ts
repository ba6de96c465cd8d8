/**
 * Deterministic users of realistic shape for seeding: unicode names, metadata, some blocked, some
 * social (google-oauth2), some without email, a few with app_metadata keys Auth0 reserves; and, in
 * the shares asked for, linked accounts and MFA enrolments.
 *
 * A generated user is a pure function of (seed, index), so a million of them cost no memory until
 * one is changed: ids, emails, usernames and phone numbers carry the index and are parsed back.
 * The password of generated user `i` is {@link generatedPassword}(i): `Sim-<i>-Passw0rd!`.
 */
import { hash32, mulberry32 } from '../prng.js';
import { newAuthenticatorId, type SimAuthenticator } from './authenticators.js';
import { gravatarPicture, type SimLinkedIdentity, type SimUser } from './users.js';

export const DB_CONNECTION = 'Username-Password-Authentication';
export const SOCIAL_CONNECTION = 'google-oauth2';

/** Largest number of generated users (the index is the last 6 hex digits of the user id). */
export const MAX_GENERATED = 0xffffff;

/** The documented password of generated user `index` (the same in every tenant and seed). */
export function generatedPassword(index: number): string {
  return `Sim-${index}-Passw0rd!`;
}

export type GeneratedKind = 'db' | 'db-no-email' | 'social';

/** `old`: as in the tenant being left; `migrated`: the same person after a lazy migration. */
export type GeneratedVariant = 'old' | 'migrated';

/** Shares (0..1) of old-tenant users with more than a profile; they draw from their own streams. */
export interface GeneratedExtras {
  /**
   * Users with a linked account: a database user with a linked Google identity, or a Google user
   * with a linked database identity (its password is the generated user's).
   */
  linked: number;
  /** Database users enrolled in MFA: TOTP, phone, email, or TOTP and phone. */
  mfa: number;
}

export const NO_EXTRAS: Readonly<GeneratedExtras> = { linked: 0, mfa: 0 };

const LINK_SALT = 0x11c0ffee;
const MFA_SALT = 0x3fa5eed;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

const FIRST: ReadonlyArray<readonly [string, string]> = [
  ['María', 'maria'],
  ['José', 'jose'],
  ['Zoë', 'zoe'],
  ['Łukasz', 'lukasz'],
  ['Søren', 'soren'],
  ['Chloé', 'chloe'],
  ['Björn', 'bjorn'],
  ['Ngozi', 'ngozi'],
  ['Aarav', 'aarav'],
  ['Mei', 'mei'],
  ['Иван', 'ivan'],
  ['さくら', 'sakura'],
  ['محمد', 'mohammed'],
  ['Olivia', 'olivia'],
  ['Liam', 'liam'],
  ['Emma', 'emma'],
  ['Noah', 'noah'],
  ['Ana', 'ana'],
  ['François', 'francois'],
  ['Jürgen', 'jurgen'],
  ['Ömer', 'omer'],
  ['Siobhán', 'siobhan'],
  ['Ingrid', 'ingrid'],
  ['Kwame', 'kwame'],
  ['Priya', 'priya'],
  ['Dmitrij', 'dmitrij'],
  ['Afonso', 'afonso'],
  ['Yuki', 'yuki'],
  ['Fatima', 'fatima'],
  ['Lucas', 'lucas'],
];
const LAST: ReadonlyArray<readonly [string, string]> = [
  ['García', 'garcia'],
  ['Müller', 'muller'],
  ['Nowak', 'nowak'],
  ["O'Brien", 'obrien'],
  ['Smith', 'smith'],
  ['Nguyễn', 'nguyen'],
  ['Øvergård', 'overgard'],
  ['Иванов', 'ivanov'],
  ['田中', 'tanaka'],
  ['李', 'li'],
  ['Al-Sayed', 'alsayed'],
  ['Johnson', 'johnson'],
  ['Dubois', 'dubois'],
  ['Rossi', 'rossi'],
  ['Silva', 'silva'],
  ['Kim', 'kim'],
  ['Patel', 'patel'],
  ['van der Berg', 'vanderberg'],
  ['Kowalczyk', 'kowalczyk'],
  ['Şahin', 'sahin'],
  ['Papadopoulos', 'papadopoulos'],
  ['Hernández', 'hernandez'],
  ['Okafor', 'okafor'],
  ['Lindqvist', 'lindqvist'],
];
const DOMAINS = ['example.com', 'example.org', 'example.net', 'mail.example.com'];
const LOCALES = ['en-US', 'de-DE', 'fr-FR', 'es-ES', 'ja-JP', 'pl-PL', 'pt-BR'];
const CITIES = ['Zürich', 'São Paulo', 'Kraków', 'München', 'Tokyo', 'Lagos', 'Montréal', 'Reykjavík'];
const PLANS = ['free', 'pro', 'enterprise'];
const ROLES = [['user'], ['user', 'admin'], ['user', 'billing'], []];
const RESERVED_SAMPLES: ReadonlyArray<Record<string, unknown>> = [
  { clientID: 'LegacyClient42' },
  { lastLogin: '2020-02-02T10:00:00.000Z' },
  { email_verified: true },
];

const BASE = Date.UTC(2019, 0, 1);
const SPAN = 5 * 365 * 86_400_000;
const MIGRATION_BASE = Date.UTC(2025, 2, 1);

const pick = <T>(rnd: () => number, list: ReadonlyArray<T>): T => list[Math.floor(rnd() * list.length)]!;

/** The kind of generated user `index` (the first draw of its PRNG). */
export function generatedKind(seed: number, index: number): GeneratedKind {
  return kindOf(mulberry32(hash32(seed, index))());
}

function kindOf(draw: number): GeneratedKind {
  return draw < 0.05 ? 'social' : draw < 0.065 ? 'db-no-email' : 'db';
}

/** Whether old-tenant user `index` has a linked account (the first draw of its link stream). */
function isLinked(seed: number, index: number, kind: GeneratedKind, extras: GeneratedExtras): boolean {
  if (extras.linked <= 0 || kind === 'db-no-email') return false;
  return mulberry32(hash32(seed ^ LINK_SALT, index))() < extras.linked;
}

/** The connections generated user `index` has an identity in, without generating it. */
export function generatedConnections(
  seed: number,
  index: number,
  variant: GeneratedVariant,
  extras: GeneratedExtras,
): string[] {
  const kind = generatedKind(seed, index);
  const own = kind === 'social' ? SOCIAL_CONNECTION : DB_CONNECTION;
  if (variant !== 'old' || !isLinked(seed, index, kind, extras)) return [own];
  return kind === 'social' ? [own, DB_CONNECTION] : [own, SOCIAL_CONNECTION];
}

/** Whether old-tenant user `index` is already in the new tenant for a migrated share `fraction`. */
export function isMigrated(seed: number, index: number, fraction: number): boolean {
  if (fraction <= 0) return false;
  if (generatedKind(seed, index) === 'social') return false;
  return hash32(seed ^ 0x5a5a5a5a, index) / 4294967296 < fraction;
}

function machineHex(seed: number): string {
  return (
    hash32(seed, 0x1d1d).toString(16).padStart(8, '0') +
    (hash32(seed, 0x2e2e) & 0xff).toString(16).padStart(2, '0')
  );
}

/** Generated user `index` of `seed`. */
export function generateUser(
  seed: number,
  index: number,
  variant: GeneratedVariant = 'old',
  extras: Readonly<GeneratedExtras> = NO_EXTRAS,
): SimUser {
  const rnd = mulberry32(hash32(seed, index));
  const kind = kindOf(rnd());
  const [first, firstAscii] = pick(rnd, FIRST);
  const [last, lastAscii] = pick(rnd, LAST);
  const createdMs = BASE + Math.floor(rnd() * SPAN);
  const updatedMs = createdMs + Math.floor(rnd() * (Date.UTC(2025, 0, 1) - createdMs));
  const neverLoggedIn = rnd() < 0.1;
  const lastLoginMs = createdMs + Math.floor(rnd() * (updatedMs - createdMs + 1));
  const loginsCount = neverLoggedIn ? 0 : 1 + Math.floor(rnd() * 300);
  const domain = pick(rnd, DOMAINS);
  const withNames = kind === 'social' || rnd() < 0.6;
  const withUsername = kind === 'db-no-email' || rnd() < 0.3;
  const withPhone = kind !== 'social' && rnd() < 0.15;
  const phoneVerified = rnd() < 0.5;
  const emailVerified = kind === 'social' || rnd() < 0.85;
  const blocked = kind !== 'social' && rnd() < 0.01;
  const reserved = kind !== 'social' && rnd() < 0.003 ? pick(rnd, RESERVED_SAMPLES) : undefined;

  const social = kind === 'social';
  const provider = social ? SOCIAL_CONNECTION : 'auth0';
  const idBody = social
    ? `1${String(hash32(seed, index) % 1e11).padStart(11, '0')}${String(index).padStart(9, '0')}`
    : Math.floor(createdMs / 1000)
        .toString(16)
        .padStart(8, '0') +
      machineHex(seed) +
      index.toString(16).padStart(6, '0');
  const email =
    kind === 'db-no-email'
      ? undefined
      : social
        ? `${firstAscii}.${lastAscii}.${index}@gmail.com`
        : `${firstAscii}.${lastAscii}.${index}@${domain}`;

  const u: SimUser = {
    user_id: `${provider}|${idBody}`,
    connection: social ? SOCIAL_CONNECTION : DB_CONNECTION,
    provider,
    isSocial: social,
    created_at: new Date(createdMs).toISOString(),
    updated_at: new Date(updatedMs).toISOString(),
    generatedIndex: index,
  };
  if (email !== undefined) {
    u.email = email;
    u.email_verified = emailVerified;
  }
  if (withUsername) u.username = `${firstAscii.slice(0, 8)}${index}`;
  if (withPhone) {
    u.phone_number = `+4470${String(index).padStart(8, '0')}`;
    u.phone_verified = phoneVerified;
  }
  if (withNames) {
    u.given_name = first;
    u.family_name = last;
  }
  u.name = `${first} ${last}`;
  u.nickname = email !== undefined ? email.slice(0, email.indexOf('@')) : u.username!;
  u.picture = social
    ? `https://lh3.googleusercontent.com/a/ACg8oc${hash32(seed ^ 7, index).toString(36)}=s96-c`
    : gravatarPicture(email, `${firstAscii[0]}${lastAscii[0]}`.toLowerCase());
  if (blocked) u.blocked = true;
  if (!social) {
    u.user_metadata = {
      locale: pick(rnd, LOCALES),
      theme: rnd() < 0.5 ? 'light' : 'dark',
      newsletter: rnd() < 0.4,
      address: { city: pick(rnd, CITIES) },
      preferences: { notifications: { email: rnd() < 0.7, sms: rnd() < 0.2 } },
    };
    u.app_metadata = {
      plan: pick(rnd, PLANS),
      roles: pick(rnd, ROLES),
      customer_id: `cus_${hash32(seed ^ 11, index).toString(36)}`,
      ...reserved,
    };
  }
  if (!neverLoggedIn) {
    u.last_login = new Date(lastLoginMs).toISOString();
    u.last_ip = `203.0.113.${(index % 254) + 1}`;
  }
  u.logins_count = loginsCount;

  if (variant === 'old') {
    if (isLinked(seed, index, kind, extras)) {
      const id = linkedIdentity(seed, index, kind, { first, last, firstAscii, lastAscii, domain, createdMs });
      u.identities = [id];
    }
    const enrolments = generatedAuthenticators(seed, index, kind, extras, u);
    if (enrolments !== undefined) u.authenticators = enrolments;
  }
  if (variant === 'migrated') {
    const at = new Date(
      MIGRATION_BASE + Math.floor((hash32(seed ^ 0x77, index) / 4294967296) * 90 * 86_400_000),
    );
    u.created_at = at.toISOString();
    u.updated_at = u.created_at;
    u.last_login = u.created_at;
    u.logins_count = 1;
    delete u.last_ip;
  }
  return u;
}

interface Person {
  first: string;
  last: string;
  firstAscii: string;
  lastAscii: string;
  domain: string;
  createdMs: number;
}

/**
 * The account linked to generated user `index`: a Google identity for a database user, a database
 * identity for a Google user. Its id carries the index the way generated ids do, so the store finds
 * it; no standalone user has that id.
 */
function linkedIdentity(seed: number, index: number, kind: GeneratedKind, p: Person): SimLinkedIdentity {
  if (kind === 'social') {
    const email = `${p.firstAscii}.${p.lastAscii}.${index}@${p.domain}`;
    const id =
      Math.floor(p.createdMs / 1000 + 86_400)
        .toString(16)
        .padStart(8, '0') +
      machineHex(seed ^ 0x2d2d) +
      index.toString(16).padStart(6, '0');
    return {
      connection: DB_CONNECTION,
      provider: 'auth0',
      user_id: id,
      isSocial: false,
      profileData: {
        email,
        email_verified: true,
        name: `${p.first} ${p.last}`,
        nickname: email.slice(0, email.indexOf('@')),
      },
      generatedIndex: index,
    };
  }
  return {
    connection: SOCIAL_CONNECTION,
    provider: SOCIAL_CONNECTION,
    user_id: `1${String(hash32(seed ^ 0x600d, index) % 1e11).padStart(11, '0')}${String(index).padStart(9, '0')}`,
    isSocial: true,
    profileData: {
      email: `${p.firstAscii}.${p.lastAscii}.${index}@gmail.com`,
      email_verified: true,
      name: `${p.first} ${p.last}`,
      given_name: p.first,
      family_name: p.last,
      picture: `https://lh3.googleusercontent.com/a/ACg8oc${hash32(seed ^ 0x600e, index).toString(36)}=s96-c`,
    },
  };
}

/** The MFA enrolments of a generated database user, if its MFA draw falls in the share. */
function generatedAuthenticators(
  seed: number,
  index: number,
  kind: GeneratedKind,
  extras: GeneratedExtras,
  u: SimUser,
): SimAuthenticator[] | undefined {
  if (extras.mfa <= 0 || kind === 'social') return undefined;
  const rnd = mulberry32(hash32(seed ^ MFA_SALT, index));
  if (rnd() >= extras.mfa) return undefined;
  const chars = (alphabet: string, n: number) =>
    Array.from({ length: n }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
  const pick = rnd();
  let types: Array<SimAuthenticator['type']>;
  if (pick < 0.45) types = ['totp'];
  else if (pick < 0.85 && u.email === undefined) types = ['totp'];
  else if (pick < 0.7) types = ['phone'];
  else if (pick < 0.85) types = ['email'];
  else types = ['totp', 'phone'];
  const at = new Date(Date.parse(u.created_at) + Math.floor(rnd() * 86_400_000)).toISOString();
  return types.map((type) => {
    const a: SimAuthenticator = { id: newAuthenticatorId(type, chars(ALNUM, 16)), type, created_at: at };
    if (type === 'totp') a.secret = chars(BASE32, 32);
    else if (type === 'phone') {
      a.phone_number = `+4477${String(index).padStart(8, '0')}`;
      a.preferred_authentication_method = 'sms';
    } else a.email = u.email;
    return a;
  });
}

/** The index a generated user's id, email, username or phone number carries, if it looks generated. */
export function indexFromUserId(userId: string): number | undefined {
  let m = /^auth0\|[0-9a-f]{18}([0-9a-f]{6})$/.exec(userId);
  if (m) return parseInt(m[1]!, 16);
  m = /^google-oauth2\|1\d{11}(\d{9})$/.exec(userId);
  return m ? Number(m[1]) : undefined;
}

export function indexFromEmail(email: string): number | undefined {
  const m = /\.(\d{1,8})@[^@]+$/.exec(email);
  return m ? Number(m[1]) : undefined;
}

export function indexFromUsername(username: string): number | undefined {
  const m = /^[a-z]{1,8}(\d{1,8})$/.exec(username);
  return m ? Number(m[1]) : undefined;
}

export function indexFromPhone(phone: string): number | undefined {
  const m = /^\+4470(\d{8})$/.exec(phone);
  return m ? Number(m[1]) : undefined;
}
