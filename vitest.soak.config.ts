import { configDefaults, defineConfig } from 'vitest/config';
import everyday from './vitest.config.js';

/**
 * `npm run test:soak`: the long failure drills — a thousand runs while workers are SIGKILLed, the
 * database stopped under running workers, 200 runs through repeated SIGKILLs, the backup drills, the
 * operators' drill scripts of scripts/drills/ (test/soak/). Minutes each, so apart from the everyday
 * `npm test`; `npm run test:all` (the README's command, and CI's) runs them. Same settings as
 * the everyday suite otherwise.
 */
export default defineConfig({
  test: { ...everyday.test, include: ['test/soak/**/*.test.ts'], exclude: configDefaults.exclude },
});
