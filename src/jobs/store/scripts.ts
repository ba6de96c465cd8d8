/**
 * The store's writes, each one Lua script so that checking and writing happen in one step. None
 * of them creates a run or a batch that is not there: after Redis lost a run's keys (restarted
 * without persistence, evicted, deleted), a late write from a worker still busy with that run
 * finds nothing and answers LOST instead of leaving a stub that a resume would then trip over.
 *
 * Answers: -1 the run is gone, -2 the batch is gone, -3 the run is not running; 0 nothing to do
 * (already written); 1 written.
 */
import type { Redis, Result } from 'ioredis';

export const LOST_RUN = -1;
export const LOST_BATCH = -2;
export const NOT_RUNNING = -3;

const SCRIPTS = {
  /** KEYS run, runs. ARGV runId, createdAt, fields (JSON). */
  a0mCreateRun: {
    keys: 2,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for k, v in pairs(cjson.decode(ARGV[3])) do redis.call('HSET', KEYS[1], k, v) end
redis.call('HSET', KEYS[1], 'runId', ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1`,
  },
  /**
   * KEYS run. ARGV op (JSON: ifStatus, setnx, del, set). Answers 2 when every setnx field was new,
   * 1 otherwise, 0 when the status is not `ifStatus`.
   */
  a0mUpdateRun: {
    keys: 1,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local op = cjson.decode(ARGV[1])
if op.ifStatus ~= nil and redis.call('HGET', KEYS[1], 'status') ~= op.ifStatus then return 0 end
local fresh = 2
if op.setnx ~= nil then
  for k, v in pairs(op.setnx) do
    if redis.call('HSETNX', KEYS[1], k, v) == 0 then fresh = 1 end
  end
end
if op.del ~= nil then for _, k in ipairs(op.del) do redis.call('HDEL', KEYS[1], k) end end
if op.set ~= nil then for k, v in pairs(op.set) do redis.call('HSET', KEYS[1], k, v) end end
return fresh`,
  },
  /**
   * KEYS must-exist, hash, run. ARGV field, by, run field (or ''). Answers the new value of
   * `field`; the run's own counter of the same events goes up too.
   */
  a0mIncrIfExists: {
    keys: 3,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if ARGV[3] ~= '' then redis.call('HINCRBY', KEYS[3], ARGV[3], ARGV[2]) end
return redis.call('HINCRBY', KEYS[2], ARGV[1], ARGV[2])`,
  },
  /** KEYS run, batch, payload, ended. ARGV payload, users, bytes, n, planRead. */
  a0mStageBatch: {
    keys: 4,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return -3 end
local n = tonumber(ARGV[4])
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('GETBIT', KEYS[4], n) == 1 then return 0 end
redis.call('SET', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[2], 'state', 'queued', 'users', ARGV[2], 'bytes', ARGV[3])
if tonumber(redis.call('HGET', KEYS[1], 'planEmitted') or '0') < n + 1 then
  redis.call('HSET', KEYS[1], 'planEmitted', n + 1)
end
redis.call('HSET', KEYS[1], 'planRead', ARGV[5])
return 1`,
  },
  /** KEYS run, batch, running, ended. ARGV n, op (JSON: set, running = add | rem). */
  a0mUpdateBatch: {
    keys: 4,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('GETBIT', KEYS[4], tonumber(ARGV[1])) == 1 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then return -2 end
local op = cjson.decode(ARGV[2])
if op.set ~= nil then for k, v in pairs(op.set) do redis.call('HSET', KEYS[2], k, v) end end
if op.running == 'add' then redis.call('SADD', KEYS[3], ARGV[1]) end
if op.running == 'rem' then redis.call('SREM', KEYS[3], ARGV[1]) end
return 1`,
  },
  /**
   * KEYS run, ended, failed, counts, batch, payload, running. ARGV n, failed (1 | 0), counts
   * (JSON: field → increment). Ends batch n once: its counts are added, its record and payload go.
   */
  a0mFinishBatch: {
    keys: 7,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local n = tonumber(ARGV[1])
if redis.call('GETBIT', KEYS[2], n) == 1 then return 0 end
if redis.call('EXISTS', KEYS[5]) == 0 then return -2 end
redis.call('SETBIT', KEYS[2], n, 1)
if ARGV[2] == '1' then redis.call('SETBIT', KEYS[3], n, 1) end
for k, v in pairs(cjson.decode(ARGV[3])) do redis.call('HINCRBY', KEYS[4], k, v) end
redis.call('DEL', KEYS[5], KEYS[6])
redis.call('SREM', KEYS[7], ARGV[1])
return 1`,
  },
  /** KEYS run, chunks, counts. ARGV c, counts (JSON), planRead. Counts chunk c once. */
  a0mPutChunk: {
    keys: 3,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local c = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'planRead', ARGV[3])
if tonumber(redis.call('HGET', KEYS[1], 'planChunks') or '0') < c + 1 then
  redis.call('HSET', KEYS[1], 'planChunks', c + 1)
end
if redis.call('GETBIT', KEYS[2], c) == 1 then return 0 end
redis.call('SETBIT', KEYS[2], c, 1)
for k, v in pairs(cjson.decode(ARGV[2])) do redis.call('HINCRBY', KEYS[3], k, v) end
return 1`,
  },
  /** KEYS workers. ARGV worker id, record (JSON). Answers 1 when the worker was there before. */
  a0mHeartbeat: {
    keys: 1,
    lua: `
local seen = redis.call('HEXISTS', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return seen`,
  },
  /** KEYS lock. ARGV holder. */
  a0mReleaseIfHolder: {
    keys: 1,
    lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
  },
  /**
   * KEYS lock. ARGV holder, lease (ms). Extends the holder's lease, or takes the lock back when it
   * lapsed and nobody took it; 0 when another holds it.
   */
  a0mRenewLease: {
    keys: 1,
    lua: `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`,
  },
} as const;

type Arg = string | number | Buffer;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    a0mCreateRun(
      run: string,
      runs: string,
      runId: string,
      createdAt: number,
      fields: string,
    ): Result<number, Context>;
    a0mUpdateRun(run: string, op: string): Result<number, Context>;
    a0mIncrIfExists(
      mustExist: string,
      hash: string,
      run: string,
      field: string,
      by: number,
      runField: string,
    ): Result<number, Context>;
    a0mStageBatch(...args: Arg[]): Result<number, Context>;
    a0mUpdateBatch(...args: Arg[]): Result<number, Context>;
    a0mFinishBatch(...args: Arg[]): Result<number, Context>;
    a0mPutChunk(...args: Arg[]): Result<number, Context>;
    a0mHeartbeat(workers: string, id: string, record: string): Result<number, Context>;
    a0mReleaseIfHolder(lock: string, holder: string): Result<number, Context>;
    a0mRenewLease(lock: string, holder: string, leaseMs: number): Result<number, Context>;
  }
}

/**
 * Defines the scripts on the connection (ioredis sends EVALSHA, and the script itself when a
 * restarted Redis no longer knows it). Defining them again on the same connection is harmless.
 */
export function defineScripts(redis: Redis): void {
  for (const [name, s] of Object.entries(SCRIPTS)) {
    redis.defineCommand(name, { numberOfKeys: s.keys, lua: s.lua });
  }
}

/** A flat `field → value` record for the scripts: every value a string, as Redis stores it. */
export function flat(fields: Record<string, string | number | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = String(v);
  return out;
}
