/**
 * The installed command: `npm ci` builds it (`prepare`), its launcher is in the repository so npm
 * and npx can link it before any build, and `--version` prints the package's version.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
};

let dir: string | undefined;
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A copy of the launcher in a folder of its own, with or without a dist/cli.js beside it. */
async function launcherCopy(cli: string | undefined): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'cli-launcher-'));
  await mkdir(join(dir, 'bin'));
  const launcher = join(dir, 'bin', 'auth0-migrate.js');
  await copyFile(new URL(pkg.bin['auth0-migrate']!, root), launcher);
  await writeFile(join(dir, 'package.json'), '{"type":"module"}');
  if (cli !== undefined) {
    await mkdir(join(dir, 'dist'));
    await writeFile(join(dir, 'dist', 'cli.js'), cli);
  }
  return launcher;
}

describe('the auth0-migrate command', () => {
  it('is built by npm ci (prepare) and linked from a file the repository holds', () => {
    expect(pkg.scripts.prepare).toBe('node scripts/prepare.js');
    const bin = pkg.bin['auth0-migrate']!;
    expect(bin.startsWith('dist/')).toBe(false);
    accessSync(new URL(bin, root), constants.X_OK);
  });

  it('runs the compiled CLI with its arguments', async () => {
    const launcher = await launcherCopy('process.stdout.write(JSON.stringify(process.argv.slice(2)));\n');
    const { stdout } = await run(process.execPath, [launcher, 'lazy', 'deploy', '--dry-run']);
    expect(JSON.parse(stdout)).toEqual(['lazy', 'deploy', '--dry-run']);
  });

  it('says how to build it when dist/ is missing, exit code 1', async () => {
    const launcher = await launcherCopy(undefined);
    const err = (await run(process.execPath, [launcher]).catch((e: unknown) => e)) as {
      code: number;
      stderr: string;
    };
    expect(err.code).toBe(1);
    expect(err.stderr).toContain('dist/cli.js is missing');
    expect(err.stderr).toContain('run `npm ci` (or `npm run build`)');
  });

  it('--version prints the version of package.json', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--version'], {
      cwd: new URL('.', root).pathname,
    });
    expect(stdout.trim()).toBe(pkg.version);
  });
});
