/**
 * The pipeline alone on the bench's cached files, for a CPU profile:
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/lib/profile-run.ts DIR
 * where DIR holds the files `npm run bench -- --users N` generated (e.g.
 * `$TMPDIR/auth0-migrate-bench/v2-1000000`). Builds the migrated index, runs the pipeline to
 * batches with a sink that only counts them, and prints the time of the run.
 */
import { join } from 'node:path';
import { buildMigratedIndex, isBatch, runPipeline } from '../../src/pipeline/index.js';
import { BENCH_CONNECTION } from './synthetic-export.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: bench/lib/profile-run.ts DIR (a directory of bench files)');
const migrated = await buildMigratedIndex(join(dir, 'new-tenant.ndjson.gz'), {
  connection: BENCH_CONNECTION,
});
const started = performance.now();
const run = runPipeline({ input: join(dir, 'old-tenant.ndjson.gz'), connection: BENCH_CONNECTION, migrated });
let batches = 0;
for await (const item of run) if (isBatch(item)) batches++;
process.stdout.write(
  `${batches} batches, ${run.counts.total} records in ${((performance.now() - started) / 1000).toFixed(2)} s\n`,
);
