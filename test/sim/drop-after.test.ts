/**
 * The `drop-after` fault: the request is handled in full, then the connection is destroyed instead
 * of the answer being sent. An import job exists although the client saw no answer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type ImportJob, type Simulator } from '../../src/sim/index.js';
import { Mgmt, managementToken } from './helpers.js';

let sim: Simulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const USERS = [
  { email: 'lost-1@example.com', user_id: 'lost1' },
  { email: 'lost-2@example.com', user_id: 'lost2' },
];

/** POST /jobs/users-imports with plain fetch: the dropped answer is a rejected promise, not a status. */
async function postImport(api: Mgmt, token: string): Promise<Response> {
  return fetch(`${api.tenant.baseUrl}/api/v2/jobs/users-imports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: api.importForm(USERS, { external_id: 'batch-0' }),
  });
}

function importJobs(s: Simulator): ImportJob[] {
  return [...s.tenant('new').jobs.values()].filter((j): j is ImportJob => j.type === 'users_import');
}

describe('the drop-after fault', () => {
  it('creates and runs the import job, then drops the connection instead of answering', async () => {
    sim = await startSimulator({ timing: 'fast' });
    const api = await Mgmt.connect(sim, 'new');
    const token = await managementToken(sim.tenants.new);
    sim.faults.add({ kind: 'drop-after', tenant: 'new', method: 'POST', path: '/api/v2/jobs/users-imports' });

    await expect(postImport(api, token)).rejects.toThrow(TypeError);

    const state = sim.tenant('new');
    const [lost] = importJobs(sim);
    expect(importJobs(sim)).toHaveLength(1);
    expect(lost).toMatchObject({ external_id: 'batch-0', upsert: false });
    expect(state.stats.importJobsCreated).toBe(1);
    expect(state.stats.faultsInjected).toBe(1);
    await state.jobEnded(lost!.id);
    const ended = await api.call('GET', `/jobs/${lost!.id}`);
    expect(ended.body).toMatchObject({ status: 'completed', summary: { inserted: 2, failed: 0 } });
    expect(state.user('auth0|lost1')).toMatchObject({ email: 'lost-1@example.com' });
    expect(state.user('auth0|lost2')).toMatchObject({ email: 'lost-2@example.com' });

    // The rule hit once: the client's second attempt gets its answer, and the users are duplicates.
    const again = await api.importUsers(USERS, { external_id: 'batch-0' });
    expect(again).toMatchObject({ status: 'completed', summary: { inserted: 0, failed: 2 } });
    const errors = await api.call('GET', `/jobs/${again.id}/errors`);
    expect(errors.body.map((e: { errors: Array<{ code: string }> }) => e.errors[0]!.code)).toEqual([
      'DUPLICATED_USER',
      'DUPLICATED_USER',
    ]);
    expect(state.userCount(sim.tenants.new.connection)).toBe(2);
    expect(state.stats.importedUserIds).toEqual(['auth0|lost1', 'auth0|lost2']);
  });

  it('is set over HTTP and matches by tenant, method, path and count like the other kinds', async () => {
    sim = await startSimulator({ timing: 'fast' });
    const api = await Mgmt.connect(sim, 'new');
    const token = await managementToken(sim.tenants.new);
    const added = await fetch(`${sim.url}/__sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        kind: 'drop-after',
        tenant: 'new',
        method: 'POST',
        path: '/api/v2/jobs/users-imports',
        skip: 1,
      }),
    });
    expect(added.status).toBe(201);
    expect(sim.faults.list()).toEqual([expect.objectContaining({ kind: 'drop-after', skip: 1, hits: 0 })]);

    // Another tenant, another method and another path pass untouched.
    const old = await Mgmt.connect(sim, 'old');
    expect((await old.call('POST', '/jobs/users-imports', { form: old.importForm(USERS) })).status).toBe(202);
    expect((await api.call('GET', '/jobs/job_0000000000000000')).status).toBe(404);
    expect((await api.call('GET', '/connections')).status).toBe(200);
    // The first matching request is skipped, the second is handled and its answer dropped.
    const first = await postImport(api, token);
    expect(first.status).toBe(202);
    await expect(postImport(api, token)).rejects.toThrow(TypeError);
    expect(importJobs(sim)).toHaveLength(2);
    expect(sim.faults.list()).toEqual([]);
    expect(sim.tenant('new').stats.faultsInjected).toBe(1);
    expect(sim.tenant('old').stats.faultsInjected).toBe(0);

    const bad = await fetch(`${sim.url}/__sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'drop-later' }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('drop-after');
    const badCut = await fetch(`${sim.url}/__sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'cut', afterBytes: -1 }),
    });
    expect(badCut.status).toBe(400);
    expect(((await badCut.json()) as { error: string }).error).toContain('afterBytes');
  });
});
