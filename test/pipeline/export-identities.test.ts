import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { exportIdentities } from '../../src/pipeline/index.js';
import { linksOf } from '../../src/relations/links.js';
import { startSimulator } from '../../src/sim/index.js';

describe('identities from an export', () => {
  it('gives the links family what an export of the simulated old tenant holds', async () => {
    const sim = await startSimulator({ seedOld: 200, seedLinked: 0.2, seed: 3 });
    try {
      const lines = [...sim.tenant('old').listUsers(sim.tenants.old.connection)]
        .map((u) => JSON.stringify(u))
        .join('\n');
      const read: Array<{ user_id: string; identities: unknown[] }> = [];
      for await (const u of exportIdentities(Readable.from([Buffer.from(lines)]), { linkedOnly: true }))
        read.push(u);
      expect(read.length).toBeGreaterThan(10);
      const links = read.flatMap((u) => linksOf(u as unknown as Record<string, unknown>));
      expect(links).toHaveLength(read.length);
      // Both directions are seeded: database users with Google, Google users with a database account.
      expect(new Set(links.map((l) => l.provider))).toEqual(new Set(['auth0', 'google-oauth2']));
    } finally {
      await sim.close();
    }
  });
});
