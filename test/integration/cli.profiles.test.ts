/**
 * CLI profiles against a real API on loopback: `agentry login` checks the key and stores the
 * profile (mode 0600; with --key-env only the variable's name), remote commands then hit that
 * server (the current profile, --profile, AGENTRY_PROFILE_NAME), `profiles list|use|remove`,
 * and an older-schema file is upgraded in place with a backup kept; a newer one is refused.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetch } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listen, KEYS, startTestApi, type TestApi } from '../helpers/server.js';
import { removeDir, runCliInProcess, tempDir } from '../helpers/cli.js';

let api: TestApi;
let base: string;
let home: string;
let file: string;

beforeAll(async () => {
  api = await startTestApi({ start: false });
  base = await listen(api.app);
  // Remote commands run in this process use undici's global pool: its kept-alive connection to
  // the server is opened here, before the leak guard's baseline, as a process's first command would.
  await (await fetch(`${base}/livez`)).text();
});
afterAll(async () => {
  await api.close();
});
beforeEach(() => {
  home = tempDir('agentry-profiles-');
  file = join(home, 'agentry', 'profiles.json');
});
afterEach(() => removeDir(home));

function cli(args: string[], env: Record<string, string> = {}) {
  return runCliInProcess(args, { cwd: home, concurrent: true, env: { XDG_CONFIG_HOME: home, ...env } });
}

async function startedRun(): Promise<string> {
  const res = await api.app.inject({ method: 'POST', url: '/v1/workflows/nap/runs', headers: api.auth('operator'), payload: {} });
  return res.json<{ id: string }>().id;
}

describe('agentry login and profiles', () => {
  it('stores a checked profile with mode 0600, and runs list then hits that server', async () => {
    const login = await cli(['login', '--profile', 'prod', '--url', base, '--key', KEYS.operator]);
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);
    expect(login.stdout).toContain('Saved profile prod');
    expect(login.stdout).toContain('as operator (operator), now current');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ version: 2, current: 'prod', profiles: { prod: { url: base, key: KEYS.operator } } });

    const id = await startedRun();
    const listed = await cli(['runs', 'list', '--json']);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).items.map((r: { id: string }) => r.id)).toContain(id);
  });

  it('--key-env stores the variable name only; --profile and AGENTRY_PROFILE_NAME pick a profile over AGENTRY_URL', async () => {
    expect((await cli(['login', '--profile', 'prod', '--url', base, '--key', KEYS.operator])).code).toBe(0);
    const staging = await cli(['login', '--profile', 'staging', '--url', base, '--key-env', 'STAGING_KEY', '--no-use'], { STAGING_KEY: KEYS.viewer });
    expect(staging.code).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(KEYS.viewer);
    expect(JSON.parse(text).profiles.staging).toEqual({ url: base, key_env: 'STAGING_KEY' });

    const list = await cli(['profiles', 'list', '--json']);
    expect(JSON.parse(list.stdout)).toMatchObject({
      current: 'prod',
      items: [
        { name: 'prod', url: base, key: 'stored', current: true },
        { name: 'staging', url: base, key: 'env:STAGING_KEY', current: false },
      ],
    });
    expect(list.stdout).not.toContain(KEYS.operator);

    // A viewer (staging's key) may not cancel; the operator (prod's) may. AGENTRY_URL points nowhere: the profile wins.
    const unreachable = { AGENTRY_URL: 'http://127.0.0.1:9', STAGING_KEY: KEYS.viewer };
    const denied = await cli(['runs', 'cancel', await startedRun(), '--profile', 'staging'], unreachable);
    expect(denied.stderr).toContain('forbidden');
    const byEnv = await cli(['runs', 'cancel', await startedRun()], { ...unreachable, AGENTRY_PROFILE_NAME: 'prod' });
    expect(byEnv.code).toBe(0);
    // Without a named profile AGENTRY_URL wins over the current one.
    const explicit = await cli(['runs', 'list'], { AGENTRY_URL: 'http://127.0.0.1:9' });
    expect(explicit.code).not.toBe(0);

    const missingVar = await cli(['runs', 'list', '--profile', 'staging']);
    expect(missingVar.code).toBe(2);
    expect(missingVar.stderr).toContain('STAGING_KEY, which is not set');
  });

  it('a key the server refuses is not stored', async () => {
    const bad = await cli(['login', '--profile', 'prod', '--url', base, '--key', 'wrong-key-0123456789abcdef']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('unauthorized');
    expect(existsSync(file)).toBe(false);
  });

  it('profiles use and remove; an unknown profile is not_found listing the known ones', async () => {
    await cli(['login', '--profile', 'a', '--url', base, '--key', KEYS.viewer, '--no-verify']);
    await cli(['login', '--profile', 'b', '--url', base, '--key', KEYS.viewer, '--no-verify', '--no-use']);
    expect((await cli(['profiles', 'use', 'b'])).code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8')).current).toBe('b');
    expect((await cli(['profiles', 'remove', 'b'])).code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ current: null, profiles: { a: {} } });
    const unknown = await cli(['profiles', 'use', 'zzz']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no profile 'zzz'");
    expect(unknown.stderr).toContain('profiles: a');
  });

  it('upgrades a version 1 file in place on first use, keeping the original as a backup', async () => {
    mkdirSync(join(home, 'agentry'), { recursive: true });
    const v1 = JSON.stringify({ default: 'old', profiles: { old: { base_url: base, api_key: KEYS.operator } } });
    writeFileSync(file, v1, { mode: 0o600 });
    const id = await startedRun();
    const listed = await cli(['runs', 'list', '--json']);
    expect(listed.code).toBe(0);
    expect(listed.stderr).toContain('upgraded');
    expect(JSON.parse(listed.stdout).items.map((r: { id: string }) => r.id)).toContain(id);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ version: 2, current: 'old', profiles: { old: { url: base, key: KEYS.operator } } });
    expect(readFileSync(`${file}.v1.bak`, 'utf8')).toBe(v1);
    expect(statSync(`${file}.v1.bak`).mode & 0o777).toBe(0o600);
  });

  it('refuses a file of a newer version without touching it', async () => {
    mkdirSync(join(home, 'agentry'), { recursive: true });
    const newer = JSON.stringify({ version: 9, profiles: {} });
    writeFileSync(file, newer);
    const result = await cli(['profiles', 'list']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('written by a newer agentry');
    expect(readFileSync(file, 'utf8')).toBe(newer);
  });
});
