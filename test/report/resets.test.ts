import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTenantClient } from '../../src/auth0/index.js';
import { loadConfig, toTenantConfig, withTenants, type Config } from '../../src/config.js';
import { resetsCommand } from '../../src/commands/resets.js';
import { planResets, sendResets } from '../../src/report/resets.js';
import type { PasswordResetLine, ResetResultLine } from '../../src/report/types.js';
import { writeRunReport } from '../../src/report/write.js';
import { DB_CONNECTION, startSimulator, type Simulator } from '../../src/sim/index.js';
import { sampleSummary } from './fixtures.js';

class Out {
  text = '';
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

let sim: Simulator;
let reportsDir: string;
let config: Config;
let users: PasswordResetLine[];
const RUN = 'run-resets';

beforeEach(async () => {
  sim = await startSimulator({ seedOld: 30, seedNewMigrated: 1, timing: 'fast' });
  users = [...sim.tenant('new').users.iterate(DB_CONNECTION)]
    .filter((u) => !u.isSocial && u.email !== undefined)
    .slice(0, 8)
    .map((u) => ({ user_id: u.user_id, email: u.email! }));
  expect(users).toHaveLength(8);
  reportsDir = await mkdtemp(join(tmpdir(), 'reports-resets-'));
  config = withTenants(loadConfig({ env: { REPORTS_DIR: reportsDir }, dotenvPath: false }), {
    new: toTenantConfig(sim.tenants.new),
  });
});
afterEach(async () => {
  await sim.close();
  await rm(reportsDir, { recursive: true, force: true });
});

/** A run whose imported file flags `resets` for a password reset, beside users imported with one. */
async function writeRun(resets: PasswordResetLine[], dryRun = false): Promise<string> {
  const withPassword = { user_id: 'auth0|0000000000000000keeps', email: 'keeps@example.com' };
  const { dir } = await writeRunReport({
    reportsDir,
    summary: sampleSummary({ runId: RUN, dryRun, passwordResets: resets.length }),
    imported: [
      ...resets.map((r) => ({ ...r, password_reset: true })),
      { ...withPassword, password_reset: false },
    ].map((r, i) => ({ ...r, line: i + 1, batch: `${RUN}-0`, job_id: 'job_aaaaaaaaaaaaaaaa' })),
  });
  return dir;
}

async function results(dir: string): Promise<ResetResultLine[]> {
  const text = await readFile(join(dir, 'resets.ndjson'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ResetResultLine);
}

describe('auth0-migrate resets', () => {
  it('only says what it would do without --send', async () => {
    await writeRun(users);
    const out = new Out();
    expect(await resetsCommand(config, RUN, {}, out)).toBe(0);
    expect(out.text).toContain(
      '8 users of run run-resets were imported without a password hash; 0 already have a ticket or an email, 8 to do.',
    );
    expect(out.text).toContain(
      `Dry run: would create 8 password-change tickets on the new tenant (${sim.tenants.new.domain})`,
    );
    expect(out.text).toContain(`  ${users[0]!.user_id} ${users[0]!.email}\n`);
    expect(sim.tenant('new').tickets).toHaveLength(0);
  });

  it('creates one ticket per user, resumes after a stop without a second ticket for anyone, and keeps its report private', async () => {
    const ghost = { user_id: 'auth0|0000000000000000ghost', email: 'ghost@example.com' };
    const dir = await writeRun([...users, ghost, users[0]!]);

    // The tenant starts refusing after four tickets: the command stops, saying how to go on.
    const fault = sim.faults.add({
      kind: 'error',
      status: 403,
      tenant: 'new',
      path: '/api/v2/tickets',
      skip: 4,
      times: 0,
    });
    const first = new Out();
    await expect(
      resetsCommand(
        config,
        RUN,
        { send: true, ttl: 3600, resultUrl: 'https://app.example.com/login' },
        first,
      ),
    ).rejects.toMatchObject({
      name: 'MigrateError',
      message: expect.stringContaining('Stopped before the end'),
      hint: `Fix the cause and run \`auth0-migrate resets ${RUN} --send\` again: users that have a ticket or an email are skipped.`,
    });
    expect(first.text).toContain('Created 4 tickets');
    expect(sim.tenant('new').tickets).toHaveLength(4);
    expect((await results(dir)).map((r) => r.status)).toEqual(['created', 'created', 'created', 'created']);

    // Back to normal, with a short 429 storm on the way: the rest is done, the first four skipped.
    sim.faults.remove(fault);
    sim.faults.add({ kind: 'rate-limit', tenant: 'new', path: '/api/v2/tickets', times: 2, resetSeconds: 1 });
    const faultsBefore = sim.tenant('new').stats.faultsInjected;
    const second = new Out();
    expect(await resetsCommand(config, RUN, { send: true, ttl: 3600 }, second)).toBe(3);
    expect(second.text).toContain('4 already have a ticket or an email, 5 to do.');
    expect(second.text).toContain('Created 4 tickets');
    expect(second.text).toContain('1 failed (not_found 1)');
    // The two 429s were waited out.
    expect(sim.tenant('new').stats.faultsInjected - faultsBefore).toBe(2);

    const tickets = sim.tenant('new').tickets;
    expect(tickets.map((t) => t.user_id).sort()).toEqual(users.map((u) => u.user_id).sort());
    expect(
      tickets
        .slice(0, 4)
        .every((t) => t.ttl_sec === 3600 && t.result_url === 'https://app.example.com/login'),
    ).toBe(true);

    const lines = await results(dir);
    expect(lines).toHaveLength(9);
    const created = lines.filter((l) => l.status === 'created');
    expect(created.map((l) => l.user_id).sort()).toEqual(users.map((u) => u.user_id).sort());
    for (const l of created) expect(tickets.find((t) => t.user_id === l.user_id)?.ticket).toBe(l.ticket);
    expect(lines.find((l) => l.status === 'error')).toMatchObject({
      user_id: ghost.user_id,
      email: ghost.email,
      code: 'not_found',
    });
    expect((await stat(join(dir, 'resets.ndjson'))).mode & 0o777).toBe(0o600);
    // Tickets set passwords: they are in the private file only, never on the terminal.
    for (const t of tickets) {
      expect(first.text + second.text).not.toContain(t.ticket);
      expect(first.text + second.text).not.toContain(t.ticket.split('ticket=')[1]!);
    }

    // A third run has only the missing user left.
    const third = new Out();
    expect(await resetsCommand(config, RUN, { send: true }, third)).toBe(3);
    expect(third.text).toContain('8 already have a ticket or an email, 1 to do.');
    expect(sim.tenant('new').tickets).toHaveLength(8);
  });

  it('--email has Auth0 send its change-password emails instead, once per user, and skips users with a ticket', async () => {
    const ghost = { user_id: 'auth0|0000000000000000ghost', email: 'ghost@example.com' };
    const dir = await writeRun([...users, ghost]);
    const tenant = sim.tenant('new');

    const dry = new Out();
    expect(await resetsCommand(config, RUN, { email: true }, dry)).toBe(0);
    expect(dry.text).toContain(
      `Dry run: would have the new tenant (${sim.tenants.new.domain}) send 9 change-password emails, for example to:`,
    );
    expect(dry.text).toContain(`Run \`auth0-migrate resets ${RUN} --send --email\` to send them.`);
    expect(tenant.outbox).toHaveLength(0);

    // Two users get a ticket first; then emails for the others, through a 503 and a 429.
    const plan = await planResets(dir);
    const client = createTenantClient(toTenantConfig(sim.tenants.new), { label: 'new' });
    await sendResets(client, { ...plan, todo: plan.todo.slice(0, 2) }, { dir });
    sim.faults.add({ kind: 'error', status: 503, tenant: 'new', path: '/dbconnections', times: 1 });
    sim.faults.add({ kind: 'rate-limit', tenant: 'new', path: '/dbconnections', times: 1, resetSeconds: 1 });
    const faultsBefore = tenant.stats.faultsInjected;
    const out = new Out();
    expect(await resetsCommand(config, RUN, { send: true, email: true }, out)).toBe(3);
    expect(out.text).toContain('2 already have a ticket or an email, 7 to do.');
    expect(out.text).toContain(
      `The new tenant (${sim.tenants.new.domain}) is sending 6 change-password emails; 1 failed (not_found 1)`,
    );
    // The 503 and the 429 were answered, and waited out.
    expect(tenant.stats.faultsInjected - faultsBefore).toBe(2);
    const emailed = users.slice(2);
    expect(tenant.outbox.map((m) => m.to).sort()).toEqual(emailed.map((u) => u.email).sort());
    expect(tenant.outbox.every((m) => m.kind === 'change_password' && m.connection === DB_CONNECTION)).toBe(
      true,
    );
    expect(tenant.outbox.every((m) => m.client_id === sim.tenants.new.clientId)).toBe(true);
    const lines = await results(dir);
    expect(
      lines
        .filter((l) => l.status === 'emailed')
        .map((l) => l.user_id)
        .sort(),
    ).toEqual(emailed.map((u) => u.user_id).sort());
    expect(lines.find((l) => l.status === 'error')).toMatchObject({
      user_id: ghost.user_id,
      code: 'not_found',
    });

    // Run again: only the unknown user is left, and nobody gets a second email.
    const again = new Out();
    expect(await resetsCommand(config, RUN, { send: true, email: true }, again)).toBe(3);
    expect(again.text).toContain('8 already have a ticket or an email, 1 to do.');
    expect(tenant.outbox).toHaveLength(6);
    expect(tenant.tickets).toHaveLength(2);
  });

  it('reaches a user whose primary was social under new_user_id, the id the new tenant holds them under', async () => {
    const held = users[0]!;
    const social = {
      user_id: 'google-oauth2|109988776655443322110',
      new_user_id: held.user_id,
      email: held.email,
    };
    const { dir } = await writeRunReport({
      reportsDir,
      summary: sampleSummary({ runId: RUN, passwordResets: 1 }),
      imported: [
        { ...social, password_reset: true, email_verified: false as const, line: 1, batch: `${RUN}-0` },
      ],
    });
    const tenant = sim.tenant('new');
    const dry = new Out();
    expect(await resetsCommand(config, RUN, {}, dry)).toBe(0);
    expect(dry.text).toContain(`  ${social.user_id} (${held.user_id} in the new tenant) ${held.email}\n`);

    expect(await resetsCommand(config, RUN, { send: true }, new Out())).toBe(0);
    expect(tenant.tickets.map((t) => t.user_id)).toEqual([held.user_id]);
    expect(await results(dir)).toMatchObject([
      { user_id: social.user_id, new_user_id: held.user_id, status: 'created' },
    ]);

    expect(await resetsCommand(config, RUN, { verifyEmail: true, send: true }, new Out())).toBe(0);
    const [line] = (await readFile(join(dir, 'verify-email.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { user_id: string; new_user_id?: string; status: string; job_id: string });
    expect(line).toMatchObject({ user_id: social.user_id, new_user_id: held.user_id, status: 'sent' });
    await tenant.jobEnded(line!.job_id);
    expect(tenant.outbox.map((m) => [m.kind, m.to])).toEqual([['verification_email', held.email]]);
  });

  it('refuses ticket settings with --email', async () => {
    await writeRun(users);
    await expect(
      resetsCommand(config, RUN, { send: true, email: true, ttl: 60 }, new Out()),
    ).rejects.toMatchObject({
      name: 'InputError',
      message: expect.stringContaining('--ttl and --result-url are ticket settings'),
    });
    expect(sim.tenant('new').outbox).toHaveLength(0);
  });

  it('refuses a dry run, and needs the new tenant for --send', async () => {
    await writeRun(users, true);
    await expect(resetsCommand(config, RUN, { send: true }, new Out())).rejects.toMatchObject({
      name: 'InputError',
      message: `Run ${RUN} was a dry run: nobody was imported, so nobody needs a password reset.`,
    });
    await writeRun(users);
    const bare = loadConfig({ env: { REPORTS_DIR: reportsDir }, dotenvPath: false });
    await expect(resetsCommand(bare, RUN, { send: true }, new Out())).rejects.toMatchObject({
      name: 'ConfigError',
    });
    expect(sim.tenant('new').tickets).toHaveLength(0);
  });
});

describe('the simulated /dbconnections/change_password', () => {
  it('answers as Auth0 documents it: 200 with its sentence, 400 without email or a database connection, 404 for nobody', async () => {
    const url = `${sim.tenants.new.baseUrl}/dbconnections/change_password`;
    const post = async (body: Record<string, unknown>) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as unknown };
    };
    const user = users[0]!;
    expect(await post({ email: user.email.toUpperCase(), connection: DB_CONNECTION })).toEqual({
      status: 200,
      body: "We've just sent you an email to reset your password.",
    });
    expect(sim.tenant('new').outbox).toMatchObject([{ to: user.email, user_id: user.user_id }]);
    expect((await post({ connection: DB_CONNECTION })).status).toBe(400);
    expect((await post({ email: user.email })).status).toBe(400);
    expect((await post({ email: user.email, connection: 'google-oauth2' })).status).toBe(400);
    expect(await post({ email: 'nobody@example.com', connection: DB_CONNECTION })).toMatchObject({
      status: 404,
      body: { error: 'user_not_found' },
    });
    expect(sim.tenant('new').stats.passwordChangeEmails).toBe(1);
    // What a rehearsal shows of the emails, over HTTP.
    const seen = (await (await fetch(`${sim.url}/__sim/outbox`)).json()) as {
      outbox: Record<string, Array<{ to: string }>>;
    };
    expect(seen.outbox.new).toMatchObject([{ to: user.email, kind: 'change_password' }]);
    expect(seen.outbox.old).toEqual([]);
  });
});

describe('planResets', () => {
  it('reads the users flagged in imported.ndjson.gz, or the password-reset.ndjson of an earlier report', async () => {
    const dir = await writeRun(users.slice(0, 3));
    expect((await planResets(dir)).users).toEqual(users.slice(0, 3));

    const earlier = join(reportsDir, 'earlier-run');
    await mkdir(earlier, { recursive: true });
    await writeFile(join(earlier, 'password-reset.ndjson'), users.map((u) => JSON.stringify(u)).join('\n'));
    expect((await planResets(earlier)).users).toEqual(users);
  });
});

describe('sendResets', () => {
  it('finishes a line cut short by a crash before appending, so no result is lost', async () => {
    const dir = await writeRun(users.slice(0, 3));
    const { appendFile } = await import('node:fs/promises');
    await appendFile(
      join(dir, 'resets.ndjson'),
      `{"user_id":"${users[0]!.user_id}","email":"x","status":"crea`,
      { mode: 0o600 },
    );
    const plan = await planResets(dir);
    expect(plan.todo).toHaveLength(3);
    const client = createTenantClient(toTenantConfig(sim.tenants.new), { label: 'new' });
    const result = await sendResets(client, plan, { dir, concurrency: 2 });
    expect(result).toMatchObject({ created: 3, errors: {}, skipped: 0 });
    const again = await planResets(dir);
    expect(again.todo).toHaveLength(0);
    expect(again.alreadyDone.size).toBe(3);
  });

  it('never appends its ticket links through a resets.ndjson that is a symbolic link', async () => {
    const dir = await writeRun(users.slice(0, 2));
    const outside = await mkdtemp(join(tmpdir(), 'resets-target-'));
    try {
      const victim = join(outside, 'victim.txt');
      await writeFile(victim, 'untouched\n', { mode: 0o644 });
      await symlink(victim, join(dir, 'resets.ndjson'));
      const client = createTenantClient(toTenantConfig(sim.tenants.new), { label: 'new' });
      await expect(sendResets(client, await planResets(dir), { dir })).rejects.toThrow(
        /resets\.ndjson is a symbolic link/,
      );
      expect(await readFile(victim, 'utf8')).toBe('untouched\n');
      expect((await stat(victim)).mode & 0o777).toBe(0o644);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe('auth0-migrate resets --verify-email', () => {
  /** A run whose imported file has `unverified` imported with email_verified false, the rest verified. */
  async function writeVerifyRun(
    unverified: PasswordResetLine[],
    verified: PasswordResetLine[],
  ): Promise<string> {
    const { dir } = await writeRunReport({
      reportsDir,
      summary: sampleSummary({ runId: RUN, passwordResets: 0 }),
      imported: [
        ...unverified.map((u) => ({ ...u, password_reset: false, email_verified: false as const })),
        ...verified.map((u) => ({ ...u, password_reset: false })),
      ].map((r, i) => ({ ...r, line: i + 1, batch: `${RUN}-0`, job_id: 'job_aaaaaaaaaaaaaaaa' })),
    });
    return dir;
  }

  it('writes the plan in a dry run and sends nothing', async () => {
    const dir = await writeVerifyRun(users.slice(0, 5), users.slice(5));
    const out = new Out();
    expect(await resetsCommand(config, RUN, { verifyEmail: true }, out)).toBe(0);
    expect(out.text).toContain(
      '5 users of run run-resets were imported with an unverified email; 0 already have a verification email, 5 to do.',
    );
    expect(out.text).toContain(
      `Dry run: would have the new tenant (${sim.tenants.new.domain}) send 5 verification emails`,
    );
    const planFile = join(dir, 'verify-email-plan.ndjson');
    expect(out.text).toContain(`The whole list: ${planFile}.`);
    const planned = (await readFile(planFile, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as PasswordResetLine);
    expect(planned).toEqual(users.slice(0, 5));
    expect((await stat(planFile)).mode & 0o777).toBe(0o600);
    expect(sim.tenant('new').outbox).toHaveLength(0);
    expect([...sim.tenant('new').jobs.values()].filter((j) => j.type === 'verification_email')).toHaveLength(
      0,
    );
  });

  it('sends one verification email job per unverified user, records each, and skips them the next time', async () => {
    const ghost = { user_id: 'auth0|0000000000000000ghost', email: 'ghost@example.com' };
    const dir = await writeVerifyRun([...users.slice(0, 5), ghost], users.slice(5));
    const tenant = sim.tenant('new');
    const out = new Out();
    // The ghost is not in the new tenant: Auth0 refuses it (400), the others are sent.
    expect(await resetsCommand(config, RUN, { verifyEmail: true, send: true }, out)).toBe(3);
    expect(out.text).toContain(
      `The new tenant (${sim.tenants.new.domain}) is sending 5 verification emails; 1 failed (bad_request 1).`,
    );
    const lines = (await readFile(join(dir, 'verify-email.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { user_id: string; status: string; job_id?: string; code?: string });
    expect(lines).toHaveLength(6);
    const sent = lines.filter((l) => l.status === 'sent');
    expect(sent.map((l) => l.user_id).sort()).toEqual(
      users
        .slice(0, 5)
        .map((u) => u.user_id)
        .sort(),
    );
    expect(lines.find((l) => l.status === 'error')).toMatchObject({
      user_id: ghost.user_id,
      code: 'bad_request',
    });
    // Each job ends in the tenant's outbox: one email to each unverified user, none to the others.
    for (const l of sent) {
      expect(tenant.jobs.get(l.job_id!)?.type).toBe('verification_email');
      await tenant.jobEnded(l.job_id!);
    }
    expect(tenant.outbox.map((m) => [m.kind, m.to]).sort()).toEqual(
      users
        .slice(0, 5)
        .map((u) => ['verification_email', u.email])
        .sort(),
    );
    const again = new Out();
    expect(await resetsCommand(config, RUN, { verifyEmail: true, send: true }, again)).toBe(3);
    expect(again.text).toContain('5 already have a verification email, 1 to do.');
    expect(tenant.outbox).toHaveLength(5);
  });

  it('refuses the password-reset settings beside it', async () => {
    await writeVerifyRun(users.slice(0, 1), []);
    await expect(
      resetsCommand(config, RUN, { verifyEmail: true, email: true }, new Out()),
    ).rejects.toMatchObject({
      name: 'InputError',
    });
  });
});
