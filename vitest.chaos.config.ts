import { defineConfig } from 'vitest/config';

/** The chaos soak (`npm run test:chaos`): one long test, alone, with its counts printed. */
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    // The soak prints its seed and counts: show them even when it passes.
    silent: false,
  },
});
