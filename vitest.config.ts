import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/chaos/**', 'node_modules/**'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Real sockets and real processes: keep parallelism modest on a 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
  },
});
