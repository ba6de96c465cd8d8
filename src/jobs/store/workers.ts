/**
 * The worker processes seen on this QUEUE_PREFIX: each one writes its identity (the settings that
 * decide what a run does) and the time every few seconds, so `status` can show who works on the
 * runs and flag a worker configured otherwise. One small hash; a process not seen for a day is
 * dropped from it.
 */
import type { Redis } from 'ioredis';
import type { RunIdentity } from '../types.js';

const FORGET_AFTER_MS = 86_400_000;

export interface WorkerRecord {
  /** `host:pid`. */
  id: string;
  identity: RunIdentity;
  queues: string[];
  startedAt: number;
  lastSeen: number;
  /** Set when the process stopped cleanly. */
  stoppedAt?: number;
}

export class WorkerRegistry {
  readonly #redis: Redis;
  readonly #key: string;

  constructor(redis: Redis, key: string) {
    this.#redis = redis;
    this.#key = key;
  }

  /**
   * Records that the worker is alive. Answers whether Redis knew it already: false at its first
   * beat, and false again when Redis lost its data in between.
   */
  async beat(record: WorkerRecord): Promise<boolean> {
    return (await this.#redis.a0mHeartbeat(this.#key, record.id, JSON.stringify(record))) === 1;
  }

  /** The workers seen in the last day, most recently seen first. */
  async list(now = Date.now()): Promise<WorkerRecord[]> {
    const all = Object.entries(await this.#redis.hgetall(this.#key)).map(([id, raw]) => ({
      ...(JSON.parse(raw) as WorkerRecord),
      id,
    }));
    const old = all.filter((w) => now - w.lastSeen > FORGET_AFTER_MS).map((w) => w.id);
    if (old.length > 0) await this.#redis.hdel(this.#key, ...old);
    return all.filter((w) => now - w.lastSeen <= FORGET_AFTER_MS).sort((a, b) => b.lastSeen - a.lastSeen);
  }
}
