import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig, requireTenant, RETIRED_VARIABLES, Secret } from '../../src/config.js';

const tenantEnv = (p: 'OLD' | 'NEW') => ({
  [`${p}_AUTH0_DOMAIN`]: `${p.toLowerCase()}.example.auth0.com`,
  [`${p}_AUTH0_CLIENT_ID`]: `${p}-client`,
  [`${p}_AUTH0_CLIENT_SECRET`]: `${p}-very-secret-value`,
  [`${p}_AUTH0_CONNECTION`]: 'Username-Password-Authentication',
});

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({ env: {}, dotenvPath: false });
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.reportsDir).toBe('./reports');
    expect(c.importConcurrency).toBe(2);
    expect(c.batchBytes).toBe(400_000);
    expect(c.maxProfileBytes).toBe(102_400);
    expect(c.exportMaxBytes).toBe(10 * 1024 ** 3);
    expect(c.metricsHost).toBe('127.0.0.1');
    expect(c.tenants).toEqual({});
  });

  it('reads both tenants and derives the base URL from the domain', () => {
    const c = loadConfig({
      env: { ...tenantEnv('OLD'), ...tenantEnv('NEW'), NEW_AUTH0_BASE_URL: 'http://127.0.0.1:4010/new/' },
      dotenvPath: false,
    });
    expect(requireTenant(c, 'old').baseUrl).toBe('https://old.example.auth0.com');
    expect(requireTenant(c, 'new').baseUrl).toBe('http://127.0.0.1:4010/new');
    expect(requireTenant(c, 'old').clientSecret.reveal()).toBe('OLD-very-secret-value');
  });

  it('names every bad variable in one message', () => {
    expect(() =>
      loadConfig({
        env: { BATCH_BYTES: '600000', IMPORT_CONCURRENCY: 'two', REDIS_URL: 'http://x' },
        dotenvPath: false,
      }),
    ).toThrowError(/BATCH_BYTES[\s\S]*IMPORT_CONCURRENCY[\s\S]*REDIS_URL|REDIS_URL[\s\S]*BATCH_BYTES/);
  });

  it('puts the problems of the tenants a command needs in the same message as the others', () => {
    const load = (env: Record<string, string>, needs: ('old' | 'new')[]) => {
      try {
        loadConfig({ env, dotenvPath: false, needs: () => needs });
      } catch (err) {
        return err as { message: string; hint?: string };
      }
      return undefined;
    };
    const all = load({ BATCH_BYTES: '600000', OLD_AUTH0_DOMAIN: 'x.auth0.com', METRICS_PORT: '0' }, [
      'old',
      'new',
    ]);
    expect(all?.message).toMatch(/BATCH_BYTES/);
    expect(all?.message).toMatch(/METRICS_PORT/);
    expect(all?.message).toMatch(
      /old tenant: missing OLD_AUTH0_CLIENT_ID, OLD_AUTH0_CLIENT_SECRET, OLD_AUTH0_CONNECTION/,
    );
    expect(all?.message).toMatch(/new tenant: set NEW_AUTH0_DOMAIN/);
    expect(all?.hint).toMatch(/Management API/);
    // A tenant the command does not need is not asked for.
    const newOnly = load({ ...tenantEnv('NEW'), OLD_AUTH0_DOMAIN: 'x.auth0.com' }, ['new']);
    expect(newOnly).toBeUndefined();
    expect(load({}, ['new'])?.message).not.toMatch(/OLD_AUTH0/);
  });

  it('warns about a retired variable that is still set, and goes on', () => {
    expect(loadConfig({ env: {}, dotenvPath: false }).warnings).toEqual([]);
    for (const value of ['2', 'many']) {
      expect(loadConfig({ env: { PIPELINE_THREADS: value }, dotenvPath: false }).warnings).toEqual([
        'PIPELINE_THREADS is no longer used: the plan stage runs on one thread',
      ]);
    }
    for (const name of Object.keys(RETIRED_VARIABLES)) {
      expect(loadConfig({ env: { [name]: '1' }, dotenvPath: false }).warnings).toEqual([
        expect.stringMatching(new RegExp(`^${name} is no longer used: `)),
      ]);
    }
  });

  it('the CLI prints the warning at start and runs the command', () => {
    const reportsDir = mkdtempSync(join(tmpdir(), 'auth0-migrate-config-'));
    try {
      const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'runs'], {
        env: { ...process.env, PIPELINE_THREADS: '4', REPORTS_DIR: reportsDir },
        encoding: 'utf8',
      });
      expect(cli.stderr).toBe(
        'warning: PIPELINE_THREADS is no longer used: the plan stage runs on one thread\n',
      );
      expect(cli.stdout).toContain('No runs in');
      expect(cli.status).toBe(0);
    } finally {
      rmSync(reportsDir, { recursive: true, force: true });
    }
  });

  it('says which tenant variables are missing when a command needs the tenant', () => {
    const c = loadConfig({ env: { OLD_AUTH0_DOMAIN: 'x.auth0.com' }, dotenvPath: false });
    expect(() => requireTenant(c, 'old')).toThrowError(
      /OLD_AUTH0_CLIENT_ID, OLD_AUTH0_CLIENT_SECRET, OLD_AUTH0_CONNECTION/,
    );
    expect(() => requireTenant(c, 'new')).toThrowError(/NEW_AUTH0_DOMAIN/);
  });

  it('never prints a secret', () => {
    const c = loadConfig({
      env: {
        ...tenantEnv('OLD'),
        SMTP_URL: 'smtp://u:smtp-pass@mail:25',
        REPORT_EMAIL_TO: 'ops@example.com',
        PAYLOAD_KEY: 'a'.repeat(64),
      },
      dotenvPath: false,
    });
    const printed = JSON.stringify(c) + inspect(c, { depth: 10 }) + String(c.tenants.old?.clientSecret);
    expect(printed).not.toContain('OLD-very-secret-value');
    expect(printed).not.toContain('smtp-pass');
    expect(printed).not.toContain('a'.repeat(64));
    expect(new Secret('x').reveal()).toBe('x');
  });

  it('rejects a PAYLOAD_KEY that is not 32 bytes', () => {
    expect(() => loadConfig({ env: { PAYLOAD_KEY: 'abcd' }, dotenvPath: false })).toThrowError(/PAYLOAD_KEY/);
  });
});
