/**
 * `agentry keys` on a project's SQLite store, as a spawned CLI: create prints the secret alone
 * on stdout and the warning on stderr, list shows keys without secrets, rotate and revoke act by
 * name, bad input exits 2 with a clear message and changes nothing, and no secret reaches the store.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ApiKeyPageDto, IssuedKeyDto } from '../../src/app/dto/keys.js';
import { killAll, runCli, runCliInProcess, tempDir } from '../helpers/cli.js';
import { SECRET_SHAPE } from '../helpers/keys.js';
import { writeProject } from '../helpers/pg-processes.js';

let dir: string;
let project: string;
const issued: string[] = [];

beforeAll(() => {
  dir = tempDir();
  project = writeProject(dir, []);
});
afterEach(async () => {
  await killAll();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const storeFile = () => join(project, '.agentry', 'agentry.db');
const keys = (...args: string[]) => runCli(['keys', ...args, '--dir', project], { env: { USER: 'ops' } });
/** The same in this process: for what a command prints, where no process boundary is under test (faster). */
const keysHere = (...args: string[]) => runCliInProcess(['keys', ...args, '--dir', project], { env: { USER: 'ops' } });

async function listed(...args: string[]): Promise<ApiKeyPageDto> {
  const res = await keysHere('list', '--json', ...args);
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as ApiKeyPageDto;
}

describe('agentry keys on the local store', { timeout: 90_000 }, () => {
  it('lists no keys before there is a store, without creating one', async () => {
    const res = await keys('list');
    expect(res).toMatchObject({ code: 0, stdout: 'No keys.\n' });
    const missing = await keys('revoke', 'ci');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/key ci not found: there is no store at .* yet/);
    expect(existsSync(storeFile())).toBe(false);
  });

  it('creates a key, printing the secret alone on stdout and the warning on stderr', async () => {
    const res = await keys('create', '--name', 'ci', '--tenant', 'acme', '--role', 'service', '--role', 'role:deploy', '--expires', '90d');
    expect(res.code, res.stderr).toBe(0);
    const secret = res.stdout.trim();
    issued.push(secret);
    expect(secret).toMatch(SECRET_SHAPE);
    expect(res.stdout).toBe(`${secret}\n`);
    expect(res.stderr).toMatch(/^Created key ci \(key_[0-9a-z]{26}\) of tenant acme: roles service, role:deploy; expires \d{4}-/);
    expect(res.stderr).toContain('WARNING: This key is shown only this once: store it now.');

    const json = await keys('create', '--name', 'bot', '--role', 'viewer', '--json');
    const bot = JSON.parse(json.stdout) as IssuedKeyDto;
    issued.push(bot.secret);
    expect(bot.key).toMatchObject({ name: 'bot', tenant_id: 'default', roles: ['viewer'], created_by: 'ops', expires_at: null, status: 'active' });

    const table = await keysHere('list', '--tenant', 'acme');
    expect(table.stdout).toMatch(/^ID\s+TENANT\s+NAME\s+ROLES\s+STATUS\s+CREATED\s+EXPIRES\s+LAST USED\n/);
    expect(table.stdout).toMatch(/key_\S+\s+acme\s+ci\s+service,role:deploy\s+active/);
    expect(table.stdout).not.toContain('bot');
    const all = await listed();
    expect(all.items.map((k) => k.name)).toEqual(['bot', 'ci']);
    expect(JSON.stringify(all)).not.toContain(secret.slice(-43));
  });

  it('rotates a key by name: a new secret, the old key in its grace; revoke by name ends both', async () => {
    const res = await keys('rotate', 'ci', '--tenant', 'acme', '--grace', '1h');
    expect(res.code, res.stderr).toBe(0);
    const next = res.stdout.trim();
    issued.push(next);
    expect(next).toMatch(SECRET_SHAPE);
    expect(next).not.toBe(issued[0]);
    expect(res.stderr).toMatch(/^Rotated key ci \(key_\S+\) of tenant acme: roles service, role:deploy; expires /);
    expect(res.stderr).toMatch(/The replaced key key_\S+ keeps working until \S+: move its clients/);
    expect((await listed('--name', 'ci')).items.map((k) => k.status)).toEqual(['active', 'grace']);

    const revoked = await keys('revoke', 'ci', '--tenant', 'acme');
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout.trim().split('\n')).toHaveLength(2);
    expect((await listed('--name', 'ci')).items.map((k) => k.status)).toEqual(['revoked', 'revoked']);
  });

  it('exits 2 with a clear message for bad input, and changes nothing', async () => {
    const before = await listed();
    const cases: Array<[string[], RegExp]> = [
      [['create', '--name', 'bad name', '--role', 'viewer'], /key name 'bad name' is not valid/],
      [['create', '--name', 'x', '--role', 'wizard'], /'wizard' is neither a role/],
      [['create', '--name', 'x', '--role', 'viewer', '--expires', 'soon'], /expires: invalid duration 'soon'/],
      [['create', '--name', 'bot', '--role', 'viewer'], /tenant default already has a key named 'bot'/],
      [['create', '--name', 'x'], /required option '--role <role>' not specified/],
      [['rotate', 'bot', '--grace', '99d'], /grace must be at most 30d/],
      [['rotate', 'ci', '--tenant', 'acme'], /tenant acme has no key named 'ci' that is not revoked/],
      [['revoke', 'key_00000000000000000000000000'], /key key_00000000000000000000000000 not found/],
    ];
    for (const [args, message] of cases) {
      const res = await keysHere(...args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr, args.join(' ')).toMatch(message);
      expect(res.stdout).toBe('');
    }
    expect(await listed()).toEqual(before);
  });

  it('keeps only hashes: no secret it printed is in the store', () => {
    const db = storeFile();
    const text = [db, `${db}-wal`]
      .filter((f) => existsSync(f))
      .map((f) => readFileSync(f).toString('latin1'))
      .join('');
    expect(text).toContain('api_keys');
    expect(issued).toHaveLength(3);
    for (const secret of issued) expect(text).not.toContain(secret.slice(-43));
  });
});
