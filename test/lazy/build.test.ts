/**
 * The build gives self-contained script text whichever way the tool runs: from src/ under tsx
 * (whose esbuild injects `__name` helpers into nested functions) and from compiled dist/ (tsc
 * output, without the TypeScript compiler at run time). The proof is running that text.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SCRIPT_SIZE_LIMIT,
  assertSelfContained,
  buildFinishedScripts,
  buildScripts,
  identifyScript,
  type BuiltScripts,
} from '../../src/lazy/build.js';
import { createScriptRuntime, runGetUserScript, runLoginScript } from '../../src/sim/auth/custom-db.js';
import { startFakeOldTenant, type FakeOldTenant } from './fake-old-tenant.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const USER = {
  user_id: 'auth0|5f0c1a2b3c4d5e6f7a8b9c0d',
  email: 'user@example.com',
  password: 'secret words',
};

let work: string;
let old: FakeOldTenant;
const variants: Record<string, BuiltScripts> = {};

/** What `lazy build` writes when the CLI runs from src/ under tsx. */
async function buildUnderTsx(): Promise<BuiltScripts> {
  const out = join(work, 'tsx-out');
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'src/cli.ts', 'lazy', 'build', '--out', out],
    {
      cwd: root,
    },
  );
  expect(stdout).toContain('login.js');
  return {
    login: await readFile(join(out, 'login.js'), 'utf8'),
    get_user: await readFile(join(out, 'get_user.js'), 'utf8'),
    version: 'tsx',
  };
}

/** What dist/ builds: the lazy modules compiled file by file as tsc emits them, run by plain node. */
async function buildFromCompiled(): Promise<BuiltScripts> {
  const dist = join(work, 'dist', 'lazy');
  await mkdir(dist, { recursive: true });
  await writeFile(join(work, 'dist', 'package.json'), '{"type":"module"}');
  const options = {
    target: ts.ScriptTarget.ES2022,
    // What tsc emits for this "type": "module" package under NodeNext.
    module: ts.ModuleKind.ES2022,
    verbatimModuleSyntax: true,
    isolatedModules: true,
  };
  for (const name of ['build', 'entry', 'login', 'get-user', 'old-tenant', 'types']) {
    const source = await readFile(join(root, 'src', 'lazy', `${name}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, { compilerOptions: options, fileName: `${name}.ts` });
    await writeFile(join(dist, `${name}.js`), outputText);
  }
  const entry = pathToFileURL(join(dist, 'build.js')).href;
  const { stdout } = await run(process.execPath, [
    '--input-type=module',
    '-e',
    `const m = await import(${JSON.stringify(entry)}); process.stdout.write(JSON.stringify(m.buildScripts()));`,
  ]);
  return JSON.parse(stdout) as BuiltScripts;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lazy-build-'));
  old = await startFakeOldTenant([{ ...USER }]);
  variants.vitest = buildScripts();
  [variants.tsx, variants.dist] = await Promise.all([buildUnderTsx(), buildFromCompiled()]);
});

afterAll(async () => {
  await old?.close();
  await rm(work, { recursive: true, force: true });
});

describe.each(['vitest', 'tsx', 'dist'])('scripts built under %s', (variant) => {
  it('are one marked function each, small, with no transpiler helper, require or import', () => {
    const { login, get_user } = variants[variant]!;
    expect(login).toMatch(/^\/\* auth0-migrate:lazy-migration login v\d+\.\d+\.\d+ \(sha256 [0-9a-f]{12}\)/);
    expect(login).toContain('function login(email, password, callback) {');
    expect(get_user).toContain('function getByEmail(email, callback) {');
    for (const text of [login, get_user]) {
      expect(Buffer.byteLength(text)).toBeLessThan(SCRIPT_SIZE_LIMIT);
      expect(text).not.toMatch(/__name|require\(|import\(/);
    }
    expect(identifyScript(login)).toMatchObject({ kind: 'ours', name: 'login', finished: false });
    expect(identifyScript(get_user)).toMatchObject({ kind: 'ours', name: 'get_user', finished: false });
  });

  it('run in the sandbox: migrate a user, refuse a wrong password, find and miss with get_user', async () => {
    const { login, get_user } = variants[variant]!;
    const runtime = createScriptRuntime();
    const configuration = old.configuration();
    const ok = await runLoginScript({
      script: login,
      configuration,
      username: USER.email,
      password: USER.password,
      runtime,
    });
    expect(ok).toMatchObject({
      ok: true,
      profile: { user_id: '5f0c1a2b3c4d5e6f7a8b9c0d', email: USER.email },
    });
    const wrong = await runLoginScript({
      script: login,
      configuration,
      username: USER.email,
      password: 'nope',
      runtime,
    });
    expect(wrong).toMatchObject({ ok: false, error: { name: 'WrongUsernameOrPasswordError' } });
    const found = await runGetUserScript({ script: get_user, configuration, email: USER.email, runtime });
    expect(found.ok && found.profile).toEqual(ok.ok && ok.profile);
    const missing = await runGetUserScript({
      script: get_user,
      configuration,
      email: 'x@example.com',
      runtime,
    });
    expect(missing).toEqual({ ok: true, profile: null });
    expect(runtime.problems).toEqual([]);
  });
});

describe('lazy build', () => {
  it('writes login.js and get_user.js and nothing else', async () => {
    expect((await readdir(join(work, 'tsx-out'))).sort()).toEqual(['get_user.js', 'login.js']);
  });

  it('refuses text Auth0 could not run', () => {
    expect(() => assertSelfContained('login', 'function login(){const f=__name(()=>1,"f")}')).toThrow(
      /__name/,
    );
    expect(() => assertSelfContained('login', "function login(){require('request')}")).toThrow(/require/);
    expect(() =>
      assertSelfContained('login', `function login(){/*${'x'.repeat(SCRIPT_SIZE_LIMIT)}*/}`),
    ).toThrow(/bytes/);
    expect(() => assertSelfContained('login', variants.vitest!.login)).not.toThrow();
  });

  it('tells its own scripts, their finished stubs, Auth0 templates and foreign scripts apart', () => {
    const finished = buildFinishedScripts();
    expect(identifyScript(finished.login)).toMatchObject({ kind: 'ours', finished: true });
    expect(identifyScript(undefined)).toEqual({ kind: 'none' });
    expect(identifyScript('  ')).toEqual({ kind: 'none' });
    expect(
      identifyScript(
        "function login(email, password, callback) {\n  const msg = 'Please implement the Login script for this database connection';\n  return callback(new Error(msg));\n}",
      ),
    ).toEqual({ kind: 'template' });
    expect(identifyScript('function login(e, p, cb) { cb(null, { user_id: e }); }')).toEqual({
      kind: 'foreign',
      bytes: 54,
    });
  });

  it('finished stubs find nobody, with or without context', async () => {
    const { login, get_user } = buildFinishedScripts();
    const configuration = {};
    const args = { configuration, username: 'a@example.com', password: 'x' };
    expect(await runLoginScript({ script: login, ...args })).toEqual({ ok: true, profile: null });
    expect(
      await runLoginScript({ script: login, ...args, context: { request: { ip: '192.0.2.1' } } }),
    ).toEqual({
      ok: true,
      profile: null,
    });
    expect(await runGetUserScript({ script: get_user, configuration, email: 'a@example.com' })).toEqual({
      ok: true,
      profile: null,
    });
  });
});
