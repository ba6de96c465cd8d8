/**
 * Deterministic organizations for seeding, as a B2B tenant has them: about one per 200 users,
 * most users in one, some in two, a few organizations with over 1,000 members when the tenant is
 * big enough, branding and metadata on most, one or two enabled connections each. Everything is a
 * pure function of (seed, position, user index), so memberships need no table to be looked up.
 */
import { hash32, mulberry32 } from '../prng.js';

/** Share of users who belong to an organization. */
const MEMBER_SHARE = 0.7;
/** Share of those who belong to a second one. */
const SECOND_SHARE = 0.1;
/** Users per organization, roughly. */
const USERS_PER_ORGANIZATION = 200;
/** Members of a big organization: enough to need checkpoint paging past 1,000. */
const BIG_MEMBERS = { min: 1100, spread: 900 };

export interface OrganizationPlan {
  seed: number;
  users: number;
  /** Organizations, positions 0..count-1; the first `bigShares.length` are the big ones. */
  count: number;
  /** For each big organization, the probability that a member's first organization is it. */
  bigShares: number[];
}

const unit = (h: number): number => h / 4294967296;

/** The organizations of a tenant of `users` generated users; undefined when it has none. */
export function organizationPlan(seed: number, users: number): OrganizationPlan | undefined {
  if (users <= 0) return undefined;
  const count = Math.max(1, Math.round(users / USERS_PER_ORGANIZATION));
  const members = users * MEMBER_SHARE;
  // "When N allows": each big organization takes about a sixth of all members at most.
  const big = Math.min(3, count - 1, Math.floor(members / (6 * BIG_MEMBERS.min)));
  const bigShares: number[] = [];
  for (let i = 0; i < Math.max(0, big); i++) {
    const size = BIG_MEMBERS.min + (hash32(seed ^ 0x0b16, i) % BIG_MEMBERS.spread);
    bigShares.push(size / members);
  }
  return { seed, users, count, bigShares };
}

/** The organization positions generated user `index` belongs to (none, one or two). */
export function organizationsOfUser(plan: OrganizationPlan, index: number): number[] {
  const out = [0, 0];
  return out.slice(0, organizationsOfUserInto(plan, index, out));
}

/**
 * {@link organizationsOfUser} into `out` (two slots), returning how many: seeding a million users
 * allocates nothing per user this way.
 */
export function organizationsOfUserInto(plan: OrganizationPlan, index: number, out: number[]): number {
  const { seed, count, bigShares } = plan;
  if (unit(hash32(seed ^ 0x0a11, index)) >= MEMBER_SHARE) return 0;
  const normal = count - bigShares.length;
  let draw = unit(hash32(seed ^ 0x0b22, index));
  let home = -1;
  for (let i = 0; i < bigShares.length; i++) {
    if (draw < bigShares[i]!) {
      home = i;
      break;
    }
    draw -= bigShares[i]!;
  }
  if (home < 0) home = bigShares.length + (hash32(seed ^ 0x0c33, index) % normal);
  out[0] = home;
  if (normal < 2 || unit(hash32(seed ^ 0x0d44, index)) >= SECOND_SHARE) return 1;
  const second = bigShares.length + (hash32(seed ^ 0x0e55, index) % normal);
  if (second === home) return 1;
  out[1] = second;
  return 2;
}

const COMPANIES = [
  'acme',
  'globex',
  'initech',
  'umbrella',
  'hooli',
  'vandelay',
  'soylent',
  'tyrell',
  'wonka',
  'aperture',
  'nakatomi',
  'massive',
  'stark',
  'wayne',
  'oceanic',
  'monarch',
];
const TRADES = ['labs', 'logistics', 'health', 'bank', 'retail', 'energy', 'media', 'foods', 'travel'];
const REGIONS = ['eu', 'us', 'apac', 'latam'];
const TIERS = ['bronze', 'silver', 'gold', 'platinum'];

const title = (w: string): string => w[0]!.toUpperCase() + w.slice(1);

/** How a seeded organization enables one of the tenant's two seeded connections. */
export interface SeededConnection {
  connection: 'database' | 'social';
  assign_membership_on_login: boolean;
  show_as_button: boolean;
  is_signup_enabled: boolean;
}

export interface OrganizationProfile {
  name: string;
  display_name: string;
  branding?: { logo_url: string; colors: { primary: string; page_background: string } };
  metadata?: Record<string, string>;
  connections: SeededConnection[];
}

/** Organization `position` of a seed: names, branding, metadata, connections. */
export function organizationProfile(seed: number, position: number): OrganizationProfile {
  const rnd = mulberry32(hash32(seed ^ 0x0f66, position));
  const company = COMPANIES[Math.floor(rnd() * COMPANIES.length)]!;
  const trade = TRADES[Math.floor(rnd() * TRADES.length)]!;
  const name = `${company}-${trade}-${position}`;
  const profile: OrganizationProfile = {
    name,
    display_name: `${title(company)} ${title(trade)} ${position}`,
    connections: [],
  };
  if (rnd() < 0.7) {
    const hex = Math.floor(rnd() * 0xffffff)
      .toString(16)
      .padStart(6, '0');
    profile.branding = {
      logo_url: `https://cdn.example.com/logos/${name}.png`,
      colors: { primary: `#${hex}`, page_background: rnd() < 0.5 ? '#ffffff' : '#f4f5f7' },
    };
  }
  if (rnd() < 0.8) {
    profile.metadata = {
      region: REGIONS[Math.floor(rnd() * REGIONS.length)]!,
      tier: TIERS[Math.floor(rnd() * TIERS.length)]!,
      crm_id: `acct_${hash32(seed ^ 0x1077, position).toString(36)}`,
    };
  }
  // Most organizations let only their members in through the database connection: the case a
  // lazy migration cannot serve on its own.
  const assign = rnd() < 0.2;
  profile.connections.push({
    connection: 'database',
    assign_membership_on_login: assign,
    show_as_button: true,
    is_signup_enabled: assign && rnd() < 0.5,
  });
  if (rnd() < 0.4) {
    profile.connections.push({
      connection: 'social',
      assign_membership_on_login: false,
      show_as_button: true,
      is_signup_enabled: false,
    });
  }
  return profile;
}

/** The roles (positions in the tenant's role list) member `index` holds in organization `position`. */
export function memberRolePicks(seed: number, position: number, index: number, roles: number): number[] {
  if (roles === 0) return [];
  const h = hash32(seed ^ 0x1188, Math.imul(index, 31) + position);
  const draw = unit(h);
  const n = draw < 0.6 ? 0 : draw < 0.9 ? 1 : 2;
  if (n === 0) return [];
  const first = hash32(seed ^ 0x1299, h) % roles;
  if (n === 1 || roles === 1) return [first];
  const second = (first + 1 + (hash32(seed ^ 0x13aa, h) % (roles - 1))) % roles;
  return [first, second];
}

/** Whether the new tenant already has organization `position` (a lazy migration's relations run). */
export function carriedOrganization(seed: number, position: number): boolean {
  return unit(hash32(seed ^ 0x14bb, position)) < 0.6;
}

/** Whether a migrated member's membership is already in the new tenant's copy of the organization. */
export function carriedMembership(seed: number, position: number, index: number): boolean {
  return unit(hash32(seed ^ 0x15cc, Math.imul(index, 31) + position)) < 0.5;
}

/** Whether a carried membership already has member role `role` (a position in the old list). */
export function carriedMemberRole(seed: number, position: number, index: number, role: number): boolean {
  return unit(hash32(seed ^ 0x16dd, Math.imul(index, 31) + position * 7 + role)) < 0.7;
}
