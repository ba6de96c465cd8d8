/**
 * `status` of a run that was rolled back: its next steps say so (and `discard` when the run still
 * holds user data) instead of offering password resets or retries; a run that was not rolled back
 * still offers them.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { statusCommand } from '../../src/commands/status.js';
import { runIdentity } from '../../src/jobs/identity.js';
import type { RollbackSummary } from '../../src/report/rollback.js';
import { sampleSummary } from '../report/fixtures.js';
import { startHarness, type Harness } from '../jobs/harness.js';

/** A finished sweep with its summary.json (72 users imported without a password hash, 3 failed). */
async function finishedRun(h: Harness, runId: string, status: 'completed' | 'failed'): Promise<string> {
  await h.rt.store.createRun({
    runId,
    kind: 'sweep',
    dryRun: false,
    upsert: false,
    createdAt: Date.now(),
    ...runIdentity(h.config, 'sweep'),
  });
  const dir = h.rt.store.files.dir(runId);
  await writeFile(join(dir, 'summary.json'), JSON.stringify(sampleSummary({ runId, status })));
  await h.rt.store.setRun(runId, { status, reportDir: dir, finishedAt: Date.now() });
  return dir;
}

const rollbackJson = (runId: string, complete: boolean): RollbackSummary => ({
  runId,
  complete,
  includeActive: false,
  startedAt: '2024-05-02T10:00:00.000Z',
  finishedAt: '2024-05-02T10:05:00.000Z',
  users: {
    total: 72,
    deleted: complete ? 72 : 40,
    kept_active: 0,
    kept_changed: 0,
    already_gone: 0,
    failed: complete ? 0 : 32,
  },
  kept: {},
  failed: complete ? {} : { server_error: 32 },
  problems: [],
});

async function status(h: Harness, runId: string): Promise<string> {
  let text = '';
  await statusCommand(h.config, runId, {}, { out: { write: (t: string) => (text += t) } });
  return text;
}

describe('status of a rolled-back run', () => {
  it('says it was rolled back, not to send password resets or retry; discard when it holds user data', async () => {
    const h = await startHarness();
    await finishedRun(h, 'kept', 'completed');
    const kept = await status(h, 'kept');
    expect(kept).toContain('auth0-migrate resets kept');
    expect(kept).toContain('Retry the failed users');

    const dir = await finishedRun(h, 'undone', 'completed');
    await writeFile(join(dir, 'rollback.json'), JSON.stringify(rollbackJson('undone', true)));
    await h.rt.store.setRun('undone', { rollbackStartedAt: Date.now(), rolledBackAt: Date.now() });
    const undone = await status(h, 'undone');
    expect(undone).toContain('Run undone was rolled back: what it added is removed');
    expect(undone).toContain('Rolled back (2024-05-02T10:05:00.000Z)');
    expect(undone).not.toContain('resets undone');
    expect(undone).not.toContain('password-change tickets');
    expect(undone).not.toContain('Retry the failed users');
    expect(undone).not.toContain('discard');

    // A failed run rolled back in part: the rollback carries on, and its user data can be discarded.
    const partDir = await finishedRun(h, 'part', 'failed');
    await writeFile(join(partDir, 'rollback.json'), JSON.stringify(rollbackJson('part', false)));
    await h.rt.store.setRun('part', { rollbackStartedAt: Date.now() });
    const part = await status(h, 'part');
    expect(part).toContain('Run part was rolled back in part');
    expect(part).toContain('`rollback part --send` carries on');
    expect(part).toContain('`auth0-migrate discard part`');
    expect(part).not.toContain('password-change tickets');
  });
});
