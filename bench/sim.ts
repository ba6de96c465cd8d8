/**
 * `npm run bench -- sim [--users N] [--migrated F]`: seeds N generated users (default 1,000,000)
 * into the simulator's old tenant (and a share F into the new one), runs a users-export job of
 * the whole connection through the Management API, and streams the download. Prints seed time,
 * export time, download time and peak RSS. The baseline, measured in the same run, is the bare
 * cost of the same file: generating the users, serialising and gzipping them, no server.
 */
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGunzip, createGzip } from 'node:zlib';
import { EXPORT_FIELDS } from '../src/pipeline/export-fields.js';
import { DB_CONNECTION, generateUser, startSimulator } from '../src/sim/index.js';

// The fields the tool's own export asks for, so the bench measures the export the sweep runs.
const FIELDS = EXPORT_FIELDS.map((f) => ({ ...f }));

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Counts bytes and newlines going through. */
function counter(): Writable & { bytes: number; lines: number } {
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      w.bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) w.lines++;
      done();
    },
  }) as Writable & { bytes: number; lines: number };
  w.bytes = 0;
  w.lines = 0;
  return w;
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      users: { type: 'string', default: '1000000' },
      migrated: { type: 'string', default: '0.3' },
      seed: { type: 'string', default: '1' },
    },
  });
  const users = Number(values.users);
  const migrated = Number(values.migrated);
  const seed = Number(values.seed);
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  const rssAtStart = process.memoryUsage().rss;

  const t0 = performance.now();
  const sim = await startSimulator({
    seedOld: users,
    seedNewMigrated: migrated,
    seed,
    timing: 'fast',
    rateLimit: false,
  });
  const seedMs = performance.now() - t0;
  const rssAfterSeed = process.memoryUsage().rss;
  try {
    const old = sim.tenants.old;
    const tokenRes = await fetch(`${old.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: old.clientId,
        client_secret: old.clientSecret,
        audience: `https://${old.domain}/api/v2/`,
      }),
    });
    const { access_token: token } = (await tokenRes.json()) as { access_token: string };
    const auth = { authorization: `Bearer ${token}` };

    const t1 = performance.now();
    const created = await fetch(`${old.baseUrl}/api/v2/jobs/users-exports`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ connection_id: old.connectionId, format: 'json', fields: FIELDS }),
    });
    const job = (await created.json()) as { id: string };
    await sim.tenant('old').jobEnded(job.id);
    const exportMs = performance.now() - t1;
    const done = (await (await fetch(`${old.baseUrl}/api/v2/jobs/${job.id}`, { headers: auth })).json()) as {
      status: string;
      location: string;
    };
    if (done.status !== 'completed') throw new Error(`the export job ended ${done.status}`);

    const t2 = performance.now();
    const gz = { bytes: 0 };
    const plain = counter();
    await pipeline(
      (await fetch(done.location)).body!,
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          gz.bytes += chunk.length;
          cb(null, chunk);
        },
      }),
      createGunzip(),
      plain,
    );
    const downloadMs = performance.now() - t2;
    const expected = sim.tenant('old').userCount(DB_CONNECTION);

    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);

    const t3 = performance.now();
    const baselineOut = counter();
    const gzip = createGzip();
    const baselineDone = pipeline(gzip, baselineOut);
    let chunk = '';
    for (let i = 0; i < users; i++) {
      const u = generateUser(seed, i);
      if (u.connection !== DB_CONNECTION) continue;
      chunk += `${JSON.stringify(u)}\n`;
      if (chunk.length > 65536) {
        if (!gzip.write(chunk)) await new Promise((r) => gzip.once('drain', r));
        chunk = '';
      }
    }
    gzip.end(chunk);
    await baselineDone;
    const baselineMs = performance.now() - t3;

    const lines = [
      `sim bench: ${users.toLocaleString('en')} generated users (old), ${(migrated * 100).toFixed(0)}% migrated (new: ${sim
        .tenant('new')
        .userCount()
        .toLocaleString('en')})`,
      `  seed:      ${secs(seedMs)} (RSS +${mb(rssAfterSeed - rssAtStart)})`,
      `  export:    ${secs(exportMs)} for ${plain.lines.toLocaleString('en')} users of ${DB_CONNECTION} (expected ${expected.toLocaleString('en')}), ${mb(plain.bytes)} NDJSON, ${mb(gz.bytes)} gzipped`,
      `  download:  ${secs(downloadMs)} (streamed and decompressed)`,
      `  baseline:  ${secs(baselineMs)} to generate, serialise and gzip the same users without the server; export/baseline = ${(exportMs / baselineMs).toFixed(2)}`,
      `  peak RSS:  ${mb(peakRss)} (process.resourceUsage maxRSS ${mb(process.resourceUsage().maxRSS * 1024)})`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (plain.lines !== expected)
      throw new Error(`the export held ${plain.lines} users, expected ${expected}`);
  } finally {
    clearInterval(sampler);
    await sim.close();
  }
}
