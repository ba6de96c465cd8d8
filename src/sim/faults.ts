/**
 * Fault injection: requests answered with 5xx or 429, slowed down or dropped (before or after they
 * are handled), jobs that fail as a whole, export links that stop working early. Set at start
 * (`SimOptions.faults`), from code (`sim.faults`) or over HTTP (`${sim.url}/__sim/...`).
 */
import { randomUUID } from 'node:crypto';

/**
 * - `error`, `rate-limit`: answered instead of handling the request.
 * - `delay`: handled, after a wait.
 * - `drop`: the connection is destroyed before the request is handled (nothing happens).
 * - `drop-after`: the request is handled in full (a job is created), then the connection is
 *   destroyed instead of sending the answer: the case of an answer lost on its way back.
 * - `cut`: the answer starts (status, headers, the first `afterBytes` bytes of its body), then
 *   the connection is destroyed: a download broken off half way.
 */
export type FaultKind = 'error' | 'rate-limit' | 'delay' | 'drop' | 'drop-after' | 'cut';

const FAULT_KINDS: readonly FaultKind[] = ['error', 'rate-limit', 'delay', 'drop', 'drop-after', 'cut'];

export interface FaultRule {
  kind: FaultKind;
  /** Tenant name; every tenant when absent. */
  tenant?: string;
  /** HTTP method; every method when absent. */
  method?: string;
  /** Path below the tenant's base URL the rule applies to, as a prefix (`/api/v2/jobs`); all when absent. */
  path?: string;
  /** `error`: the status answered. @defaultValue 500 */
  status?: number;
  /** `delay`: how long the answer waits. @defaultValue 1000 */
  delayMs?: number;
  /** `rate-limit`: seconds until `x-ratelimit-reset`. @defaultValue 1 */
  resetSeconds?: number;
  /** `cut`: bytes of the body sent before the connection is destroyed. @defaultValue 1024 */
  afterBytes?: number;
  /** Matching requests it hits; 0 means until removed. @defaultValue 1 */
  times?: number;
  /** Matching requests let through before it starts. @defaultValue 0 */
  skip?: number;
}

export interface ActiveFault extends FaultRule {
  id: string;
  /** Requests it has hit so far. */
  hits: number;
}

export interface JobFailure {
  tenant: string;
  /** The job to fail; the next job of `type` created in the tenant when absent. */
  jobId?: string;
  /** @defaultValue `users_import` */
  type?: 'users_import' | 'users_export';
  /** Give the failed job a summary (all users failed). @defaultValue false */
  summary?: boolean;
  /** Text for `status_details`. */
  statusDetails?: string;
  /**
   * What `/errors` answers: `none` → 204 (seen with auth0.net issue 443), `job` → the job object.
   * @defaultValue `none` without `statusDetails`, `job` with it
   */
  errors?: 'none' | 'job';
}

export class Faults {
  readonly #rules: ActiveFault[] = [];
  readonly #jobFailures: JobFailure[] = [];
  readonly #seen = new Map<string, number>();

  constructor(private readonly expireLinks: (tenant?: string) => number) {}

  /** Adds a rule; returns its id. */
  add(rule: FaultRule): string {
    validateRule(rule);
    const id = randomUUID();
    this.#rules.push({ ...rule, id, hits: 0 });
    return id;
  }

  remove(id: string): boolean {
    const i = this.#rules.findIndex((r) => r.id === id);
    if (i >= 0) this.#rules.splice(i, 1);
    return i >= 0;
  }

  /** Removes every rule and pending job failure. */
  clear(): void {
    this.#rules.length = 0;
    this.#jobFailures.length = 0;
    this.#seen.clear();
  }

  list(): ActiveFault[] {
    return this.#rules.map((r) => ({ ...r }));
  }

  /** Makes a job (or the tenant's next job of a type) fail as a whole. */
  failJob(failure: JobFailure): void {
    if (typeof failure.tenant !== 'string') throw new TypeError('failJob needs a tenant');
    this.#jobFailures.push({ ...failure });
  }

  /** Makes every export link issued so far stop working now; returns how many were live. */
  expireExportLinks(tenant?: string): number {
    return this.expireLinks(tenant);
  }

  /** The rule that hits this request, if any (counts the hit). */
  match(tenant: string, method: string, path: string): ActiveFault | undefined {
    for (const r of this.#rules) {
      if (r.tenant !== undefined && r.tenant !== tenant) continue;
      if (r.method !== undefined && r.method.toUpperCase() !== method) continue;
      if (r.path !== undefined && !path.startsWith(r.path)) continue;
      const seen = (this.#seen.get(r.id) ?? 0) + 1;
      this.#seen.set(r.id, seen);
      if (seen <= (r.skip ?? 0)) continue;
      r.hits++;
      const times = r.times ?? 1;
      if (times > 0 && r.hits >= times) this.remove(r.id);
      return r;
    }
    return undefined;
  }

  /** The failure planned for this job, if any (consumed). */
  takeJobFailure(tenant: string, jobId: string, type: string): JobFailure | undefined {
    const i = this.#jobFailures.findIndex(
      (f) =>
        f.tenant === tenant &&
        (f.jobId !== undefined ? f.jobId === jobId : (f.type ?? 'users_import') === type),
    );
    if (i < 0) return undefined;
    return this.#jobFailures.splice(i, 1)[0];
  }
}

function validateRule(rule: FaultRule): void {
  if (!FAULT_KINDS.includes(rule.kind)) {
    throw new TypeError(`fault kind must be one of ${FAULT_KINDS.join(', ')} (got "${String(rule.kind)}")`);
  }
  if (
    rule.status !== undefined &&
    !(Number.isInteger(rule.status) && rule.status >= 400 && rule.status <= 599)
  ) {
    throw new TypeError(`fault status must be an HTTP error status (got ${rule.status})`);
  }
  if (rule.afterBytes !== undefined && !(Number.isInteger(rule.afterBytes) && rule.afterBytes >= 0)) {
    throw new TypeError(`fault afterBytes must be a whole number of bytes (got ${rule.afterBytes})`);
  }
}
