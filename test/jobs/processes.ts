/** Worker processes for the multi-process tests (test/jobs/worker-process.ts). */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tenantEnvironment } from '../../src/config.js';
import type { Harness } from './harness.js';
import { FAST } from './harness.js';
import { REDIS_URL } from './helpers.js';

const SCRIPT = fileURLToPath(new URL('./worker-process.ts', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves when the process printed `ready`. */
  ready: Promise<void>;
  exited: Promise<number | null>;
  stderr(): string;
}

/** The environment a worker container would get, pointing at the harness's simulator and prefix. */
export function workerEnv(h: Harness, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    REDIS_URL,
    QUEUE_PREFIX: h.prefix,
    REPORTS_DIR: h.reportsDir,
    IMPORT_CONCURRENCY: String(h.config.importConcurrency),
    LOG_LEVEL: 'silent',
    LOG_FORMAT: 'json',
    RUNNER_TEST_SETTINGS: JSON.stringify(FAST),
    ...tenantEnvironment(h.config),
  };
  return { ...env, ...extra };
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

/** Kills (SIGKILL) every worker still running and waits for each to exit; empties the list. */
export async function killAll(procs: WorkerProcess[]): Promise<void> {
  for (const p of procs.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await p.exited;
  }
}

/** Resolves once `check` is true, checking every `everyMs`; rejects after `timeoutMs`. */
export async function until(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
  everyMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
