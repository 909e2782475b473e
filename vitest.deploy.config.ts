import { defineConfig } from 'vitest/config';

/**
 * `npm run test:deploy`: what a user deploys, tested as they would use it — the npm package
 * (packed, installed into an empty directory, run) and the container image (built from the
 * Dockerfile, run in every role). Slow (native addon builds, an image build), so apart from
 * `npm test`; `npm run test:all` runs both. Builds its own artefacts: no dist/ global setup.
 */
export default defineConfig({
  test: {
    include: ['test/deploy/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 900_000,
    pool: 'forks',
    // The two files, side by side: each spends most of its time compiling (better-sqlite3 from
    // source, TypeScript) or waiting on Docker, one core each.
    maxWorkers: 2,
    setupFiles: ['test/helpers/leak-guard.ts'],
  },
});
