/**
 * The relations stage: read both tenants' relations into the run's work files, diff them with
 * the pure families of src/relations/, write the whole plan, count what needs no call, and send
 * the calls as idempotent jobs of the `relation-call` queue, phase by phase (entities before the
 * relations that name them). Each call is counted once in the run store, whoever ends it; its
 * added-records are appended as it succeeds, so `rollback` can undo exactly what the run added.
 *
 *   relations job ─▶ read ─▶ diff ─▶ plan ─▶ calls of phase 0 ─▶ … ─▶ calls of phase n ─▶ report
 *
 * The job that counts the last call of a phase adds the next phase's calls (or the report), so no
 * job waits on another and a crash between two steps is repaired by the redelivery.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { isAuth0Error, type Auth0Error } from '../auth0/errors.js';
import { coerceError } from '../errors.js';
import { buildMigratedIndex } from '../pipeline/migrated-index.js';
import type { RelationFamily } from '../relations/family.js';
import { familyByName, RELATION_FAMILIES } from '../relations/registry.js';
import {
  countOutcome,
  type AddedRecord,
  type Finding,
  type PlanEntry,
  type PlannedCall,
  type RelationOptions,
  type RelationsCounts,
} from '../relations/types.js';
import { FILE_MODE, readNdjson } from '../report/files.js';
import type { RelationsSection } from '../report/types.js';
import { RELATION_FILES } from './store/relations.js';
import { maybeFinishRun } from './flow.js';
import { withIdentities } from './relations-identities.js';
import { readSources, fileInput } from './relations-read.js';
import { QUEUES } from './queues.js';
import type { Runtime } from './runtime.js';
import { relationsOf, type RunMeta } from './types.js';
import { exportUsers } from './users-export.js';

/** A job of the `relation-call` queue. */
export interface RelationCallJobData {
  runId: string;
  family: string;
  call: PlannedCall;
}

/** One line of relations-plan.ndjson. */
export type PlanLine = PlanEntry & { family: string };

/** One line of relations-failures.ndjson. */
export interface RelationFailureLine {
  callId: string;
  kind: string;
  entity?: string;
  userIds: string[];
  count: number;
  code: string;
  message: string;
}

export const relationCallJobId = (runId: string, callId: string): string => `${runId}-rc-${callId}`;

/** The families' options for a run. */
export function relationOptions(rt: Runtime, run: RunMeta): RelationOptions {
  const o = relationsOf(run);
  return {
    updateRoles: o?.updateRoles === true,
    directPermissions: o?.directPermissions === true,
    roleUsersChunk: rt.config.roleUsersChunk,
    permissionsChunk: rt.config.permissionsChunk,
  };
}

class Lines {
  readonly #out: WriteStream;
  readonly path: string;
  count = 0;

  constructor(path: string) {
    this.path = path;
    this.#out = createWriteStream(`${path}.tmp`, { mode: FILE_MODE, flags: 'w' });
  }

  async write(line: unknown): Promise<void> {
    this.count++;
    if (!this.#out.write(`${JSON.stringify(line)}\n`)) {
      await new Promise<void>((resolve) => this.#out.once('drain', () => resolve()));
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#out.once('error', reject);
      this.#out.end(() => resolve());
    });
    await rename(`${this.path}.tmp`, this.path);
  }
}

async function* userIdsOf(file: string): AsyncGenerator<string> {
  const input = createReadStream(file).pipe(createGunzip());
  const rl = createInterface({ input, crlfDelay: Infinity });
  for await (const text of rl) {
    if (text.trim() === '') continue;
    const id = (JSON.parse(text) as { user_id?: unknown }).user_id;
    if (typeof id === 'string' && id !== '') yield id;
  }
}

/**
 * The stage's job: plans once (a redelivered job finds the plan counted and only makes sure the
 * calls of the current phase are queued), then hands over to the calls.
 */
export async function runRelationsStage(rt: Runtime, runId: string, signal?: AbortSignal): Promise<void> {
  const run = (await rt.store.getRun(runId))!;
  const rs = rt.store.relations;
  if (!(await rs.state(runId)).planned) {
    await rt.store.phaseStarted(runId, 'relations');
    await plan(rt, run, signal);
  }
  await continuePhases(rt, runId);
}

