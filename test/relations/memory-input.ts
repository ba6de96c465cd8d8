/** A {@link DiffInput} over records held in memory, for diff tests without Redis or HTTP. */
import type { DiffInput, SourceRecord } from '../../src/relations/family.js';
import type { PlanEntry, TenantSide } from '../../src/relations/types.js';

export type Sources = Partial<Record<string, SourceRecord[]>>;

export function memoryInput(
  tenants: { old: Sources; new: Sources },
  usersInNew: Iterable<string>,
  unavailable: Array<[TenantSide, string]> = [],
): DiffInput {
  const present = new Set(usersInNew);
  return {
    async *read(tenant, source, parent) {
      for (const r of tenants[tenant][source] ?? []) if (parent === undefined || r.parent === parent) yield r;
    },
    async *parents(tenant, source) {
      const seen = new Set<string>();
      for (const r of tenants[tenant][source] ?? []) {
        if (r.parent !== undefined && !seen.has(r.parent)) {
          seen.add(r.parent);
          yield r.parent;
        }
      }
    },
    unavailable: (tenant, source) => unavailable.some(([t, s]) => t === tenant && s === source),
    userInNew: async (id) => present.has(id),
  };
}

export async function collect(entries: AsyncIterable<PlanEntry>): Promise<PlanEntry[]> {
  const out: PlanEntry[] = [];
  for await (const e of entries) out.push(e);
  return out;
}

export const items = (list: Array<Record<string, unknown>>, parent?: string): SourceRecord[] =>
  list.map((item) => (parent === undefined ? { item } : { parent, item }));
