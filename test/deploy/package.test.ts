/**
 * The npm package as a user gets it: `npm pack` (its `prepack` builds dist/), then
 * `npm install <tarball>` into an empty directory — production dependencies only, better-sqlite3
 * compiled there — and the installed `agentry` run from that directory: `--version`, `init`,
 * `validate` and `demo --once`, with no TypeScript, tsx or any other dev dependency present.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, execOk } from './exec.js';

const REPO = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };

interface PackResult {
  filename: string;
  files: { path: string }[];
}

let root: string;
let app: string;
let packed: PackResult;
/** The installed CLI, through the link npm made for it. */
let agentryBin: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'agentry-package-'));
  const [result] = JSON.parse(await execOk('npm', ['pack', '--json', '--pack-destination', root], { cwd: REPO, timeoutMs: 300_000 })) as PackResult[];
  packed = result!;
  app = join(root, 'app');
  mkdirSync(app);
  // An empty directory: no package.json, so npm makes one, as for a user trying the package out.
  await execOk('npm', ['install', '--no-audit', '--no-fund', join(root, packed.filename)], { cwd: app, timeoutMs: 480_000 });
  agentryBin = join(app, 'node_modules', '.bin', 'agentry');
}, 600_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('holds the compiled CLI and its bundle, the schemas and the examples, and no sources or tests', () => {
    const paths = packed.files.map((file) => file.path);
    expect(packed.filename).toBe(`agentry-${pkg.version}.tgz`);
    for (const path of [
      'package.json',
      'bin/agentry.js',
      'dist/cli/main.js',
      'dist/bundle/agentry.js',
      'dist/bundle/spec-validation-worker.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/ui/index.html',
      'dist/client/index.js',
      'dist/client/index.d.ts',
      'dist/client/openapi.d.ts',
      'examples/demo/agentry.yaml',
      'examples/demo/workflows/hello.yaml',
    ]) {
      expect(paths).toContain(path);
    }
    expect(paths.some((path) => path.startsWith('docs/schemas/') && path.endsWith('.json'))).toBe(true);
    const unwanted = paths.filter(
      (path) =>
        /^(src|test|bench|scripts|deploy|node_modules)\//.test(path) ||
        /(^|\/)\.agentry\//.test(path) ||
        /\.test\.[cm]?[jt]s$/.test(path) ||
        (path.endsWith('.ts') && !path.endsWith('.d.ts')),
    );
    expect(unwanted).toEqual([]);
  });

  it('installs with production dependencies only: no TypeScript, tsx or test tools', () => {
    // `@types/*` may come in with a production dependency; they are type declarations, never run.
    const devTools = Object.keys(pkg.devDependencies).filter((name) => !name.startsWith('@types/'));
    expect(devTools.filter((name) => existsSync(join(app, 'node_modules', name)))).toEqual([]);
    expect(existsSync(join(app, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'))).toBe(true);
  });

  it("exports the typed client: `import { createAgentryClient } from 'agentry/client'` works in the installed package", async () => {
    const script = [
      "import { createAgentryClient, SUPPORTED_SERVER_RANGE, AgentryApiError } from 'agentry/client';",
      "const client = createAgentryClient({ url: 'http://127.0.0.1:1', retries: 0 });",
      'console.log(JSON.stringify({ range: SUPPORTED_SERVER_RANGE, runs: typeof client.runs.list, error: typeof AgentryApiError }));',
    ].join('\n');
    const result = await exec(process.execPath, ['--input-type=module', '-e', script], { cwd: app });
    expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(JSON.parse(result.stdout)).toEqual({ range: expect.stringMatching(/^>=/), runs: 'function', error: 'function' });
  });

  it('npx agentry --version prints the package version', async () => {
    const result = await exec('npx', ['--no-install', 'agentry', '--version'], { cwd: app });
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout.trim()).toBe(pkg.version);
  });

  it('npx agentry init writes a project that agentry validate accepts', async () => {
    const init = await exec('npx', ['--no-install', 'agentry', 'init', 'p'], { cwd: app });
    expect(init.stderr).toBe('');
    expect(init).toMatchObject({ code: 0 });
    for (const file of ['agentry.yaml', 'gateway.yaml', 'workflows/hello.yaml', 'package.json']) expect(existsSync(join(app, 'p', file))).toBe(true);

    const validate = await exec(agentryBin, ['validate', 'p'], { cwd: app });
    expect(validate).toMatchObject({ code: 0 });
    expect(validate.stdout).toMatch(/is valid \(2 workflows: hello, welcome\)/);

    const broken = await exec(agentryBin, ['validate', 'no-such-project'], { cwd: app });
    expect(broken.code).not.toBe(0);
  });

  it('agentry demo --once serves the example, runs the welcome workflow to success and exits 0', async () => {
    const result = await exec(agentryBin, ['demo', '--once'], { cwd: app, env: { AGENTRY_PORT: '0', NO_COLOR: '1' }, timeoutMs: 120_000 });
    expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(result.stdout).toMatch(/run\.succeeded/);
    expect(result.stdout).toMatch(/✓ Run run_\w+ succeeded/);
  });
});
