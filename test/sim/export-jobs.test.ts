/** users-exports jobs and their download links; every API answer goes through the OAS check. */
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DB_CONNECTION, SOCIAL_CONNECTION, startSimulator, type Simulator } from '../../src/sim/index.js';
import { Mgmt } from './helpers.js';

let sim: Simulator;
let api: Mgmt;

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 300 });
  api = await Mgmt.connect(sim, 'old');
});

afterAll(async () => {
  await sim.close();
});

afterEach(() => {
  vi.useRealTimers();
});

async function download(
  location: string,
): Promise<{ status: number; lines: Array<Record<string, unknown>>; raw: string }> {
  const res = await fetch(location);
  const buf = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) return { status: res.status, lines: [], raw: buf.toString() };
  const raw = gunzipSync(buf).toString('utf8');
  const ndjson = raw.startsWith('{');
  return {
    status: res.status,
    raw,
    lines: ndjson
      ? raw
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      : [],
  };
}

async function exportJob(body: Record<string, unknown>) {
  const created = await api.call('POST', '/jobs/users-exports', { json: body });
  expect(created.status).toBe(200);
  return { created: created.body, done: await api.waitForJob(created.body.id) };
}

describe('POST /jobs/users-exports', () => {
  it('answers 200 echoing format, limit and fields, adding connection', async () => {
    const fields = [{ name: 'user_id' }, { name: 'identities[0].connection', export_as: 'provider' }];
    const a = await api.call('POST', '/jobs/users-exports', {
      json: { connection_id: api.tenant.connectionId, format: 'json', limit: 7, fields },
    });
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({
      type: 'users_export',
      status: 'pending',
      format: 'json',
      limit: 7,
      fields,
      connection: DB_CONNECTION,
      connection_id: api.tenant.connectionId,
    });
    expect(a.body.id).toMatch(/^job_[A-Za-z0-9]{16}$/);
  });

  it('exports every user of the connection when no limit is given (not 5), keyed by export_as or name', async () => {
    const before = Date.now();
    const { done } = await exportJob({
      connection_id: api.tenant.connectionId,
      format: 'json',
      fields: [
        { name: 'user_id' },
        { name: 'email' },
        { name: 'identities[0].connection', export_as: 'provider' },
        { name: 'user_metadata.address.city', export_as: 'city' },
        { name: 'app_metadata' },
      ],
    });
    expect(done.status).toBe('completed');
    expect(done.location).toMatch(
      new RegExp(`^${api.tenant.baseUrl}/__exports/${done.id}/old\\.json\\.gz\\?Expires=\\d+&.*Signature=`),
    );
    // Signed when the job was read as completed: 60 s after a moment between `before` and now.
    const expires = Number(new URL(done.location).searchParams.get('Expires'));
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) + 60);
    expect(expires).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 60);
    const file = await download(done.location);
    const expected = sim.tenant('old').userCount(DB_CONNECTION);
    expect(expected).toBeGreaterThan(250);
    expect(file.lines).toHaveLength(expected);
    const first = file.lines[0]!;
    expect(first.provider).toBe(DB_CONNECTION);
    expect(typeof first.city).toBe('string');
    expect(first.app_metadata).toMatchObject({ plan: expect.any(String) });
    expect(Object.keys(first)).not.toContain('identities[0].connection');
    expect(file.lines.every((l) => String(l.user_id).startsWith('auth0|'))).toBe(true);
  });

  it('honours limit', async () => {
    const { done } = await exportJob({
      connection_id: api.tenant.connectionId,
      format: 'json',
      limit: 12,
      fields: [{ name: 'user_id' }],
    });
    expect((await download(done.location)).lines).toHaveLength(12);
  });

  it('exports the whole tenant, social users included, without connection_id', async () => {
    const { done } = await exportJob({
      format: 'json',
      fields: [{ name: 'user_id' }, { name: 'identities[0].provider', export_as: 'p' }],
    });
    const file = await download(done.location);
    expect(file.lines).toHaveLength(300);
    expect(file.lines.some((l) => l.p === SOCIAL_CONNECTION)).toBe(true);
  });

  it('writes CSV with a header and Auth0 escaping', async () => {
    const { done } = await exportJob({
      connection_id: api.tenant.connectionId,
      format: 'csv',
      limit: 3,
      fields: [
        { name: 'email' },
        { name: 'name', export_as: 'Full name' },
        { name: 'created_at' },
        { name: 'logins_count' },
      ],
    });
    expect(done.location).toContain('/old.csv.gz?');
    const raw = (await download(done.location)).raw.trim().split('\n');
    expect(raw[0]).toBe('email,Full name,created_at,logins_count');
    expect(raw).toHaveLength(4);
    expect(raw[1]).toMatch(/^"'[^"]+@[^"]+","'[^"]+",\d{4}-\d\d-\d\dT[^,]+,\d+$/);
  });

  it('refuses unknown properties, formats and connections', async () => {
    expect((await api.call('POST', '/jobs/users-exports', { json: { format: 'ndjson' } })).status).toBe(400);
    const extra = await api.call('POST', '/jobs/users-exports', { json: { foo: 1 } });
    expect(extra.body.message).toBe("Payload validation error: 'Additional properties not allowed: foo'.");
    const unknown = await api.call('POST', '/jobs/users-exports', {
      json: { connection_id: 'con_0000000000000000' },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toBe('The connection does not exist.');
  });
});

describe('download links', () => {
  it('expire after 60 s with a 403 as the CDN gives; the job then hands out a fresh link', async () => {
    const { done } = await exportJob({
      connection_id: api.tenant.connectionId,
      format: 'json',
      limit: 2,
      fields: [{ name: 'user_id' }],
    });
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 61_000 });
    const stale = await download(done.location);
    expect(stale.status).toBe(403);
    expect(stale.raw).toContain('AccessDenied');
    const again = await api.call('GET', `/jobs/${done.id}`);
    expect(again.body.location).not.toBe(done.location);
    expect((await download(again.body.location)).lines).toHaveLength(2);
  });

  it('refuse a forged signature', async () => {
    const { done } = await exportJob({
      connection_id: api.tenant.connectionId,
      format: 'json',
      limit: 1,
      fields: [{ name: 'user_id' }],
    });
    const forged = done.location.replace(/Signature=[^&]+/, 'Signature=abc');
    expect((await download(forged)).status).toBe(403);
  });
});
