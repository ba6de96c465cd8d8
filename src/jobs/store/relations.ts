/**
 * The relations stage's part of the run store: its Redis keys and the files it leaves in the
 * run's folder.
 *
 * | key | type | holds |
 * | --- | --- | --- |
 * | `<prefix>:run:<id>:rel` | hash | `planned`, calls per phase (`calls:<p>`), ended per phase (`ended:<p>`), `phases`, `done` |
 * | `<prefix>:run:<id>:rel:ended` | set | call ids counted (a call is counted once, whoever ends it) |
 * | `<prefix>:run:<id>:rel:counts` | hash | `<kind>|<outcome>` and `<kind>|failed|<code>` → relations |
 * | `<prefix>:run:<id>:rel:refs` | hash | `<type>|<name>` → id in the new tenant (roles this run created or looked up) |
 *
 * | file | holds |
 * | --- | --- |
 * | `relations-plan.ndjson` | every line the diffs yielded (calls, settled relations, findings) |
 * | `relations-added.ndjson` | one line per relation or entity the run added (rollback reads it) |
 * | `relations-failures.ndjson` | calls that failed: kind, entity, users, code, message |
 * | `relations-pending.ndjson` | relations waiting for their user to arrive in the new tenant |
 * | `relations-findings.ndjson` | catalog differences, missing APIs, limit breaches |
 * | `work/relations/` | what was read from each tenant, while the run needs it |
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis, Result } from 'ioredis';
import { FILE_MODE, ensurePrivateDir } from '../../report/files.js';
import { emptyCounts, type KindCounts, type RelationsCounts } from '../../relations/types.js';
import { RunStateLost } from './errors.js';
import type { RunFiles } from './files.js';

export const RELATION_FILES = {
  plan: 'relations-plan.ndjson',
  added: 'relations-added.ndjson',
  failures: 'relations-failures.ndjson',
  pending: 'relations-pending.ndjson',
  findings: 'relations-findings.ndjson',
} as const;

const SCRIPTS = {
  /**
   * KEYS run, rel, counts. ARGV increments (JSON field → n), phase totals (JSON phase → calls),
   * list pages read.
   * Counts the plan's settled relations once: 1 the first time, 0 after, -1 the run is gone.
   */
  a0mRelPlanned: {
    keys: 3,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HSETNX', KEYS[2], 'planned', '1') == 0 then return 0 end
for k, v in pairs(cjson.decode(ARGV[1])) do redis.call('HINCRBY', KEYS[3], k, v) end
local phases = 0
for p, n in pairs(cjson.decode(ARGV[2])) do
  redis.call('HSET', KEYS[2], 'calls:' .. p, n)
  if tonumber(p) + 1 > phases then phases = tonumber(p) + 1 end
end
local reads = cjson.decode(ARGV[3])
redis.call('HSET', KEYS[2], 'phases', phases, 'reads:old', reads.old, 'reads:new', reads.new)
return 1`,
  },
  /**
   * KEYS run, rel, ended, counts. ARGV callId, phase, increments (JSON). Counts a call once:
   * answers {1, ended in its phase, calls in its phase} the first time, {0, …} after; {-1} when
   * the run is gone.
   */
  a0mRelCallEnded: {
    keys: 4,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0, 0} end
local first = redis.call('SADD', KEYS[3], ARGV[1])
local ended
if first == 1 then
  for k, v in pairs(cjson.decode(ARGV[3])) do redis.call('HINCRBY', KEYS[4], k, v) end
  ended = redis.call('HINCRBY', KEYS[2], 'ended:' .. ARGV[2], 1)
else
  ended = tonumber(redis.call('HGET', KEYS[2], 'ended:' .. ARGV[2]) or '0')
end
local total = tonumber(redis.call('HGET', KEYS[2], 'calls:' .. ARGV[2]) or '0')
return {first, ended, total}`,
  },
} as const;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    a0mRelPlanned(
      run: string,
      rel: string,
      counts: string,
      incr: string,
      phases: string,
      reads: string,
    ): Result<number, Context>;
    a0mRelCallEnded(
      run: string,
      rel: string,
      ended: string,
      counts: string,
      callId: string,
      phase: number,
      incr: string,
    ): Result<[number, number, number], Context>;
  }
}

/** Where the relations stage is. */
export interface RelationsState {
  planned: boolean;
  /** Phases of calls in the plan. */
  phases: number;
  /** Calls per phase, and those ended. */
  calls: number[];
  ended: number[];
  done: boolean;
  /** List pages read from each tenant. */
  reads: { old: number; new: number };
}

/** `{ 'role_assignments|added': 3, 'role_assignments|failed|not_found': 1 }` from counts. */
export function countIncrements(counts: RelationsCounts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [kind, c] of Object.entries(counts)) {
    for (const k of ['added', 'already_present', 'pending_user', 'failed'] as const) {
      if (c[k] !== 0) out[`${kind}|${k}`] = c[k];
    }
    for (const [code, n] of Object.entries(c.failures)) if (n !== 0) out[`${kind}|failed|${code}`] = n;
  }
  return out;
}

