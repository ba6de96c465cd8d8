/**
 * The container files users run: docker-compose.yml is accepted by docker-compose (when the
 * machine has it), passes every configuration variable to the containers, keeps the settings the
 * queues depend on, and the worker command it names, run from the compiled build as the image
 * runs it, starts the workers and stops on SIGTERM.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startSimulator, type Simulator } from '../../src/sim/index.js';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url);
const read = (file: string): string => readFileSync(new URL(file, root), 'utf8');
const REDIS_URL = 'redis://127.0.0.1:6379';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  init?: boolean;
  stop_grace_period?: string;
  deploy?: { replicas?: number };
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition?: string }>;
  profiles?: string[];
  environment?: Record<string, string>;
}
// merge: the services share their environments through YAML merge keys (<<).
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const dockerfile = read('Dockerfile');

/** The exec-form JSON array of a Dockerfile instruction in the last stage. */
function instruction(name: string): string[] {
  const lines = dockerfile.split('\n').filter((l) => l.startsWith(`${name} `));
  const last = lines.at(-1);
  if (last === undefined) throw new Error(`Dockerfile has no ${name}`);
  return JSON.parse(last.slice(name.length + 1)) as string[];
}

/** Variables the containers set themselves: Redis and the reports are services of the compose file. */
const CONTAINER_VALUES: Record<string, string> = {
  REDIS_URL: 'redis://redis:6379',
  REPORTS_DIR: '/data/reports',
};

/** The variable names in the first column of the README's configuration table. */
function configurationTable(): string[] {
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('\n## Configuration\n'));
  const table = section.slice(section.indexOf('\n|')).split('\n\n')[0]!;
  const rows = table.trim().split('\n').slice(2);
  return rows.flatMap((row) => [...row.split('|')[1]!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!));
}

async function hasDockerCompose(): Promise<boolean> {
  try {
    await run('docker-compose', ['version']);
    return true;
  } catch {
    return false;
  }
}

describe('docker-compose.yml and Dockerfile', () => {
  it('is accepted by docker-compose, with and without the rehearsal profile', async (ctx) => {
    if (!(await hasDockerCompose()))
      ctx.skip('docker-compose is not installed (Debian package docker-compose)');
    const cwd = new URL('.', root).pathname;
    await run('docker-compose', ['config', '-q'], { cwd });
    await run('docker-compose', ['--profile', 'rehearsal', 'config', '-q'], { cwd });
  });

  it("passes every variable of the README's configuration table to the containers", async (ctx) => {
    if (!(await hasDockerCompose()))
      ctx.skip('docker-compose is not installed (Debian package docker-compose)');
    const variables = configurationTable();
    expect(variables).toEqual(expect.arrayContaining(['QUEUE_PREFIX', 'LOG_LEVEL', 'POLL_INTERVAL_MS']));
    const probe = (name: string): string => `probe-${name.toLowerCase()}`;
    // An empty .env of its own, so that a developer's .env beside the compose file changes nothing.
    const dir = await mkdtemp(join(tmpdir(), 'compose-env-'));
    try {
      const envFile = join(dir, '.env');
      await writeFile(envFile, '');
      const { stdout } = await run(
        'docker-compose',
        ['--env-file', envFile, '--profile', 'rehearsal', 'config'],
        {
          cwd: new URL('.', root).pathname,
          env: { PATH: process.env.PATH ?? '', ...Object.fromEntries(variables.map((v) => [v, probe(v)])) },
        },
      );
      const services = (parse(stdout) as { services: Record<string, ComposeService> }).services;
      const expected = (names: string[]) =>
        Object.fromEntries(names.map((v) => [v, CONTAINER_VALUES[v] ?? probe(v)]));
      expect(services.worker!.environment).toMatchObject(expected(variables));
      // The demo's tenants are the simulator it starts, and it keeps no schedule, metrics or dashboard.
      const forDemo = variables.filter(
        (v) => !/^(OLD|NEW)_AUTH0_(?!MAX_RPS)|^SWEEP_|^RELATIONS_CRON$|^METRICS_|^DASHBOARD_/.test(v),
      );
      expect(services.demo!.environment).toMatchObject(expected(forDemo));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("lists every variable of the README's configuration table in .env.example", () => {
    const example = read('.env.example');
    const missing = configurationTable().filter((v) => !new RegExp(`^(# )?${v}=`, 'm').test(example));
    expect(missing).toEqual([]);
  });

  it('keeps queue state in Redis safe: append-only file, no eviction, a healthcheck the workers wait for', () => {
    const redis = compose.services.redis!;
    expect(redis.command).toEqual(
      expect.arrayContaining(['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']),
    );
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(compose.services.worker!.depends_on?.redis?.condition).toBe('service_healthy');
  });

  it('serves worker metrics to the compose network only, and recommends PAYLOAD_KEY with how to make one', () => {
    const worker = compose.services.worker!;
    expect(worker.environment?.METRICS_HOST).toBe('${METRICS_HOST:-0.0.0.0}');
    expect((worker as { ports?: unknown }).ports).toBeUndefined();
    expect(worker.environment?.PAYLOAD_KEY).toBe('${PAYLOAD_KEY:-}');
    expect(read('docker-compose.yml')).toMatch(
      /# .*PAYLOAD_KEY[\s\S]*openssl rand -hex 32[\s\S]*PAYLOAD_KEY: /,
    );
  });

  it('runs worker replicas with an init process and a stop grace period', () => {
    const worker = compose.services.worker!;
    expect(worker.init).toBe(true);
    expect(worker.stop_grace_period).toMatch(/^\d+[sm]$/);
    expect(worker.deploy?.replicas).toBeGreaterThan(1);
    expect(compose.services.sim!.profiles).toEqual(['rehearsal']);
    expect(compose.services.demo!.profiles).toEqual(['rehearsal']);
  });

  it('builds in stages and runs as a non-root user, in exec form', () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(instruction('ENTRYPOINT')).toEqual(['node', 'dist/cli.js']);
    expect(instruction('CMD')).toEqual(['worker']);
  });
});

describe('the worker command the compose file names', () => {
  let sim: Simulator;
  const prefix = `containers-test-${process.pid}`;

  beforeAll(async () => {
    // The image runs the compiled build; build it the way the Dockerfile does.
    await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: new URL('.', root).pathname });
    sim = await startSimulator({ timing: 'fast' });
  }, 180_000);

  afterAll(async () => {
    await sim?.close();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('starts the workers and stops cleanly on SIGTERM', async () => {
    const entrypoint = instruction('ENTRYPOINT');
    const args = [...entrypoint.slice(1), ...compose.services.worker!.command!];
    const t = sim.tenants.new;
    const child = spawn(process.execPath, args, {
      cwd: new URL('.', root).pathname,
      env: {
        PATH: process.env.PATH ?? '',
        REDIS_URL,
        QUEUE_PREFIX: prefix,
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'info',
        NEW_AUTH0_DOMAIN: t.domain,
        NEW_AUTH0_CLIENT_ID: t.clientId,
        NEW_AUTH0_CLIENT_SECRET: t.clientSecret,
        NEW_AUTH0_CONNECTION: t.connection,
        NEW_AUTH0_BASE_URL: t.baseUrl,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('"workers started"')) resolve();
      });
      void exited.then((code) => reject(new Error(`worker exited (${code}) before starting: ${log}`)));
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(log).toContain('"workers stopped"');
    expect(log).not.toContain(t.clientSecret);
  }, 60_000);
});
