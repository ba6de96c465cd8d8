/** The tenant client's linked-account and MFA-enrolment calls against the simulator. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantClient, isAuth0Error, type TenantClient } from '../../src/auth0/index.js';
import { toTenantConfig } from '../../src/config.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';

const retry = { baseDelayMs: 5, maxDelayMs: 40, rateLimitFallbackMs: 5 };
let sim: Simulator;
let old: TenantClient;
let neu: TenantClient;

async function all(
  pages: AsyncIterable<Array<Record<string, unknown>>>,
): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for await (const page of pages) out.push(...page);
  return out;
}

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 300, seedNewMigrated: 0.3, seedLinked: 0.2, seedMfa: 0.2, seed: 5 });
  old = createTenantClient(toTenantConfig(sim.tenants.old), { label: 'old', retry });
  neu = createTenantClient(toTenantConfig(sim.tenants.new), { label: 'new', retry });
});

afterAll(async () => {
  await sim?.close();
});

describe('linked accounts and MFA enrolments', () => {
  it("reads a linked user's identities and an enrolled user's methods, masked, without secrets", async () => {
    const users = [...sim.tenant('old').listUsers()];
    const linked = users.find((u) => Array.isArray(u.identities) && u.identities.length > 1)!;
    expect(linked).toBeDefined();
    const identities = await old.getUserIdentities(String(linked.user_id));
    expect(identities).toHaveLength(2);
    expect(identities.map((i) => i.provider).sort()).toEqual(['auth0', 'google-oauth2']);
    const enrolled = users.find((u) => Array.isArray(u.multifactor))!;
    const methods = await all(old.listAuthenticationMethods(String(enrolled.user_id)));
    expect(methods.length).toBeGreaterThan(0);
    for (const m of methods) {
      expect(m.confirmed).toBe(true);
      expect(JSON.stringify(m)).not.toMatch(/secret/);
      if (typeof m.phone_number === 'string') expect(m.phone_number).toMatch(/^X+\d{4}$/);
    }
  });

  it('links a social account into a database user, refuses it twice, and unlinks it', async () => {
    const primary = String([...sim.tenant('new').listUsers(sim.tenants.new.connection)][0]!.user_id);
    const login = await fetch(`${sim.url}/__sim/idp-login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        tenant: 'new',
        user_id: 'google-oauth2|900000000001',
        profile: { email: 'someone@gmail.com', email_verified: true, name: 'Some One' },
      }),
    });
    expect(login.status).toBe(201);
    const after = await neu.linkIdentity(primary, { provider: 'google-oauth2', user_id: '900000000001' });
    expect(after.map((i) => `${String(i.provider)}|${String(i.user_id)}`)).toContain(
      'google-oauth2|900000000001',
    );
    expect(await neu.getUserIdentities(primary)).toHaveLength(2);
    const twice = await neu
      .linkIdentity(primary, { provider: 'google-oauth2', user_id: '900000000001' })
      .catch((err: unknown) => err);
    expect(isAuth0Error(twice)).toBe(true);
    const left = await neu.unlinkIdentity(primary, 'google-oauth2', '900000000001');
    expect(left).toHaveLength(1);
    expect(await all(neu.listAuthenticationMethods(primary))).toEqual([]);
    expect(await neu.getUserIdentities('google-oauth2|900000000001')).toHaveLength(1);
  });
});
