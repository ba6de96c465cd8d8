/** Worker processes for the multi-process tests (test/jobs/worker-process.ts); Harness.spawnWorker starts them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Simulator } from '../../src/sim/index.js';

const SCRIPT = fileURLToPath(new URL('./worker-process.ts', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves when the process printed `ready`. */
  ready: Promise<void>;
  exited: Promise<number | null>;
  stderr(): string;
}

export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    void exited.then((code) => reject(new Error(`worker exited (${code}) before it was ready: ${err}`)));
  });
  return { child, ready, exited, stderr: () => err };
}

/**
 * SIGKILLs `worker` the moment the simulator's new tenant starts the `n`th import job from now,
 * so the kill lands while that batch is in flight (its Auth0 job cannot end before this process
 * runs the simulator again); resolves once the process is gone.
 */
export async function killAtImportJob(sim: Simulator, n: number, worker: WorkerProcess): Promise<void> {
  const tenant = sim.tenant('new');
  let started = 0;
  let onStarted!: (id: string) => void;
  await new Promise<void>((resolve, reject) => {
    onStarted = (id) => {
      if (tenant.jobs.get(id)?.type !== 'users_import' || ++started < n) return;
      worker.child.kill('SIGKILL');
      resolve();
    };
    tenant.events.on('job-started', onStarted);
    void worker.exited.then(() =>
      reject(new Error(`the worker exited after ${started} of ${n} import jobs`)),
    );
  }).finally(() => tenant.events.off('job-started', onStarted));
  await worker.exited;
}

/**
 * Resolves once `check` is true, asking every `everyMs`: for state in Redis, which has no event to
 * wait on. It sets no deadline of its own; a condition never met fails at the test's timeout.
 */
export async function until(check: () => Promise<boolean> | boolean, everyMs = 25): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, everyMs));
}
