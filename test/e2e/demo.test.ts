/** `demo`: a rehearsal on the simulator; with no Redis at REDIS_URL it starts and stops its own. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { demoCommand } from '../../src/commands/demo.js';
import { freePort, redisAnswers, redisServerInstalled } from '../../src/jobs/redis-server.js';
import { silentLogger } from '../../src/log.js';
import { FAST } from '../jobs/harness.js';
import { testConfig } from '../jobs/helpers.js';

describe('demo', () => {
  it.skipIf(!redisServerInstalled())(
    'runs a whole sweep on the simulator with a private Redis when none answers',
    async () => {
      const reportsDir = await mkdtemp(join(tmpdir(), 'demo-reports-'));
      const nobody = `redis://127.0.0.1:${await freePort()}`;
      let text = '';
      try {
        const code = await demoCommand(
          testConfig({ REDIS_URL: nobody, REPORTS_DIR: reportsDir }),
          { users: 800, migrated: 0.25, timing: 'fast' },
          {
            settings: FAST,
            logger: silentLogger,
            out: { write: (t: string) => (text += t) },
            progressStream: new Writable({ write: (_c, _e, cb) => cb() }),
          },
        );
        expect(code).toBe(0);
        expect(text).toContain('started a private redis-server');
        const ownRedis = /private redis-server for the demo \((redis:\/\/[^)]+)\)/.exec(text)![1]!;
        expect(await redisAnswers(ownRedis, 300)).toBe(false);
        const [runDir] = await readdir(reportsDir);
        expect(text).toContain(`Report: ${join(reportsDir, runDir!)}/summary.md`);
        expect(text).toMatch(/The new tenant now holds [\d,]+ users/);
        // The roles moved too: the summary's relations lines, and the tenant's roles after.
        expect(text).toMatch(/role_assignments +[\d,]+: added [1-9][\d,]*, /);
        expect(text).toMatch(/it has [\d,]+ roles \([\d,]+ before\)/);
        // MFA enrolments carried from the simulator's secrets file; links reported.
        const mfa =
          /MFA: ([\d,]+) users of the new tenant are enrolled, carried from the secrets file \(([\d,]+) in the old tenant\)/.exec(
            text,
          );
        expect(Number(mfa![1]!.replace(/,/g, ''))).toBeGreaterThan(0);
        expect(text).toMatch(/links +[\d,]+: added /);
      } finally {
        await rm(reportsDir, { recursive: true, force: true });
      }
    },
  );
});
