/**
 * Organizations across worker processes: a worker killed with SIGKILL in the middle of the
 * relations stage is replaced, and the run ends with both tenants' organizations, links,
 * memberships and member roles matching through the API and every membership counted once.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTenantClient } from '../../src/auth0/index.js';
import { followRun } from '../../src/commands/run.js';
import { toTenantConfig } from '../../src/config.js';
import { startRun } from '../../src/jobs/flow.js';
import { DEFAULT_RELATIONS } from '../../src/jobs/types.js';
import { unbalanced } from '../../src/relations/types.js';
import { organizationDifferences, organizationsView } from '../relations/compare-organizations.js';
import { startHarness } from './harness.js';

describe('organizations across worker processes', () => {
  it('a worker killed with SIGKILL mid-stage is replaced: every organization relation carried, each counted once', async () => {
    const h = await startHarness({
      sim: { seedOld: 800, seedNewMigrated: 0.6, seed: 6 },
      env: { NEW_AUTH0_MAX_RPS: '25' },
    });
    const first = h.spawnWorker();
    await first.ready;
    await startRun(h.rt, { kind: 'relations', runId: 'killed-orgs', relations: DEFAULT_RELATIONS });
    // Killed once some calls are counted and others wait.
    for (;;) {
      const s = await h.rt.store.relations.state('killed-orgs');
      const ended = s.ended.reduce((a, b) => a + b, 0);
      const total = s.calls.reduce((a, b) => a + b, 0);
      if (s.planned && ended >= 20 && ended < total - 20) break;
      if (s.done) throw new Error('the stage ended before the kill');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    first.child.kill('SIGKILL');
    await first.exited;
    const second = h.spawnWorker();
    await second.ready;
    const final = await followRun(h.rt, 'killed-orgs', { intervalMs: 50 });
    expect(final?.run.status).toBe('completed');

    const old = createTenantClient(toTenantConfig(h.sim.tenants.old), { label: 'old' });
    const neu = createTenantClient(toTenantConfig(h.sim.tenants.new), { label: 'new' });
    const inNew = new Set(
      [...h.sim.tenant('new').users.iterate(h.sim.tenants.new.connection)].map((u) => u.user_id),
    );
    expect(
      organizationDifferences(await organizationsView(old), await organizationsView(neu), inNew),
    ).toEqual([]);

    const summary = (await h.rt.store.getSummary('killed-orgs'))!;
    expect(summary.problems).toBeUndefined();
    const r = summary.relations!;
    expect(unbalanced(r.counts)).toEqual([]);
    expect(r.counts.memberships!.added).toBeGreaterThan(0);
    const added = (await readFile(join(h.reportsDir, 'killed-orgs', 'relations-added.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; userId?: string; entity: { name: string } });
    const memberships = added
      .filter((l) => l.kind === 'memberships')
      .map((l) => `${l.entity.name} ${l.userId}`);
    expect(new Set(memberships).size).toBe(memberships.length);
    expect(memberships.length).toBe(r.counts.memberships!.added);
  }, 180_000);
});
