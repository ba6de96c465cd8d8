/**
 * The organization endpoints' own rate limits, end to end: the simulator enforces Auth0's
 * enterprise endpoint limits (creating organizations: a burst of 5, then 150 a minute). Without
 * per-endpoint buckets the relations stage runs into 429s there (and retries through them); with
 * them (`ENDPOINT_RATE_LIMITS=enterprise`) it gets none, and carries the same organizations.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createTenantClient } from '../../src/auth0/index.js';
import { relationsCommand } from '../../src/commands/relations.js';
import { toTenantConfig } from '../../src/config.js';
import { ENDPOINT_RATE_LIMIT_PROFILES } from '../../src/sim/options.js';
import { FAST, startHarness } from '../jobs/harness.js';
import { organizationDifferences, organizationsView } from '../relations/compare-organizations.js';

async function carry(limits: 'off' | 'enterprise') {
  const h = await startHarness({
    sim: {
      seedOld: 200,
      seedNewMigrated: 1,
      seed: 3,
      endpointRateLimits: ENDPOINT_RATE_LIMIT_PROFILES.enterprise,
    },
    env: { ENDPOINT_RATE_LIMITS: limits },
  });
  const old = createTenantClient(toTenantConfig(h.sim.tenants.old), { label: 'old' });
  const neu = createTenantClient(toTenantConfig(h.sim.tenants.new), { label: 'new' });
  const ids = [...h.sim.tenant('old').users.iterate(h.sim.tenants.old.connection)].map((u) => u.user_id);
  for (let i = 0; i < 9; i++) {
    const org = await old.createOrganization({ name: `paced-${i}` });
    await old.addOrganizationMembers(org.id, ids.slice(i * 12, i * 12 + 12));
  }
  const before = h.sim.tenant('new').stats.rateLimited;
  const code = await relationsCommand(
    h.config,
    {},
    {
      settings: FAST,
      out: { write: () => true },
      progressStream: new Writable({ write: (_c, _e, cb) => cb() }),
    },
  );
  const rateLimited = h.sim.tenant('new').stats.rateLimited - before;
  const inNew = new Set(ids);
  const differences = organizationDifferences(
    await organizationsView(old),
    await organizationsView(neu),
    inNew,
  );
  return { code, rateLimited, differences };
}

describe('per-endpoint rate buckets', () => {
  it('keep the stage clear of 429s on organization endpoints that the tenant-wide budget alone runs into', async () => {
    const without = await carry('off');
    expect(without.differences).toEqual([]);
    expect(without.rateLimited).toBeGreaterThan(0);

    const withBuckets = await carry('enterprise');
    expect(withBuckets.differences).toEqual([]);
    expect(withBuckets.rateLimited).toBe(0);
  }, 180_000);
});
