/**
 * `agentry plugins` against a registry stub on loopback: inspect shows the permissions, install
 * needs them accepted and records the exact version with its integrity in agentry-plugins.lock,
 * list reads the lock (deleted → empty), install without a package brings a restored lock's
 * plugins back (integrity checked), update shows old → new and the changelog, uninstall and
 * link; failures (unreachable registry, unknown package or version, integrity mismatch, corrupt
 * lock) are diagnosable and leave the lock unchanged.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO, removeDir, runCliInProcess, tempDir } from '../helpers/cli.js';
import { startRegistryStub, type RegistryStub } from '../helpers/npm-registry.js';

const EXAMPLE = join(REPO, 'examples/plugins/weather');
const PKG = 'agentry-plugin-weather';

/** A copy of the example plugin at `version`. */
function exampleAt(version: string): string {
  const dir = tempDir('agentry-plugin-src-');
  cpSync(EXAMPLE, dir, { recursive: true });
  for (const file of ['package.json', 'agentry-plugin.json']) {
    const json = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
    json['version'] = version;
    writeFileSync(join(dir, file), JSON.stringify(json, null, 2));
  }
  return dir;
}

let registry: RegistryStub;
const dirs: string[] = [];
let project: string;

beforeAll(async () => {
  registry = await startRegistryStub();
  for (const version of ['1.0.0', '1.1.0']) {
    const dir = exampleAt(version);
    dirs.push(dir);
    await registry.publish(PKG, version, dir);
  }
});
afterAll(async () => {
  await registry.close();
  for (const dir of dirs) removeDir(dir);
});

function cli(...args: string[]) {
  return runCliInProcess(['plugins', ...args, '--dir', project], { cwd: project });
}
const lockFile = () => join(project, 'agentry-plugins.lock');
const readLockJson = () => JSON.parse(readFileSync(lockFile(), 'utf8')) as { plugins: Record<string, Record<string, unknown>> };

