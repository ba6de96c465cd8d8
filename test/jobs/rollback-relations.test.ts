/**
 * Undoing a run's added relations against a scripted tenant: which undo calls go out, what follows
 * its user or its entity, a created role kept while in use, and a crash between a call and its
 * outcome counted once.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Auth0Error } from '../../src/auth0/errors.js';
import type { TenantClient } from '../../src/auth0/types.js';
import { summarizeRelations, undoRelations } from '../../src/jobs/rollback-relations.js';
import type { AddedRecord } from '../../src/relations/types.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollback-relations-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = { v: 1 as const, runId: 'r', tenant: 'new' as const, at: '2024-05-01T10:30:00.000Z' };
const created = (name: string, id: string): AddedRecord => ({
  ...base,
  callId: `create-${name}`,
  kind: 'roles_created',
  action: 'created',
  entity: { type: 'role', name, id },
  undo: { method: 'DELETE', path: `/roles/${id}` },
});
const assigned = (name: string, id: string, userId: string): AddedRecord => ({
  ...base,
  callId: `assign-${name}`,
  kind: 'role_assignments',
  action: 'assigned',
  entity: { type: 'role', name, id },
  userId,
  undo: { method: 'DELETE', path: `/users/${userId}/roles`, body: { roles: [id] } },
});
const permission = (name: string, id: string, p: string): AddedRecord => ({
  ...base,
  callId: `perm-${name}`,
  kind: 'role_permissions',
  action: 'assigned',
  entity: { type: 'role', name, id },
  item: { resource_server_identifier: 'https://api', permission_name: p },
  undo: {
    method: 'DELETE',
    path: `/roles/${id}/permissions`,
    body: { permissions: [{ resource_server_identifier: 'https://api', permission_name: p }] },
  },
});

/** A tenant whose roles hold the given members; every call is recorded. */
function tenant(members: Record<string, string[]>) {
  const calls: string[] = [];
  const client = {
    request: async (method: string, path: string) => {
      calls.push(`${method} ${path}`);
      const m = /^\/roles\/([^/]+)$/.exec(path);
      if (method === 'DELETE' && m !== null) {
        if (members[m[1]!] === undefined)
          throw new Auth0Error('not_found', 'The role does not exist.', { status: 404 });
        delete members[m[1]!];
      }
      return undefined;
    },
    list: async function* (path: string) {
      calls.push(`GET ${path}`);
      const id = /^\/roles\/([^/]+)\/users$/.exec(path)?.[1];
      if (id === undefined || members[id] === undefined) {
        throw new Auth0Error('not_found', 'The role does not exist.', { status: 404 });
      }
      yield members[id].map((user_id) => ({ user_id }));
    },
  } as unknown as TenantClient;
  return { client, calls };
}