async function plan(rt: Runtime, run: RunMeta, signal: AbortSignal | undefined): Promise<void> {
  const runId = run.runId;
  const rs = rt.store.relations;
  const options = relationOptions(rt, run);
  const logger = rt.logger.child({ runId, stage: 'relations' });
  const dir = await rs.workDir(runId);
  const poll = {
    pollIntervalMs: rt.settings.pollIntervalMs,
    maxPollIntervalMs: rt.settings.maxPollIntervalMs,
    ...(signal && { signal }),
    logger,
  };
  // Who is in the new tenant now, every connection (social users arrive with the same id).
  const present = await exportUsers(rt.client('new'), {
    wholeTenant: true,
    fields: [{ name: 'user_id' }, { name: 'email' }, { name: 'identities' }],
    out: join(dir, 'new-users.ndjson.gz'),
    ...poll,
  });
  const index = await buildMigratedIndex(present.file);
  const userInNew = async (userId: string): Promise<boolean> =>
    index.match(userId.startsWith('auth0|') ? userId.slice(6) : userId, undefined) !== undefined;
  // The old tenant's users with their identities: its links, and the users read one by one.
  const oldUsersFile = (
    await exportUsers(rt.client('old'), {
      wholeTenant: true,
      fields: [{ name: 'user_id' }, { name: 'identities' }],
      out: join(dir, 'old-users.ndjson.gz'),
      ...poll,
    })
  ).file;
  const { records, requests } = await readSources(RELATION_FAMILIES, {
    clients: { old: rt.client('old'), new: rt.client('new') },
    dir,
    options,
    userInNew,
    oldUsers: () => userIdsOf(oldUsersFile),
    ...(signal && { signal }),
  });
  logger.info({ records, requests, newUsers: present.users }, 'relations read');

  const planFile = new Lines(rs.path(runId, 'plan'));
  const pending = new Lines(rs.path(runId, 'pending'));
  const findings = new Lines(rs.path(runId, 'findings'));
  const counts: RelationsCounts = {};
  const callsPerPhase: number[] = [];
  for (const family of RELATION_FAMILIES) {
    const input = withIdentities(await fileInput(dir, family.name, userInNew), {
      old: oldUsersFile,
      new: present.file,
    });
    for await (const entry of family.diff(input, options)) {
      await planFile.write({ family: family.name, ...entry });
      if (entry.type === 'settled') {
        const s = entry.settled;
        countOutcome(counts, s.kind, s.outcome, s.count ?? 1, s.code);
        if (s.outcome === 'pending_user') await pending.write(s);
      } else if (entry.type === 'finding') {
        await findings.write(entry.finding);
      } else if (run.dryRun) {
        // Nothing is sent: the report says "would add".
        countOutcome(counts, entry.call.kind, 'added', entry.call.count);
      } else {
        const p = entry.call.phase;
        while (callsPerPhase.length <= p) callsPerPhase.push(0);
        callsPerPhase[p]!++;
      }
    }
  }
  await Promise.all([planFile.close(), pending.close(), findings.close()]);
  await rs.planned(runId, counts, callsPerPhase, requests);
  logger.info({ calls: callsPerPhase, lines: planFile.count, dryRun: run.dryRun }, 'relations planned');
}

/**
 * Queues the calls of the first phase not yet ended, or, when every phase has ended, marks the
 * stage done and lets the run finish. Safe to repeat: job ids are deterministic and calls already
 * counted are not queued again.
 */
export async function continuePhases(rt: Runtime, runId: string): Promise<void> {
  const rs = rt.store.relations;
  const state = await rs.state(runId);
  if (!state.planned) return;
  const phase = state.calls.findIndex((n, p) => (state.ended[p] ?? 0) < n);
  if (phase >= 0) {
    await queuePhase(rt, runId, phase);
    return;
  }
  if (!state.done) {
    await rt.store.markTime(runId, 'relations', 'end');
    await rs.markDone(runId);
  }
  await maybeFinishRun(rt, runId);
}

async function queuePhase(rt: Runtime, runId: string, phase: number): Promise<void> {
  const rs = rt.store.relations;
  const queue = rt.queue(QUEUES.relationCall);
  const options = rt.jobOptions(QUEUES.relationCall);
  let bulk: Array<{ name: string; data: RelationCallJobData; opts: typeof options & { jobId: string } }> = [];
  const flush = async (): Promise<void> => {
    if (bulk.length > 0) await queue.addBulk(bulk);
    bulk = [];
  };
  for await (const line of readNdjson<PlanLine>(rs.path(runId, 'plan'))) {
    if (line.type !== 'call' || line.call.phase !== phase) continue;
    if (await rs.isCallEnded(runId, line.call.id)) continue;
    const jobId = relationCallJobId(runId, line.call.id);
    // A job that ended without counting its call (its run was stopped) is added again.
    const earlier = await queue.getJob(jobId);
    if (earlier !== undefined && ((await earlier.isCompleted()) || (await earlier.isFailed())))
      await earlier.remove();
    bulk.push({
      name: line.call.kind,
      data: { runId, family: line.family, call: line.call },
      opts: { ...options, jobId },
    });
    if (bulk.length >= 500) await flush();
  }
  await flush();
}

