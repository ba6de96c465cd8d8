/**
 * Deterministic RBAC for seeded tenants: a few APIs with scopes, 5–20 roles with permissions, and
 * who holds them. Like generated users, an assignment is a pure function of (seed, user index), so
 * a million seeded users cost nothing until one of their roles changes.
 *
 * The old tenant: a broad "Member" role most users hold (over 1,000 members from about 1,800
 * users), most users with 0–2 roles, about 3 % with direct permissions. The new tenant, as a lazy
 * migration leaves it: the same APIs (identifiers) but one, part of the roles (by name, other ids),
 * one of them with other permissions, and part of the migrated users' assignments.
 */
import { hash32, mulberry32 } from '../prng.js';

export interface SeedApi {
  name: string;
  identifier: string;
  scopes: ReadonlyArray<{ value: string; description: string }>;
}

export interface SeedPermission {
  /** Index into {@link RbacCatalog.apis}. */
  api: number;
  resource_server_identifier: string;
  permission_name: string;
}

export interface SeedRole {
  name: string;
  description?: string;
  /** Indices into {@link RbacCatalog.permissions}. */
  permissions: number[];
}

export interface RbacCatalog {
  apis: SeedApi[];
  /** Every scope of every API, the pool role and direct permissions are drawn from. */
  permissions: SeedPermission[];
  /** Role 0 is the broad one. */
  roles: SeedRole[];
}

/** What the new tenant holds of the old tenant's catalog. */
export interface NewTenantCatalog {
  /** Indices of the old tenant's APIs present (all but one). */
  apis: number[];
  /** Per old role: its permissions in the new tenant, or undefined when the role is missing there. */
  roles: Array<number[] | undefined>;
}

const API_TEMPLATES: readonly SeedApi[] = [
  {
    name: 'Orders API',
    identifier: 'https://api.example.com/orders',
    scopes: [
      { value: 'read:orders', description: 'Read orders' },
      { value: 'create:orders', description: 'Place orders' },
      { value: 'update:orders', description: 'Change orders' },
      { value: 'cancel:orders', description: 'Cancel orders' },
      { value: 'refund:orders', description: 'Refund orders' },
    ],
  },
  {
    name: 'Billing API',
    identifier: 'https://billing.example.com/',
    scopes: [
      { value: 'read:invoices', description: 'Read invoices' },
      { value: 'pay:invoices', description: 'Pay invoices' },
      { value: 'read:payment_methods', description: 'Read payment methods' },
      { value: 'update:payment_methods', description: 'Change payment methods' },
    ],
  },
  {
    name: 'Reports API',
    identifier: 'urn:example:reports',
    scopes: [
      { value: 'read:reports', description: 'Read reports' },
      { value: 'export:reports', description: 'Export reports' },
      { value: 'schedule:reports', description: 'Schedule reports' },
    ],
  },
  {
    name: 'Support Desk',
    identifier: 'https://support.example.com/api',
    scopes: [
      { value: 'read:tickets', description: 'Read tickets' },
      { value: 'write:tickets', description: 'Write tickets' },
      { value: 'assign:tickets', description: 'Assign tickets' },
      { value: 'close:tickets', description: 'Close tickets' },
    ],
  },
];

const BROAD_ROLE = { name: 'Member', description: 'Every customer account' };
const ROLE_TEMPLATES: ReadonlyArray<{ name: string; description?: string }> = [
  { name: 'Admin', description: 'Full access to every API' },
  { name: 'Billing Admin', description: 'Manages invoices and payment methods' },
  { name: 'Support Agent', description: 'Answers tickets' },
  { name: 'Support Lead', description: 'Assigns and closes tickets' },
  { name: 'Auditor', description: 'Read-only access for audits' },
  { name: 'Finance' },
  { name: 'Reports Viewer', description: 'Reads reports' },
  { name: 'Operations', description: 'Order operations' },
  { name: 'Developer' },
  { name: 'Owner', description: 'Account owner' },
  { name: 'Moderator' },
  { name: 'Sales', description: 'Sales team' },
  { name: 'Marketing' },
  { name: 'Comptabilité', description: 'Équipe comptable (Paris)' },
  { name: 'Kundendienst', description: 'Kundenservice für DACH' },
  { name: 'Security Analyst', description: 'Reviews exports and refunds' },
  { name: 'Warehouse' },
  { name: 'Beta Tester', description: 'Early access' },
  { name: 'Partner' },
];

const SALT_CATALOG = 0x52424143;
const SALT_ROLES = 0x726f6c65;
const SALT_NEW = 0x4e455752;

