/**
 * Vitest global setup of `npm run test:ui`: builds the web console (`npm run build:ui`, ui/ into
 * dist/ui) when a file under ui/ or the generated API types is newer than the built index.html.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '../..');
export const UI_INDEX = join(REPO, 'dist/ui/index.html');

function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : mtime(path));
  }
  return latest;
}

export default function buildUi(): void {
  const sources = Math.max(newest(join(REPO, 'ui')), mtime(join(REPO, 'src/client/openapi.ts')));
  if (sources < mtime(UI_INDEX)) return;
  execFileSync(process.execPath, [join(REPO, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'ui/vite.config.ts', '--logLevel', 'warn'], {
    cwd: REPO,
    stdio: 'inherit',
  });
}
