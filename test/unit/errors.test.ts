import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { Auth0Error, isAuth0Error } from '../../src/auth0/errors.js';
import {
  ConfigError,
  ExitCode,
  InputError,
  MigrateError,
  ToolError,
  coerceError,
  isToolError,
} from '../../src/errors.js';
import { ExportError } from '../../src/export.js';
import { FinalError, HandBack, WaitAndRetry } from '../../src/jobs/job-control.js';
import { PayloadError } from '../../src/jobs/payload.js';
import { PipelineInputError } from '../../src/pipeline/errors.js';
import { errorCode, isFinal } from '../../src/workers/defer.js';

describe('our errors', () => {
  const cases: Array<[Error, string, string, boolean]> = [
    [new MigrateError('m'), 'MigrateError', 'failed', false],
    [new ConfigError('c'), 'ConfigError', 'bad_config', true],
    [new InputError('i'), 'InputError', 'bad_input', true],
    [new PayloadError('p'), 'PayloadError', 'bad_payload', true],
    [new ExportError('job_failed', 'e'), 'ExportError', 'job_failed', false],
    [new FinalError('file_refused', 'f'), 'FinalError', 'file_refused', true],
    [new WaitAndRetry(10, 'w'), 'WaitAndRetry', 'wait_and_retry', false],
    [new HandBack(), 'HandBack', 'handed_back', false],
    [new Auth0Error('bad_credentials', 'a'), 'Auth0Error', 'bad_credentials', true],
    [new Auth0Error('not_found', 'a'), 'Auth0Error', 'not_found', true],
    [new Auth0Error('rate_limited', 'a'), 'Auth0Error', 'rate_limited', false],
    [new Auth0Error('link_expired', 'a'), 'Auth0Error', 'link_expired', false],
    [new Auth0Error('outcome_unknown', 'a'), 'Auth0Error', 'outcome_unknown', false],
    [new PipelineInputError('truncated_gzip', 'f', 'x'), 'InputError', 'truncated_gzip', true],
  ];

  it.each(cases)('%o has its name, a stable code, and says whether it is final', (err, name, code, final) => {
    expect(err.name).toBe(name);
    expect(isToolError(err)).toBe(true);
    expect(isToolError(err) && err.code).toBe(code);
    expect(isToolError(err) && err.final).toBe(final);
    expect(isToolError(err) && err.exitCode).toBe(ExitCode.failure);
    expect(isFinal(err)).toBe(final);
    expect(errorCode(err)).toBe(code);
  });

  it('derive from one base class, except the pipeline error that mirrors it', () => {
    for (const [err] of cases) {
      expect(err instanceof ToolError).toBe(!(err instanceof PipelineInputError));
    }
    expect(new ConfigError('c')).toBeInstanceOf(MigrateError);
  });

  it('are recognised by their shape after a trip through JSON (another process)', () => {
    const copy = JSON.parse(
      JSON.stringify({
        ...new ConfigError('REDIS_URL is wrong', { hint: 'fix it' }),
        message: 'REDIS_URL is wrong',
      }),
    ) as unknown;
    expect(isToolError(copy)).toBe(true);
    expect(isToolError(copy) && copy.hint).toBe('fix it');
    expect(
      isAuth0Error({ ...new Auth0Error('network', 'n'), name: 'Auth0Error', message: 'n' }, 'network'),
    ).toBe(true);
  });

  it('are told apart from errors that are not ours', () => {
    const system = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    for (const other of [new Error('x'), system, new UnrecoverableError('u'), null, undefined, 'text', 3]) {
      expect(isToolError(other)).toBe(false);
    }
    expect(isAuth0Error(new MigrateError('m'))).toBe(false);
    expect(errorCode(system)).toBe('batch_failed');
    expect(isFinal(system)).toBe(false);
    expect(isFinal(new UnrecoverableError('u'))).toBe(true);
  });

  it('keep the cause they are given', () => {
    const cause = new Error('below');
    expect(new MigrateError('above', { cause }).cause).toBe(cause);
    expect(new Auth0Error('network', 'above', { cause }).cause).toBe(cause);
  });
});

describe('coerceError', () => {
  it('passes errors through and turns a string into its message', () => {
    const err = new Error('x');
    expect(coerceError(err)).toBe(err);
    expect(coerceError('plain words').message).toBe('plain words');
  });

  it('wraps any other value as the cause, without writing it into the message', () => {
    const thrown = { client_secret: 'very-secret-value' };
    const err = coerceError(thrown);
    expect(err.cause).toBe(thrown);
    expect(err.message).toBe('A value that is not an Error was thrown: an object');
    expect(err.message).not.toContain('very-secret-value');
    expect(coerceError(42).message).toBe('A value that is not an Error was thrown: 42');
    expect(coerceError(null).cause).toBeNull();
  });
});
