/**
 * The import command against input an attacker shapes: users whose own metadata nests thousands of
 * levels deep, holds field names Auth0 refuses or outgrows its profile limit. Each such user is
 * skipped with a reason and named in skipped.ndjson; the run finishes and adds up.
 */
import { chmod, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { workerCommand } from '../../src/commands/worker.js';
import { Secret } from '../../src/config.js';
import { importCommand } from '../../src/import.js';
import type { RunSummary, SkippedLine } from '../../src/report/types.js';
import { FAST, newTenantIds, startHarness, type Harness } from '../jobs/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function io() {
  let text = '';
  return {
    settings: FAST,
    out: { write: (t: string) => (text += t) },
    progressStream: new Writable({ write: (_c, _e, cb) => cb() }),
    text: () => text,
  };
}

const CONNECTION = 'Username-Password-Authentication';

function user(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const id = `hostile${String(n).padStart(17, '0')}`;
  return {
    user_id: `auth0|${id}`,
    email: `user${n}@example.com`,
    email_verified: true,
    identities: [{ connection: CONNECTION, provider: 'auth0', user_id: id, isSocial: false }],
    ...extra,
  };
}

describe('hostile lines in an import file', () => {
  it('skips users nested 5,000 deep, with "." or "$" in metadata names, or over the profile limit; imports the rest', async () => {
    h = await startHarness();
    const deep = `${'{"a":'.repeat(4_999)}{}${'}'.repeat(4_999)}`;
    const lines = [
      JSON.stringify(user(1)),
      `${JSON.stringify(user(2)).slice(0, -1)},"user_metadata":${deep}}`,
      JSON.stringify(user(3, { user_metadata: { 'theme.color': 'dark' } })),
      JSON.stringify(user(4, { app_metadata: { billing: { $ref: 'x' } } })),
      JSON.stringify(user(5, { user_metadata: { notes: 'n'.repeat(120_000) } })),
      JSON.stringify(user(6, { user_metadata: { notes: 'n'.repeat(20_000) } })),
    ];
    const file = join(h.reportsDir, 'hostile.ndjson');
    await writeFile(file, `${lines.join('\n')}\n`);

    let runId = '';
    const code = await importCommand(h.config, file, {}, { ...io(), onRun: (id) => (runId = id) });
    const dir = join(h.reportsDir, runId);
    const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as RunSummary;

    expect(code).toBe(0);
    expect(summary.status).toBe('completed');
    expect(summary.problems).toBeUndefined();
    expect(summary.counts).toEqual({ total: 6, imported: 2, already_migrated: 0, skipped: 4, failed: 0 });
    expect(summary.skipped).toEqual({ too_deep: 1, invalid_metadata_key: 2, profile_too_large: 1 });
    const skipped = (await readFile(join(dir, 'skipped.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as SkippedLine)
      .sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    expect(skipped.map((s) => [s.line, s.user_id, s.email, s.reason])).toEqual([
      [2, 'auth0|hostile00000000000000002', 'user2@example.com', 'too_deep'],
      [3, 'auth0|hostile00000000000000003', 'user3@example.com', 'invalid_metadata_key'],
      [4, 'auth0|hostile00000000000000004', 'user4@example.com', 'invalid_metadata_key'],
      [5, 'auth0|hostile00000000000000005', 'user5@example.com', 'profile_too_large'],
    ]);
    // Only the two sound users reached the new tenant, and nothing was refused there.
    expect(newTenantIds(h.sim)).toEqual(
      new Set(['auth0|hostile00000000000000001', 'auth0|hostile00000000000000006']),
    );
    expect(summary.failed).toEqual({});
  });
});

describe('a run folder that is a symbolic link', () => {
  it('is refused: no user data and no mode change reach its target, and the error says why', async () => {
    h = await startHarness({ sim: { seedOld: 50 } });
    const target = await mkdtemp(join(tmpdir(), 'hostile-target-'));
    try {
      await chmod(target, 0o755);
      await symlink(target, join(h.reportsDir, 'linked'));
      const file = join(h.reportsDir, 'users.ndjson');
      await writeFile(file, `${JSON.stringify(user(1))}\n`);
      await expect(importCommand(h.config, file, { runId: 'linked' }, io())).rejects.toThrow(
        /linked is a symbolic link/,
      );
      expect(await readdir(target)).toEqual([]);
      expect((await stat(target)).mode & 0o777).toBe(0o755);
      expect(newTenantIds(h.sim).has('auth0|hostile00000000000000001')).toBe(false);
    } finally {
      await rm(target, { recursive: true, force: true });
    }
  });
});

describe('the input file of import', () => {
  it('is checked before any tenant work: a CSV, a binary file, a gzip of a CSV, a folder, a missing or empty file', async () => {
    h = await startHarness();
    const dir = h.reportsDir;
    const files: Array<[string, string | Buffer, RegExp]> = [
      ['users.csv', 'email,name\nuser1@example.com,One\n', /users\.csv is not JSON: it starts with 'e'/],
      [
        'users.bin',
        Buffer.from([0x00, 0x01, 0x02, 0xff]),
        /users\.bin is not JSON: it starts with byte 0x00/,
      ],
      ['users.csv.gz', gzipSync('email,name\n'), /users\.csv\.gz is not JSON: it starts with 'e'/],
      ['empty.ndjson', '', /empty\.ndjson holds no users.*--allow-empty/],
      ['blank.ndjson', '\n\n  \n', /blank\.ndjson holds no users/],
      ['empty-array.json', ' [ \n ] ', /empty-array\.json holds no users/],
    ];
    for (const [name, content, message] of files) {
      const file = join(dir, name);
      await writeFile(file, content);
      await expect(importCommand(h.config, file, {}, io())).rejects.toThrow(message);
    }
    await expect(importCommand(h.config, dir, {}, io())).rejects.toThrow(/is a folder, not a file/);
    await expect(importCommand(h.config, join(dir, 'nope.ndjson'), {}, io())).rejects.toThrow(/no such file/);
    // Nothing reached either tenant, and no run was started.
    expect(h.sim.tenant('new').stats.exportJobsCreated).toBe(0);
    expect(await h.rt.store.listRunIds(10)).toEqual([]);
  });

  it('names every problem at once, --hashes included', async () => {
    h = await startHarness();
    const file = join(h.reportsDir, 'users.csv');
    const hashes = join(h.reportsDir, 'hashes.txt');
    await writeFile(file, 'email\n');
    await writeFile(hashes, 'not json at all\n');
    const err = await importCommand(h.config, file, { hashes }, io()).catch((e: Error) => e);
    expect(String(err)).toMatch(/users\.csv is not JSON/);
    expect(String(err)).toMatch(/--hashes .*hashes\.txt is not JSON/);
    expect(String(err)).toMatch(/PAYLOAD_KEY/);
  });

  it('may be empty with --allow-empty: the run finishes with nobody', async () => {
    h = await startHarness();
    const file = join(h.reportsDir, 'empty.ndjson');
    await writeFile(file, '');
    let runId = '';
    expect(
      await importCommand(h.config, file, { allowEmpty: true }, { ...io(), onRun: (id) => (runId = id) }),
    ).toBe(0);
    const summary = JSON.parse(
      await readFile(join(h.reportsDir, runId, 'summary.json'), 'utf8'),
    ) as RunSummary;
    expect(summary.counts.total).toBe(0);
  });
});

describe('without PAYLOAD_KEY', () => {
  function capture() {
    const lines: Array<{ level: number; msg: string }> = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    const about = () => lines.filter((l) => l.msg.includes('PAYLOAD_KEY'));
    return { logger, about };
  }

  it('import and worker say once, at start, that users sit unencrypted in Redis', async () => {
    h = await startHarness({ sim: { seedOld: 20 } });
    const file = join(h.reportsDir, 'users.ndjson');
    await writeFile(file, `${JSON.stringify(user(1))}\n`);
    const run = capture();
    expect(await importCommand(h.config, file, {}, { ...io(), logger: run.logger })).toBe(0);
    expect(run.about()).toHaveLength(1);
    expect(run.about()[0]!.level).toBe(40);
    expect(run.about()[0]!.msg).toMatch(/names and emails .* Redis .*openssl rand -hex 32/);

    const worker = capture();
    const stop = new AbortController();
    stop.abort();
    expect(
      await workerCommand(h.config, { settings: FAST, signal: stop.signal, logger: worker.logger }),
    ).toBe(0);
    expect(worker.about()).toHaveLength(1);

    const keyed = capture();
    const withKey = { ...h.config, payloadKey: new Secret('ab'.repeat(32)) };
    await writeFile(file, `${JSON.stringify(user(2))}\n`);
    expect(await importCommand(withKey, file, {}, { ...io(), logger: keyed.logger })).toBe(0);
    expect(keyed.about()).toEqual([]);
  });
});
