/**
 * `npm run bench [-- <name> [options]]`: runs one benchmark. Each prints its figures beside a
 * baseline measured in the same run.
 *   pipeline (default)  the plan stage as the product runs it (batches staged and sealed), against gunzip + JSON parsing alone
 *   sim                 the simulator's export of N users, against generating the same file
 *   e2e                 a whole sweep on the simulator, against the import's theoretical minimum
 *   sweep               a whole sweep in one process: its peak RSS and Redis's peak memory at two sizes
 *   index               the migrated index at 10,000,000 users: bytes per key, lookups, what it promises
 *   relations           the relations stage at an enterprise tenant's rate: requests against the minimum, wall against the rate budget's floor
 */
const BENCHES: Record<string, () => Promise<{ run(argv: string[]): Promise<void> }>> = {
  pipeline: () => import('./pipeline.js'),
  sim: () => import('./sim.js'),
  e2e: () => import('./e2e.js'),
  sweep: () => import('./sweep.js'),
  index: () => import('./index-size.js'),
  relations: () => import('./relations.js'),
};

async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  const name = first === undefined || first.startsWith('-') ? 'pipeline' : first;
  const rest = name === first ? argv.slice(1) : argv;
  const load = BENCHES[name];
  if (load === undefined) {
    process.stderr.write(
      `error: no benchmark "${name}"; choose one of: ${Object.keys(BENCHES).join(', ')}\n`,
    );
    return 1;
  }
  let bench: { run(argv: string[]): Promise<void> };
  try {
    bench = await load();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(`bench/${name}.`)) {
      process.stderr.write(`error: the "${name}" benchmark (bench/${name}.ts) is not in this checkout\n`);
      return 1;
    }
    throw err;
  }
  await bench.run(rest);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