describe('agentry plugins', () => {
  afterEach(() => removeDir(project));

  it('inspects, installs with accepted permissions, lists, restores from the lock, updates and uninstalls', async () => {
    project = tempDir();
    const inspect = await cli('inspect', `${PKG}@1.0.0`, '--registry', registry.url);
    expect(inspect.stderr).toBe('');
    expect(inspect.stdout).toContain('network hosts: api.weather.example');
    expect(inspect.stdout).toContain('env vars: WEATHER_API_KEY');
    expect(existsSync(lockFile())).toBe(false);

    const refused = await cli('install', `${PKG}@1.0.0`, '--registry', registry.url);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--accept-permissions');
    expect(existsSync(lockFile())).toBe(false);

    const installed = await cli('install', `${PKG}@1.0.0`, '--registry', registry.url, '--accept-permissions');
    expect(installed.stderr).toBe('');
    expect(installed.code).toBe(0);
    const entry = readLockJson().plugins['weather']!;
    expect(entry).toMatchObject({
      package: PKG,
      version: '1.0.0',
      source: 'registry',
      mode: 'process',
      permissions: { network: { hosts: ['api.weather.example'] }, env: ['WEATHER_API_KEY'] },
    });
    expect(entry['integrity']).toMatch(/^sha512-/);
    expect(existsSync(join(project, '.agentry/plugins/node_modules', PKG, 'index.js'))).toBe(true);

    const list = await cli('list', '--json');
    expect((JSON.parse(list.stdout) as { items: unknown[] }).items).toEqual([expect.objectContaining({ name: 'weather', version: '1.0.0', state: 'ok' })]);

    // The lock is the source of truth: deleted → no plugins; restored → reinstalled from it.
    const saved = readFileSync(lockFile(), 'utf8');
    rmSync(lockFile());
    rmSync(join(project, '.agentry'), { recursive: true });
    expect((JSON.parse((await cli('list', '--json')).stdout) as { items: unknown[] }).items).toEqual([]);
    writeFileSync(lockFile(), saved);
    const missing = await cli('list', '--json');
    expect((JSON.parse(missing.stdout) as { items: Array<{ state: string }> }).items[0]!.state).toContain('not installed');
    const restored = await cli('install');
    expect(restored.stdout).toContain('Reinstalled from the lock (integrity checked): weather');
    expect(existsSync(join(project, '.agentry/plugins/node_modules', PKG, 'index.js'))).toBe(true);

    const noAnswer = await cli('update', 'weather', '--registry', registry.url);
    expect(noAnswer.stdout).toContain(`weather: ${PKG} 1.0.0 → 1.1.0`);
    expect(noAnswer.stdout).toContain('changelog: https://');
    expect(noAnswer.code).toBe(2);
    expect(readLockJson().plugins['weather']!['version']).toBe('1.0.0');
    const updated = await cli('update', 'weather', '--registry', registry.url, '--yes');
    expect(updated.stdout).toContain('Updated weather to 1.1.0');
    expect(readLockJson().plugins['weather']!['version']).toBe('1.1.0');

    const removed = await cli('uninstall', 'weather');
    expect(removed.code).toBe(0);
    expect(readLockJson().plugins).toEqual({});
    expect(existsSync(join(project, '.agentry/plugins/node_modules', PKG))).toBe(false);
  });

  it('links a local directory and lists it as linked', async () => {
    project = tempDir();
    const linked = await cli('link', EXAMPLE, '--accept-permissions');
    expect(linked.stderr).toBe('');
    expect(readLockJson().plugins['weather']).toMatchObject({ source: 'link', path: EXAMPLE, version: '1.0.0' });
    const list = await cli('list');
    expect(list.stdout).toMatch(/weather\s+agentry-plugin-weather\s+1\.0\.0\s+linked\s+process\s+ok/);
  });

  it('makes install failures diagnosable and leaves the lock unchanged', async () => {
    project = tempDir();
    const unreachable = await cli('install', `${PKG}@1.0.0`, '--registry', 'http://127.0.0.1:9', '--accept-permissions');
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('registry unreachable');
    const unknown = await cli('install', 'no-such-plugin@1.0.0', '--registry', registry.url, '--accept-permissions');
    expect(unknown.stderr).toContain('package no-such-plugin not found');
    const noVersion = await cli('install', `${PKG}@9.9.9`, '--registry', registry.url, '--accept-permissions');
    expect(noVersion.stderr).toContain('version 9.9.9 of agentry-plugin-weather not found');
    const range = await cli('install', `${PKG}@^1.0.0`, '--registry', registry.url, '--accept-permissions');
    expect(range.code).toBe(2);
    expect(range.stderr).toContain('exact version');
    expect(existsSync(lockFile())).toBe(false);

    const other = await startRegistryStub();
    try {
      await other.publish(PKG, '1.0.0', EXAMPLE);
      other.corrupt(PKG, '1.0.0');
      const tampered = await cli('install', `${PKG}@1.0.0`, '--registry', other.url, '--accept-permissions');
      expect(tampered.code).toBe(1);
      expect(tampered.stderr).toContain('integrity mismatch');
      expect(existsSync(lockFile())).toBe(false);
      expect(existsSync(join(project, '.agentry/plugins/node_modules', PKG))).toBe(false);
    } finally {
      await other.close();
    }

    mkdirSync(project, { recursive: true });
    writeFileSync(lockFile(), '{ not json');
    const corrupt = await cli('list');
    expect(corrupt.code).toBe(2);
    expect(corrupt.stderr).toContain(`lock file corrupt at ${lockFile()}`);
    const doctor = await cli('doctor', '--registry', registry.url);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(/FAIL lock file/);
    expect(doctor.stdout).toMatch(/ok {3}registry/);
  });

  it('names the file and field of an invalid manifest', async () => {
    project = tempDir();
    const bad = tempDir('agentry-plugin-bad-');
    dirs.push(bad);
    cpSync(EXAMPLE, bad, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(bad, 'agentry-plugin.json'), 'utf8')) as { permissions: { env: string[] } };
    manifest.permissions.env = ['lower-case'];
    writeFileSync(join(bad, 'agentry-plugin.json'), JSON.stringify(manifest));
    const linked = await cli('link', bad, '--accept-permissions');
    expect(linked.code).toBe(2);
    expect(linked.stderr).toContain(`${join(bad, 'agentry-plugin.json')} permissions.env[0]: must be an environment variable name`);
  });
});

describe('agentry plugins disable|enable', () => {
  it("stores the switch in the project's store, where every process reads it", async () => {
    project = tempDir();
    try {
      await cli('link', EXAMPLE, '--accept-permissions');
      const noReason = await cli('disable', 'weather');
      expect(noReason.code).not.toBe(0);
      const disabled = await cli('disable', 'weather', '--reason', 'calls an unknown host', '--json');
      expect(disabled.stderr).toBe('');
      expect(JSON.parse(disabled.stdout)).toMatchObject({ name: 'weather', state: 'disabled', disabled_reason: 'calls an unknown host' });
      const unknown = await cli('disable', 'nope', '--reason', 'x');
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('no plugin named nope');
      const enabled = await cli('enable', 'weather', '--json');
      expect(JSON.parse(enabled.stdout)).toMatchObject({ name: 'weather', state: 'enabled' });
    } finally {
      removeDir(project);
    }
  });
});