/** The catalog of seed `seed`: the same for both tenants, before the new tenant's differences. */
export function rbacCatalog(seed: number): RbacCatalog {
  const rnd = mulberry32(hash32(seed, SALT_CATALOG));
  const apis = API_TEMPLATES.map((a) => ({ ...a, scopes: a.scopes.map((s) => ({ ...s })) }));
  const permissions: SeedPermission[] = apis.flatMap((a, api) =>
    a.scopes.map((s) => ({ api, resource_server_identifier: a.identifier, permission_name: s.value })),
  );
  const count = 5 + Math.floor(rnd() * 16);
  const names = [...ROLE_TEMPLATES];
  for (let i = names.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [names[i], names[j]] = [names[j]!, names[i]!];
  }
  const roles: SeedRole[] = [BROAD_ROLE, ...names.slice(0, count - 1)].map((t, k) => {
    const want = k === 0 ? 3 : 1 + Math.floor(rnd() * 8);
    const picked = new Set<number>();
    while (picked.size < want) {
      const p = Math.floor(rnd() * permissions.length);
      // The broad role reads; it is what ordinary customers hold.
      if (k === 0 && !permissions[p]!.permission_name.startsWith('read:')) continue;
      picked.add(p);
    }
    return { ...t, permissions: [...picked].sort((a, b) => a - b) };
  });
  return { apis, permissions, roles };
}

/** The new tenant's share of `catalog`, for seed `seed`. */
export function newTenantCatalog(seed: number, catalog: RbacCatalog): NewTenantCatalog {
  const rnd = mulberry32(hash32(seed, SALT_NEW));
  const missingApi = 1 + Math.floor(rnd() * (catalog.apis.length - 1));
  const apis = catalog.apis.map((_, i) => i).filter((i) => i !== missingApi);
  const onNew = (p: number) => catalog.permissions[p]!.api !== missingApi;
  const present = catalog.roles.map((_, k) => k === 0 || rnd() < 0.7);
  if (present.every(Boolean)) present[present.length - 1] = false;
  const roles = catalog.roles.map((r, k) => (present[k] ? r.permissions.filter(onNew) : undefined));
  // One role present in both tenants holds other permissions in the new one.
  const both = roles.map((_, k) => k).filter((k) => k > 0 && roles[k] !== undefined);
  const changed = both[Math.floor(rnd() * both.length)] ?? 0;
  const perms = roles[changed]!;
  const extra = catalog.permissions.findIndex((_, i) => onNew(i) && !perms.includes(i));
  roles[changed] = [...perms.slice(0, Math.max(0, perms.length - 1)), ...(extra >= 0 ? [extra] : [])].sort(
    (a, b) => a - b,
  );
  return { apis, roles };
}

/** The old tenant's roles of user `index` (indices into the catalog's roles). */
export function seededRoles(seed: number, index: number, roleCount: number): number[] {
  const rnd = mulberry32(hash32(seed ^ SALT_ROLES, index));
  const out: number[] = [];
  if (rnd() < 0.58) out.push(0);
  const x = rnd();
  const extra = roleCount < 2 ? 0 : x < 0.62 ? 0 : x < 0.93 ? 1 : 2;
  for (let i = 0; i < extra; i++) {
    const k = 1 + Math.floor(rnd() * (roleCount - 1));
    if (!out.includes(k)) out.push(k);
  }
  return out;
}

/** The old tenant's direct permissions of user `index` (indices into the catalog's permissions). */
export function seededDirect(seed: number, index: number, permissionCount: number): number[] {
  const rnd = mulberry32(hash32(seed ^ SALT_ROLES ^ 0xd1, index));
  if (rnd() >= 0.03) return [];
  const n = 1 + Math.floor(rnd() * 3);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = Math.floor(rnd() * permissionCount);
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

/**
 * Of migrated user `index`'s old assignments, what the new tenant already holds: half the users
 * carry all their roles, a fifth only the first, the rest none; half carry their direct permissions.
 */
export function carriedShare(
  seed: number,
  index: number,
): { roles: 'all' | 'first' | 'none'; direct: boolean } {
  const rnd = mulberry32(hash32(seed ^ SALT_NEW, index));
  const c = rnd();
  return { roles: c < 0.5 ? 'all' : c < 0.7 ? 'first' : 'none', direct: rnd() < 0.5 };
}

/** `length` characters of `alphabet` drawn from (seed, salt, n): stable ids for seeded objects. */
export function seededId(seed: number, salt: number, n: number, alphabet: string, length: number): string {
  const rnd = mulberry32(hash32(hash32(seed, salt), n));
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(rnd() * alphabet.length)];
  return out;
}
