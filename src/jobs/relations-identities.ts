/**
 * The links family's `@identities` (src/relations/links.ts): users with their identities, from the
 * users exports the relations stage makes of each tenant (the old tenant's, whole; the new
 * tenant's, which also says who is there), served through the diff's input beside the work files.
 */
import type { DiffInput } from '../relations/family.js';
import { IDENTITIES_SOURCE } from '../relations/links.js';
import type { TenantSide } from '../relations/types.js';
import { exportIdentities } from '../pipeline/export-identities.js';

/** `input` with `@identities` read from the export files (old: only users with links). */
export function withIdentities(input: DiffInput, exports: Partial<Record<TenantSide, string>>): DiffInput {
  return {
    ...input,
    read(tenant, source, parent) {
      if (source !== IDENTITIES_SOURCE) return input.read(tenant, source, parent);
      return identities(exports[tenant], tenant === 'old');
    },
    unavailable: (tenant, source) =>
      source === IDENTITIES_SOURCE ? exports[tenant] === undefined : input.unavailable(tenant, source),
  };
}

async function* identities(file: string | undefined, linkedOnly: boolean) {
  if (file === undefined) return;
  for await (const item of exportIdentities(file, { linkedOnly })) yield { item: { ...item } };
}
