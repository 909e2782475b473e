import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The package and the container image have their own, slower run (`npm run test:deploy`), and
    // so have the long failure drills (`npm run test:soak`) and the console in a browser
    // (`npm run test:ui`); `npm run test:all` runs all four.
    exclude: [...configDefaults.exclude, 'test/deploy/**', 'test/soak/**', 'test/ui/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // More files at once than cores: most of the suite waits on child processes, PostgreSQL and
    // timers rather than computing, so on two cores a third worker still shortens the run.
    maxWorkers: Math.max(3, availableParallelism() - 1),
    setupFiles: ['test/helpers/leak-guard.ts'],
    // Spawned CLI and role processes run the compiled dist/ (built here once per run).
    globalSetup: ['test/helpers/build-dist.ts'],
  },
});
