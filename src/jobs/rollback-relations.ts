/**
 * Undoing what a run's relations stage added (`relations-added.ndjson`, one line per relation
 * added or entity created, each with the call that takes it back), after the run's users are
 * handled:
 *
 * - a relation of a user the rollback deleted (or found gone) went with the user: no call;
 * - a relation of a user the rollback kept stays with the user (`kept`, `user_kept`);
 * - a relation of anyone else (users already in the new tenant, lazily migrated ones) is taken
 *   back with its `undo` call, newest first;
 * - a relation hanging from an entity the run created (a role's permissions) follows the entity;
 * - an entity the run created (a role, an organization) is deleted only when nothing uses it now
 *   (no user holds the role, the organization has no member); otherwise kept and listed.
 *
 * Resumable like the users' part: rollback-relations.ndjson records `undoing` before a call and
 * the outcome after it; a second `--send` skips what has an outcome.
 */
import { join } from 'node:path';
import { isAuth0Error } from '../auth0/errors.js';
import type { TenantClient } from '../auth0/types.js';
import { coerceError } from '../errors.js';
import { openPrivateAppend, readNdjson, refuseSymlink } from '../report/files.js';
import {
  RELATION_UNDO_OUTCOMES,
  ROLLBACK_FILES,
  type RelationUndoLine,
  type RelationUndoOutcome,
  type RelationsRollbackSummary,
  type RollbackOutcome,
} from '../report/rollback.js';
import type { AddedRecord } from '../relations/types.js';

/** The line's key in the journal: the call that added it, and what it added. */
export function addedKey(r: AddedRecord): string {
  return [r.callId, r.action, r.entity.type, r.entity.id, r.userId ?? '', JSON.stringify(r.item ?? {})].join(
    '|',
  );
}

const entityKey = (type: string, id: string): string => `${type}:${id}`;

