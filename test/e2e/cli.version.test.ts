/**
 * The `agentry` binary (bin/agentry.js): on a Node.js older than package.json's `engines.node`
 * it says so and exits 1 before loading anything else; `agentry --version` prints the package
 * version, the same one a running server reports on `/healthz`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- plain JavaScript without types: it must run on any Node.js that runs ESM.
import { minimumNode, nodeVersionProblem } from '../../bin/check-node.js';
import { exampleProject, killAll, REPO, removeDir, startCli, waitForOutput } from '../helpers/cli.js';

const check = nodeVersionProblem as (version: string, minimum?: number[]) => string | undefined;
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string; engines: { node: string } };
const BIN = join(REPO, 'bin/agentry.js');
const KEYS = 'ops:version-test-key-0123456789abcdef:admin';

/** Runs the real binary with `process.version` made to read `version` before it starts. */
function binaryOn(version: string | undefined, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const fake = version === undefined ? [] : ['--import', `data:text/javascript,Object.defineProperty(process,"version",{value:"${version}"})`];
  const result = spawnSync(process.execPath, [...fake, BIN, ...args], { cwd: REPO, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the Node.js version check', () => {
  it('takes its minimum from package.json engines.node', () => {
    expect(pkg.engines.node).toBe('>=20.19');
    expect(minimumNode()).toEqual([20, 19, 0]);
  });

  it.each([
    ['v20.19.0', true],
    ['v20.19.5', true],
    ['v20.20.2', true],
    ['v22.0.0', true],
    ['v24.11.1', true],
    ['v20.18.3', false],
    ['v20.0.0', false],
    ['v18.20.8', false],
    ['v16.20.2', false],
  ])('%s is %s', (version, accepted) => {
    const problem = check(version);
    if (accepted) expect(problem).toBeUndefined();
    else expect(problem).toMatch(new RegExp(`^agentry needs Node\\.js 20\\.19 or newer; this is ${version.replace(/\./g, '\\.')}\\.`));
  });

  it('names a patch level when the minimum has one', () => {
    expect(check('v20.19.0', [20, 19, 2])).toContain('needs Node.js 20.19.2 or newer');
    expect(check('v20.19.2', [20, 19, 2])).toBeUndefined();
  });

  it('stops the real binary on an older Node with the message and exit code 1, before the CLI loads', () => {
    const result = binaryOn('v20.18.1', ['--version']);
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      'agentry needs Node.js 20.19 or newer; this is v20.18.1. Install a current Node.js (https://nodejs.org) and run it again.',
    );
    expect(result.stdout).toBe('');
  });
});

describe('agentry --version', () => {
  const project = exampleProject();
  afterAll(async () => {
    await killAll();
    removeDir(project);
  });

  it('prints the package version, the same one /healthz reports', async () => {
    const printed = binaryOn(undefined, ['--version']);
    expect(printed.status).toBe(0);
    expect(printed.stdout.trim()).toBe(pkg.version);
    expect(printed.stdout.trim()).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);

    const server = startCli(['serve', project, '--port', '0'], { env: { AGENTRY_API_KEYS: KEYS } });
    await waitForOutput(server, (_stderr, stdout) => /listening on http:\/\/\S+/.test(stdout));
    const url = /listening on (http:\/\/\S+)/.exec(server.stdout)![1]!;
    const health = (await (await fetch(`${url}/healthz`)).json()) as { version: string };
    expect(health.version).toBe(printed.stdout.trim());
    server.child.kill('SIGTERM');
    expect((await server.done).code).toBe(0);
  });
});
