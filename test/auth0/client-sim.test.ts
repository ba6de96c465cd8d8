/** The tenant client's import-side calls against the simulator's new tenant. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createTenantClient,
  isAuth0Error,
  type Auth0Error,
  type TenantClient,
} from '../../src/auth0/index.js';
import { toTenantConfig } from '../../src/config.js';
import { DB_CONNECTION, startSimulator, type Simulator } from '../../src/sim/index.js';

const retry = { baseDelayMs: 5, maxDelayMs: 40, rateLimitFallbackMs: 5 };
let sim: Simulator;
let client: TenantClient;

beforeAll(async () => {
  // Imports run at 200 users/s, so a job of a few hundred users stays active long enough to fill the slots.
  sim = await startSimulator({ timing: { pendingMs: 5, importUsersPerSecond: 200, tickMs: 10 } });
  client = createTenantClient(toTenantConfig(sim.tenants.new), { label: 'new', retry });
});

afterEach(async () => {
  sim.faults.clear();
  const jobs = [...sim.tenant('new').jobs.keys()];
  await Promise.all(jobs.map((id) => sim.tenant('new').jobEnded(id)));
});

afterAll(async () => {
  await sim?.close();
});

let seq = 0;
function usersFile(count: number): Buffer {
  const run = ++seq;
  return Buffer.from(
    JSON.stringify(
      Array.from({ length: count }, (_, i) => ({
        email: `run${run}-user${i}@example.com`,
        email_verified: true,
        user_id: `r${run}u${i}`,
      })),
    ),
  );
}

async function failure(p: Promise<unknown>): Promise<Auth0Error> {
  try {
    await p;
  } catch (err) {
    if (isAuth0Error(err)) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

async function ended(id: string) {
  await sim.tenant('new').jobEnded(id);
  return client.getJob(id);
}

describe('tenant client on the simulated new tenant', () => {
  it('imports a batch, then reads duplicates from /errors', async () => {
    const { connectionId } = sim.tenants.new;
    const users = usersFile(3);
    const first = await client.createImportJob({ connectionId, users, externalId: 'run-a-0' });
    expect(first).toMatchObject({ type: 'users_import', status: 'pending', external_id: 'run-a-0' });
    expect(await ended(first.id)).toMatchObject({ status: 'completed', summary: { inserted: 3, failed: 0 } });
    expect(await client.getJobErrors(first.id)).toEqual({ kind: 'none' });

    const again = await client.createImportJob({ connectionId, users, externalId: 'run-a-0' });
    expect(await ended(again.id)).toMatchObject({ summary: { failed: 3 } });
    const errors = await client.getJobErrors(again.id);
    expect(errors.kind).toBe('users');
    if (errors.kind === 'users') {
      expect(errors.errors.map((e) => e.errors[0]?.code)).toEqual([
        'DUPLICATED_USER',
        'DUPLICATED_USER',
        'DUPLICATED_USER',
      ]);
    }
    const [found] = await client.usersByEmail(`run${seq}-user0@example.com`);
    expect(found).toMatchObject({ user_id: `auth0|r${seq}u0` });
  });

  it('reads a user by id (undefined when there is none) and finds users by username and phone number', async () => {
    const { connectionId } = sim.tenants.new;
    const job = await client.createImportJob({
      connectionId,
      users: Buffer.from(
        JSON.stringify([
          { email: 'held@example.com', user_id: 'held1', username: 'holder', phone_number: '+15550100' },
        ]),
      ),
    });
    expect(await ended(job.id)).toMatchObject({ status: 'completed' });
    expect(await client.getUser('auth0|held1')).toMatchObject({
      user_id: 'auth0|held1',
      identities: [{ connection: DB_CONNECTION }],
    });
    expect(await client.getUser('auth0|nobody-here')).toBeUndefined();
    expect((await client.searchUsers('username:"holder"')).map((u) => u.user_id)).toEqual(['auth0|held1']);
    expect((await client.searchUsers('phone_number:"+15550100"')).map((u) => u.user_id)).toEqual([
      'auth0|held1',
    ]);
    expect(await client.searchUsers('username:"nobody"')).toEqual([]);
  });

  it('deletes a user: gone from reads and users-by-email; a second delete and a 429 are no failure', async () => {
    const job = await client.createImportJob({
      connectionId: sim.tenants.new.connectionId,
      users: Buffer.from(JSON.stringify([{ email: 'leaving@example.com', user_id: 'leaving1' }])),
    });
    expect(await ended(job.id)).toMatchObject({ status: 'completed' });
    sim.faults.add({
      kind: 'rate-limit',
      tenant: 'new',
      method: 'DELETE',
      path: '/api/v2/users/auth0%7Cleaving1',
      times: 1,
      resetSeconds: 0,
    });
    await client.deleteUser('auth0|leaving1');
    expect(sim.faults.list()).toEqual([]);
    expect(await client.getUser('auth0|leaving1')).toBeUndefined();
    expect(await client.usersByEmail('leaving@example.com')).toEqual([]);
    // Auth0 answers 204 for a user that is not there.
    await client.deleteUser('auth0|leaving1');
  });

  it('reports the third concurrent import as import_slots_busy, sent once', async () => {
    const { connectionId } = sim.tenants.new;
    const stats = sim.tenant('new').stats;
    await client.createImportJob({ connectionId, users: usersFile(120) });
    await client.createImportJob({ connectionId, users: usersFile(120) });
    const rejected = stats.importJobsRejected;
    const err = await failure(client.createImportJob({ connectionId, users: usersFile(1) }));
    expect(err.code).toBe('import_slots_busy');
    expect(stats.importJobsRejected - rejected).toBe(1);
    expect(stats.maxActiveImportJobs).toBeLessThanOrEqual(2);
  });

  it('refuses a file over 512000 bytes as payload_too_large', async () => {
    const big = Buffer.from(
      JSON.stringify([{ email: 'big@example.com', user_metadata: { blob: 'x'.repeat(520_000) } }]),
    );
    const stats = sim.tenant('new').stats;
    const before = stats.managementRequests;
    // Each attempt is one request answered 413: none is lost to a network error and retried.
    for (let i = 0; i < 5; i++) {
      const err = await failure(
        client.createImportJob({ connectionId: sim.tenants.new.connectionId, users: big }),
      );
      expect(err.code).toBe('payload_too_large');
      expect(err.status).toBe(413);
      expect(err.retryable).toBe(false);
    }
    expect(stats.managementRequests - before).toBe(5);
  });

  it('does not repeat an import creation whose answer was a 5xx', async () => {
    const stats = sim.tenant('new').stats;
    const created = stats.importJobsCreated;
    sim.faults.add({
      kind: 'error',
      status: 503,
      tenant: 'new',
      method: 'POST',
      path: '/api/v2/jobs/users-imports',
      times: 0,
    });
    const err = await failure(
      client.createImportJob({ connectionId: sim.tenants.new.connectionId, users: usersFile(1) }),
    );
    expect(err.code).toBe('outcome_unknown');
    expect(sim.faults.list()[0]?.hits).toBe(1);
    expect(stats.importJobsCreated).toBe(created);
  });

  it('repeats an import creation refused by the rate limit', async () => {
    sim.faults.add({
      kind: 'rate-limit',
      tenant: 'new',
      method: 'POST',
      path: '/api/v2/jobs/users-imports',
      times: 2,
      resetSeconds: 0,
    });
    const job = await client.createImportJob({
      connectionId: sim.tenants.new.connectionId,
      users: usersFile(1),
    });
    expect(job.id).toMatch(/^job_/);
    expect(sim.faults.list()).toEqual([]);
  });

  it('names a connection id that does not exist', async () => {
    const err = await failure(
      client.createImportJob({ connectionId: 'con_0000000000000000', users: usersFile(1) }),
    );
    expect(err.code).toBe('unknown_connection');
    expect(err.message).toContain('NEW_AUTH0_CONNECTION');
  });

  it('reads and updates a connection, and creates a password-change ticket', async () => {
    const { connectionId } = sim.tenants.new;
    const connection = await client.getConnection(connectionId);
    expect(connection).toMatchObject({ id: connectionId, name: DB_CONNECTION, strategy: 'auth0' });
    const options = { ...(connection.options ?? {}), import_mode: true };
    const updated = await client.updateConnection(connectionId, { options });
    expect(updated.options).toMatchObject({ import_mode: true });

    const job = await client.createImportJob({ connectionId, users: usersFile(1) });
    await ended(job.id);
    const { ticket } = await client.createPasswordChangeTicket({ userId: `auth0|r${seq}u0`, ttlSec: 3600 });
    expect(ticket).toMatch(/^https?:\/\//);
    expect((await failure(client.getJob('job_0000000000000000'))).code).toBe('not_found');
  });
});
