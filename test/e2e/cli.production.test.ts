/** `AGENTRY_ENV=production`: the real `agentry serve` process refuses an unsafe configuration, and starts with a clean one. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, removeDir, runCli, startCli, tempDir, waitForOutput } from '../helpers/cli.js';

const KEY = '4c1f9a7e2b8d6035af4e1c9b7d2a8f6e3b5c0d9e7f1a2b4c';
const dirs: string[] = [];

function project(files: Record<string, string>): string {
  const dir = tempDir('agentry-production-');
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

afterEach(async () => {
  await killAll();
  for (const dir of dirs.splice(0)) removeDir(dir);
});

describe('agentry serve in production mode', () => {
  it('exits 2 naming every problem, one line each', async () => {
    const dir = project({
      'agentry.yaml': 'version: v1\nenv:\n  OPENAI_API_KEY: { secret: true, default: "sk-proj-abcdefghijklmnopqrstuvwx" }\n',
    });
    const result = await runCli(['serve', dir, '--env', 'production'], {
      env: { AGENTRY_AUTH: 'off', AGENTRY_DATABASE_URL: 'sqlite::memory:', AGENTRY_PORT: '0' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unsafe_configuration');
    expect(result.stderr).toContain('refusing to start in production mode (4 problems)');
    expect(result.stderr).toMatch(/\n\s+- auth is off/);
    expect(result.stderr).toMatch(/\n\s+- agentry\.yaml:3: an OpenAI-style key is written literally/);
    expect(result.stderr).toMatch(/\n\s+- the store is in-memory SQLite/);
    expect(result.stderr).toMatch(/\n\s+- egress has no policy/);
    expect(result.stderr).not.toContain('sk-proj-abc');
  });

  it('starts with a clean production configuration (API keys from a file)', async () => {
    const dir = project({ 'agentry.yaml': 'version: v1\negress: { allow: ["api.example.com"] }\n', keys: `ops:${KEY}:admin\n` });
    const proc = startCli(['serve', dir], {
      env: { AGENTRY_ENV: 'production', AGENTRY_API_KEYS_FILE: join(dir, 'keys'), AGENTRY_DATABASE_URL: `sqlite:${join(dir, 'a.db')}`, AGENTRY_PORT: '0' },
    });
    await waitForOutput(proc, (_stderr, stdout) => stdout.includes('listening on'));
    const url = /listening on (\S+)/.exec(proc.stdout)?.[1] ?? '';
    expect((await fetch(`${url}/v1/runs`)).status).toBe(401);
    expect((await fetch(`${url}/v1/runs`, { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(200);
    proc.child.kill('SIGTERM');
    expect((await proc.done).code).toBe(0);
  }, 30_000);
});
