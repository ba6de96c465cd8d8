/**
 * The users of an export with their identities, for the relations stage's links (the
 * `@identities` list of src/relations/links.ts): `{ user_id, identities }` of each user that has
 * an identities array, nothing else of the profile. Malformed lines are passed over (the users
 * stage reports them).
 */
import { readExportChunks, type ExportInput } from './read.js';

export interface ExportIdentities {
  user_id: string;
  identities: unknown[];
}

/**
 * Users with their identities. `linkedOnly`: only users with more than one identity (the old
 * tenant's links); otherwise every user that has identities (what the new tenant shows).
 */
export async function* exportIdentities(
  input: ExportInput,
  options: { linkedOnly?: boolean; name?: string } = {},
): AsyncGenerator<ExportIdentities> {
  const least = options.linkedOnly === true ? 2 : 1;
  for await (const chunk of readExportChunks(input, {
    ...(options.name !== undefined && { name: options.name }),
  })) {
    for (const item of chunk) {
      if (item.kind !== 'record') continue;
      const { user_id: id, identities } = item.record;
      if (typeof id !== 'string' || id === '' || !Array.isArray(identities)) continue;
      if (identities.length >= least) yield { user_id: id, identities };
    }
  }
}
