/**
 * The organizations family against the simulator, through the tenant client: its sources read
 * both tenants as Auth0 answers them, its calls are accepted, and afterwards both tenants compared
 * through the API hold the same organizations, connection links, memberships and member roles for
 * every user present in the new tenant. A second pass plans nothing; a user who arrives later is
 * added by the next pass. The reading and sending here is a small in-memory stand-in for the
 * relations stage (phases in order, `{ref}` resolved, creations' ids kept).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantClient, type TenantClient } from '../../src/auth0/index.js';
import { toTenantConfig } from '../../src/config.js';
import type { RelationFamily, SourceRecord } from '../../src/relations/family.js';
import { organizationsFamily } from '../../src/relations/organizations.js';
import { RELATION_FAMILIES } from '../../src/relations/registry.js';
import {
  countOutcome,
  DEFAULT_RELATION_OPTIONS,
  fillRefs,
  unbalanced,
  type PlanEntry,
  type PlannedCall,
  type RelationsCounts,
} from '../../src/relations/types.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { organizationDifferences, organizationsView } from './compare-organizations.js';
import { collect, memoryInput, type Sources } from './memory-input.js';

const retry = { baseDelayMs: 5, maxDelayMs: 40, rateLimitFallbackMs: 5 };
let sim: Simulator;
let clients: { old: TenantClient; new: TenantClient };

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 2400, seedNewMigrated: 0.4, timing: 'fast' });
  clients = {
    old: createTenantClient(toTenantConfig(sim.tenants.old), { label: 'old', retry }),
    new: createTenantClient(toTenantConfig(sim.tenants.new), { label: 'new', retry }),
  };
});

afterAll(async () => {
  await sim?.close();
});

function pick(item: Record<string, unknown>, fields?: readonly string[]): Record<string, unknown> {
  if (fields === undefined) return item;
  return Object.fromEntries(fields.filter((f) => f in item).map((f) => [f, item[f]]));
}

/** Reads every source of a family from both tenants, as the stage reads them into work files. */
async function readSources(family: RelationFamily): Promise<{ old: Sources; new: Sources }> {
  const out: { old: Sources; new: Sources } = { old: {}, new: {} };
  for (const spec of family.sources) {
    if (spec.when !== undefined && !spec.when(DEFAULT_RELATION_OPTIONS)) continue;
    for (const tenant of spec.tenants) {
      const records: SourceRecord[] = [];
      const parents =
        spec.each === undefined
          ? [undefined]
          : (out[tenant][spec.each.source] ?? []).map((r) => String(r.item.id));
      for (const parent of parents) {
        const path =
          parent === undefined ? spec.path : spec.path.replace('{parent}', encodeURIComponent(parent));
        const pages = clients[tenant].list(path, {
          key: spec.key,
          paging: spec.paging,
          ...(spec.query && { query: spec.query }),
        });
        for await (const page of pages) {
          for (const item of page)
            records.push({ ...(parent !== undefined && { parent }), item: pick(item, spec.fields) });
        }
      }
      out[tenant][spec.name] = records;
    }
  }
  return out;
}

async function newUserIds(): Promise<Set<string>> {
  return new Set([...sim.tenant('new').users.iterate(sim.tenants.new.connection)].map((u) => u.user_id));
}

/**
 * One pass of every family (RBAC first, whose roles member roles name): read, diff all, then send
 * the calls phase by phase with `{ref}` and `{ref:<key>}` resolved; the tally as the stage counts it.
 */
