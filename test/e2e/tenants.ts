/**
 * Both tenants compared user by user after a run: every user of the old tenant's connection that
 * can be imported is in the new tenant under the same id with the same email, the users the new
 * tenant held are still there, and nobody else arrived.
 */
import { expect } from 'vitest';
import type { Simulator } from '../../src/sim/index.js';

type User = Record<string, unknown>;

export interface TenantsBefore {
  /** The old tenant's users of its database connection. */
  old: User[];
  /** Those with an email (the ones a run imports). */
  importable: User[];
  /** The new tenant's users before the run, by id. */
  newBefore: Map<string, User>;
  /** Old users without an email that the new tenant already held (already migrated, not skipped). */
  newOnlyWithoutEmail: number;
}

function usersOf(sim: Simulator, tenant: 'old' | 'new'): User[] {
  return [...sim.tenant(tenant).listUsers(sim.tenants[tenant].connection)] as User[];
}

export function snapshotTenants(sim: Simulator): TenantsBefore {
  const old = usersOf(sim, 'old');
  const newBefore = new Map(usersOf(sim, 'new').map((u) => [String(u.user_id), u]));
  return {
    old,
    importable: old.filter((u) => typeof u.email === 'string'),
    newBefore,
    newOnlyWithoutEmail: old.filter((u) => typeof u.email !== 'string' && newBefore.has(String(u.user_id)))
      .length,
  };
}

const email = (u: User | undefined): string | undefined =>
  typeof u?.email === 'string' ? u.email.toLowerCase() : undefined;

export function expectTenantsMatch(sim: Simulator, before: TenantsBefore): void {
  const now = new Map(usersOf(sim, 'new').map((u) => [String(u.user_id), u]));
  const oldIds = new Set(before.old.map((u) => String(u.user_id)));
  const missing: string[] = [];
  const wrong: string[] = [];
  for (const u of before.old) {
    const id = String(u.user_id);
    const there = now.get(id);
    const held = before.newBefore.get(id);
    if (held !== undefined) {
      if (there === undefined || email(there) !== email(held)) wrong.push(id);
    } else if (typeof u.email === 'string') {
      if (there === undefined) missing.push(id);
      else if (email(there) !== email(u)) wrong.push(id);
    } else if (there !== undefined) {
      wrong.push(id);
    }
  }
  const strangers = [...now.keys()].filter((id) => !oldIds.has(id) && !before.newBefore.has(id));
  expect({ missing, wrong, strangers }).toEqual({ missing: [], wrong: [], strangers: [] });
}
