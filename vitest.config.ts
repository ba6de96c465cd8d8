import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Integration tests start servers and workers; two cores, so keep parallelism modest.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
