/**
 * `--mfa-reads`: users whose export does not show them enrolled in MFA (`multifactor` lists only
 * some kinds of enrolment) are looked up in the old tenant, `GET /users/{id}/authentication-methods`,
 * so that those arriving without factors are named for re-enrolment too. One call per such user,
 * paced by the old tenant's shared rate budget; a few at once.
 */
import { isAuth0Error } from '../auth0/errors.js';
import type { TenantClient } from '../auth0/types.js';
import type { MigratedIndex } from '../pipeline/migrated-index.js';
import type { AlreadyMigrated, RecordSource } from '../pipeline/types.js';
import { isBatch, type PlanItem } from './plan.js';

const AT_ONCE = 8;

async function enrolled(client: TenantClient, userId: string): Promise<boolean> {
  try {
    for await (const page of client.listAuthenticationMethods(userId)) if (page.length > 0) return true;
  } catch (err) {
    // Deleted from the old tenant since its export: nothing to re-enrol.
    if (isAuth0Error(err, 'not_found')) return false;
    throw err;
  }
  return false;
}

/** Marks `source.mfaEnrolled` when the old tenant lists an enrolment for the user. */
async function mark(client: TenantClient, sources: RecordSource[]): Promise<void> {
  const todo = sources.filter((s) => s.mfaEnrolled !== true && s.userId !== undefined);
  for (let i = 0; i < todo.length; i += AT_ONCE) {
    await Promise.all(
      todo.slice(i, i + AT_ONCE).map(async (s) => {
        if (await enrolled(client, s.userId!)) s.mfaEnrolled = true;
      }),
    );
  }
}

/** The plan's items, with the enrolments the export did not show read from the old tenant. */
export async function* withEnrolmentReads(
  items: AsyncIterable<PlanItem>,
  client: TenantClient,
  migrated: MigratedIndex,
): AsyncGenerator<PlanItem> {
  for await (const item of items) {
    if (isBatch(item)) {
      await mark(
        client,
        item.users.filter((c) => c.hasMfaFactors !== true).map((c) => c.source),
      );
    } else if (item.kind === 'already_migrated' && item.source.mfaEnrolled !== true) {
      await mark(client, [item.source]);
      const id = item.source.userId?.replace(/^auth0\|/, '');
      if (item.source.mfaEnrolled === true && !migrated.enrolled(id)) {
        (item as AlreadyMigrated).mfaReenrolment = true;
      }
    }
    yield item;
  }
}
