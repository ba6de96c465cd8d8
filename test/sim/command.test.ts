/**
 * `auth0-migrate sim`: the first stdout line with --json, the banner otherwise, --write-env,
 * a port in use, and shutdown.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig, requireTenant } from '../../src/config.js';
import { simCommand } from '../../src/commands/sim.js';
import type { Simulator } from '../../src/sim/index.js';

async function runUntilReady(opts: Parameters<typeof simCommand>[1]) {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (c: Buffer) => (text += c.toString()));
  const stop = new AbortController();
  let sim: Simulator | undefined;
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  const exited = simCommand(loadConfig({ env: {}, dotenvPath: false }), opts, {
    stdout,
    signal: stop.signal,
    onReady: (s) => {
      sim = s;
      ready();
    },
  });
  await Promise.race([isReady, exited]);
  return { text: () => text, sim: sim!, stop: () => stop.abort(), exited };
}

describe('sim command', () => {
  it("varies the tier's job timing with seed 1 unless --variance reseeds it or --no-variance turns it off", async () => {
    for (const [variance, expected] of [
      [undefined, 1],
      [9, 9],
      [false, false],
    ] as const) {
      const run = await runUntilReady({
        port: 0,
        seedOld: 1,
        timing: 'production',
        ...(variance === undefined ? {} : { variance }),
      });
      const got = run.sim.tenant('new').options.timing.variance;
      expect(got === false ? false : got.seed).toBe(expected);
      expect(run.text()).toContain(
        `(timing: production, ${expected === false ? 'constant' : `varied with seed ${expected}`};`,
      );
      run.stop();
      expect(await run.exited).toBe(0);
    }
  });

  it('prints one JSON object as the first line with --json, serves, and stops on signal', async () => {
    const run = await runUntilReady({ port: 0, seedOld: 10, timing: 'fast', json: true });
    const first = run.text().split('\n')[0]!;
    const parsed = JSON.parse(first) as { tenants: Record<string, Record<string, string>> };
    expect(Object.keys(parsed.tenants).sort()).toEqual(['new', 'old']);
    for (const t of Object.values(parsed.tenants)) {
      expect(Object.keys(t).sort()).toEqual(['baseUrl', 'clientId', 'clientSecret', 'connection', 'domain']);
    }
    const old = parsed.tenants.old!;
    const res = await fetch(`${old.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: old.clientId,
        client_secret: old.clientSecret,
        audience: `https://${old.domain}/api/v2/`,
      }),
    });
    expect(res.status).toBe(200);
    expect(run.sim.tenant('old').userCount()).toBe(10);
    expect(run.sim.tenant('new').userCount()).toBe(0);
    run.stop();
    expect(await run.exited).toBe(0);
    await expect(fetch(`${old.baseUrl}/oauth/token`, { method: 'POST' })).rejects.toThrow();
  });

  it('seeds linked accounts and MFA enrolments unless told otherwise', async () => {
    const run = await runUntilReady({ port: 0, seedOld: 600, timing: 'fast', json: true });
    const users = [...run.sim.tenant('old').users.iterate()];
    expect(users.filter((u) => u.identities !== undefined).length).toBeGreaterThan(10);
    expect(users.filter((u) => u.authenticators !== undefined).length).toBeGreaterThan(20);
    run.stop();
    expect(await run.exited).toBe(0);
    const none = await runUntilReady({
      port: 0,
      seedOld: 600,
      seedLinked: 0,
      seedMfa: 0,
      timing: 'fast',
      json: true,
    });
    expect([...none.sim.tenant('old').users.iterate()].some((u) => u.identities ?? u.authenticators)).toBe(
      false,
    );
    none.stop();
    expect(await none.exited).toBe(0);
  });

  it('prints a banner with the environment lines to paste', async () => {
    const run = await runUntilReady({ port: 0, seedOld: 5, timing: 'fast' });
    const text = run.text();
    const t = run.sim.tenants.new;
    expect(text).toContain(`NEW_AUTH0_BASE_URL=${t.baseUrl}\n`);
    expect(text).toContain(`NEW_AUTH0_CLIENT_SECRET=${t.clientSecret}\n`);
    expect(text).toMatch(/^OLD_AUTH0_DOMAIN=old\.sim\.auth0-migrate\.local$/m);
    expect(text).toMatch(/^OLD_AUTH0_CONNECTION=Username-Password-Authentication$/m);
    run.stop();
    expect(await run.exited).toBe(0);
  });

  it('--write-env writes a .env the tool reads as it is, 0600, and replaces one only with --force', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sim-env-'));
    try {
      const file = join(dir, '.env');
      const run = await runUntilReady({ port: 0, seedOld: 5, timing: 'fast', writeEnv: file });
      expect(run.text()).toContain(`Wrote these settings to ${file} (mode 0600)`);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const config = loadConfig({ env: {}, dotenvPath: file });
      for (const name of ['old', 'new'] as const) {
        const t = run.sim.tenants[name];
        expect(requireTenant(config, name)).toMatchObject({
          domain: t.domain,
          baseUrl: t.baseUrl,
          clientId: t.clientId,
          connection: t.connection,
        });
        expect(requireTenant(config, name).clientSecret.reveal()).toBe(t.clientSecret);
      }
      run.stop();
      expect(await run.exited).toBe(0);

      await writeFile(file, 'REPORTS_DIR=./mine\n');
      await expect(
        simCommand(
          loadConfig({ env: {}, dotenvPath: false }),
          { port: 0, seedOld: 5, timing: 'fast', writeEnv: file },
          { stdout: new PassThrough() },
        ),
      ).rejects.toMatchObject({
        name: 'MigrateError',
        message: `${file} exists already; the simulator's settings were not written.`,
        hint: expect.stringContaining('--force'),
      });
      expect(await readFile(file, 'utf8')).toBe('REPORTS_DIR=./mine\n');

      const forced = await runUntilReady({
        port: 0,
        seedOld: 5,
        timing: 'fast',
        writeEnv: file,
        force: true,
      });
      expect(await readFile(file, 'utf8')).toContain(
        `NEW_AUTH0_BASE_URL=${forced.sim.tenants.new.baseUrl}\n`,
      );
      forced.stop();
      expect(await forced.exited).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--write-env reaches the command through node (which takes --env-file for itself)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sim-env-cli-'));
    try {
      const file = join(dir, '.env');
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'src/cli.ts', 'sim', '--port', '0', '--seed-old', '1', '--write-env', file],
        { cwd: new URL('../../', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      let printed = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          printed += d.toString();
          if (printed.includes('Ctrl-C stops it.')) resolve();
        });
        child.stderr.on('data', (d: Buffer) => (printed += d.toString()));
        void exited.then((code) => reject(new Error(`sim exited (${code}): ${printed}`)));
      });
      expect(printed).toContain(`Wrote these settings to ${file}`);
      expect(await readFile(file, 'utf8')).toMatch(/^NEW_AUTH0_CLIENT_SECRET=.+$/m);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('on a port in use says which and what to do, without a stack trace; exit code 1', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      const err = (await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'src/cli.ts', 'sim', '--port', String(port), '--seed-old', '1'],
        { cwd: new URL('../../', import.meta.url).pathname },
      ).catch((e: unknown) => e)) as { code: number; stdout: string; stderr: string };
      expect(err.code).toBe(1);
      expect(err.stderr).toBe(
        `error: Port ${port} on 127.0.0.1 is in use already, so the simulator cannot listen there.\n` +
          'hint: Stop what listens there (another `auth0-migrate sim`?), or choose another port: --port 4011, or --port 0 for any free one.\n',
      );
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});
