/** The simulated custom-database sandbox behaves like Auth0's: globals, limits, callback rules. */
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  createScriptRuntime,
  runGetUserScript,
  runLoginScript,
  type ScriptProblem,
} from '../../src/sim/auth/custom-db.js';

const config = { KEY: 'value' };

function run(script: string, extra: Partial<Parameters<typeof runLoginScript>[0]> = {}) {
  return runLoginScript({
    script,
    configuration: config,
    username: 'u@example.com',
    password: 'pw',
    ...extra,
  });
}

describe('custom-database sandbox', () => {
  it("gives the script Auth0's globals and nothing of Node's module system, process or file system", async () => {
    const outcome = await run(`function login(email, password, callback) {
      callback(null, { user_id: [typeof require, typeof process, typeof module, typeof __dirname,
        typeof fetch, typeof configuration, typeof global, typeof WrongUsernameOrPasswordError,
        typeof UnauthorizedError, typeof ValidationError, typeof Buffer, typeof URLSearchParams,
        typeof AbortSignal, typeof setTimeout, typeof console].join(',') });
    }`);
    expect(outcome).toEqual({
      ok: true,
      profile: {
        user_id:
          'undefined,undefined,undefined,undefined,function,object,object,function,function,function,function,function,function,function,object',
      },
    });
  });

  it('hands the script its configuration, read-only, and the inputs in order', async () => {
    const outcome = await run(`function login(email, password, callback) {
      configuration.KEY = 'changed';
      callback(null, { user_id: email + '|' + password + '|' + configuration.KEY });
    }`);
    expect(outcome).toEqual({ ok: true, profile: { user_id: 'u@example.com|pw|value' } });
  });

  it('passes context before the callback when there is one', async () => {
    const script = `function login(email, password, callback) {
      var cb = arguments[arguments.length - 1];
      cb(null, { user_id: arguments.length + ':' + (arguments.length === 4 ? arguments[2].request.ip : '-') });
    }`;
    expect(await run(script)).toEqual({ ok: true, profile: { user_id: '3:-' } });
    expect(await run(script, { context: { request: { ip: '192.0.2.1' } } })).toEqual({
      ok: true,
      profile: { user_id: '4:192.0.2.1' },
    });
  });

  it('keeps global between runs of one runtime, like a container, and not across runtimes', async () => {
    const script = `function login(email, password, callback) {
      global.count = (global.count || 0) + 1;
      callback(null, { user_id: String(global.count) });
    }`;
    const runtime = createScriptRuntime();
    expect(await run(script, { runtime })).toEqual({ ok: true, profile: { user_id: '1' } });
    expect(await run(script, { runtime })).toEqual({ ok: true, profile: { user_id: '2' } });
    expect(await run(script, { runtime: createScriptRuntime() })).toEqual({
      ok: true,
      profile: { user_id: '1' },
    });
    expect(runtime.global.count).toBe(2);
  });

  it('shares one container per script and configuration when no runtime is given', async () => {
    const script = `function login(email, password, callback) {
      global.seen = (global.seen || 0) + 1;
      callback(null, { user_id: 'shared-' + global.seen });
    }`;
    const first = await run(script);
    const second = await run(script);
    const other = await run(script, { configuration: { KEY: 'other' } });
    expect([first, second, other].map((o) => o.ok && o.profile?.user_id)).toEqual([
      'shared-1',
      'shared-2',
      'shared-1',
    ]);
  });

  it("turns the script's errors into outcomes with their name", async () => {
    const wrong = await run(`function login(email, password, callback) {
      callback(new WrongUsernameOrPasswordError(email, 'Wrong email or password.'));
    }`);
    expect(wrong).toEqual({
      ok: false,
      error: { name: 'WrongUsernameOrPasswordError', message: 'Wrong email or password.' },
    });
    const thrown = await run(`function login(email, password, callback) { throw new Error('boom'); }`);
    expect(thrown).toEqual({ ok: false, error: { name: 'Error', message: 'boom' } });
  });

  it('fails a script that never calls back at the time limit, and notices a late callback', async () => {
    const runtime = createScriptRuntime();
    const outcome = await run(
      `function login(email, password, callback) { setTimeout(function () { callback(null, null); }, 150); }`,
      { runtime, timeoutMs: 50 },
    );
    expect(outcome).toEqual({
      ok: false,
      error: { name: 'Error', message: 'Script execution time exceeded (50 ms)' },
    });
    const [problem] = (await once(runtime, 'problem')) as [ScriptProblem];
    expect(problem.kind).toBe('callback_after_timeout');
  });

  it('stops a script stuck in a synchronous loop', async () => {
    const outcome = await run(`function login(email, password, callback) { while (true) {} }`, {
      timeoutMs: 100,
    });
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error.message).toMatch(/timed out/);
  });

  it('detects a callback called twice, at once or later', async () => {
    const runtime = createScriptRuntime();
    const outcome = await run(
      `function login(email, password, callback) {
        callback(null, { user_id: 'first' });
        callback(null, { user_id: 'second' });
        Promise.resolve().then(function () { callback(new Error('third')); });
      }`,
      { runtime },
    );
    expect(outcome).toEqual({ ok: true, profile: { user_id: 'first' } });
    if (runtime.problems.length < 2) await once(runtime, 'problem');
    expect(runtime.problems.map((p) => p.kind)).toEqual(['callback_called_twice', 'callback_called_twice']);
  });

  it('accepts only one function as the script', async () => {
    const two = await run(`function login(e, p, cb) { cb(null, null); }\nfunction other() {}`);
    expect(two.ok).toBe(false);
    expect(!two.ok && two.error.message).toMatch(/does not compile/);
    const notAFunction = await run(`42`);
    expect(notAFunction).toEqual({
      ok: false,
      error: { name: 'Error', message: 'The login script must be a single function' },
    });
  });

  it('requires a user_id in a returned profile and copies the profile out as JSON', async () => {
    const noId = await run(`function login(e, p, cb) { cb(null, { email: e }); }`);
    expect(!noId.ok && noId.error.message).toMatch(/without user_id/);
    const notFound = await run(`function login(e, p, cb) { cb(null, null); }`);
    expect(notFound).toEqual({ ok: true, profile: null });
  });

  it('runs get_user scripts with the email and the callback', async () => {
    const found = await runGetUserScript({
      script: `function getByEmail(email, callback) { callback(null, { user_id: 'x', email: email }); }`,
      configuration: config,
      email: 'a@example.com',
    });
    expect(found).toEqual({ ok: true, profile: { user_id: 'x', email: 'a@example.com' } });
    const none = await runGetUserScript({
      script: `function getByEmail(email, callback) { callback(null); }`,
      configuration: config,
      email: 'a@example.com',
    });
    expect(none).toEqual({ ok: true, profile: null });
  });

  it('keeps what scripts log out of the test output, in the runtime', async () => {
    const runtime = createScriptRuntime();
    await run(`function login(e, p, cb) { console.log('checking', e); cb(null, null); }`, { runtime });
    expect(runtime.logs).toEqual(['log: checking u@example.com']);
  });
});
