import { defineConfig } from 'vitest/config';

/**
 * `npm run test:ui`: the web console (ui/, built into dist/ui) driven in headless Chromium
 * (`/usr/bin/chromium`, playwright-core; nothing downloaded) against a real `agentry serve`.
 * One file, one server, one browser; `npm run test:all` runs it.
 */
export default defineConfig({
  test: {
    include: ['test/ui/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 1,
    setupFiles: ['test/helpers/leak-guard.ts'],
    // The bundled CLI (build-dist.ts) and the console's files (build-ui.ts), rebuilt when stale.
    globalSetup: ['test/helpers/build-dist.ts', 'test/helpers/build-ui.ts'],
  },
});
