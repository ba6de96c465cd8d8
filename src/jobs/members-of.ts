/**
 * `sweep --members-of ORG…`: the users of the old tenant's named organizations. They are read once,
 * when the run starts, into the run's work folder (user ids, one a line), so the plan and a resumed
 * run select the same users even while memberships change.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TenantClient } from '../auth0/types.js';
import { InputError, MigrateError } from '../errors.js';
import { writeFileAtomic } from '../report/files.js';
import { RunFiles } from './store/files.js';

const SELECTION_FILE = 'members-of.txt';

export interface MembersSelection {
  /** The selection file (absolute path). */
  file: string;
  /** Members per organization, in the order named; undefined when an earlier start read them. */
  perOrganization?: Array<{ name: string; members: number }>;
  /** Distinct users selected; undefined when an earlier start read them. */
  users?: number;
}

async function membersOf(client: TenantClient, orgId: string, into: Set<string>): Promise<number> {
  let n = 0;
  let from: string | undefined;
  do {
    const page = await client.listOrganizationMembersPage(orgId, from === undefined ? {} : { from });
    for (const m of page.items) {
      into.add(m.user_id);
      n++;
    }
    from = page.next;
  } while (from !== undefined);
  return n;
}

/**
 * The selection of run `runId`: read from the old tenant and written to its work folder, or, when
 * the run was started before with the same organizations, the file it wrote then.
 */
export async function selectMembers(
  old: TenantClient,
  reportsDir: string,
  runId: string,
  names: string[],
): Promise<MembersSelection> {
  const files = new RunFiles(reportsDir);
  const file = join(files.workDir(runId), SELECTION_FILE);
  const marker = await files.readMarker(runId);
  if (marker !== undefined) {
    const recorded = typeof marker.membersOf === 'string' ? (JSON.parse(marker.membersOf) as string[]) : [];
    if (recorded.join('\n') !== names.join('\n')) {
      throw new MigrateError(
        `Run ${runId} was started ${recorded.length === 0 ? 'without --members-of' : `with --members-of ${recorded.join(' ')}`}; a run keeps the users it selected.`,
        { hint: `Resume it with the same options, or start a new run without --run-id.` },
      );
    }
    // Started but stopped before its selection was written: read it now.
    if (await exists(file)) return { file };
  }

  const ids = new Set<string>();
  const perOrganization: Array<{ name: string; members: number }> = [];
  const missing: string[] = [];
  for (const name of names) {
    const org = await old.getOrganizationByName(name);
    if (org === undefined) {
      missing.push(name);
      continue;
    }
    perOrganization.push({ name, members: await membersOf(old, org.id, ids) });
  }
  if (missing.length > 0) {
    throw new InputError(
      `The old tenant has no organization named ${missing.map((n) => `"${n}"`).join(', ')}; nothing was started.`,
      {
        hint: '--members-of takes organization names (not display names or ids), as the old tenant lists them.',
      },
    );
  }
  const dir = await files.prepareWorkDir(runId);
  await writeFileAtomic(join(dir, SELECTION_FILE), [...ids].map((id) => `${id}\n`).join(''));
  return { file, perOrganization, users: ids.size };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The user ids of a selection file. */
export async function readSelection(file: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(
      `The --members-of selection (${file}) is not on this machine: every worker needs the run's files (the REPORTS_DIR volume).`,
      { cause: err },
    );
  }
  return new Set(text.split('\n').filter((l) => l !== ''));
}
