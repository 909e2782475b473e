#!/usr/bin/env node
// Runs the built CLI when it exists (installed package), otherwise the TypeScript
// sources through tsx (a checkout with dev dependencies). First of all, the Node.js version:
// an older Node would fail later with an error that does not say why.
import { nodeVersionProblem } from './check-node.js';

const problem = nodeVersionProblem(process.version);
if (problem !== undefined) {
  process.stderr.write(problem + '\n');
  process.exit(1);
}

const { existsSync } = await import('node:fs');
const { fileURLToPath, pathToFileURL } = await import('node:url');
const built = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
