/**
 * Loaded with `node --import` into a process the bench starts (the sweep), so that the process
 * reports its own memory without the product knowing: on exit it writes to `BENCH_RSS_FILE` its
 * peak RSS (the kernel's high-water mark) and, from samples every 100 ms, what V8's heap and the
 * memory outside it held at the highest sample. With `BENCH_SNAPSHOT_MB`, the first sample with
 * more than that in use in V8's heap writes a heap snapshot beside the file, to see what holds it.
 */
import { writeFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';

const file = process.env.BENCH_RSS_FILE;
const snapshotAt = Number(process.env.BENCH_SNAPSHOT_MB ?? 0) * 1024 * 1024;

if (file !== undefined) {
  let peak = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0, at: 0 };
  let snapshot: string | undefined;
  const started = Date.now();
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peak.rss) peak = { ...m, at: Date.now() - started };
    if (snapshotAt > 0 && snapshot === undefined && m.heapUsed > snapshotAt) {
      snapshot = writeHeapSnapshot(`${file}.heapsnapshot`);
    }
  }, 100);
  timer.unref();
  process.on('exit', () => {
    writeFileSync(
      file,
      JSON.stringify({ maxRss: process.resourceUsage().maxRSS * 1024, sampled: peak, snapshot }),
    );
  });
}
