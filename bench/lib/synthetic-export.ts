/**
 * Synthetic Auth0 users exports for the pipeline benchmark: an old tenant of N users, in the shape
 * of a JSON-format users export (gzipped NDJSON, the fields src/pipeline/export-fields.ts asks
 * for), and a new tenant holding about a third of its database users (most under the same id, as
 * lazy migration leaves them, a few matched by email only). Deterministic for a given N and seed.
 *
 * Mix of the old export: 8% social and 2% enterprise users, 0.3% without an email, 0.2% with an
 * invalid one, 0.1% malformed lines, 0.1% repeated users, 2% with app_metadata keys Auth0
 * reserves, 1% blocked; about one name in six is not ASCII.
 */
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGzip, type Gzip } from 'node:zlib';

const VERSION = 2;
export const BENCH_CONNECTION = 'Username-Password-Authentication';

export interface SyntheticExport {
  dir: string;
  oldFile: string;
  newFile: string;
  users: number;
  newUsers: number;
  oldBytes: number;
  newBytes: number;
  /** True when the files were generated now (not reused). */
  generated: boolean;
  generateMs: number;
}

/** mulberry32: small, fast and good enough to shape test data. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = [
  'Ada',
  'Grace',
  'Alan',
  'Edsger',
  'Barbara',
  'Ken',
  'Margaret',
  'Linus',
  'Frances',
  'Donald',
  'Chloé',
  'Zoë',
  'Jürgen',
  'Søren',
  'Łukasz',
  'José',
  'Hiroshi',
  'Amélie',
  'Noor',
  'Priya',
];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Dijkstra',
  'Liskov',
  'Thompson',
  'Hamilton',
  'Torvalds',
  'Allen',
  'Knuth',
  'Müller',
  'García',
  'Nakamura',
  'Okafor',
  'Rossi',
  'Nguyen',
  'Kowalski',
  'Öztürk',
];
const DOMAINS = ['example.com', 'example.org', 'mail.example.net', 'corp.example.io', 'Example.co.uk'];
const SOCIAL = ['google-oauth2', 'facebook', 'github', 'linkedin', 'apple'];
const ENTERPRISE = [
  ['samlp', 'acme-saml'],
  ['waad', 'contoso-azure'],
];

function ascii(s: string): string {
  return s.normalize('NFD').replace(/[^A-Za-z]/g, '');
}

function hex(rnd: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ((rnd() * 16) | 0).toString(16);
  return s;
}

function isoDate(rnd: () => number, from: number, span: number): string {
  return new Date(from + Math.floor(rnd() * span)).toISOString();
}

interface Generated {
  line: string;
  /** For the new tenant: the user as migrated (same id, or a new id with the same email), or undefined. */
  migrated?: string;
}

function user(i: number, rnd: () => number): Generated {
  const first = FIRST[(rnd() * FIRST.length) | 0]!;
  const last = LAST[(rnd() * LAST.length) | 0]!;
  const domain = DOMAINS[(rnd() * DOMAINS.length) | 0]!;
  const email = `${ascii(first)}.${ascii(last)}${i}@${domain}`;
  const kind = rnd();
  const created = isoDate(rnd, Date.UTC(2018, 0, 1), 5 * 365 * 86400000);
  const base: Record<string, unknown> = {};
  let provider = 'auth0';
  let connection = BENCH_CONNECTION;
  let id = hex(rnd, 24);
  let isSocial = false;
  if (kind < 0.08) {
    provider = SOCIAL[(rnd() * SOCIAL.length) | 0]!;
    connection = provider;
    id = String(100000000000000 + i);
    isSocial = true;
  } else if (kind < 0.1) {
    const [p, c] = ENTERPRISE[(rnd() * ENTERPRISE.length) | 0]!;
    provider = p!;
    connection = c!;
    id = `${c}|${ascii(first).toLowerCase()}${i}`;
  }
  const userId = `${provider}|${id}`;
  base.user_id = userId;
  const emailKind = rnd();
  if (emailKind >= 0.003) base.email = emailKind < 0.005 ? `${ascii(first)}.${i}@@${domain}` : email;
  base.email_verified = rnd() < 0.8;
  if (rnd() < 0.3) base.username = `${ascii(first).toLowerCase()}${i}`;
  if (rnd() < 0.1) base.phone_number = `+1555${String(1000000 + (i % 9000000)).padStart(7, '0')}`;
  base.given_name = first;
  base.family_name = last;
  base.name = `${first} ${last}`;
  base.nickname = `${ascii(first).toLowerCase()}.${ascii(last).toLowerCase()}`;
  base.picture = `https://s.gravatar.com/avatar/${hex(rnd, 32)}?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2F${first[0]!.toLowerCase()}${last[0]!.toLowerCase()}.png`;
  if (rnd() < 0.01) base.blocked = true;
  base.identities = [{ connection, provider, user_id: id, isSocial }];
  if (rnd() < 0.7) {
    const app: Record<string, unknown> = {
      roles: rnd() < 0.1 ? ['admin', 'user'] : ['user'],
      plan: rnd() < 0.2 ? 'pro' : 'free',
    };
    if (rnd() < 0.3) app.tenant_id = `org_${hex(rnd, 16)}`;
    if (rnd() < 0.03) app.blocked = false;
    base.app_metadata = app;
  }
  if (rnd() < 0.6) {
    const meta: Record<string, unknown> = { locale: rnd() < 0.5 ? 'en' : 'de', newsletter: rnd() < 0.4 };
    if (rnd() < 0.3)
      meta.address = { city: 'Springfield', country: 'US', postcode: String(10000 + (i % 90000)) };
    base.user_metadata = meta;
  }
  base.created_at = created;
  base.updated_at = isoDate(rnd, Date.UTC(2023, 0, 1), 365 * 86400000);
  base.last_login = base.updated_at;
  base.logins_count = (rnd() * 200) | 0;
  base.last_ip = `198.51.100.${(rnd() * 254 + 1) | 0}`;
  const out: Generated = { line: JSON.stringify(base) };
  if (provider === 'auth0' && typeof base.email === 'string' && rnd() < 1 / 3) {
    const m = rnd();
    const migrated: Record<string, unknown> = {
      ...base,
      email: email.toLowerCase(),
      last_login: '2024-06-01T00:00:00.000Z',
    };
    if (m < 0.03) {
      // Matched by email only: the user signed up again in the new tenant.
      const newId = hex(rnd, 24);
      migrated.user_id = `auth0|${newId}`;
      migrated.identities = [{ connection, provider, user_id: newId, isSocial: false }];
    }
    out.migrated = JSON.stringify(migrated);
  }
  return out;
}