async function pass(): Promise<{ entries: PlanEntry[]; counts: RelationsCounts; calls: number }> {
  const users = await newUserIds();
  const all: Array<{ family: RelationFamily; entry: PlanEntry }> = [];
  for (const family of RELATION_FAMILIES) {
    const entries = await collect(
      family.diff(memoryInput(await readSources(family), users), DEFAULT_RELATION_OPTIONS),
    );
    for (const entry of entries) all.push({ family, entry });
  }
  const counts: RelationsCounts = {};
  /** `type name` → id, for entities created this pass. */
  const refs = new Map<string, string>();
  const idOf = (ref: { type: string; name: string; id?: string }): string => {
    const id = ref.id ?? refs.get(`${ref.type} ${ref.name}`);
    if (id === undefined) throw new Error(`unresolved ${ref.type} ${ref.name}`);
    return id;
  };
  let sent = 0;
  const planned: PlannedCall[] = all.flatMap(({ entry: e }) => (e.type === 'call' ? [e.call] : []));
  for (const phase of [...new Set(planned.map((c) => c.phase))].sort()) {
    for (const call of planned.filter((c) => c.phase === phase)) {
      const ids: Record<string, string> = {};
      if (call.ref !== undefined) ids.ref = idOf(call.ref);
      for (const [key, ref] of Object.entries(call.refs ?? {})) ids[key] = idOf(ref);
      const { path, body } = fillRefs(call, ids);
      const answer = await clients.new.request(call.method, path, body);
      sent++;
      if (call.creates !== undefined)
        refs.set(`${call.creates.type} ${call.creates.name}`, String((answer as { id: string }).id));
      countOutcome(counts, call.kind, 'added', call.count);
    }
  }
  for (const { entry: e } of all) {
    if (e.type === 'settled')
      countOutcome(counts, e.settled.kind, e.settled.outcome, e.settled.count ?? 1, e.settled.code);
  }
  return {
    entries: all.filter((x) => x.family === organizationsFamily).map((x) => x.entry),
    counts,
    calls: sent,
  };
}

describe('the organizations family on the simulator', () => {
  it('carries organizations, connection links, memberships and member roles; a second pass adds nothing; a late user follows', async () => {
    // A connection only the old tenant has, enabled on one organization: reported, never invented.
    const oldOrgs = await organizationsView(clients.old);
    expect(oldOrgs.size).toBeGreaterThanOrEqual(10);
    const first = [...oldOrgs.keys()].sort()[0]!;
    const created = (await clients.old.request('POST', '/connections', {
      name: 'partner-db',
      strategy: 'auth0',
    })) as { id: string };
    const firstId = (await clients.old.getOrganizationByName(first))!.id;
    await clients.old.addOrganizationConnection(firstId, { connection_id: created.id });

    const one = await pass();
    expect(unbalanced(one.counts)).toEqual([]);
    expect(one.counts.organizations_created!.added).toBeGreaterThan(0);
    expect(one.counts.memberships!.added).toBeGreaterThan(0);
    expect(one.counts.memberships!.pending_user).toBeGreaterThan(0);
    expect(one.counts.member_roles!.added).toBeGreaterThan(0);
    expect(one.counts.organization_connections!.failures).toMatchObject({ missing_connection: 1 });
    const missing = one.entries.flatMap((e) =>
      e.type === 'finding' && e.finding.type === 'missing_connection' ? [e.finding] : [],
    );
    expect(missing).toEqual([
      expect.objectContaining({ subject: 'connection "partner-db"', waiting: [first] }),
    ]);

    const inNew = await newUserIds();
    const expectMatch = async () =>
      organizationDifferences(
        await organizationsView(clients.old),
        await organizationsView(clients.new),
        inNew,
        ['partner-db'],
      );
    expect(await expectMatch()).toEqual([]);

    const two = await pass();
    expect(two.calls).toBe(0);
    for (const kind of organizationsFamily.kinds) expect(two.counts[kind]?.added ?? 0).toBe(0);
    expect(two.counts.memberships!.pending_user).toBe(one.counts.memberships!.pending_user);

    // A pending user arrives (a lazy login, say): the next pass adds just their memberships.
    const pendingUser = one.entries.find(
      (e) => e.type === 'settled' && e.settled.kind === 'memberships' && e.settled.outcome === 'pending_user',
    );
    expect(pendingUser?.type).toBe('settled');
    const userId = pendingUser!.type === 'settled' ? pendingUser!.settled.userId! : '';
    const old = sim.tenant('old').users.get(userId)!;
    await clients.new.request('POST', '/users', {
      connection: sim.tenants.new.connection,
      user_id: userId.replace(/^auth0\|/, ''),
      email: old.email,
      password: 'Late-arrival-123!',
    });
    const three = await pass();
    const memberships = three.entries.flatMap((e) =>
      e.type === 'call' && e.call.kind === 'memberships' ? [e.call] : [],
    );
    expect(memberships.flatMap((c) => c.userIds)).toEqual(
      [...oldOrgs.entries()].filter(([, o]) => o.members.has(userId)).map(() => userId),
    );
    expect(three.counts.memberships!.pending_user).toBe(
      one.counts.memberships!.pending_user - memberships.length,
    );
    expect(await expectMatch()).toEqual([]);
  });
});
