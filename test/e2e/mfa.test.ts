/**
 * MFA enrolments carried by a sweep with `--mfa`: the old tenant's secrets file (as the simulator
 * serves what Auth0 support would send), with a few users left out and one line spoiled; the new
 * tenant compared through the API, user by user; the secrets found in no log, report or Redis key.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { sweepCommand } from '../../src/commands/sweep.js';
import { importCommand } from '../../src/import.js';
import { readNdjson } from '../../src/report/files.js';
import type { RunSummary } from '../../src/report/types.js';
import { checkSummary } from '../../src/report/write.js';
import { captureLogger } from '../jobs/helpers.js';
import { FAST, startHarness } from '../jobs/harness.js';
import { Mgmt } from '../sim/helpers.js';

type Factor = { totp?: { secret: string }; phone?: { value: string }; email?: { value: string } };
interface SecretsLine {
  user_id: string;
  email?: string;
  mfa_factors: Factor[];
}

const sink = () => new Writable({ write: (_c, _e, cb) => cb() });

async function redisText(h: Awaited<ReturnType<typeof startHarness>>): Promise<string> {
  const r = h.rt.redis;
  let text = '';
  for (const key of await r.keys(`${h.prefix}*`)) {
    const type = await r.type(key);
    text += key;
    if (type === 'string') {
      const bytes = (await r.getBuffer(key)) ?? Buffer.alloc(0);
      text += bytes.toString('latin1');
      // A payload staged without encryption is a 0x00 byte and gzip: read what it holds too.
      for (const at of [0, 1]) {
        try {
          text += gunzipSync(bytes.subarray(at)).toString('utf8');
        } catch {
          // not gzip
        }
      }
    } else if (type === 'hash') text += JSON.stringify(await r.hgetall(key));
    else if (type === 'list') text += (await r.lrange(key, 0, -1)).join();
    else if (type === 'set') text += (await r.smembers(key)).join();
    else if (type === 'zset') text += (await r.zrange(key, 0, -1)).join();
  }
  return text;
}

describe('--mfa', () => {
  it('is refused without PAYLOAD_KEY, by import and sweep alike, before any tenant work', async () => {
    const h = await startHarness();
    const file = join(h.reportsDir, 'mfa.ndjson');
    await writeFile(file, '{"email":"a@example.org","mfa_factors":[{"totp":{"secret":"JBSWY3DP"}}]}\n');
    const hooks = { settings: FAST, out: { write: () => true }, progressStream: sink() };
    await expect(importCommand(h.config, file, { mfa: file }, hooks)).rejects.toThrow(
      /PAYLOAD_KEY is not set/,
    );
    await expect(sweepCommand(h.config, { mfa: file }, hooks)).rejects.toThrow(/PAYLOAD_KEY is not set/);
    await expect(
      sweepCommand(h.config, { mfa: join(h.reportsDir, 'missing.ndjson') }, hooks),
    ).rejects.toThrow(/--mfa .*no such file/s);
    expect(h.sim.tenant('old').stats).toMatchObject({ exportJobsCreated: 0 });
  });
});

describe('sweep --mfa', () => {
  it('imports every supplied factor, skips a spoiled line alone, names who must re-enrol, and leaks no secret', async () => {
    const h = await startHarness({
      sim: {
        seedOld: 400,
        seedNewMigrated: 0.2,
        seedMfa: 0.3,
        // Each import job is answered late, so the staged payloads are in Redis while the sampler looks.
        faults: [
          {
            kind: 'delay',
            tenant: 'new',
            method: 'POST',
            path: '/api/v2/jobs/users-imports',
            delayMs: 300,
            times: 0,
          },
        ],
      },
      env: { PAYLOAD_KEY: randomBytes(32).toString('hex') },
    });
    const res = await fetch(`${h.sim.url}/__sim/mfa-secrets?tenant=old`);
    const all = (await res.text())
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as SecretsLine);
    const newBefore = new Set(
      [...h.sim.tenant('new').listUsers(h.sim.tenants.new.connection)].map((u) => String(u.user_id)),
    );
    const toImport = all.filter((l) => !newBefore.has(l.user_id) && l.email !== undefined);
    expect(toImport.length).toBeGreaterThan(20);
    // Three users left out of the file, one spoiled (a padded secret, which the schema refuses).
    const leftOut = toImport.slice(0, 3);
    const withTotp = toImport.slice(3).find((l) => l.mfa_factors.some((f) => f.totp !== undefined))!;
    const lines = all
      .filter((l) => !leftOut.includes(l))
      .map((l) =>
        l === withTotp
          ? {
              ...l,
              mfa_factors: l.mfa_factors.map((f) =>
                f.totp ? { totp: { secret: `${f.totp.secret}==` } } : f,
              ),
            }
          : l,
      );
    const file = join(h.reportsDir, 'mfa-secrets.ndjson');
    await writeFile(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n', { mode: 0o600 });

    const log = captureLogger('debug');
    let runId = '';
    // Redis read while the run goes, so the staged payloads are seen, not only what is left after.
    let during = '';
    let payloadsSeen = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const keys = await h.rt.redis.keys(`${h.prefix}*payload*`);
        for (const key of keys) {
          const first = (await h.rt.redis.getBuffer(key))?.[0];
          if (first !== undefined) {
            payloadsSeen++;
            // 0x01: sealed with PAYLOAD_KEY (src/jobs/payload.ts).
            expect(first).toBe(1);
          }
        }
        during += await redisText(h);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const code = await sweepCommand(
      h.config,
      { mfa: file },
      {
        settings: FAST,
        logger: log.logger,
        out: { write: () => true },
        progressStream: sink(),
        onRun: (id) => (runId = id),
      },
    );
    sampling = false;
    await sampler;
    expect(code).toBe(0);
    expect(payloadsSeen).toBeGreaterThan(0);
    const dir = join(h.reportsDir, runId);
    const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as RunSummary;
    expect(checkSummary(summary)).toEqual([]);
    expect(summary.skipped.mfa_factors_invalid).toBe(1);

    // Through the API: every supplied factor of every imported user is enrolled in the new tenant.
    const api = await Mgmt.connect(h.sim, 'new');
    const supplied = toImport.filter((l) => !leftOut.includes(l) && l !== withTotp);
    for (const l of supplied) {
      const listed = await api.call('GET', `/users/${encodeURIComponent(l.user_id)}/authentication-methods`);
      expect(listed.status).toBe(200);
      const methods = listed.body as Array<{ type: string; phone_number?: string }>;
      expect(methods.map((m) => m.type).sort()).toEqual(l.mfa_factors.map((f) => Object.keys(f)[0]).sort());
      const phone = l.mfa_factors.find((f) => f.phone)?.phone?.value;
      if (phone !== undefined)
        expect(methods.find((m) => m.type === 'phone')!.phone_number!.slice(-4)).toBe(phone.slice(-4));
    }
    // The spoiled line's user was not sent; the left-out users arrived with no enrolment.
    expect((await api.call('GET', `/users/${encodeURIComponent(withTotp.user_id)}`)).status).toBe(404);
    for (const l of leftOut) {
      const listed = await api.call('GET', `/users/${encodeURIComponent(l.user_id)}/authentication-methods`);
      expect(listed.body).toEqual([]);
    }

    // Who must re-enrol: the left-out users and the enrolled users who had arrived lazily.
    const lazilyEnrolled = all.filter((l) => newBefore.has(l.user_id)).map((l) => l.user_id);
    const listedIds: string[] = [];
    for await (const l of readNdjson<{ user_id: string }>(join(dir, 'mfa-reenrolment.ndjson')))
      listedIds.push(l.user_id);
    expect(listedIds.sort()).toEqual([...leftOut.map((l) => l.user_id), ...lazilyEnrolled].sort());
    expect(summary.mfaReenrolments).toBe(listedIds.length);
    expect(await readFile(join(dir, 'summary.md'), 'utf8')).toContain('verified re-enrolment');

    // No secret (TOTP secret, phone number) in a log line, a report file or a Redis key.
    const secrets = all
      .flatMap((l) => l.mfa_factors.flatMap((f) => [f.totp?.secret, f.phone?.value]))
      .filter((s): s is string => s !== undefined);
    expect(secrets.length).toBeGreaterThan(20);
    let reports = JSON.stringify(log.lines);
    for (const name of await readdir(dir)) {
      const bytes = await readFile(join(dir, name));
      reports += name.endsWith('.gz') ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
    }
    const redis = during + (await redisText(h));
    const leaked = secrets.filter((s) => reports.includes(s) || redis.includes(s));
    expect(leaked).toEqual([]);
  });
});

describe('--mfa-reads', () => {
  it("names enrolled users whose export does not show it, from the old tenant's authentication methods", async () => {
    const h = await startHarness({ sim: { seedOld: 300, seedNewMigrated: 0.2, seedMfa: 0.3, seed: 8 } });
    const old = [...h.sim.tenant('old').listUsers(h.sim.tenants.old.connection)];
    const newBefore = new Set(
      [...h.sim.tenant('new').listUsers(h.sim.tenants.new.connection)].map((u) => String(u.user_id)),
    );
    // An export without `multifactor` (as a file exported with other fields would be).
    const file = join(h.reportsDir, 'old-without-multifactor.ndjson');
    await writeFile(
      file,
      old.map(({ multifactor: _m, multifactor_last_modified: _l, ...u }) => JSON.stringify(u)).join('\n') +
        '\n',
    );
    const enrolled = old
      // Users without an email are skipped, unless already in the new tenant.
      .filter(
        (u) =>
          Array.isArray(u.multifactor) && (typeof u.email === 'string' || newBefore.has(String(u.user_id))),
      )
      .map((u) => String(u.user_id));
    expect(enrolled.length).toBeGreaterThan(20);
    const out: string[] = [];
    const run = async (mfaReads: boolean): Promise<string[]> => {
      let runId = '';
      const code = await importCommand(
        h.config,
        file,
        { mfaReads, dryRun: true },
        {
          settings: FAST,
          out: { write: (t: string) => out.push(t) },
          progressStream: sink(),
          onRun: (id) => (runId = id),
        },
      );
      expect(code).toBe(0);
      const ids: string[] = [];
      const path = join(h.reportsDir, runId, 'mfa-reenrolment.ndjson');
      const listed = await readFile(path, 'utf8').catch(() => '');
      for (const l of listed.split('\n'))
        if (l !== '') ids.push((JSON.parse(l) as { user_id: string }).user_id);
      return ids.sort();
    };
    expect(await run(false)).toEqual([]);
    // Enrolled users: imported without factors, or already in the new tenant, which shows none.
    expect(await run(true)).toEqual([...enrolled].sort());
    expect(out.join('')).toMatch(
      /--mfa-reads: one GET \/users\/\{id\}\/authentication-methods .* 100,000 users ≈ [\d.]+ h/,
    );
  });
});
