/**
 * `agentry demo --once`: serves the example project in-process, runs `welcome` through the
 * HTTP API with progress from the event stream, prints where to look, and exits with the
 * run's outcome.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, removeDir, runCli, tempDir } from '../helpers/cli.js';

const dataDir = tempDir();

afterAll(async () => {
  await killAll();
  removeDir(dataDir);
});

describe('agentry demo --once', () => {
  it('runs welcome through the API, prints the docs URL and a working export line, and exits 0', async () => {
    const result = await runCli(['demo', '--once', '--name', 'Grace Hopper'], {
      env: { AGENTRY_PORT: '0', AGENTRY_DATABASE_URL: `sqlite:${dataDir}/demo.db` },
    });
    expect(result.code, result.stderr).toBe(0);
    const url = /server {4}(http:\/\/127\.0\.0\.1:\d+)/.exec(result.stdout)?.[1];
    expect(url, result.stdout).toBeDefined();
    expect(result.stdout).toMatch(/← 201 run_\w+ queued/);
    // Progress came from the SSE stream, one line per event (stdout is not a terminal).
    expect(result.stdout).toMatch(/step\.retry_scheduled\s+profile/);
    expect(result.stdout).toMatch(/✓ Run run_\w+ succeeded/);
    expect(result.stdout).toContain('Welcome, Grace!');
    expect(result.stdout).toContain(`API docs  ${url}/docs`);
    expect(result.stdout).toContain(`${url}/openapi.json`);
    expect(result.stdout).toMatch(new RegExp(`export AGENTRY_URL=${url} AGENTRY_API_KEY=agd_[\\w-]{32}\\n`));
    expect(result.stdout).toContain(`curl -sS -X POST '${url}/v1/workflows/welcome/runs?wait=30s'`);
    expect(result.stdout).toMatch(/agentry runs events run_\w+/);
    expect(result.stdout).not.toContain('Ctrl-C');
  }, 60_000);
});
