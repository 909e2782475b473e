/**
 * The incident drill scripts of INC-15 (`scripts/drills/`), run as an operator runs them, with the
 * built CLI (`AGENTRY="node dist/cli/main.js"`):
 *
 * - `leaked-key.sh`: a managed key created and used, rotated with `--grace 0s` as
 *   docs/operations/runbooks/leaked-api-key.md says; the old key gets 401, the new one 200, and
 *   `agentry audit list` shows the old key's run, the rotation and its refused sign-in.
 * - `rogue-tool-server.sh`: a stdio MCP server that hangs (`tool_timeout`) and crashes
 *   (`tool_unavailable`, restart budget used up); disabled as docs/operations/runbooks/tool-server.md
 *   says, its calls fail `tool_disabled` and `agentry tools list` shows it; fixed and enabled, the
 *   retried runs succeed.
 *
 * Each script's checks are also shown to fail: an `agentry` wrapper reproduces an operator's
 * mistake (a rotation with the default 24 h grace; a disable sent to no process), and the script
 * must then exit 1 naming the check.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY, REPO, removeDir, tempDir } from '../helpers/cli.js';

/**
 * `node wrapper.mjs <cli entry> <mistake> <agentry args…>`: runs the CLI, except that with mistake
 * `default-grace` `keys rotate` loses its `--grace 0s`, and with `lost-disable` `tools disable` does
 * nothing. Signals are passed on, so the scripts' cleanup stops the server behind it.
 */
const WRAPPER = `import { spawn } from 'node:child_process';
const [entry, mistake, ...args] = process.argv.slice(2);
let argv = args;
if (mistake === 'default-grace' && args[0] === 'keys' && args[1] === 'rotate') argv = args.filter((a, i) => a !== '--grace' && args[i - 1] !== '--grace');
if (mistake === 'lost-disable' && args[0] === 'tools' && args[1] === 'disable') process.exit(0);
const child = spawn(process.execPath, [entry, ...argv], { stdio: 'inherit' });
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
child.on('exit', (code) => process.exit(code ?? 1));
`;

let dir: string;
let wrapper: string;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function drill(script: string, mistake?: 'default-grace' | 'lost-disable'): Promise<Outcome> {
  const agentry = mistake === undefined ? `${process.execPath} ${CLI_ENTRY}` : `${process.execPath} ${wrapper} ${CLI_ENTRY} ${mistake}`;
  try {
    const { stdout, stderr } = await promisify(execFile)(join(REPO, 'scripts/drills', script), [], {
      cwd: REPO,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, AGENTRY: agentry, NO_COLOR: '1' },
      timeout: 170_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? String(error) };
  }
}

/** The four runs, side by side (each its own server, port and temporary directory). */
let outcomes: Record<'leaked' | 'leakedGrace' | 'rogue' | 'rogueLostDisable', Outcome>;

beforeAll(async () => {
  dir = tempDir('agentry-drill-scripts-');
  wrapper = join(dir, 'agentry-wrapper.mjs');
  writeFileSync(wrapper, WRAPPER);
  const [leaked, leakedGrace, rogue, rogueLostDisable] = await Promise.all([
    drill('leaked-key.sh'),
    drill('leaked-key.sh', 'default-grace'),
    drill('rogue-tool-server.sh'),
    drill('rogue-tool-server.sh', 'lost-disable'),
  ]);
  outcomes = { leaked, leakedGrace, rogue, rogueLostDisable };
}, 180_000);

afterAll(() => removeDir(dir));

describe('incident drill scripts', () => {
  it('leaked-key.sh: the rotated key gets 401, the new one 200, and the audit log shows its use and the rotation', () => {
    const { code, stdout, stderr } = outcomes.leaked;
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^PASS {2}the key was used: it started run run_\w+ and listed runs$/m);
    expect(stdout).toContain('PASS  agentry keys rotate drill-bot --grace 0s issued a new key');
    expect(stdout).toContain('PASS  the leaked key gets 401');
    expect(stdout).toContain('PASS  the new key gets 200');
    expect(stdout).toMatch(/^PASS {2}agentry audit list shows the leaked key's use \(run\.start of run_\w+\)$/m);
    expect(stdout).toContain('PASS  agentry audit list shows the rotation (key.rotate by admin)');
    expect(stdout).toContain("PASS  agentry audit list shows the old key's refused sign-in");
    expect(stdout.trim().endsWith('drill passed')).toBe(true);
  });

  it('leaked-key.sh fails when the rotation leaves the old key working (the default 24 h grace)', () => {
    const { code, stdout, stderr } = outcomes.leakedGrace;
    expect(code).toBe(1);
    expect(stderr).toContain('FAIL  the leaked key should get 401 after the rotation, it gets 200');
    expect(stdout).not.toContain('drill passed');
  });

  it('rogue-tool-server.sh: hung and crashing calls fail, disable makes them fail tool_disabled, enable and retry succeed', () => {
    const { code, stdout, stderr } = outcomes.rogue;
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^PASS {2}a call that hangs fails tool_timeout \(run run_\w+\)$/m);
    expect(stdout).toContain('PASS  calls that crash the server fail tool_unavailable until its restart budget is used up');
    expect(stdout).toMatch(/^PASS {2}agentry tools disable rogue: calls fail fast with tool_disabled, not retried \(run run_\w+\)$/m);
    expect(stdout).toContain('PASS  agentry tools list shows rogue disabled');
    expect(stdout).toContain('PASS  the API stays up');
    expect(stdout).toContain('PASS  fixed and enabled (agentry tools enable rogue): the 2 retried runs succeed');
    expect(stdout).toContain('PASS  the tool server is connected again');
    expect(stdout.trim().endsWith('drill passed')).toBe(true);
  });

  it('rogue-tool-server.sh fails when the disable does not reach the process', () => {
    const { code, stdout, stderr } = outcomes.rogueLostDisable;
    expect(code).toBe(1);
    expect(stderr).toMatch(/FAIL {2}after disable, calls should fail tool_disabled at once .*: failed tool_unavailable /);
    expect(stdout).not.toContain('drill passed');
  });
});
