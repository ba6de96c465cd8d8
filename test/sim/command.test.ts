/** `auth0-migrate sim`: the first stdout line with --json, the banner otherwise, and shutdown. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { simCommand } from '../../src/commands/sim.js';
import type { Simulator } from '../../src/sim/index.js';

async function runUntilReady(opts: Parameters<typeof simCommand>[1]) {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (c: Buffer) => (text += c.toString()));
  const stop = new AbortController();
  let sim: Simulator | undefined;
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  const exited = simCommand(loadConfig({ env: {}, dotenvPath: false }), opts, {
    stdout,
    signal: stop.signal,
    onReady: (s) => {
      sim = s;
      ready();
    },
  });
  await Promise.race([isReady, exited]);
  return { text: () => text, sim: sim!, stop: () => stop.abort(), exited };
}

describe('sim command', () => {
  it('prints one JSON object as the first line with --json, serves, and stops on signal', async () => {
    const run = await runUntilReady({ port: 0, seedOld: 10, timing: 'fast', json: true });
    const first = run.text().split('\n')[0]!;
    const parsed = JSON.parse(first) as { tenants: Record<string, Record<string, string>> };
    expect(Object.keys(parsed.tenants).sort()).toEqual(['new', 'old']);
    for (const t of Object.values(parsed.tenants)) {
      expect(Object.keys(t).sort()).toEqual(['baseUrl', 'clientId', 'clientSecret', 'connection', 'domain']);
    }
    const old = parsed.tenants.old!;
    const res = await fetch(`${old.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: old.clientId,
        client_secret: old.clientSecret,
        audience: `https://${old.domain}/api/v2/`,
      }),
    });
    expect(res.status).toBe(200);
    expect(run.sim.tenant('old').userCount()).toBe(10);
    expect(run.sim.tenant('new').userCount()).toBe(0);
    run.stop();
    expect(await run.exited).toBe(0);
    await expect(fetch(`${old.baseUrl}/oauth/token`, { method: 'POST' })).rejects.toThrow();
  });

  it('seeds linked accounts and MFA enrolments unless told otherwise', async () => {
    const run = await runUntilReady({ port: 0, seedOld: 600, timing: 'fast', json: true });
    const users = [...run.sim.tenant('old').users.iterate()];
    expect(users.filter((u) => u.identities !== undefined).length).toBeGreaterThan(10);
    expect(users.filter((u) => u.authenticators !== undefined).length).toBeGreaterThan(20);
    run.stop();
    expect(await run.exited).toBe(0);
    const none = await runUntilReady({
      port: 0,
      seedOld: 600,
      seedLinked: 0,
      seedMfa: 0,
      timing: 'fast',
      json: true,
    });
    expect([...none.sim.tenant('old').users.iterate()].some((u) => u.identities ?? u.authenticators)).toBe(
      false,
    );
    none.stop();
    expect(await none.exited).toBe(0);
  });

  it('prints a banner with the environment lines to paste', async () => {
    const run = await runUntilReady({ port: 0, seedOld: 5, timing: 'fast' });
    const text = run.text();
    const t = run.sim.tenants.new;
    expect(text).toContain(`NEW_AUTH0_BASE_URL=${t.baseUrl}\n`);
    expect(text).toContain(`NEW_AUTH0_CLIENT_SECRET=${t.clientSecret}\n`);
    expect(text).toMatch(/^OLD_AUTH0_DOMAIN=old\.sim\.auth0-migrate\.local$/m);
    expect(text).toMatch(/^OLD_AUTH0_CONNECTION=Username-Password-Authentication$/m);
    run.stop();
    expect(await run.exited).toBe(0);
  });
});
