import type { Redis } from 'ioredis';

/** Names of the BullMQ queues (all under `QUEUE_PREFIX`). */
export const QUEUES = {
  /** One job per run: export the old tenant, snapshot the new one, then plan. */
  sweep: 'sweep',
  export: 'export',
  snapshot: 'snapshot',
  plan: 'plan',
  importBatch: 'import-batch',
  report: 'report',
  /** One job per run: read both tenants' relations, diff them, enqueue the calls. */
  relations: 'relations',
  /** One job per planned relations call, id `<runId>-rc-<callId>`. */
  relationCall: 'relation-call',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/**
 * Deletes every key under `prefix:` (a `QUEUE_PREFIX`: queues, run state), never anything else;
 * SCAN, so a large database is not blocked.
 */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