async function writeAdded(records: AddedRecord[]): Promise<void> {
  await writeFile(join(dir, 'relations-added.ndjson'), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

describe('undoRelations', () => {
  const users = new Map([
    ['auth0|deleted', 'deleted' as const],
    ['auth0|kept', 'kept_active' as const],
  ]);

  it('undoes the relations of users who stay, lets the others follow their user or role, keeps a role in use', async () => {
    await writeAdded([
      created('Editors', 'rol_E'),
      created('Auditors', 'rol_A'),
      permission('Editors', 'rol_E', 'read'),
      permission('Viewers', 'rol_V', 'write'),
      assigned('Editors', 'rol_E', 'auth0|deleted'),
      assigned('Editors', 'rol_E', 'auth0|kept'),
      assigned('Viewers', 'rol_V', 'auth0|lazy'),
      assigned('Auditors', 'rol_A', 'auth0|lazy'),
    ]);
    const t = tenant({ rol_E: ['auth0|kept'], rol_A: [], rol_V: ['auth0|other'] });
    const dry = await undoRelations(t.client, dir, { users });
    expect(t.calls.filter((c) => !c.startsWith('GET'))).toEqual([]);
    const { lines } = await undoRelations(t.client, dir, { users, send: true });
    expect(t.calls.filter((c) => !c.startsWith('GET'))).toEqual([
      'DELETE /users/auth0|lazy/roles',
      'DELETE /users/auth0|lazy/roles',
      'DELETE /roles/Viewers/permissions'.replace('Viewers', 'rol_V'),
      'DELETE /roles/rol_A',
    ]);
    const outcome = (kind: string, userOrItem: string) =>
      lines.find((l) => l.kind === kind && (l.user_id === userOrItem || l.entity.includes(userOrItem)))
        ?.outcome;
    expect(outcome('role_assignments', 'auth0|deleted')).toBe('gone_with_user');
    expect(lines.find((l) => l.user_id === 'auth0|kept')).toMatchObject({
      outcome: 'kept',
      reason: 'user_kept',
    });
    expect(lines.find((l) => l.kind === 'roles_created' && l.entity === 'role Editors')).toMatchObject({
      outcome: 'kept',
      reason: 'in_use',
      detail: 'used by auth0|kept',
    });
    expect(lines.find((l) => l.kind === 'roles_created' && l.entity === 'role Auditors')?.outcome).toBe(
      'removed',
    );
    expect(lines.find((l) => l.kind === 'role_permissions' && l.entity === 'role Editors')).toMatchObject({
      outcome: 'kept',
      reason: 'in_use',
    });
    expect(summarizeRelations(lines).byKind).toEqual({
      role_assignments: {
        total: 4,
        removed: 2,
        gone_with_user: 1,
        gone_with_entity: 0,
        kept: 1,
        already_gone: 0,
        failed: 0,
      },
      role_permissions: {
        total: 2,
        removed: 1,
        gone_with_user: 0,
        gone_with_entity: 0,
        kept: 1,
        already_gone: 0,
        failed: 0,
      },
      roles_created: {
        total: 2,
        removed: 1,
        gone_with_user: 0,
        gone_with_entity: 0,
        kept: 1,
        already_gone: 0,
        failed: 0,
      },
    });
    // The dry run said the same.
    expect(summarizeRelations(dry.lines).byKind).toEqual(summarizeRelations(lines).byKind);

    // A second --send sends nothing again.
    const before = t.calls.length;
    const again = await undoRelations(t.client, dir, { users, send: true });
    expect(t.calls.length).toBe(before);
    expect(summarizeRelations(again.lines).byKind).toEqual(summarizeRelations(lines).byKind);
  });

  it('a role whose DELETE went out before a crash is removed once, and its permissions went with it', async () => {
    await writeAdded([created('Editors', 'rol_E'), permission('Editors', 'rol_E', 'read')]);
    const key = 'create-Editors|created|role|rol_E||{}';
    await writeFile(
      join(dir, 'rollback-relations.ndjson'),
      `${JSON.stringify({ key, step: 'undoing', at: base.at })}\n`,
    );
    const t = tenant({});
    const { lines } = await undoRelations(t.client, dir, { users: new Map(), send: true });
    expect(t.calls.filter((c) => !c.startsWith('GET'))).toEqual([]);
    expect(lines.map((l) => [l.kind, l.outcome])).toEqual([
      ['roles_created', 'removed'],
      ['role_permissions', 'gone_with_entity'],
    ]);
  });

  it('keeps a role the run created that a kept user holds as an organization member role', async () => {
    const memberRole: AddedRecord = {
      ...base,
      callId: 'member-roles-acme',
      kind: 'member_roles',
      action: 'assigned',
      entity: { type: 'organization', name: 'acme', id: 'org_1' },
      userId: 'auth0|kept',
      item: { role_id: 'rol_L' },
      undo: {
        method: 'DELETE',
        path: '/organizations/org_1/members/auth0|kept/roles',
        body: { roles: ['rol_L'] },
      },
    };
    await writeAdded([created('Leads', 'rol_L'), assigned('Viewers', 'rol_V', 'auth0|lazy'), memberRole]);
    // Role users do not list organization member roles. The first --send stops (an outage) before
    // the roles; the next one carries on from the journal and still sees the member role.
    const t = tenant({ rol_L: [], rol_V: [] });
    const request = t.client.request.bind(t.client);
    let outage = true;
    t.client.request = async (...args: Parameters<TenantClient['request']>) => {
      if (outage) throw new Auth0Error('network', 'connection reset');
      return request(...args);
    };
    const first = await undoRelations(t.client, dir, { users, send: true });
    expect(first.stoppedBy?.message).toBe('connection reset');
    outage = false;
    const { lines } = await undoRelations(t.client, dir, { users, send: true });
    expect(t.calls.filter((c) => !c.startsWith('GET'))).toEqual(['DELETE /users/auth0|lazy/roles']);
    expect(lines.map((l) => [l.kind, l.outcome, l.reason])).toEqual([
      ['member_roles', 'kept', 'user_kept'],
      ['role_assignments', 'removed', undefined],
      ['roles_created', 'kept', 'in_use'],
    ]);
  });
});
