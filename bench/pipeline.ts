/**
 * `npm run bench [-- pipeline] [--users N[,N…]] [--rounds R] [--dir DIR] [--fresh] [--stream-json]`
 *
 * Generates (or reuses, under DIR) a synthetic old-tenant export of N users (default 1,000,000;
 * see lib/synthetic-export.ts for its mix) and a new-tenant export of about a third of its
 * database users, then measures in this process, R rounds each (default 2), alternating:
 *   (a) the baseline: gunzip + splitting lines + JSON.parse, nothing else (the least any reader
 *       of the file does);
 *   (b) the plan stage as the product runs it, on one thread: the pipeline (read ▶ transform ▶
 *       skip migrated ▶ schema check and serialisation ▶ duplicates ▶ byte-bounded batches), then
 *       what the import-batch jobs receive: each batch staged (`toStaged`, reading every user and
 *       original) and sealed as the run store seals it, each chunk of skipped users written to the
 *       run's folder; only the Redis round trips are left out (lib/plan-stage.ts).
 * `npm run bench` compiles the bench and the sources (build/) and runs them with plain `node`, as
 * `auth0-migrate` and the image run.
 * The migrated index is built once, before the rounds, and timed on its own. Each phase starts
 * after a full garbage collection, so its peak RSS is its own and not the garbage of the last one.
 * Prints users per second (wall clock, and per CPU-second, which a busy machine disturbs less),
 * CPU-seconds per million users, the ratio b/a, peak RSS with what V8's heap and the index and duplicate filter hold at that
 * moment, and the index's bytes per key. `--stream-json` adds stream-json's own JSONL parser as a
 * second, slower baseline. Several sizes (`--users 1000000,3000000`) run one after the other, each
 * in a process of its own (so no size inherits another's memory), and end with a table of them
 * side by side, with the growth of peak RSS per further million users beside that of the
 * migrated index and duplicate filter.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGunzip } from 'node:zlib';
import JsonlParser from 'stream-json/jsonl/Parser.js';
import { keepHeapNearLive } from '../src/heap.js';
import { buildMigratedIndex } from '../src/pipeline/index.js';
import { mb, measure, perSecond, thousands, type Measured } from './lib/measure.js';
import { planStage, type PlanFigures } from './lib/plan-stage.js';
import { BENCH_CONNECTION, syntheticExports } from './lib/synthetic-export.js';

const TARGET_RATIO = 0.5;
const TARGET_RSS = 250 * 1024 * 1024;
const TARGET_BYTES_PER_KEY = 16;

/** Baseline (a): the fastest plain reading of the file: gunzip, split on newlines, JSON.parse. */
async function parseOnly(file: string): Promise<number> {
  const text = createReadStream(file, { highWaterMark: 256 * 1024 }).pipe(
    createGunzip({ chunkSize: 128 * 1024 }),
  );
  let records = 0;
  let rest: Buffer | undefined;
  const parse = (buf: Buffer, s: number, e: number): void => {
    if (e <= s) return;
    try {
      JSON.parse(buf.toString('utf8', s, e));
      records++;
    } catch {
      records++;
    }
  };
  for await (const chunk of text as AsyncIterable<Buffer>) {
    let start = 0;
    let nl = chunk.indexOf(0x0a);
    if (rest !== undefined && nl !== -1) {
      const joined = Buffer.concat([rest, chunk.subarray(0, nl)]);
      parse(joined, 0, joined.length);
      rest = undefined;
      start = nl + 1;
      nl = chunk.indexOf(0x0a, start);
    } else if (rest !== undefined) {
      rest = Buffer.concat([rest, chunk]);
      continue;
    }
    while (nl !== -1) {
      parse(chunk, start, nl);
      start = nl + 1;
      nl = chunk.indexOf(0x0a, start);
    }
    if (start < chunk.length) rest = chunk.subarray(start);
  }
  if (rest !== undefined) parse(rest, 0, rest.length);
  return records;
}

/** Optional second baseline: stream-json's JSONL parser (one object-mode stream item per record). */
async function streamJsonOnly(file: string): Promise<number> {
  let records = 0;
  await pipeline(
    createReadStream(file, { highWaterMark: 256 * 1024 }),
    createGunzip({ chunkSize: 128 * 1024 }),
    JsonlParser.parser({ errorIndicator: undefined } as never),
    async function (source: AsyncIterable<unknown>) {
      for await (const _ of source) records++;
    },
  );
  return records;
}

