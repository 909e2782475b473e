import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // At least two files at once, even on two cores: much of the suite waits on child processes,
    // PostgreSQL and timers, so a second worker cuts the run by about a third.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    setupFiles: ['test/helpers/leak-guard.ts'],
    // Spawned CLI and role processes run the compiled dist/ (built here once per run).
    globalSetup: ['test/helpers/build-dist.ts'],
  },
});
