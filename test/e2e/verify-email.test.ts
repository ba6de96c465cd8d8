/**
 * An import, then `resets --verify-email --send`: every user the new tenant holds unverified after
 * the run, and only those, is sent Auth0's verification email; the imported file says which users
 * were sent unverified. Both tenants are compared through the API, user by user.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createTenantClient } from '../../src/auth0/index.js';
import { resetsCommand } from '../../src/commands/resets.js';
import { importCommand } from '../../src/import.js';
import { exportUsers } from '../../src/jobs/users-export.js';
import { readNdjson } from '../../src/report/files.js';
import type { ImportedLine } from '../../src/report/types.js';
import { FAST, startHarness } from '../jobs/harness.js';

const quiet = { write: () => true };

describe('resets --verify-email after an import', () => {
  it('sends a verification email to each user imported unverified, and to nobody else', async () => {
    const h = await startHarness({ sim: { seedOld: 150 } });
    const exported = await exportUsers(createTenantClient(h.config.tenants.old!, { label: 'old' }), {
      connection: h.sim.tenants.old.connection,
      out: join(h.reportsDir, 'input', 'old.ndjson.gz'),
      pollIntervalMs: 20,
    });
    let runId = '';
    const code = await importCommand(
      h.config,
      exported.file,
      {},
      {
        settings: FAST,
        out: { write: () => undefined },
        progressStream: new Writable({ write: (_c, _e, cb) => cb() }),
        onRun: (id) => (runId = id),
      },
    );
    expect(code).toBe(0);
    const imported: ImportedLine[] = [];
    for await (const l of readNdjson<ImportedLine>(join(h.reportsDir, runId, 'imported.ndjson.gz'))) {
      imported.push(l);
    }
    expect(imported.length).toBeGreaterThan(50);

    // Through the API: each imported user's email_verified in both tenants, and which lines say false.
    const oldClient = h.rt.client('old');
    const newClient = h.rt.client('new');
    const unverified = new Set<string>();
    for (const line of imported) {
      const before = (await oldClient.getUser(line.user_id))!;
      const after = (await newClient.getUser(line.user_id))!;
      expect(after.email_verified, line.user_id).toBe(before.email_verified === true);
      // The picture came along: the old tenant's, not a new default.
      expect(after.picture, line.user_id).toBe(before.picture);
      expect(line.email_verified === false, line.user_id).toBe(after.email_verified === false);
      if (after.email_verified === false) unverified.add(line.user_id);
    }
    expect(unverified.size).toBeGreaterThan(0);
    expect(unverified.size).toBeLessThan(imported.length);

    const dry = new Out();
    expect(await resetsCommand(h.config, runId, { verifyEmail: true }, dry)).toBe(0);
    expect(dry.text).toContain(`${unverified.size} to do.`);
    expect(h.sim.tenant('new').outbox).toHaveLength(0);

    expect(await resetsCommand(h.config, runId, { verifyEmail: true, send: true }, quiet)).toBe(0);
    const state = h.sim.tenant('new');
    const jobs = [...state.jobs.values()].filter((j) => j.type === 'verification_email');
    expect(jobs).toHaveLength(unverified.size);
    for (const j of jobs) await state.jobEnded(j.id);
    expect(new Set(state.outbox.map((m) => m.user_id))).toEqual(unverified);
    expect(state.outbox.every((m) => m.kind === 'verification_email')).toBe(true);
    for (const m of state.outbox) {
      expect(m.to).toBe((await newClient.getUser(m.user_id))!.email);
    }
  });
});

class Out {
  text = '';
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}
