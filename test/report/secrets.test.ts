/**
 * No secret and no password hash reaches any output: known secrets (both client secrets, the SMTP
 * password, PAYLOAD_KEY) and the password hashes merged in with --hashes, searched for in everything
 * the CLI prints while exporting, importing and reporting (debug-level JSON logs included), every file under
 * REPORTS_DIR and the mails sent.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import bcrypt from 'bcryptjs';
import { Redis } from 'ioredis';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { reportCommand } from '../../src/commands/report.js';
import { runsCommand } from '../../src/commands/runs.js';
import { DB_CONNECTION, startSimulator, type Simulator } from '../../src/sim/index.js';
import { deleteKeysUnder } from '../../src/jobs/queues.js';

const SMTP_PASSWORD = `smtp-${randomBytes(9).toString('base64url')}`;
const PAYLOAD_KEY = randomBytes(32).toString('hex');

class Out {
  text = '';
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return once(child, 'close').then(([code]) => ({ code: code as number | null, stdout, stderr }));
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  }
  return out;
}

let sim: Simulator;
let smtp: SmtpSink | undefined;
let work: string;
let prefix: string;
let env: Record<string, string>;
let hashes: string[];

beforeAll(async () => {
  sim = await startSimulator({ seedOld: 40, seedNewMigrated: 0.25, timing: 'fast' });
  smtp = await startSmtpSink({ password: SMTP_PASSWORD });
  work = await mkdtemp(join(tmpdir(), 'reports-secrets-'));
  prefix = `test-secrets-${randomUUID()}`;
  const { old, new: newTenant } = sim.tenants;
  env = {
    OLD_AUTH0_DOMAIN: old.domain,
    OLD_AUTH0_CLIENT_ID: old.clientId,
    OLD_AUTH0_CLIENT_SECRET: old.clientSecret,
    OLD_AUTH0_CONNECTION: old.connection,
    OLD_AUTH0_BASE_URL: old.baseUrl,
    NEW_AUTH0_DOMAIN: newTenant.domain,
    NEW_AUTH0_CLIENT_ID: newTenant.clientId,
    NEW_AUTH0_CLIENT_SECRET: newTenant.clientSecret,
    NEW_AUTH0_CONNECTION: newTenant.connection,
    NEW_AUTH0_BASE_URL: newTenant.baseUrl,
    REDIS_URL: 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: prefix,
    REPORTS_DIR: join(work, 'reports'),
    PAYLOAD_KEY,
    SMTP_URL: `smtp://reports:${SMTP_PASSWORD}@127.0.0.1:${smtp.port}`,
    REPORT_EMAIL_TO: 'ops@example.com',
    LOG_LEVEL: 'debug',
    LOG_FORMAT: 'json',
    POLL_INTERVAL_MS: '20',
  };
  // The hash file Auth0 support would send, with the old tenant's real (bcrypt) hashes.
  const lines: string[] = [];
  hashes = [];
  for (const u of sim.tenant('old').users.iterate(DB_CONNECTION)) {
    // Cost 10 goes into password_hash, other costs into custom_password_hash: both paths, kept quick.
    const hash = bcrypt.hashSync(`pw-${u.user_id}`, hashes.length < 3 ? 10 : 4);
    hashes.push(hash);
    lines.push(
      JSON.stringify({
        _id: { $oid: u.user_id.replace(/^auth0\|/, '') },
        email: u.email,
        passwordHash: hash,
        connection: DB_CONNECTION,
      }),
    );
  }
  await writeFile(join(work, 'hashes.ndjson'), `${lines.join('\n')}\n`, { mode: 0o600 });
});

afterAll(async () => {
  await sim?.close();
  await smtp?.close();
  const redis = new Redis('redis://127.0.0.1:6379');
  await deleteKeysUnder(redis, prefix);
  await redis.quit();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('secrets and password hashes', () => {
  it('appear in no output, report file or email of an export and an import with --hashes', async () => {
    expect(hashes.length).toBeGreaterThan(10);
    const outputs: Array<[string, string]> = [];
    const record = (name: string, r: CliResult): void => {
      outputs.push([`${name} stdout`, r.stdout], [`${name} stderr`, r.stderr]);
    };

    const exported = join(work, 'old.ndjson.gz');
    const exp = await cli(['export', '--tenant', 'old', '--out', exported], env);
    record('export', exp);
    expect(exp.code, exp.stderr).toBe(0);
    const users = (await readFile(exported).then((b) => gunzipSync(b).toString('utf8')))
      .split('\n')
      .filter(Boolean);
    expect(users.length).toBeGreaterThan(30);

    const imp = await cli(
      ['import', exported, '--hashes', join(work, 'hashes.ndjson'), '--run-id', 'secrets-run'],
      env,
    );
    record('import', imp);
    expect(imp.code, imp.stderr).toBe(0);
    const summary = JSON.parse(await readFile(join(work, 'reports', 'secrets-run', 'summary.json'), 'utf8'));
    expect(summary.counts.total, imp.stdout).toBe(users.length);
    expect(summary.counts.imported).toBeGreaterThan(0);
    expect(summary.problems, imp.stdout).toBeUndefined();
    // The users kept their passwords: the hashes were really sent.
    const newUsers = [...sim.tenant('new').users.iterate(DB_CONNECTION)];
    expect(
      newUsers.filter((u) => u.passwordHash !== undefined && hashes.includes(u.passwordHash)).length,
    ).toBeGreaterThan(0);

    // The report commands, in this process (spawning each would only add start-up time).
    const config = loadConfig({ env, dotenvPath: false });
    for (const [name, run] of [
      ['runs', (o: Out) => runsCommand(config, {}, o)],
      ['report md', (o: Out) => reportCommand(config, 'secrets-run', {}, o)],
      ['report html', (o: Out) => reportCommand(config, 'secrets-run', { format: 'html' }, o)],
      ['report --email', (o: Out) => reportCommand(config, 'secrets-run', { email: true }, o)],
    ] as const) {
      const out = new Out();
      expect(await run(out)).toBe(0);
      outputs.push([name, out.text]);
    }
    expect(smtp!.received, imp.stderr).toHaveLength(2);
    smtp!.received.forEach((m, i) => outputs.push([`mail ${i}`, m.raw]));
    for (const file of await filesUnder(join(work, 'reports'))) {
      const bytes = await readFile(file);
      outputs.push([file, (file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8')]);
    }
    expect(outputs.some(([name]) => name.endsWith('retry.ndjson'))).toBe(true);
    expect(outputs.some(([name]) => name.endsWith('imported.ndjson.gz'))).toBe(true);
    expect(outputs.find(([name]) => name === 'import stderr')![1]).toContain('"msg":"report written"');

    const secrets: Array<[string, string]> = [
      ['old client secret', sim.tenants.old.clientSecret],
      ['new client secret', sim.tenants.new.clientSecret],
      ['SMTP password', SMTP_PASSWORD],
      ['PAYLOAD_KEY', PAYLOAD_KEY],
      ['PAYLOAD_KEY (base64)', Buffer.from(PAYLOAD_KEY, 'hex').toString('base64')],
      ...hashes.map((h, i): [string, string] => [`password hash ${i}`, h]),
      // A hash's salt and digest without its `$2b$04$` prefix (a log could split or escape it).
      ...hashes.map((h, i): [string, string] => [`password hash ${i} body`, h.slice(7)]),
    ];
    const leaks: string[] = [];
    for (const [where, text] of outputs) {
      for (const [what, value] of secrets) if (text.includes(value)) leaks.push(`${what} in ${where}`);
    }
    expect(leaks).toEqual([]);
  });
});
