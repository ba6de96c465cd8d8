/**
 * Where a run lives in Redis. Only the store (this folder) builds these keys; everything else asks
 * the store. BullMQ's own keys (`<prefix>:<queue>:*`) are BullMQ's.
 *
 * | key | type | holds |
 * | --- | --- | --- |
 * | `<prefix>:runs` | sorted set | run ids by creation time |
 * | `<prefix>:run:<id>` | hash | the run: status, phase, identity, plan progress, phase times |
 * | `<prefix>:run:<id>:counts` | hash | the run's outcome counters (`imported`, `failed:<code>`, …) |
 * | `<prefix>:run:<id>:ended` | bitmap | bit n: batch n has ended and is counted |
 * | `<prefix>:run:<id>:failed` | bitmap | bit n: batch n ended failed |
 * | `<prefix>:run:<id>:chunks` | bitmap | bit c: plan chunk c is counted |
 * | `<prefix>:run:<id>:running` | set | batches submitted to Auth0 and not ended |
 * | `<prefix>:run:<id>:batch:<n>` | hash | batch n while in flight (state, Auth0 job id) |
 * | `<prefix>:run:<id>:payload:<n>` | string | batch n's staged payload while in flight |
 * | `<prefix>:workers` | hash | worker processes seen: identity, last heartbeat |
 * | `<prefix>:lock:sweep` | string | the sweep running now |
 * | `<prefix>:lock:relations` | string | the relations run active now, with its lease (expires unless renewed) |
 * | `<prefix>:slots:<tenant>` | sorted set | import slot leases (slots.ts) |
 * | `<prefix>:rate:<tenant>` | string | the tenant's shared rate budget (rate-budget.ts) |
 * | `<prefix>:run:<id>:rel*` | | the relations stage (relations.ts) |
 *
 * Per-user lines never stay in Redis: ended batches and plan chunks go to the run's folder
 * (parts.ts), so Redis holds in-flight batches and counters only, whatever the number of users.
 */
export class RunKeys {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  run(runId: string): string {
    return `${this.prefix}:run:${runId}`;
  }

  counts(runId: string): string {
    return `${this.run(runId)}:counts`;
  }

  ended(runId: string): string {
    return `${this.run(runId)}:ended`;
  }

  failed(runId: string): string {
    return `${this.run(runId)}:failed`;
  }

  chunks(runId: string): string {
    return `${this.run(runId)}:chunks`;
  }

  running(runId: string): string {
    return `${this.run(runId)}:running`;
  }

  batch(runId: string, n: number): string {
    return `${this.run(runId)}:batch:${n}`;
  }

  payload(runId: string, n: number): string {
    return `${this.run(runId)}:payload:${n}`;
  }

  get runs(): string {
    return `${this.prefix}:runs`;
  }

  get workers(): string {
    return `${this.prefix}:workers`;
  }

  // Not under a queue's name: `<prefix>:sweep:*` belongs to BullMQ's `sweep` queue.
  get sweepLock(): string {
    return `${this.prefix}:lock:sweep`;
  }

  get relationsLock(): string {
    return `${this.prefix}:lock:relations`;
  }

  slots(tenant: string): string {
    return `${this.prefix}:slots:${tenant}`;
  }

  rate(tenant: string): string {
    return `${this.prefix}:rate:${tenant}`;
  }
}
