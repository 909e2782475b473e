/**
 * The `agentry` command runs through every link a package manager makes to `bin/agentry.js`:
 * `node_modules/.bin/agentry` (what `npx agentry` and npm scripts start) and a global install's
 * `<prefix>/bin/agentry`. It once ran only when the started path looked like `bin/agentry`, so
 * `npx agentry --version` in an installed project printed nothing and exited 0.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, removeDir, tempDir } from '../helpers/cli.js';

const run = promisify(execFile);
const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
let dir: string;

beforeAll(() => {
  dir = tempDir('agentry-bin-links-');
  for (const link of ['node_modules/.bin/agentry', 'prefix/bin/agentry', 'elsewhere/agentry-cli']) {
    mkdirSync(join(dir, link, '..'), { recursive: true });
    symlinkSync(join(REPO, 'bin', 'agentry.js'), join(dir, link));
  }
});

afterAll(() => removeDir(dir));

describe('agentry started through a link to bin/agentry.js', () => {
  it.each(['node_modules/.bin/agentry', 'prefix/bin/agentry', 'elsewhere/agentry-cli'])('%s runs the CLI', async (link) => {
    const { stdout } = await run(process.execPath, [join(dir, link), '--version'], { cwd: dir });
    expect(stdout.trim()).toBe(version);
  });
});
