/** Which Redis errors only say Redis is away (reported once by the health tracker, not per worker). */
import { describe, expect, it } from 'vitest';
import { isConnectionError } from '../../src/jobs/redis-health.js';

describe('isConnectionError', () => {
  it('knows a closed or refused connection, and a restarted Redis still loading its data', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' });
    expect(isConnectionError(refused)).toBe(true);
    expect(isConnectionError(new Error('Connection is closed.'))).toBe(true);
    expect(isConnectionError(new Error('LOADING Redis is loading the dataset in memory'))).toBe(true);
  });

  it('leaves other errors to be reported', () => {
    expect(isConnectionError(new Error('Missing lock for job 7. moveToFinished'))).toBe(false);
    expect(isConnectionError(new Error('ERR unknown command'))).toBe(false);
    expect(isConnectionError(new Error('job failed: LOADING is a word here'))).toBe(false);
  });
});