async function write(gz: Gzip, text: string): Promise<void> {
  if (!gz.write(text)) await once(gz, 'drain');
}

/** Writes (or reuses, when present for the same N) the two exports under `root`. */
export async function syntheticExports(
  root: string,
  users: number,
  options: { fresh?: boolean } = {},
): Promise<SyntheticExport> {
  const dir = join(root, `v${VERSION}-${users}`);
  const oldFile = join(dir, 'old-tenant.ndjson.gz');
  const newFile = join(dir, 'new-tenant.ndjson.gz');
  const meta = join(dir, 'meta.json');
  if (options.fresh !== true && existsSync(meta)) {
    const m = JSON.parse(readFileSync(meta, 'utf8')) as Omit<SyntheticExport, 'generated' | 'generateMs'>;
    return { ...m, generated: false, generateMs: 0 };
  }
  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  const rnd = prng(0x5eed + users);
  const oldGz = createGzip();
  const newGz = createGzip();
  const oldOut = createWriteStream(`${oldFile}.part`);
  const newOut = createWriteStream(`${newFile}.part`);
  oldGz.pipe(oldOut);
  newGz.pipe(newOut);
  let newUsers = 0;
  let oldBytes = 0;
  let newBytes = 0;
  const recent: string[] = [];
  let oldBuf = '';
  let newBuf = '';
  for (let i = 0; i < users; i++) {
    const r = rnd();
    let line: string;
    if (r < 0.001 && recent.length > 0) line = recent[(rnd() * recent.length) | 0]!;
    else {
      const g = user(i, rnd);
      line = g.line;
      if (r > 0.999) line = line.slice(0, (10 + (line.length - 20) * rnd()) | 0);
      if (g.migrated !== undefined) {
        newBuf += g.migrated + '\n';
        newUsers++;
      }
      if (recent.length < 1000) recent.push(g.line);
      else recent[i % 1000] = g.line;
    }
    oldBuf += line + '\n';
    if (oldBuf.length > 1 << 16) {
      oldBytes += Buffer.byteLength(oldBuf);
      await write(oldGz, oldBuf);
      oldBuf = '';
    }
    if (newBuf.length > 1 << 16) {
      newBytes += Buffer.byteLength(newBuf);
      await write(newGz, newBuf);
      newBuf = '';
    }
  }
  oldBytes += Buffer.byteLength(oldBuf);
  newBytes += Buffer.byteLength(newBuf);
  oldGz.end(oldBuf);
  newGz.end(newBuf);
  await Promise.all([once(oldOut, 'close'), once(newOut, 'close')]);
  renameSync(`${oldFile}.part`, oldFile);
  renameSync(`${newFile}.part`, newFile);
  const result = { dir, oldFile, newFile, users, newUsers, oldBytes, newBytes };
  writeFileSync(meta, JSON.stringify(result));
  return { ...result, generated: true, generateMs: performance.now() - started };
}