/** The id `{ref}` stands for in the target tenant: planned, recorded by this run, or looked up by name. */
async function resolveRef(rt: Runtime, runId: string, family: RelationFamily, call: PlannedCall) {
  const ref = call.ref;
  if (ref === undefined) return undefined;
  if (ref.id !== undefined) return ref.id;
  const known = await rt.store.relations.getRef(runId, ref.type, ref.name);
  if (known !== undefined) return known;
  const found = await lookUp(rt, call.tenant, family, ref);
  if (found !== undefined) await rt.store.relations.setRef(runId, ref.type, ref.name, found);
  return found;
}

async function lookUp(
  rt: Runtime,
  tenant: 'old' | 'new',
  family: RelationFamily,
  ref: { type: string; name: string },
): Promise<string | undefined> {
  const how = family.lookup?.(ref);
  if (how === undefined) return undefined;
  let answer: unknown;
  try {
    answer = await rt.client(tenant).request('GET', how.path);
  } catch (err) {
    if (isAuth0Error(err, 'not_found')) return undefined;
    throw err;
  }
  // A list (bare, or under `key`), or the entity itself (GET /organizations/name/{name}).
  const listed = Array.isArray(answer)
    ? answer
    : how.key !== undefined && Array.isArray((answer as Record<string, unknown> | undefined)?.[how.key])
      ? ((answer as Record<string, unknown>)[how.key] as unknown[])
      : [answer];
  // Name filters match on part of the name: compare whole names here.
  for (const item of listed as Array<{ name?: unknown; id?: unknown } | undefined>) {
    if (item?.name === ref.name && typeof item.id === 'string') return item.id;
  }
  return undefined;
}

/**
 * One planned call: sent (with its `{ref}` resolved), its outcome counted once, its added-records
 * or failure written. A failure a retry may cure is thrown for BullMQ to try again, until the
 * last attempt, which counts it failed.
 */
export async function runRelationCall(
  rt: Runtime,
  data: RelationCallJobData,
  lastAttempt: boolean,
): Promise<void> {
  const { runId, call } = data;
  const rs = rt.store.relations;
  if (await rs.isCallEnded(runId, call.id)) {
    await continuePhases(rt, runId);
    return;
  }
  const family = familyByName(data.family);
  const end = async (counts: RelationsCounts): Promise<void> => {
    const { phaseEnded } = await rs.callEnded(runId, call.id, call.phase, counts);
    if (phaseEnded) await continuePhases(rt, runId);
  };
  const entity = call.ref ?? call.creates;
  const fail = async (code: string, message: string): Promise<void> => {
    const line: RelationFailureLine = {
      callId: call.id,
      kind: call.kind,
      ...(entity !== undefined && { entity: `${entity.type} "${entity.name}"` }),
      userIds: call.userIds,
      count: call.count,
      code,
      message,
    };
    await rs.append(runId, 'failures', [line]);
    await end(countOutcome({}, call.kind, 'failed', call.count, code));
  };
  if (family === undefined) return fail('unknown_family', `No relation family "${data.family}".`);
  try {
    const refId = await resolveRef(rt, runId, family, call);
    if (call.ref !== undefined && refId === undefined) {
      return await fail(
        'ref_unresolved',
        `The new tenant has no ${call.ref.type} "${call.ref.name}" (its creation failed or was refused).`,
      );
    }
    const path = refId === undefined ? call.path : call.path.replace('{ref}', encodeURIComponent(refId));
    let createdId: string | undefined;
    try {
      const answer = await rt.client(call.tenant).request(call.method, path, call.body);
      if (call.creates !== undefined) {
        createdId = String((answer as { id?: unknown } | undefined)?.id ?? '');
        await rs.setRef(runId, call.creates.type, call.creates.name, createdId);
      }
    } catch (err) {
      // Created by an earlier attempt whose answer was lost, or by someone else meanwhile: it is
      // there. Counted already present, so rollback never deletes what this run cannot show it made.
      if (call.creates !== undefined && isAuth0Error(err, 'already_exists')) {
        const id = await lookUp(rt, call.tenant, family, call.creates);
        if (id !== undefined) await rs.setRef(runId, call.creates.type, call.creates.name, id);
        return await end(countOutcome({}, call.kind, 'already_present', call.count));
      }
      // One refused element (a user deleted since the plan, one at its limit) refuses the whole
      // batch: its elements are sent one by one, so only the refused ones end failed.
      const parts = isAuth0Error(err) && isRefusal(err) ? family.split?.(call) : undefined;
      if (parts !== undefined && parts.length > 1) {
        return await end(await sendParts(rt, runId, family, parts, path, refId));
      }
      throw err;
    }
    const records = family.added(call, {
      runId,
      at: new Date().toISOString(),
      ...(refId !== undefined && { refId }),
      ...(createdId !== undefined && { createdId }),
    });
    await rs.append(runId, 'added', records);
    await end(countOutcome({}, call.kind, 'added', call.count));
  } catch (thrown) {
    const err = coerceError(thrown);
    if (isAuth0Error(err) && (!err.retryable || lastAttempt)) {
      return fail(codeOf(err), err.message);
    }
    if (!isAuth0Error(err) && lastAttempt) return fail('error', err.message);
    throw err;
  }
}

