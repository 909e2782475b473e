/**
 * Writes docs/env-vars.json, the environment variables this version reads, from CONFIG_OPTIONS
 * (`npm run docs:env-vars`). Run at a release, after `npm version` (docs/operations/releases.md):
 * the file then holds the release's variables, which test/unit/config.env-contract.test.ts holds
 * every later version of the same major to (DEP-24).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { envVariables, type EnvSnapshot } from '../src/app/config-deprecations.js';
import { CONFIG_OPTIONS } from '../src/app/config-options.js';

const root = join(import.meta.dirname, '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const snapshot: EnvSnapshot = { version, variables: envVariables(CONFIG_OPTIONS) };
writeFileSync(join(root, 'docs', 'env-vars.json'), `${JSON.stringify(snapshot, null, 2)}\n`);
