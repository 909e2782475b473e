/**
 * The plugin lock in backups (PLG-08): `agentry backup` holds the project's
 * `agentry-plugins.lock` with its SHA-256 (a changed lock in the file is refused by `verify`),
 * and `agentry restore` writes it back into the project — a different lock there is kept beside
 * it, the same one left alone — after which `agentry plugins install` reinstalls its plugins
 * from the registry, integrity checked.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { REPO, removeDir, runCliInProcess, tempDir } from '../helpers/cli.js';
import { startRegistryStub, type RegistryStub } from '../helpers/npm-registry.js';

const PKG = 'agentry-plugin-weather';

let registry: RegistryStub;
let project: string;
let env: Record<string, string>;

const cli = (...args: string[]) => runCliInProcess(args, { env, cwd: project });
const lockFile = () => join(project, 'agentry-plugins.lock');
const installed = () => join(project, '.agentry/plugins/node_modules', PKG, 'index.js');

beforeAll(async () => {
  registry = await startRegistryStub();
  await registry.publish(PKG, '1.0.0', join(REPO, 'examples/plugins/weather'));
  project = tempDir('agentry-backup-plugins-');
  const store = openSqliteStore(join(project, 'source.db'));
  await store.migrate();
  await store.close();
  env = { AGENTRY_DATABASE_URL: `sqlite:${join(project, 'source.db')}` };
});
afterAll(async () => {
  await registry.close();
  removeDir(project);
});

describe('the plugin lock in backups', () => {
  it('is backed up with its hash, checked by verify, restored into the project, and its plugins reinstalled from it', async () => {
    const install = await cli('plugins', 'install', `${PKG}@1.0.0`, '--registry', registry.url, '--accept-permissions', '--dir', project);
    expect(install.code, install.stderr).toBe(0);
    const lockText = readFileSync(lockFile(), 'utf8');

    const out = join(project, 'with-lock.backup');
    const backup = await cli('backup', '--out', out, '--dir', project, '--quiet', '--json');
    expect(backup.code, backup.stderr).toBe(0);
    const summary = JSON.parse(backup.stdout) as { plugins_lock: { sha256: string; plugins: string[] } | null };
    expect(summary.plugins_lock).toEqual({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), plugins: ['weather'] });
    const verified = await cli('backup', 'verify', out, '--quiet', '--json');
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, plugins_lock: summary.plugins_lock });

    // A lock changed in the file: verify and restore refuse it, nothing is written.
    const [headerLine, ...rest] = readFileSync(out, 'latin1').split('\n');
    const header = JSON.parse(headerLine!) as { plugins_lock: { text: string } };
    header.plugins_lock.text = header.plugins_lock.text.replace('"1.0.0"', '"6.6.6"');
    const tampered = join(project, 'tampered.backup');
    writeFileSync(tampered, [JSON.stringify(header), ...rest].join('\n'), 'latin1');
    const refused = await cli('backup', 'verify', tampered, '--quiet');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('agentry-plugins.lock does not match its SHA-256');

    // The project loses its lock and plugins.
    rmSync(lockFile());
    rmSync(join(project, '.agentry'), { recursive: true, force: true });
    const refusedRestore = await cli('restore', tampered, '--to', `sqlite:${join(project, 'tampered.db')}`, '--dir', project, '--quiet');
    expect(refusedRestore.code).toBe(1);
    expect(existsSync(lockFile())).toBe(false);

    const restored = await cli('restore', out, '--to', `sqlite:${join(project, 'restored.db')}`, '--dir', project, '--quiet');
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`Restored ${lockFile()}: 1 plugin (weather); run \`agentry plugins install\``);
    expect(readFileSync(lockFile(), 'utf8')).toBe(lockText);
    const listed = JSON.parse((await cli('plugins', 'list', '--json', '--dir', project)).stdout) as { items: Array<{ name: string; state: string }> };
    expect(listed.items).toEqual([expect.objectContaining({ name: 'weather', state: expect.stringContaining('not installed') })]);

    const reinstall = await cli('plugins', 'install', '--dir', project);
    expect(reinstall.stdout).toContain('Reinstalled from the lock (integrity checked): weather');
    expect(existsSync(installed())).toBe(true);
    const ok = JSON.parse((await cli('plugins', 'list', '--json', '--dir', project)).stdout) as { items: Array<{ state: string }> };
    expect(ok.items).toEqual([expect.objectContaining({ state: 'ok' })]);

    // Restored again: the same lock is left alone; another one is kept beside it.
    const same = await cli('restore', out, '--to', `sqlite:${join(project, 'restored.db')}`, '--dir', project, '--force', '--quiet', '--json');
    expect(JSON.parse(same.stdout)).toMatchObject({ plugins_lock: { file: lockFile(), plugins: ['weather'], written: false } });
    const other = `${JSON.stringify({ lockfileVersion: 1, plugins: {} }, null, 2)}\n`;
    writeFileSync(lockFile(), other);
    const replaced = await cli('restore', out, '--to', `sqlite:${join(project, 'restored.db')}`, '--dir', project, '--force', '--quiet', '--json');
    const result = JSON.parse(replaced.stdout) as { plugins_lock: { written: boolean; previous: string } };
    expect(result.plugins_lock.written).toBe(true);
    expect(readFileSync(result.plugins_lock.previous, 'utf8')).toBe(other);
    expect(readFileSync(lockFile(), 'utf8')).toBe(lockText);

    // Run outside a project without --dir: the lock is written nowhere, and the summary says how.
    const elsewhere = tempDir('agentry-backup-elsewhere-');
    try {
      const away = await runCliInProcess(['restore', out, '--to', `sqlite:${join(elsewhere, 'r.db')}`, '--quiet'], { env, cwd: elsewhere });
      expect(away.code, away.stderr).toBe(0);
      expect(away.stdout).toContain('The backup holds an agentry-plugins.lock: pass --dir <project>');
      expect(existsSync(join(elsewhere, 'agentry-plugins.lock'))).toBe(false);
    } finally {
      removeDir(elsewhere);
    }
  });

  it('a backup of a project without a lock holds none, and its restore leaves the project’s lock alone', async () => {
    const bare = tempDir('agentry-backup-bare-');
    try {
      const out = join(bare, 'bare.backup');
      const backup = await runCliInProcess(['backup', '--out', out, '--dir', bare, '--quiet', '--json'], { env, cwd: bare });
      expect(backup.code, backup.stderr).toBe(0);
      expect((JSON.parse(backup.stdout) as { plugins_lock: unknown }).plugins_lock).toBeNull();
      const before = readFileSync(lockFile(), 'utf8');
      const restored = await cli('restore', out, '--to', `sqlite:${join(bare, 'r.db')}`, '--dir', project, '--quiet', '--json');
      expect(restored.code, restored.stderr).toBe(0);
      expect((JSON.parse(restored.stdout) as { plugins_lock: unknown }).plugins_lock).toBeNull();
      expect(readFileSync(lockFile(), 'utf8')).toBe(before);
    } finally {
      removeDir(bare);
    }
  });
});
