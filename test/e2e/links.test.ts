/**
 * Linked accounts across a migration, against the simulator: a sweep (users, then relations), the
 * first social logins of some users to the new tenant (the simulator's control endpoint), a second
 * `relations` run; both tenants compared through the API, link by link: every link of the old
 * tenant is in the new one where both accounts exist, and the others are pending, listed.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { relationsCommand } from '../../src/commands/relations.js';
import { rollbackCommand } from '../../src/commands/rollback.js';
import { sweepCommand } from '../../src/commands/sweep.js';
import type { RunSummary } from '../../src/report/types.js';
import { unbalanced } from '../../src/relations/types.js';
import { FAST, startHarness, type Harness } from '../jobs/harness.js';
import { Mgmt } from '../sim/helpers.js';

interface Link {
  primary: string;
  provider: string;
  userId: string;
}

const hooks = (onRun: (id: string) => void) => ({
  settings: FAST,
  out: { write: () => true },
  progressStream: new Writable({ write: (_c, _e, cb) => cb() }),
  onRun,
});

async function summaryOf(h: Harness, runId: string): Promise<RunSummary> {
  return JSON.parse(await readFile(join(h.reportsDir, runId, 'summary.json'), 'utf8')) as RunSummary;
}

/** The links a tenant shows through the API: every identity beyond the first of each user. */
async function linksThroughApi(api: Mgmt, userIds: Iterable<string>): Promise<Set<string>> {
  const out = new Set<string>();
  for (const id of userIds) {
    const a = await api.call('GET', `/users/${encodeURIComponent(id)}`);
    if (a.status === 404) continue;
    expect(a.status).toBe(200);
    for (const i of (a.body.identities as Array<{ provider: string; user_id: string }>).slice(1)) {
      out.add(`${id} ${i.provider}|${i.user_id}`);
    }
  }
  return out;
}

const key = (l: Link) => `${l.primary} ${l.provider}|${l.userId}`;

