/**
 * A run's identity: the non-secret settings that decide what it does (which tenants and
 * connections, how big a batch). The run records them when it starts; a worker whose own settings
 * differ refuses the run's jobs and hands them back for a worker that matches, so a stray worker on
 * the same QUEUE_PREFIX can never plan or import with its settings instead of the run's.
 */
import type { Config } from '../config.js';
import { WaitAndRetry } from './job-control.js';
import type { RunIdentity, RunKind } from './types.js';

/** The identity this process's configuration gives (every field it can say). */
export function configIdentity(config: Config): RunIdentity {
  const { old: oldTenant, new: newTenant } = config.tenants;
  // The plan reads the input's users as the old connection's; an import without an old tenant
  // takes them to be the new connection's (workers/plan-source.ts).
  const source = oldTenant?.connection ?? newTenant?.connection;
  return {
    ...(oldTenant !== undefined && { oldTenant: oldTenant.domain }),
    ...(source !== undefined && { sourceConnection: source }),
    ...(newTenant !== undefined && { newTenant: newTenant.domain, connection: newTenant.connection }),
    batchBytes: config.batchBytes,
  };
}

/** What a run of `kind` records: an import reads a file, so the old tenant's domain is not part of it. */
export function runIdentity(config: Config, kind: RunKind): RunIdentity {
  const { oldTenant, ...rest } = configIdentity(config);
  return kind !== 'import' && oldTenant !== undefined ? { oldTenant, ...rest } : rest;
}

const SETTINGS: Record<keyof RunIdentity, string> = {
  oldTenant: 'OLD_AUTH0_DOMAIN',
  sourceConnection: "the input's connection (OLD_AUTH0_CONNECTION, else NEW_AUTH0_CONNECTION)",
  newTenant: 'NEW_AUTH0_DOMAIN',
  connection: 'NEW_AUTH0_CONNECTION',
  batchBytes: 'BATCH_BYTES',
};

export interface IdentityDifference {
  setting: string;
  run: string;
  here: string;
}

/** Where `here` differs from what the run recorded (settings the run did not record are not compared). */
export function identityDiff(run: RunIdentity, here: RunIdentity): IdentityDifference[] {
  const out: IdentityDifference[] = [];
  for (const key of Object.keys(SETTINGS) as Array<keyof RunIdentity>) {
    const want = run[key];
    if (want === undefined) continue;
    const have = here[key];
    if (have !== want) {
      out.push({
        setting: SETTINGS[key],
        run: String(want),
        here: have === undefined ? '(not set)' : String(have),
      });
    }
  }
  return out;
}

/** `NEW_AUTH0_CONNECTION is "a" for the run, "b" here; …` */
export function describeDiff(diff: readonly IdentityDifference[], hereName = 'here'): string {
  return diff.map((d) => `${d.setting} is "${d.run}" for the run, "${d.here}" ${hereName}`).join('; ');
}

/** This worker's settings differ from the run's: the job goes back, for a worker that matches. */
export class WrongWorker extends WaitAndRetry {
  readonly differences: IdentityDifference[];

  constructor(runId: string, diff: IdentityDifference[], delayMs: number) {
    super(delayMs, `this worker is not configured for run ${runId}: ${describeDiff(diff)}`);
    this.differences = diff;
  }
}