function countsFromHash(h: Record<string, string>): RelationsCounts {
  const out: RelationsCounts = {};
  for (const [field, raw] of Object.entries(h)) {
    const [kind = '', outcome = '', code] = field.split('|');
    const c: KindCounts = (out[kind] ??= emptyCounts());
    const n = Number(raw);
    if (code !== undefined) c.failures[code] = (c.failures[code] ?? 0) + n;
    else if (
      outcome === 'added' ||
      outcome === 'already_present' ||
      outcome === 'pending_user' ||
      outcome === 'failed'
    ) {
      c[outcome] += n;
      c.total += n;
    }
  }
  return out;
}

export class RelationsStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #files: RunFiles;

  constructor(redis: Redis, prefix: string, files: RunFiles) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#files = files;
    for (const [name, s] of Object.entries(SCRIPTS))
      redis.defineCommand(name, { numberOfKeys: s.keys, lua: s.lua });
  }

  #run(runId: string): string {
    return `${this.#prefix}:run:${runId}`;
  }

  #rel(runId: string, part?: 'ended' | 'counts' | 'refs'): string {
    return `${this.#run(runId)}:rel${part === undefined ? '' : `:${part}`}`;
  }

  /** Counts the plan's settled relations and records its calls per phase, once. False when done before. */
  async planned(
    runId: string,
    settled: RelationsCounts,
    callsPerPhase: number[],
    reads: { old: number; new: number },
  ): Promise<boolean> {
    const phases: Record<string, number> = {};
    callsPerPhase.forEach((n, p) => (phases[String(p)] = n));
    const r = await this.#redis.a0mRelPlanned(
      this.#run(runId),
      this.#rel(runId),
      this.#rel(runId, 'counts'),
      JSON.stringify(countIncrements(settled)),
      JSON.stringify(phases),
      JSON.stringify(reads),
    );
    if (r === -1) throw new RunStateLost(runId);
    return r === 1;
  }

  /**
   * Counts a call's relations once. Answers whether this was the first count, and whether its
   * phase has now ended (every call of it counted).
   */
  async callEnded(
    runId: string,
    callId: string,
    phase: number,
    counts: RelationsCounts,
  ): Promise<{ first: boolean; phaseEnded: boolean }> {
    const [first, ended, total] = await this.#redis.a0mRelCallEnded(
      this.#run(runId),
      this.#rel(runId),
      this.#rel(runId, 'ended'),
      this.#rel(runId, 'counts'),
      callId,
      phase,
      JSON.stringify(countIncrements(counts)),
    );
    if (first === -1) throw new RunStateLost(runId);
    return { first: first === 1, phaseEnded: ended >= total };
  }

  async isCallEnded(runId: string, callId: string): Promise<boolean> {
    return (await this.#redis.sismember(this.#rel(runId, 'ended'), callId)) === 1;
  }

  async state(runId: string): Promise<RelationsState> {
    const h = await this.#redis.hgetall(this.#rel(runId));
    const phases = Number(h.phases ?? 0);
    const calls: number[] = [];
    const ended: number[] = [];
    for (let p = 0; p < phases; p++) {
      calls.push(Number(h[`calls:${p}`] ?? 0));
      ended.push(Number(h[`ended:${p}`] ?? 0));
    }
    return {
      planned: h.planned === '1',
      phases,
      calls,
      ended,
      done: h.done === '1',
      reads: { old: Number(h['reads:old'] ?? 0), new: Number(h['reads:new'] ?? 0) },
    };
  }

  /** Marks the stage done; true for the one caller that marked it. */
  async markDone(runId: string): Promise<boolean> {
    return (await this.#redis.hsetnx(this.#rel(runId), 'done', '1')) === 1;
  }

  async counts(runId: string): Promise<RelationsCounts> {
    return countsFromHash(await this.#redis.hgetall(this.#rel(runId, 'counts')));
  }

  async getRef(runId: string, type: string, name: string): Promise<string | undefined> {
    return (await this.#redis.hget(this.#rel(runId, 'refs'), `${type}|${name}`)) ?? undefined;
  }

  async setRef(runId: string, type: string, name: string, id: string): Promise<void> {
    await this.#redis.hset(this.#rel(runId, 'refs'), `${type}|${name}`, id);
  }

  path(runId: string, file: keyof typeof RELATION_FILES): string {
    return join(this.#files.dir(runId), RELATION_FILES[file]);
  }

  /** `work/relations/` of the run, created (0700). */
  async workDir(runId: string): Promise<string> {
    await this.#files.prepareWorkDir(runId);
    return ensurePrivateDir(this.#files.reportsDir, runId, 'work', 'relations');
  }

  /**
   * Appends lines to one of the run's relation files (0600, created if missing, never through a
   * link), in one write: lines of one call stay together when several workers append.
   */
  async append(runId: string, file: 'added' | 'failures', lines: unknown[]): Promise<void> {
    if (lines.length === 0) return;
    await this.#files.prepareRunDir(runId);
    const fh = await open(
      this.path(runId, file),
      constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW,
      FILE_MODE,
    );
    try {
      await fh.write(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    } finally {
      await fh.close();
    }
  }
}
