/**
 * The files of `rollback RUN_ID` in the run's folder, and their Markdown:
 *
 * | file | holds |
 * | --- | --- |
 * | `rollback-plan.ndjson`, `.md` | the dry run: each user the run imported, what `--send` would do and why |
 * | `rollback-journal.ndjson` | `--send`'s progress, appended as it goes: `deleting` before a DELETE is sent, then the user's outcome |
 * | `rollback-relations.ndjson` | the same for the relations the run's relations stage added (relations-added.ndjson) |
 * | `rollback.json`, `.md` | the result: every user the run imported counted once, by outcome; the relations by kind |
 *
 * All of them name users: 0600, like the rest of the report.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { count, n } from './format.js';
import { readNdjson } from './files.js';

export const ROLLBACK_FILES = {
  plan: 'rollback-plan.ndjson',
  planMd: 'rollback-plan.md',
  journal: 'rollback-journal.ndjson',
  json: 'rollback.json',
  md: 'rollback.md',
  /** Written by the run's relations stage: what it added, each with the call that undoes it. */
  relationsAdded: 'relations-added.ndjson',
  /** `--send`'s progress on the relations: `undoing` before a call, then the outcome. */
  relationsJournal: 'rollback-relations.ndjson',
} as const;

/** Where each user the run imported ends. */
export type RollbackOutcome = 'deleted' | 'kept_active' | 'kept_changed' | 'already_gone' | 'failed';

export const ROLLBACK_OUTCOMES: readonly RollbackOutcome[] = [
  'deleted',
  'kept_active',
  'kept_changed',
  'already_gone',
  'failed',
];

/**
 * Why a user is kept:
 * - `logged_in`: logged in to the new tenant since it was imported (`kept_active`);
 * - `changed_after_run`: its profile changed after the run ended (`kept_changed`);
 * - `existed_before_run`: the new tenant's user was created before the run's import job was sent,
 *   so the run did not create it (`kept_changed`);
 * - `updated_by_upsert`: the same, in a run with `--upsert`: the run updated an existing user,
 *   which deleting cannot undo (`kept_changed`);
 * - `recreated_after_run`: the user was created again after the run ended (deleted, then migrated
 *   lazily again): not the run's user any more (`kept_changed`).
 */
export type RollbackKeepReason =
  'logged_in' | 'changed_after_run' | 'existed_before_run' | 'updated_by_upsert' | 'recreated_after_run';

/** One line of rollback-plan.ndjson: what `--send` would do with a user, as read now. */
export interface RollbackPlanLine {
  user_id: string;
  /** The user's id in the new tenant, when not `user_id` (a linked account's database identity). */
  new_user_id?: string;
  email?: string;
  /** `delete`, or the outcome the user would end with without being deleted. */
  action: 'delete' | Exclude<RollbackOutcome, 'deleted' | 'failed'> | 'failed';
  reason?: RollbackKeepReason;
  /** The times that decided it (created, updated, last login), or the error. */
  detail?: string;
}

/** One line of rollback-journal.ndjson. */
export type RollbackJournalLine =
  | { user_id: string; new_user_id?: string; step: 'deleting'; at: string }
  | {
      user_id: string;
      /** The user's id in the new tenant, when not `user_id`. */
      new_user_id?: string;
      email?: string;
      outcome: RollbackOutcome;
      reason?: RollbackKeepReason;
      /** For `failed`: the Auth0 error code (or `stopped`: the rollback stopped before this user). */
      code?: string;
      detail?: string;
      at: string;
    };

export type RollbackFinalLine = Extract<RollbackJournalLine, { outcome: RollbackOutcome }>;

/**
 * Where a relation (or an entity) the run added ends: `removed` (taken back), `gone_with_user`
 * (its user was deleted), `gone_with_entity` (hung from an entity the rollback deleted), `kept`
 * (its user was kept, or the entity is in use), `already_gone`, `failed`.
 */
export type RelationUndoOutcome =
  'removed' | 'gone_with_user' | 'gone_with_entity' | 'kept' | 'already_gone' | 'failed';

export const RELATION_UNDO_OUTCOMES: readonly RelationUndoOutcome[] = [
  'removed',
  'gone_with_user',
  'gone_with_entity',
  'kept',
  'already_gone',
  'failed',
];