/** CPU-seconds spent per million users. */
const cpuPerMillion = (cpuMs: number, users: number): string =>
  `${(cpuMs / 1000 / (users / 1e6)).toFixed(2)}`;

function line(label: string, m: Measured<unknown>, users: number): string {
  return `${label.padEnd(38)} ${(m.wallMs / 1000).toFixed(2).padStart(7)} s  ${perSecond(users, m.wallMs).padStart(11)}   CPU ${(m.cpuMs / 1000).toFixed(2).padStart(6)} s (${cpuPerMillion(m.cpuMs, users).padStart(5)} per million users)   peak RSS ${mb(m.peakRss).padStart(7)}`;
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      users: { type: 'string', default: '1000000' },
      rounds: { type: 'string', default: '2' },
      dir: { type: 'string', default: join(tmpdir(), 'auth0-migrate-bench') },
      fresh: { type: 'boolean', default: false },
      'stream-json': { type: 'boolean', default: false },
    },
  });
  const sizes = values.users.split(',').map((v) => Number(v.trim()));
  const rounds = Number(values.rounds);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error('--users must be a whole number ≥ 1, or several separated by commas');
  if (sizes.length > 1) {
    await compareSizes(sizes, argv, values.dir, values.fresh);
    return;
  }
  const users = sizes[0]!;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a whole number ≥ 1');
  // The heap kept as the CLI keeps it (src/heap.ts), so the peak RSS is the product's.
  keepHeapNearLive();
  const out = (s = ''): void => {
    process.stdout.write(`${s}\n`);
  };
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ');

  out(
    `pipeline bench: ${thousands(users)} users, ${rounds} round(s); ${cpus().length} CPUs, load average ${load()}`,
  );
  const files = await syntheticExports(values.dir, users, { fresh: values.fresh });
  out(
    `${files.generated ? `generated in ${(files.generateMs / 1000).toFixed(1)} s` : 'reused'}: ${files.oldFile}\n` +
      `  old export ${thousands(files.users)} lines, ${mb(files.oldBytes)} of JSON; new export ${thousands(files.newUsers)} users, ${mb(files.newBytes)}`,
  );

  const index = await measure(() => buildMigratedIndex(files.newFile, { connection: BENCH_CONNECTION }));
  const s = index.result.stats;
  out(
    `migrated index: ${thousands(s.users)} users, ${thousands(s.keys)} keys, ${mb(s.bytes)}, ${s.bytesPerKey.toFixed(2)} bytes/key; ` +
      `built in ${(index.wallMs / 1000).toFixed(2)} s (${perSecond(s.records, index.wallMs)})`,
  );
  out();

  out(
    `pipeline code: ${import.meta.url.endsWith('.ts') ? 'TypeScript sources through tsx' : 'compiled (build/), plain node'}`,
  );
  const a: Measured<number>[] = [];
  const b: Measured<PlanFigures>[] = [];
  const j: Measured<number>[] = [];
  // (b) first: its first run follows only the index build, so its peak RSS owes nothing to
  // memory the C library kept from earlier phases (a full GC does not hand that back).
  for (let r = 1; r <= rounds; r++) {
    const mb_ = await measure(() => planStage(files.oldFile, index.result));
    b.push(mb_);
    out(line(`round ${r} (b) plan stage`, mb_, users));
    const ma = await measure(() => parseOnly(files.oldFile));
    a.push(ma);
    out(line(`round ${r} (a) gunzip + JSON.parse`, ma, users));
    if (values['stream-json']) {
      const mj = await measure(() => streamJsonOnly(files.oldFile));
      j.push(mj);
      out(line(`round ${r} (a') gunzip + stream-json JSONL`, mj, users));
    }
  }

  const best = <T>(ms: Measured<T>[], key: 'wallMs' | 'cpuMs') => Math.min(...ms.map((m) => m[key]));
  const ratioWall = best(a, 'wallMs') / best(b, 'wallMs');
  const ratioCpu = best(a, 'cpuMs') / best(b, 'cpuMs');
  const last = b.at(-1)!.result;
  const peakRun = b[0]!;
  const peakB = peakRun.peakRss;
  const peakAny = Math.max(...b.map((m) => m.peakRss));
  const maxRss = process.resourceUsage().maxRSS * 1024;
  const ok = (good: boolean) => (good ? 'met' : 'NOT MET');
  const c = last.counts;

  out();
  out(
    `(a) baseline   ${perSecond(users, best(a, 'wallMs'))} (best wall), ${perSecond(users, best(a, 'cpuMs'))} per CPU-second, ${cpuPerMillion(best(a, 'cpuMs'), users)} CPU-s per million users`,
  );
  if (j.length > 0) out(`(a') stream-json ${perSecond(users, best(j, 'wallMs'))} (best wall)`);
  out(
    `(b) plan stage ${perSecond(users, best(b, 'wallMs'))} (best wall), ${perSecond(users, best(b, 'cpuMs'))} per CPU-second, ${cpuPerMillion(best(b, 'cpuMs'), users)} CPU-s per million users`,
  );
  out(
    `ratio b/a      ${ratioWall.toFixed(2)} wall clock, ${ratioCpu.toFixed(2)} CPU time   (target ≥ ${TARGET_RATIO}: ${ok(ratioWall >= TARGET_RATIO)})`,
  );
  out(
    `peak RSS       ${mb(peakB)} during the first (b)${files.generated ? ' (after generating the files in this process: run again for a clean figure)' : ''}; ` +
      `${mb(peakAny)} over all (b) runs; ${mb(maxRss)} for the whole process   (target ≤ ${mb(TARGET_RSS)}: ${ok(peakB <= TARGET_RSS)})`,
  );
  const p = peakRun.atPeak;
  out(
    `  at that peak: V8 heap ${mb(p.heapTotal)} (${mb(p.heapUsed)} in use); outside it ${mb(p.external)}, ` +
      `of which Buffers and typed arrays ${mb(p.arrayBuffers)} (index ${mb(s.bytes)}, duplicate filter up to ${mb(last.duplicateFilterBytes)})`,
  );
  out(
    `index          ${s.bytesPerKey.toFixed(2)} bytes/key   (target ≤ ${TARGET_BYTES_PER_KEY}: ${ok(s.bytesPerKey <= TARGET_BYTES_PER_KEY)})`,
  );
  out(
    `dup filter     ${mb(last.duplicateFilterBytes)} (${(last.duplicateFilterBytes / Math.max(1, c.imported)).toFixed(1)} bytes per imported user)`,
  );
  out(
    `batches        ${thousands(last.batches)}, largest ${thousands(last.maxPayload)} bytes (limit 512,000), ` +
      `${thousands(c.imported / Math.max(1, last.batches))} users each on average; staged sealed ` +
      `${mb(last.stagedBytes)} for ${mb(last.payloadBytes)} of import files; ${thousands(last.chunks)} chunks of skipped users written`,
  );
  out(
    `outcomes       ${thousands(c.total)} records = ${thousands(c.imported)} imported + ${thousands(c.alreadyMigrated)} already migrated ` +
      `(${Object.entries(c.alreadyMigratedBy)
        .map(([k, v]) => `${k} ${thousands(v ?? 0)}`)
        .join(', ')}) + ${thousands(c.skipped)} skipped ` +
      `(${Object.entries(c.skippedBy)
        .map(([k, v]) => `${k} ${thousands(v ?? 0)}`)
        .join(', ')})`,
  );
  out(
    `accounting     ${last.problems.length === 0 ? 'adds up' : `DOES NOT ADD UP: ${last.problems.join('; ')}`}`,
  );
  out(`load average   ${load()}`);
  const result: SizeResult = {
    users,
    a: users / (best(a, 'wallMs') / 1000),
    b: users / (best(b, 'wallMs') / 1000),
    cpuA: best(a, 'cpuMs') / 1000 / (users / 1e6),
    cpuB: best(b, 'cpuMs') / 1000 / (users / 1e6),
    ratioWall,
    ratioCpu,
    peakRss: peakB,
    bytesPerKey: s.bytesPerKey,
    indexBytes: s.bytes,
    duplicateFilterBytes: last.duplicateFilterBytes,
  };
  out(`${RESULT_MARK}${JSON.stringify(result)}`);
}