/** A refusal of what was sent (4xx but scope, credentials and rate limits): another try fails alike. */
function isRefusal(err: Auth0Error): boolean {
  return err.code === 'not_found' || err.code === 'bad_request';
}

/**
 * The parts of a refused batch, one request each (under the same rate budget). A part whose user
 * is not in the tenant is pending; another refusal is that part's failure.
 */
async function sendParts(
  rt: Runtime,
  runId: string,
  family: RelationFamily,
  parts: PlannedCall[],
  path: string,
  refId: string | undefined,
): Promise<RelationsCounts> {
  const rs = rt.store.relations;
  const counts: RelationsCounts = {};
  const added: AddedRecord[] = [];
  const failures: RelationFailureLine[] = [];
  for (const part of parts) {
    try {
      await rt.client(part.tenant).request(part.method, path, part.body);
      added.push(
        ...family.added(part, { runId, at: new Date().toISOString(), ...(refId !== undefined && { refId }) }),
      );
      countOutcome(counts, part.kind, 'added', part.count);
    } catch (thrown) {
      const err = coerceError(thrown);
      if (!isAuth0Error(err) || !isRefusal(err)) throw err;
      if (err.code === 'not_found') {
        // The user left the new tenant after the plan: a later run assigns them if they return.
        countOutcome(counts, part.kind, 'pending_user', part.count);
        continue;
      }
      countOutcome(counts, part.kind, 'failed', part.count, codeOf(err));
      const entity = part.ref ?? part.creates;
      failures.push({
        callId: part.id,
        kind: part.kind,
        ...(entity !== undefined && { entity: `${entity.type} "${entity.name}"` }),
        userIds: part.userIds,
        count: part.count,
        code: codeOf(err),
        message: err.message,
      });
    }
  }
  await rs.append(runId, 'added', added);
  await rs.append(runId, 'failures', failures);
  return counts;
}

function codeOf(err: Auth0Error): string {
  return err.auth0Code ?? err.code;
}

/** What the report shows of the findings: every one counted, the first ones listed. */
export async function readFindings(
  rt: Runtime,
  runId: string,
  max = 200,
): Promise<{ total: number; listed: Finding[]; byType: Record<string, number> }> {
  const listed: Finding[] = [];
  const byType: Record<string, number> = {};
  let total = 0;
  try {
    for await (const f of readNdjson<Finding>(rt.store.relations.path(runId, 'findings'))) {
      total++;
      byType[f.type] = (byType[f.type] ?? 0) + 1;
      if (listed.length < max || f.type === 'missing_api') listed.push(f);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { total, listed, byType };
}

/** The summary's relations section, from the run store's counts and the stage's files. */
export async function relationsSection(rt: Runtime, run: RunMeta): Promise<RelationsSection> {
  const rs = rt.store.relations;
  const runId = run.runId;
  let calls = 0;
  let pending = 0;
  try {
    for await (const line of readNdjson<PlanLine>(rs.path(runId, 'plan'))) {
      if (line.type === 'call') calls++;
      else if (line.type === 'settled' && line.settled.outcome === 'pending_user') pending++;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return {
    dryRun: run.dryRun,
    counts: await rs.counts(runId),
    calls,
    reads: (await rs.state(runId)).reads,
    findings: await readFindings(rt, runId),
    pending,
    files: { ...RELATION_FILES },
  };
}