/** One line of rollback-relations.ndjson (and of the plan's relations). */
export interface RelationUndoLine {
  /** The added-record's key (the call that added it and what it added). */
  key: string;
  kind: string;
  /** `role Admins`, `organization acme`. */
  entity: string;
  user_id?: string;
  outcome: RelationUndoOutcome;
  /**
   * For `kept`: `user_kept` (the rollback kept its user), `in_use` (someone uses the entity now),
   * `not_undoable` (an entity whose use cannot be read, or a change in the old tenant).
   */
  reason?: 'user_kept' | 'in_use' | 'not_undoable';
  code?: string;
  detail?: string;
  at: string;
}

/** The relations part of rollback.json: by kind, `total` = the sum of the outcomes. */
export interface RelationsRollbackSummary {
  byKind: Record<string, Record<RelationUndoOutcome | 'total', number>>;
  /** What was kept, and why (listed in rollback.md). */
  kept: RelationUndoLine[];
  failed: RelationUndoLine[];
}

/** rollback.json. `users.total = deleted + kept_active + kept_changed + already_gone + failed`. */
export interface RollbackSummary {
  runId: string;
  /** True once every user has an outcome other than `failed`: the run is rolled back. */
  complete: boolean;
  includeActive: boolean;
  newTenant?: string;
  /** The first `--send` and the end of the last one (ISO). */
  startedAt: string;
  finishedAt: string;
  users: Record<RollbackOutcome | 'total', number>;
  /** `kept_active` and `kept_changed` by reason. */
  kept: Partial<Record<RollbackKeepReason, number>>;
  /** `failed` by error code. */
  failed: Record<string, number>;
  /** Anything that does not add up (empty when all is well). */
  problems: string[];
  /** What the run's relations stage added, undone; absent when it added nothing. */
  relations?: RelationsRollbackSummary;
}

/** The journal's last word on each user: its final line, and whether a DELETE was sent. */
export interface JournalState {
  final: Map<string, RollbackFinalLine>;
  deleting: Set<string>;
  /** The first line's time: when the rollback started. */
  startedAt?: string;
}

export async function readJournal(dir: string): Promise<JournalState> {
  const state: JournalState = { final: new Map(), deleting: new Set() };
  const path = join(dir, ROLLBACK_FILES.journal);
  if (!existsSync(path)) return state;
  for await (const line of readNdjson<RollbackJournalLine>(path)) {
    if (typeof line.user_id !== 'string') continue;
    state.startedAt ??= line.at;
    if ('step' in line) state.deleting.add(line.user_id);
    else state.final.set(line.user_id, line);
  }
  return state;
}

/** Counts the journal's outcomes of `users` (a user with none counts as failed, `not_reached`). */
export function summarizeRollback(
  base: Pick<RollbackSummary, 'runId' | 'includeActive' | 'newTenant' | 'startedAt' | 'finishedAt'>,
  users: readonly string[],
  journal: JournalState,
  relations?: RelationsRollbackSummary,
): RollbackSummary {
  const counts = Object.fromEntries([...ROLLBACK_OUTCOMES, 'total'].map((k) => [k, 0])) as Record<
    RollbackOutcome | 'total',
    number
  >;
  const kept: RollbackSummary['kept'] = {};
  const failed: Record<string, number> = {};
  const seen = new Set<string>();
  for (const id of users) {
    if (seen.has(id)) continue;
    seen.add(id);
    counts.total++;
    const line = journal.final.get(id);
    const outcome = line?.outcome ?? 'failed';
    counts[outcome]++;
    if (outcome === 'failed') {
      const code = line?.code ?? 'not_reached';
      failed[code] = (failed[code] ?? 0) + 1;
    } else if (line?.reason !== undefined) {
      kept[line.reason] = (kept[line.reason] ?? 0) + 1;
    }
  }
  const problems: string[] = [];
  const sum = ROLLBACK_OUTCOMES.reduce((t, o) => t + counts[o], 0);
  if (sum !== counts.total) problems.push(`outcomes add up to ${sum}, not ${counts.total}`);
  let relationsFailed = 0;
  for (const [kind, c] of Object.entries(relations?.byKind ?? {})) {
    const rsum = RELATION_UNDO_OUTCOMES.reduce((t, o) => t + c[o], 0);
    if (rsum !== c.total) problems.push(`relations ${kind}: outcomes add up to ${rsum}, not ${c.total}`);
    relationsFailed += c.failed;
  }
  return {
    ...base,
    complete: counts.failed === 0 && relationsFailed === 0 && problems.length === 0,
    users: counts,
    kept,
    failed,
    problems,
    ...(relations !== undefined && { relations }),
  };
}

