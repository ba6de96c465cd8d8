/**
 * Every test file must close what it opens (STYLE.md): a Redis connection, BullMQ Worker or Queue,
 * server or child process still open when the file ends fails it, naming each one and where it
 * was opened. The leftovers are then closed, so they cannot disturb the files that follow.
 */
import { afterAll } from 'vitest';
import { openResources } from './open-resources.js';

const tracker = openResources();
tracker.reset();

// Runs after the file's own afterAll hooks (vitest runs after-hooks in reverse order).
afterAll(async () => {
  const left = await tracker.stillOpen(10_000);
  if (left.length === 0) return;
  const list = left.map((r) => `  - ${r.what()}, opened ${r.openedAt}`).join('\n');
  for (const resource of left) resource.forceClose();
  throw new Error(
    `${left.length} left open when the file ended; close each in the test or hook that opens it ` +
      `(test/jobs/harness.ts closes what a harness starts):\n${list}`,
  );
});