/** Reads the added-records of a run (none when the run's relations stage added nothing). */
export async function readAdded(dir: string): Promise<AddedRecord[]> {
  const out: AddedRecord[] = [];
  const seen = new Set<string>();
  try {
    for await (const r of readNdjson<AddedRecord>(join(dir, ROLLBACK_FILES.relationsAdded))) {
      if (r?.v !== 1 || r.entity === undefined) continue;
      const key = addedKey(r);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(r);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return out;
}

/** Where an entity's users are listed, to tell whether anything uses it now. */
function usagePath(type: string, id: string): { path: string; key: string } | undefined {
  const enc = encodeURIComponent;
  if (type === 'role') return { path: `/roles/${enc(id)}/users`, key: 'users' };
  if (type === 'organization') return { path: `/organizations/${enc(id)}/members`, key: 'members' };
  return undefined;
}

export interface UndoRelationsOptions {
  /** Each user the run inserted, with where the users' part of the rollback left it. */
  users: ReadonlyMap<string, RollbackOutcome | undefined>;
  /** Carry it out; otherwise only say what would be done. @defaultValue false */
  send?: boolean;
}

export interface UndoRelationsResult {
  /** One line per added-record (and created entity), as it ended or would end. */
  lines: RelationUndoLine[];
  stoppedBy?: Error;
}

/** Errors about one relation: recorded, and the next one tried. Anything else stops the rollback. */
const ITEM_ERRORS = new Set(['bad_request']);

/**
 * Decides (and with `send`, carries out) the undoing of every added-record; answers each line's
 * outcome, those an earlier `--send` settled included.
 */
export async function undoRelations(
  client: TenantClient,
  dir: string,
  options: UndoRelationsOptions,
): Promise<UndoRelationsResult> {
  const added = await readAdded(dir);
  if (added.length === 0) return { lines: [] };
  const send = options.send === true;
  const done = await readUndoJournal(dir);
  let out: Awaited<ReturnType<typeof openPrivateAppend>> | undefined;
  if (send) {
    await refuseSymlink(dir);
    out = await openPrivateAppend(join(dir, ROLLBACK_FILES.relationsJournal));
  }
  const lines: RelationUndoLine[] = [];
  const record = async (line: Omit<RelationUndoLine, 'at'>): Promise<void> => {
    const full = { ...line, at: new Date().toISOString() } as RelationUndoLine;
    lines.push(full);
    if (out !== undefined) await out.write(`${JSON.stringify(full)}\n`);
  };
  // In a dry run nothing is removed yet: users whose tie to an entity would go are not counted as using it.
  const leaving = new Map<string, Set<string>>();
  const leaves = (r: AddedRecord): void => {
    if (r.userId === undefined) return;
    const ek = entityKey(r.entity.type, r.entity.id);
    leaving.set(ek, (leaving.get(ek) ?? new Set()).add(r.userId));
  };
  const keptRoles = new Set<string>();
  const created = new Map<string, AddedRecord>();
  for (const r of added) if (r.action === 'created') created.set(entityKey(r.entity.type, r.entity.id), r);

  try {
    // Relations, newest first.
    const hanging: AddedRecord[] = [];
    for (const r of [...added].reverse()) {
      if (r.action === 'created') continue;
      const key = addedKey(r);
      const base = {
        key,
        kind: r.kind,
        entity: `${r.entity.type} ${r.entity.name || r.entity.id}`,
        ...(r.userId !== undefined && { user_id: r.userId }),
      };
      const earlier = done.final.get(key);
      if (earlier !== undefined && earlier.outcome !== 'failed') {
        if (earlier.reason === 'user_kept' && r.item?.role_id !== undefined) keptRoles.add(r.item.role_id);
        lines.push(earlier);
        continue;
      }
      if (r.tenant !== 'new') {
        await record({
          ...base,
          outcome: 'kept',
          reason: 'not_undoable',
          detail: `added in the ${r.tenant} tenant`,
        });
        continue;
      }
      if (r.userId !== undefined && options.users.has(r.userId)) {
        const userOutcome = options.users.get(r.userId);
        if (userOutcome === 'deleted' || userOutcome === 'already_gone') {
          leaves(r);
          await record({ ...base, outcome: 'gone_with_user' });
        } else if (userOutcome === 'kept_active' || userOutcome === 'kept_changed') {
          // An organization member role names its role only in the item: that role is in use.
          if (r.item?.role_id !== undefined) keptRoles.add(r.item.role_id);
          await record({ ...base, outcome: 'kept', reason: 'user_kept' });
        } else {
          await record({ ...base, outcome: 'failed', code: 'user_not_rolled_back' });
        }
        continue;
      }
      if (r.userId === undefined && created.has(entityKey(r.entity.type, r.entity.id))) {
        hanging.push(r);
        continue;
      }
      const outcome = await undo(client, r, send, done.undoing.has(key), (k) =>
        out?.write(`${JSON.stringify({ key: k, step: 'undoing', at: new Date().toISOString() })}\n`),
      );
      if (outcome.outcome === 'removed' || outcome.outcome === 'already_gone') leaves(r);
      await record({ ...base, ...outcome });
      if (outcome.stop !== undefined) return { lines, stoppedBy: outcome.stop };
    }

    // Entities the run created, newest first, when nothing uses them now.
    const entityFate = new Map<string, RelationUndoOutcome>();
    for (const r of [...created.values()].reverse()) {
      const key = addedKey(r);
      const ek = entityKey(r.entity.type, r.entity.id);
      const base = { key, kind: r.kind, entity: `${r.entity.type} ${r.entity.name || r.entity.id}` };
      const earlier = done.final.get(key);
      if (earlier !== undefined && earlier.outcome !== 'failed') {
        lines.push(earlier);
        entityFate.set(ek, earlier.outcome);
        continue;
      }
      const where = r.tenant === 'new' ? usagePath(r.entity.type, r.entity.id) : undefined;
      if (where === undefined) {
        await record({ ...base, outcome: 'kept', reason: 'not_undoable' });
        entityFate.set(ek, 'kept');
        continue;
      }
      if (r.entity.type === 'role' && keptRoles.has(r.entity.id)) {
        await record({ ...base, outcome: 'kept', reason: 'in_use', detail: 'a member role of a user kept' });
        entityFate.set(ek, 'kept');
        continue;
      }
      let users: string[];
      try {
        users = await firstUsers(client, where);
        if (!send) users = users.filter((u) => !leaving.get(ek)?.has(u));
      } catch (thrown) {
        const err = coerceError(thrown);
        if (isAuth0Error(err, 'not_found')) {
          // Deleted by a `--send` a crash cut short after the call, or by someone else.
          const gone = done.undoing.has(key) ? 'removed' : 'already_gone';
          await record({ ...base, outcome: gone });
          entityFate.set(ek, gone);
          continue;
        }
        if (!isAuth0Error(err) || !ITEM_ERRORS.has(err.code)) return { lines, stoppedBy: err };
        await record({ ...base, outcome: 'failed', code: err.code, detail: err.message });
        entityFate.set(ek, 'failed');
        continue;
      }
      if (users.length > 0) {
        await record({
          ...base,
          outcome: 'kept',
          reason: 'in_use',
          detail: `used by ${users.slice(0, 3).join(', ')}${users.length > 3 ? ', …' : ''}`,
        });
        entityFate.set(ek, 'kept');
        continue;
      }
      const outcome = await undo(client, r, send, done.undoing.has(key), (k) =>
        out?.write(`${JSON.stringify({ key: k, step: 'undoing', at: new Date().toISOString() })}\n`),
      );
      await record({ ...base, ...outcome });
      entityFate.set(ek, outcome.outcome);
      if (outcome.stop !== undefined) return { lines, stoppedBy: outcome.stop };
    }

    // What hangs from those entities follows them.
    for (const r of hanging) {
      const key = addedKey(r);
      const base = { key, kind: r.kind, entity: `${r.entity.type} ${r.entity.name || r.entity.id}` };
      const earlier = done.final.get(key);
      if (earlier !== undefined && earlier.outcome !== 'failed') {
        lines.push(earlier);
        continue;
      }
      const fate = entityFate.get(entityKey(r.entity.type, r.entity.id));
      if (fate === 'removed' || fate === 'already_gone')
        await record({ ...base, outcome: 'gone_with_entity' });
      else if (fate === 'kept') await record({ ...base, outcome: 'kept', reason: 'in_use' });
      else await record({ ...base, outcome: 'failed', code: 'entity_not_rolled_back' });
    }
  } finally {
    if (out !== undefined) {
      await out.sync();
      await out.close();
    }
  }
  return { lines };
}

/** The first page of an entity's users or members, as the tenant lists them now. */
async function firstUsers(client: TenantClient, where: { path: string; key: string }): Promise<string[]> {
  for await (const page of client.list(where.path, { key: where.key, paging: 'checkpoint', pageSize: 100 })) {
    return page.map((u) => String(u.user_id ?? u.id ?? '?'));
  }
  return [];
}

/** Sends a record's undo call (unless a dry run): removed, already gone, failed, or a stop. */
async function undo(
  client: TenantClient,
  r: AddedRecord,
  send: boolean,
  sentBefore: boolean,
  journal: (key: string) => Promise<unknown> | undefined,
): Promise<{ outcome: RelationUndoOutcome; code?: string; detail?: string; stop?: Error }> {
  if (!send) return { outcome: 'removed', detail: `would send ${r.undo.method} ${r.undo.path}` };
  try {
    await journal(addedKey(r));
    await client.request(r.undo.method, r.undo.path, r.undo.body);
    return { outcome: 'removed' };
  } catch (thrown) {
    const err = coerceError(thrown);
    // Gone: taken back by a call of ours that a crash cut short, or by someone else.
    if (isAuth0Error(err, 'not_found')) return { outcome: sentBefore ? 'removed' : 'already_gone' };
    if (isAuth0Error(err) && ITEM_ERRORS.has(err.code)) {
      return { outcome: 'failed', code: err.code, detail: err.message };
    }
    return {
      outcome: 'failed',
      code: isAuth0Error(err) ? err.code : 'stopped',
      detail: err.message,
      stop: err,
    };
  }
}

/** The relations journal's last word on each record. */
async function readUndoJournal(
  dir: string,
): Promise<{ final: Map<string, RelationUndoLine>; undoing: Set<string> }> {
  const final = new Map<string, RelationUndoLine>();
  const undoing = new Set<string>();
  try {
    for await (const l of readNdjson<RelationUndoLine | { key: string; step: 'undoing' }>(
      join(dir, ROLLBACK_FILES.relationsJournal),
    )) {
      if (typeof l.key !== 'string') continue;
      if ('step' in l) undoing.add(l.key);
      else final.set(l.key, l);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { final, undoing };
}

/** Counts by kind: `total = removed + gone_with_user + gone_with_entity + kept + already_gone + failed`. */
export function summarizeRelations(lines: readonly RelationUndoLine[]): RelationsRollbackSummary {
  const byKind: RelationsRollbackSummary['byKind'] = {};
  const kept: RelationUndoLine[] = [];
  const failed: RelationUndoLine[] = [];
  for (const l of lines) {
    const c = (byKind[l.kind] ??= Object.fromEntries(
      [...RELATION_UNDO_OUTCOMES, 'total'].map((k) => [k, 0]),
    ) as Record<RelationUndoOutcome | 'total', number>);
    c.total++;
    c[l.outcome]++;
    if (l.outcome === 'kept') kept.push(l);
    if (l.outcome === 'failed') failed.push(l);
  }
  return { byKind, kept, failed };
}