const OUTCOME_WORDS: Record<RollbackOutcome, string> = {
  deleted: 'deleted',
  kept_active: 'kept: logged in since the run',
  kept_changed: 'kept: changed, or not created by the run',
  already_gone: 'already gone',
  failed: 'failed',
};

const REASON_WORDS: Record<RollbackKeepReason, string> = {
  logged_in: 'logged in to the new tenant since the run (`--include-active` deletes them)',
  changed_after_run: 'profile changed after the run ended',
  existed_before_run: 'already in the new tenant before the run sent it',
  updated_by_upsert: 'updated by the run (`--upsert`): deleting would not undo that',
  recreated_after_run: 'created again after the run ended (migrated lazily since)',
};

const LISTED = 200;

/** rollback.md: the counts, the kept users by reason (listed), the failures. */
export function renderRollbackMarkdown(s: RollbackSummary, keptLines: readonly RollbackFinalLine[]): string {
  const out = [
    `# Rollback of run ${s.runId}`,
    '',
    s.complete
      ? `The run is rolled back${s.newTenant !== undefined ? ` on ${s.newTenant}` : ''}: every user it imported is deleted, gone already, or kept for the reason below.`
      : `Not finished: ${count(s.users.failed, 'user')} and ${count(
          Object.values(s.relations?.byKind ?? {}).reduce((t, c) => t + c.failed, 0),
          'relation',
        )} failed or not reached. Run \`auth0-migrate rollback ${s.runId} --send\` again to carry on.`,
    '',
    `Started ${s.startedAt}, last run ended ${s.finishedAt}${s.includeActive ? ', with `--include-active`' : ''}.`,
    '',
    '| outcome | users |',
    '| --- | ---: |',
    ...ROLLBACK_OUTCOMES.map((o) => `| ${OUTCOME_WORDS[o]} (\`${o}\`) | ${n(s.users[o])} |`),
    `| **imported by the run** | **${n(s.users.total)}** |`,
    '',
  ];
  if (s.problems.length > 0) out.push('**Problems:**', ...s.problems.map((p) => `- ${p}`), '');
  const reasons = Object.entries(s.kept) as Array<[RollbackKeepReason, number]>;
  if (reasons.length > 0) {
    out.push('## Kept', '');
    for (const [reason, c] of reasons) {
      out.push(`### ${REASON_WORDS[reason]}: ${n(c)}`, '');
      const lines = keptLines.filter((l) => l.reason === reason);
      for (const l of lines.slice(0, LISTED))
        out.push(`- ${l.user_id}${l.email ? ` ${l.email}` : ''}${l.detail ? ` (${l.detail})` : ''}`);
      if (lines.length > LISTED)
        out.push(`- …and ${n(lines.length - LISTED)} more (${ROLLBACK_FILES.journal})`);
      out.push('');
    }
  }
  const failures = Object.entries(s.failed);
  if (failures.length > 0) {
    out.push('## Failed', '', ...failures.map(([code, c]) => `- \`${code}\`: ${n(c)}`), '');
    out.push(`Each one is in ${ROLLBACK_FILES.journal} with its message.`, '');
  }
  if (s.relations !== undefined) out.push(...renderRelations(s.relations));
  out.push(
    '## Consequences',
    '',
    '- While lazy migration is on, a deleted user who logs in to the new tenant is migrated again from the old one.',
    '- Password-change tickets already sent to the deleted users no longer work.',
    '',
  );
  return out.join('\n');
}

