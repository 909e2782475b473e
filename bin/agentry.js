#!/usr/bin/env node
// Runs the built CLI when it exists (installed package): the bundle (dist/bundle/agentry.js, one
// file and lazily loaded chunks, `npm run build`), else the compiled modules (dist/cli/main.js);
// otherwise the TypeScript sources through tsx (a checkout with dev dependencies). First of all,
// the Node.js version: an older Node would fail later with an error that does not say why.
import { nodeVersionProblem } from './check-node.js';

const problem = nodeVersionProblem(process.version);
if (problem !== undefined) {
  process.stderr.write(problem + '\n');
  process.exit(1);
}

const { existsSync } = await import('node:fs');
const { fileURLToPath, pathToFileURL } = await import('node:url');
const bundled = fileURLToPath(new URL('../dist/bundle/agentry.js', import.meta.url));
const built = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const entry = [bundled, built].find((file) => existsSync(file));
if (entry !== undefined) {
  // Stack traces name src/ files through the source maps when they are printed (AGENTRY_DEBUG=1);
  // reading the maps costs start-up time and memory otherwise (NODE_OPTIONS=--enable-source-maps
  // turns them on for a server's logs).
  if (process.env.AGENTRY_DEBUG === '1') process.setSourceMapsEnabled(true);
  await import(pathToFileURL(entry).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