async function idpLogin(h: Harness, userId: string): Promise<void> {
  const res = await fetch(`${h.sim.url}/__sim/idp-login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenant: 'new', user_id: userId }),
  });
  expect(res.status).toBe(201);
}

describe('linked accounts', () => {
  it('links at once what exists, the rest after first logins, through a sweep and a later relations run', async () => {
    const h = await startHarness({ sim: { seedOld: 400, seedLinked: 0.15, seed: 21 } });
    const oldApi = await Mgmt.connect(h.sim, 'old');
    const newApi = await Mgmt.connect(h.sim, 'new');
    // The old tenant's links, read through its API.
    const linkedUsers = [...h.sim.tenant('old').listUsers()]
      .filter((u) => Array.isArray(u.identities) && u.identities.length > 1)
      .map((u) => String(u.user_id));
    const oldLinks = await linksThroughApi(oldApi, linkedUsers);
    const links: Link[] = [...oldLinks].map((k) => {
      const [primary, secondary] = k.split(' ') as [string, string];
      const bar = secondary.indexOf('|');
      return { primary, provider: secondary.slice(0, bar), userId: secondary.slice(bar + 1) };
    });
    expect(links.length).toBeGreaterThan(20);
    // Both directions: database users with Google linked, Google users with a database account.
    const socialPrimary = links.filter((l) => !l.primary.startsWith('auth0|'));
    expect(socialPrimary.length).toBeGreaterThan(0);
    expect(socialPrimary.length).toBeLessThan(links.length);
    const primaries = new Set(links.map((l) => l.primary));

    const socialSide = (l: Link) =>
      l.primary.startsWith('auth0|') ? `${l.provider}|${l.userId}` : l.primary;
    // During the lazy-migration weeks one Google user (whose database account is linked to it)
    // already logged in to the new tenant: the sweep imports the database account, then links it.
    const early = socialPrimary[0]!;
    await idpLogin(h, early.primary);

    // The sweep: users, then relations. No other social account is in the new tenant yet.
    let sweepId = '';
    expect(
      await sweepCommand(
        h.config,
        {},
        hooks((id) => (sweepId = id)),
      ),
    ).toBe(0);
    const swept = (await summaryOf(h, sweepId)).relations!;
    expect(unbalanced(swept.counts)).toEqual([]);
    expect(swept.counts.links).toMatchObject({
      total: links.length,
      added: 1,
      pending_user: links.length - 1,
    });
    expect([...(await linksThroughApi(newApi, primaries))]).toEqual([key(early)]);
    // The database account of a Google user was imported as a user of its own.
    for (const l of socialPrimary.slice(1)) {
      expect((await newApi.call('GET', `/users/${encodeURIComponent(`auth0|${l.userId}`)}`)).status).toBe(
        200,
      );
    }

    // Weeks later: half of the social accounts log in to the new tenant for the first time.
    const loggedIn = links.filter((l, i) => i % 2 === 0 && l !== early);
    for (const l of loggedIn) await idpLogin(h, socialSide(l));

    let runId = '';
    expect(
      await relationsCommand(
        h.config,
        {},
        hooks((id) => (runId = id)),
      ),
    ).toBe(0);
    const second = await summaryOf(h, runId);
    const r = second.relations!;
    expect(unbalanced(r.counts)).toEqual([]);
    expect(r.counts.links).toMatchObject({
      total: links.length,
      added: loggedIn.length,
      already_present: 1,
      pending_user: links.length - 1 - loggedIn.length,
      failed: 0,
    });
    // Compared through the API: present exactly where both accounts exist.
    const now = await linksThroughApi(newApi, primaries);
    expect([...now].sort()).toEqual([...loggedIn, early].map(key).sort());
    // The secondary stopped being a user of its own once linked.
    for (const l of loggedIn) {
      const secondary = `${l.provider}|${l.userId}`;
      expect((await newApi.call('GET', `/users/${encodeURIComponent(secondary)}`)).status).toBe(404);
    }
    // The pending ones are listed, naming who has not logged in yet.
    const pending = (await readFile(join(h.reportsDir, runId, 'relations-pending.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; userId: string; detail: string })
      .filter((p) => p.kind === 'links');
    const waiting = links.filter((x) => !loggedIn.includes(x) && x !== early);
    expect(pending).toHaveLength(waiting.length);
    for (const l of waiting) {
      const p = pending.find((x) => x.userId === l.primary && x.detail.includes(`${l.provider}|${l.userId}`));
      expect(p?.detail).toContain(`${socialSide(l)} has not logged in to the new tenant yet`);
    }

    // Everyone else logs in; a third run links them and counts the earlier ones as present.
    for (const l of waiting) await idpLogin(h, socialSide(l));
    expect(
      await relationsCommand(
        h.config,
        {},
        hooks((id) => (runId = id)),
      ),
    ).toBe(0);
    const third = (await summaryOf(h, runId)).relations!;
    expect(third.counts.links).toMatchObject({
      total: links.length,
      added: waiting.length,
      already_present: loggedIn.length + 1,
      pending_user: 0,
    });
    expect([...(await linksThroughApi(newApi, primaries))].sort()).toEqual([...oldLinks].sort());

    // Rolling that run back unlinks exactly what it linked: those secondaries stand alone again.
    expect(
      await rollbackCommand(
        h.config,
        runId,
        { send: true },
        hooks(() => undefined),
      ),
    ).toBe(0);
    const rolled = JSON.parse(await readFile(join(h.reportsDir, runId, 'rollback.json'), 'utf8')) as {
      relations?: { byKind: Record<string, Record<string, number>> };
    };
    expect(rolled.relations?.byKind.links).toMatchObject({ total: waiting.length, removed: waiting.length });
    expect([...(await linksThroughApi(newApi, primaries))].sort()).toEqual(
      [...loggedIn, early].map(key).sort(),
    );
    for (const l of waiting) {
      const secondary = `${l.provider}|${l.userId}`;
      expect((await newApi.call('GET', `/users/${encodeURIComponent(secondary)}`)).status).toBe(200);
    }
  }, 120_000);
});