/** rollback-plan.md: what `--send` would do, by action and reason, with the users listed. */
export function renderRollbackPlanMarkdown(
  runId: string,
  lines: readonly RollbackPlanLine[],
  options: { includeActive: boolean },
): string {
  const groups = new Map<string, RollbackPlanLine[]>();
  for (const l of lines) {
    const key = l.reason !== undefined ? `${l.action}: ${REASON_WORDS[l.reason]}` : l.action;
    groups.set(key, [...(groups.get(key) ?? []), l]);
  }
  const out = [
    `# Rollback plan of run ${runId} (dry run: nothing changed)`,
    '',
    `${count(lines.length, 'user')} imported by the run, read back from the new tenant now${options.includeActive ? ' (`--include-active`)' : ''}. \`auth0-migrate rollback ${runId} --send${options.includeActive ? ' --include-active' : ''}\` reads each one again just before deleting it.`,
    '',
    '| what `--send` would do | users |',
    '| --- | ---: |',
    ...[...groups].map(([k, v]) => `| ${k} | ${n(v.length)} |`),
    '',
  ];
  for (const [k, v] of groups) {
    out.push(`## ${k}`, '');
    for (const l of v.slice(0, LISTED))
      out.push(`- ${l.user_id}${l.email ? ` ${l.email}` : ''}${l.detail ? ` (${l.detail})` : ''}`);
    if (v.length > LISTED) out.push(`- …and ${n(v.length - LISTED)} more (${ROLLBACK_FILES.plan})`);
    out.push('');
  }
  return out.join('\n');
}

const RELATION_WORDS: Record<RelationUndoOutcome, string> = {
  removed: 'removed',
  gone_with_user: 'gone with its user',
  gone_with_entity: 'gone with its role or organization',
  kept: 'kept',
  already_gone: 'already gone',
  failed: 'failed',
};

function renderRelations(r: RelationsRollbackSummary): string[] {
  const kinds = Object.keys(r.byKind);
  const out = [
    '## Relations the run added',
    '',
    `| kind | ${RELATION_UNDO_OUTCOMES.map((o) => RELATION_WORDS[o]).join(' | ')} | total |`,
    `| --- |${RELATION_UNDO_OUTCOMES.map(() => ' ---: |').join('')} ---: |`,
    ...kinds.map(
      (k) =>
        `| ${k} | ${RELATION_UNDO_OUTCOMES.map((o) => n(r.byKind[k]![o])).join(' | ')} | ${n(r.byKind[k]!.total)} |`,
    ),
    '',
  ];
  const listed = (title: string, lines: readonly RelationUndoLine[]): void => {
    if (lines.length === 0) return;
    out.push(`### ${title}`, '');
    for (const l of lines.slice(0, LISTED)) {
      const why =
        l.reason === 'user_kept'
          ? 'its user is kept'
          : l.reason === 'in_use'
            ? 'in use'
            : (l.code ?? l.reason ?? '');
      out.push(
        `- ${l.kind}: ${l.entity}${l.user_id ? `, ${l.user_id}` : ''} (${why}${l.detail ? `: ${l.detail}` : ''})`,
      );
    }
    if (lines.length > LISTED)
      out.push(`- …and ${n(lines.length - LISTED)} more (${ROLLBACK_FILES.relationsJournal})`);
    out.push('');
  };
  listed('Kept', r.kept);
  listed('Failed', r.failed);
  return out;
}

/** The relations section of rollback-plan.md: what `--send` would do with each added relation. */
export function renderRelationsPlan(lines: readonly RelationUndoLine[]): string {
  const out = ['## Relations the run added', ''];
  for (const l of lines.slice(0, LISTED * 5)) {
    out.push(
      `- ${l.kind}: ${l.entity}${l.user_id ? `, ${l.user_id}` : ''}: ${RELATION_WORDS[l.outcome]}${l.reason ? ` (${l.reason})` : ''}${l.detail ? `: ${l.detail}` : ''}`,
    );
  }
  if (lines.length > LISTED * 5) out.push(`- …and ${n(lines.length - LISTED * 5)} more`);
  out.push('');
  return out.join('\n');
}

/** rollback.json of a run, when a `rollback --send` wrote one. */
export async function readRollbackSummary(dir: string): Promise<RollbackSummary | undefined> {
  const path = join(dir, ROLLBACK_FILES.json);
  if (!existsSync(path)) return undefined;
  return JSON.parse(await readFile(path, 'utf8')) as RollbackSummary;
}

/** One line saying a run was rolled back (or in part), for `status`, `report` and the like. */
export function rollbackNote(s: RollbackSummary): string {
  const what = ROLLBACK_OUTCOMES.filter((o) => s.users[o] > 0)
    .map((o) => `${o} ${n(s.users[o])}`)
    .join(', ');
  return s.complete
    ? `Rolled back (${s.finishedAt}): ${what || 'nobody to remove'}; see ${ROLLBACK_FILES.md}.`
    : `Rolled back in part (${s.finishedAt}): ${what}; \`rollback ${s.runId} --send\` carries on; see ${ROLLBACK_FILES.md}.`;
}