/** The last line of a run, for {@link compareSizes}. */
const RESULT_MARK = 'result: ';

interface SizeResult {
  users: number;
  a: number;
  b: number;
  /** CPU-seconds per million users. */
  cpuA: number;
  cpuB: number;
  ratioWall: number;
  ratioCpu: number;
  peakRss: number;
  bytesPerKey: number;
  indexBytes: number;
  duplicateFilterBytes: number;
}

/** Each size in a process of its own (files generated here first), then the sizes side by side. */
async function compareSizes(sizes: number[], argv: string[], dir: string, fresh: boolean): Promise<void> {
  const results: SizeResult[] = [];
  for (const users of sizes) {
    const files = await syntheticExports(dir, users, { fresh });
    if (files.generated)
      process.stdout.write(`generated ${files.oldFile} in ${(files.generateMs / 1000).toFixed(1)} s\n`);
    const args = [...process.execArgv, process.argv[1]!, 'pipeline', ...withUsers(argv, users)];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      process.stdout.write(d);
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`the run of ${thousands(users)} users exited with ${code}`);
    const last = text.trim().split('\n').at(-1) ?? '';
    if (!last.startsWith(RESULT_MARK))
      throw new Error(`the run of ${thousands(users)} users printed no result`);
    results.push(JSON.parse(last.slice(RESULT_MARK.length)) as SizeResult);
    process.stdout.write('\n');
  }
  const rows: Array<[string, (r: SizeResult) => string]> = [
    ['(a) baseline', (r) => `${thousands(r.a)}/s`],
    ['(b) plan stage', (r) => `${thousands(r.b)}/s`],
    ['CPU-s per million (a) / (b)', (r) => `${r.cpuA.toFixed(2)} / ${r.cpuB.toFixed(2)}`],
    ['ratio b/a wall (CPU)', (r) => `${r.ratioWall.toFixed(2)} (${r.ratioCpu.toFixed(2)})`],
    ['peak RSS (b)', (r) => mb(r.peakRss)],
    ['index + duplicate filter', (r) => `${mb(r.indexBytes)} + ${mb(r.duplicateFilterBytes)}`],
    ['index bytes/key', (r) => r.bytesPerKey.toFixed(2)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const cells = results.map((r) => rows.map(([, f]) => f(r)));
  const colWidth = results.map((r, i) =>
    Math.max(thousands(r.users).length + 6, ...cells[i]!.map((c) => c.length)),
  );
  process.stdout.write(
    `${''.padEnd(width)}  ${results.map((r, i) => `${thousands(r.users)} users`.padStart(colWidth[i]!)).join('  ')}\n`,
  );
  rows.forEach(([label], k) => {
    process.stdout.write(
      `${label.padEnd(width)}  ${cells.map((c, i) => c[k]!.padStart(colWidth[i]!)).join('  ')}\n`,
    );
  });
  const first = results[0]!;
  const lastSize = results.at(-1)!;
  const perMillion =
    (lastSize.peakRss - first.peakRss) / ((lastSize.users - first.users) / 1e6) / (1024 * 1024);
  const tables =
    (lastSize.indexBytes + lastSize.duplicateFilterBytes - first.indexBytes - first.duplicateFilterBytes) /
    ((lastSize.users - first.users) / 1e6) /
    (1024 * 1024);
  process.stdout.write(
    `peak RSS grows by ${perMillion.toFixed(1)} MB per further million users; the migrated index and the duplicate filter by ${tables.toFixed(1)} MB ` +
      `(target: no more than they: ${perMillion <= tables ? 'met' : 'NOT MET'})\n`,
  );
  const million = results.find((r) => r.users === 1_000_000);
  if (million !== undefined) {
    process.stdout.write(
      `peak RSS at 1,000,000 users ${mb(million.peakRss)} (target ≤ ${mb(TARGET_RSS)}: ${million.peakRss <= TARGET_RSS ? 'met' : 'NOT MET'}); ` +
        `ratio b/a ${results.map((r) => r.ratioWall.toFixed(2)).join(', ')} (target ≥ ${TARGET_RATIO}: ${results.every((r) => r.ratioWall >= TARGET_RATIO) ? 'met' : 'NOT MET'}); load average ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' / ')}\n`,
    );
  }
}

/** `argv` with its `--users` value replaced by one size. */
function withUsers(argv: string[], users: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === 'pipeline') continue;
    if (arg === '--users') {
      i++;
      continue;
    }
    if (arg.startsWith('--users=')) continue;
    out.push(arg);
  }
  return [...out, '--users', String(users)];
}
