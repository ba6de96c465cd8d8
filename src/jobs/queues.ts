/** Names of the BullMQ queues (all under `QUEUE_PREFIX`). */
export const QUEUES = {
  /** One job per run: export the old tenant, snapshot the new one, then plan. */
  sweep: 'sweep',
  export: 'export',
  snapshot: 'snapshot',
  plan: 'plan',
  importBatch: 'import-batch',
  report: 'report',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
