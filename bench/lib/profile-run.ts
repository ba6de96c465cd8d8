/**
 * The plan stage alone on the bench's cached files, for a CPU profile:
 *   npm run bench -- --users N   (once, to generate the files), then
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof build/bench/lib/profile-run.js DIR
 * where DIR holds the files (e.g. `$TMPDIR/auth0-migrate-bench/v2-1000000`). Builds the migrated
 * index, runs the plan stage as `npm run bench` measures it (lib/plan-stage.ts), and prints its time.
 */
import { join } from 'node:path';
import { buildMigratedIndex } from '../../src/pipeline/index.js';
import { planStage } from './plan-stage.js';
import { BENCH_CONNECTION } from './synthetic-export.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: bench/lib/profile-run.ts DIR (a directory of bench files)');
const migrated = await buildMigratedIndex(join(dir, 'new-tenant.ndjson.gz'), {
  connection: BENCH_CONNECTION,
});
const started = performance.now();
const cpu = process.cpuUsage();
const f = await planStage(join(dir, 'old-tenant.ndjson.gz'), migrated);
const used = process.cpuUsage(cpu);
process.stdout.write(
  `${f.batches} batches, ${f.users} records in ${((performance.now() - started) / 1000).toFixed(2)} s, ` +
    `CPU ${((used.user + used.system) / 1e6).toFixed(2)} s\n`,
);
