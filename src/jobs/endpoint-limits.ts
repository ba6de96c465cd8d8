/**
 * Management API endpoints with a rate limit of their own, below the tenant-wide one: Auth0's
 * organization endpoints. The shared rate budget (rate-budget.ts) paces each of them in its own
 * bucket besides the tenant's, so a tenant of 10,000 organizations is paced by each endpoint's
 * own limit (creating organizations: a burst of 5) and never runs into 429 storms, while calls to
 * other endpoints go on meanwhile.
 *
 * Figures (burst, then requests per minute) from Auth0's published endpoint tables as collected in
 * the project's migration facts: enterprise and private cloud, and self-service where it is lower.
 */

export type EndpointLimitsProfile = 'enterprise' | 'self-service' | 'off';

export interface EndpointBucket {
  /** Names the bucket's key in Redis. */
  name: string;
  /** Requests per second, every process together. */
  rps: number;
  /** Requests back to back after a quiet spell. */
  burst: number;
}

interface Rule {
  name: string;
  methods: readonly string[];
  path: RegExp;
  enterprise: [burst: number, perMinute: number];
  selfService?: [burst: number, perMinute: number];
}

const ID = '[^/?]+';
/** The share of an endpoint's published rate the budget uses. */
const SAFETY = 0.9;
const RULES: readonly Rule[] = [
  {
    name: 'org-member-roles-write',
    methods: ['POST', 'DELETE'],
    path: new RegExp(`^/organizations/${ID}/members/${ID}/roles(\\?|$)`),
    enterprise: [20, 200],
  },
  {
    name: 'org-member-roles-read',
    methods: ['GET'],
    path: new RegExp(`^/organizations/${ID}/members/${ID}/roles(\\?|$)`),
    enterprise: [20, 200],
  },
  {
    name: 'org-members-write',
    methods: ['POST', 'DELETE'],
    path: new RegExp(`^/organizations/${ID}/members(\\?|$)`),
    enterprise: [20, 200],
  },
  {
    name: 'org-members-read',
    methods: ['GET'],
    path: new RegExp(`^/organizations/${ID}/members(\\?|$)`),
    enterprise: [40, 500],
  },
  {
    name: 'org-connections-write',
    methods: ['POST', 'PATCH', 'DELETE'],
    path: new RegExp(`^/organizations/${ID}/enabled_connections(/${ID})?(\\?|$)`),
    enterprise: [5, 150],
  },
  {
    name: 'org-connections-read',
    methods: ['GET'],
    path: new RegExp(`^/organizations/${ID}/enabled_connections(/${ID})?(\\?|$)`),
    enterprise: [10, 100],
    selfService: [5, 50],
  },
  {
    name: 'org-by-name-read',
    methods: ['GET'],
    path: new RegExp(`^/organizations/name/${ID}(\\?|$)`),
    enterprise: [20, 200],
    selfService: [10, 100],
  },
  {
    // One bucket for creating, updating and deleting organizations.
    name: 'orgs-write',
    methods: ['POST', 'PATCH', 'DELETE'],
    path: new RegExp(`^/organizations(/${ID})?(\\?|$)`),
    enterprise: [5, 150],
    selfService: [5, 25],
  },
  {
    name: 'org-read',
    methods: ['GET'],
    path: new RegExp(`^/organizations/${ID}(\\?|$)`),
    enterprise: [40, 500],
  },
  {
    name: 'orgs-read',
    methods: ['GET'],
    path: /^\/organizations(\?|$)/,
    enterprise: [10, 100],
    selfService: [5, 50],
  },
];

/**
 * The bucket of a request (`path` under `/api/v2`), or undefined when only the tenant-wide limit
 * applies. The first matching rule wins: the more specific paths come first.
 */
export function endpointBucket(
  profile: EndpointLimitsProfile,
  method: string,
  path: string,
): EndpointBucket | undefined {
  if (profile === 'off') return undefined;
  const m = method.toUpperCase();
  for (const rule of RULES) {
    if (!rule.methods.includes(m) || !rule.path.test(path)) continue;
    const [burst, perMinute] =
      profile === 'self-service' ? (rule.selfService ?? rule.enterprise) : rule.enterprise;
    // A margin under the published figures: requests granted a slot apart can reach the tenant
    // closer together (a slower connection, a token renewal), and Auth0 counts their arrival.
    return { name: rule.name, rps: (perMinute / 60) * SAFETY, burst: Math.max(1, burst - 1) };
  }
  return undefined;
}
